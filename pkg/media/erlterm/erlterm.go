// Package erlterm decodes (and encodes) the subset of Erlang's external term format that
// Kazoo writes into documents with term_to_binary: atoms, integers, floats, binaries, tuples,
// lists and maps, optionally zlib-compressed. Pids, references, funs and the like are refused.
//
// Go values: Atom, int64 (*big.Int past 64 bits), float64, string (a binary), Charlist (a
// STRING_EXT list of bytes), Tuple, List, Map.
package erlterm

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Atom is an Erlang atom; true, false, undefined and null are atoms too.
type Atom string

// Charlist is a list of bytes sent as STRING_EXT: Erlang's "string".
type Charlist string

// Tuple is an Erlang tuple.
type Tuple []any

// List is a proper Erlang list ([] is an empty List).
type List []any

// Map is an Erlang map, its pairs in the order they were encoded.
type Map []Pair

// Pair is one key and value of a Map.
type Pair struct {
	Key, Value any
}

// Get returns the value under key (compared with Equal) and whether it is there.
func (m Map) Get(key any) (any, bool) {
	for _, p := range m {
		if Equal(p.Key, key) {
			return p.Value, true
		}
	}
	return nil, false
}

// Tags of the external term format (erts/emulator/beam/external.h).
const (
	version          = 131
	tagCompressed    = 80
	tagNewFloat      = 70
	tagBitBinary     = 77
	tagSmallInteger  = 97
	tagInteger       = 98
	tagFloat         = 99
	tagAtom          = 100
	tagSmallTuple    = 104
	tagLargeTuple    = 105
	tagNil           = 106
	tagString        = 107
	tagList          = 108
	tagBinary        = 109
	tagSmallBig      = 110
	tagLargeBig      = 111
	tagSmallAtom     = 115
	tagMap           = 116
	tagAtomUTF8      = 118
	tagSmallAtomUTF8 = 119
)

// Limits keep a hostile payload from costing more than a small document's worth of work.
const (
	maxDepth        = 64      // nesting of tuples, lists and maps
	maxUncompressed = 4 << 20 // bytes a compressed term may expand to
	maxBigBytes     = 64      // digits of a bignum, in bytes (512 bits)
)

// ErrUnsupported marks a well-formed term of a type this package does not decode.
var ErrUnsupported = errors.New("erlterm: unsupported term type")

// Decode parses one term_to_binary output. Trailing bytes are an error.
func Decode(b []byte) (any, error) {
	if len(b) == 0 || b[0] != version {
		return nil, errors.New("erlterm: not an external term (no version byte 131)")
	}
	b = b[1:]
	if len(b) > 0 && b[0] == tagCompressed {
		if len(b) < 5 {
			return nil, io.ErrUnexpectedEOF
		}
		size := binary.BigEndian.Uint32(b[1:5])
		if size > maxUncompressed {
			return nil, fmt.Errorf("erlterm: compressed term of %d bytes is too large", size)
		}
		zr, err := zlib.NewReader(bytes.NewReader(b[5:]))
		if err != nil {
			return nil, fmt.Errorf("erlterm: compressed term: %w", err)
		}
		raw, err := io.ReadAll(io.LimitReader(zr, int64(size)+1))
		if err != nil {
			return nil, fmt.Errorf("erlterm: compressed term: %w", err)
		}
		if uint32(len(raw)) != size {
			return nil, fmt.Errorf("erlterm: compressed term is %d bytes, header says %d", len(raw), size)
		}
		b = raw
	}
	d := decoder{b: b}
	v, err := d.term(0)
	if err != nil {
		return nil, err
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("erlterm: %d bytes after the term", len(d.b))
	}
	return v, nil
}

type decoder struct {
	b []byte
}

func (d *decoder) take(n int) ([]byte, error) {
	if n < 0 || n > len(d.b) {
		return nil, io.ErrUnexpectedEOF
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out, nil
}

func (d *decoder) u8() (int, error) {
	b, err := d.take(1)
	if err != nil {
		return 0, err
	}
	return int(b[0]), nil
}

func (d *decoder) u16() (int, error) {
	b, err := d.take(2)
	if err != nil {
		return 0, err
	}
	return int(binary.BigEndian.Uint16(b)), nil
}

func (d *decoder) u32() (int, error) {
	b, err := d.take(4)
	if err != nil {
		return 0, err
	}
	n := binary.BigEndian.Uint32(b)
	if n > math.MaxInt32 {
		return 0, fmt.Errorf("erlterm: length %d is too large", n)
	}
	return int(n), nil
}

// count reads an element count and checks that that many elements could fit in what is left
// (each takes at least one byte), so no allocation is sized by a lying header.
func (d *decoder) count(n, perElement int) (int, error) {
	if n > len(d.b)/perElement {
		return 0, io.ErrUnexpectedEOF
	}
	return n, nil
}

func (d *decoder) term(depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("erlterm: term nested too deeply")
	}
	tag, err := d.u8()
	if err != nil {
		return nil, err
	}
	switch tag {
	case tagSmallInteger:
		n, err := d.u8()
		return int64(n), err
	case tagInteger:
		b, err := d.take(4)
		if err != nil {
			return nil, err
		}
		return int64(int32(binary.BigEndian.Uint32(b))), nil
	case tagSmallBig, tagLargeBig:
		var n int
		if tag == tagSmallBig {
			n, err = d.u8()
		} else {
			n, err = d.u32()
		}
		if err != nil {
			return nil, err
		}
		if n > maxBigBytes {
			return nil, fmt.Errorf("erlterm: integer of %d bytes is too large", n)
		}
		return d.bignum(n)
	case tagNewFloat:
		b, err := d.take(8)
		if err != nil {
			return nil, err
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
	case tagFloat:
		b, err := d.take(31)
		if err != nil {
			return nil, err
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(string(bytes.TrimRight(b, "\x00"))), 64)
		if err != nil {
			return nil, fmt.Errorf("erlterm: float: %w", err)
		}
		return f, nil
	case tagAtom, tagAtomUTF8:
		n, err := d.u16()
		if err != nil {
			return nil, err
		}
		return d.atom(n, tag == tagAtomUTF8)
	case tagSmallAtom, tagSmallAtomUTF8:
		n, err := d.u8()
		if err != nil {
			return nil, err
		}
		return d.atom(n, tag == tagSmallAtomUTF8)
	case tagBinary:
		n, err := d.u32()
		if err != nil {
			return nil, err
		}
		b, err := d.take(n)
		return string(b), err
	case tagString:
		n, err := d.u16()
		if err != nil {
			return nil, err
		}
		b, err := d.take(n)
		return Charlist(b), err
	case tagNil:
		return List{}, nil
	case tagSmallTuple, tagLargeTuple:
		var n int
		if tag == tagSmallTuple {
			n, err = d.u8()
		} else {
			n, err = d.u32()
		}
		if err != nil {
			return nil, err
		}
		if n, err = d.count(n, 1); err != nil {
			return nil, err
		}
		t := make(Tuple, n)
		for i := range t {
			if t[i], err = d.term(depth + 1); err != nil {
				return nil, err
			}
		}
		return t, nil
	case tagList:
		n, err := d.u32()
		if err != nil {
			return nil, err
		}
		if n, err = d.count(n, 1); err != nil {
			return nil, err
		}
		l := make(List, n)
		for i := range l {
			if l[i], err = d.term(depth + 1); err != nil {
				return nil, err
			}
		}
		tail, err := d.term(depth + 1)
		if err != nil {
			return nil, err
		}
		if t, ok := tail.(List); !ok || len(t) != 0 {
			return nil, fmt.Errorf("%w: improper list", ErrUnsupported)
		}
		return l, nil
	case tagMap:
		n, err := d.u32()
		if err != nil {
			return nil, err
		}
		if n, err = d.count(n, 2); err != nil {
			return nil, err
		}
		m := make(Map, n)
		for i := range m {
			if m[i].Key, err = d.term(depth + 1); err != nil {
				return nil, err
			}
			if m[i].Value, err = d.term(depth + 1); err != nil {
				return nil, err
			}
		}
		return m, nil
	case tagBitBinary:
		return nil, fmt.Errorf("%w: bitstring", ErrUnsupported)
	default:
		return nil, fmt.Errorf("%w: tag %d", ErrUnsupported, tag)
	}
}

func (d *decoder) atom(n int, utf8Name bool) (any, error) {
	b, err := d.take(n)
	if err != nil {
		return nil, err
	}
	if utf8Name {
		if !utf8.Valid(b) {
			return nil, errors.New("erlterm: atom is not valid UTF-8")
		}
		return Atom(b), nil
	}
	// ATOM_EXT and SMALL_ATOM_EXT are Latin-1.
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return Atom(string(r)), nil
}

// bignum reads a sign byte and n little-endian digits; it returns int64 when the value fits.
func (d *decoder) bignum(n int) (any, error) {
	sign, err := d.u8()
	if err != nil {
		return nil, err
	}
	digits, err := d.take(n)
	if err != nil {
		return nil, err
	}
	be := make([]byte, n)
	for i, c := range digits {
		be[n-1-i] = c
	}
	v := new(big.Int).SetBytes(be)
	if sign != 0 {
		v.Neg(v)
	}
	if v.IsInt64() {
		return v.Int64(), nil
	}
	return v, nil
}

// Equal compares two decoded terms (maps pairwise, in order).
func Equal(a, b any) bool {
	switch x := a.(type) {
	case *big.Int:
		y, ok := b.(*big.Int)
		return ok && x.Cmp(y) == 0
	case float64:
		y, ok := b.(float64)
		return ok && (x == y || math.IsNaN(x) && math.IsNaN(y))
	case Tuple:
		y, ok := b.(Tuple)
		return ok && equalSlices(x, y)
	case List:
		y, ok := b.(List)
		return ok && equalSlices(x, y)
	case Map:
		y, ok := b.(Map)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i].Key, y[i].Key) || !Equal(x[i].Value, y[i].Value) {
				return false
			}
		}
		return true
	default:
		return a == b
	}
}

func equalSlices(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
