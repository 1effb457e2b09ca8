package erlterm

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
)

// Encode writes v as term_to_binary does (OTP before 26: atoms as Latin-1 ATOM_EXT when they
// can be, floats as NEW_FLOAT_EXT, no compression). It accepts the types Decode returns, plus
// int, bool (as the atoms true and false) and []byte (a binary). Tests use it to write Kazoo's
// payloads; the service itself only decodes.
func Encode(v any) ([]byte, error) {
	out := []byte{version}
	return appendTerm(out, v, 0)
}

func appendTerm(b []byte, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("erlterm: term nested too deeply")
	}
	var err error
	switch t := v.(type) {
	case Atom:
		return appendAtom(b, string(t))
	case bool:
		if t {
			return appendAtom(b, "true")
		}
		return appendAtom(b, "false")
	case int:
		return appendInt(b, int64(t)), nil
	case int64:
		return appendInt(b, t), nil
	case *big.Int:
		if t.IsInt64() {
			return appendInt(b, t.Int64()), nil
		}
		return appendBig(b, t), nil
	case float64:
		b = append(b, tagNewFloat)
		return binary.BigEndian.AppendUint64(b, math.Float64bits(t)), nil
	case string:
		return appendBinary(b, []byte(t)), nil
	case []byte:
		return appendBinary(b, t), nil
	case Charlist:
		if len(t) <= math.MaxUint16 {
			b = append(b, tagString)
			b = binary.BigEndian.AppendUint16(b, uint16(len(t)))
			return append(b, t...), nil
		}
		l := make(List, len(t))
		for i := 0; i < len(t); i++ {
			l[i] = int64(t[i])
		}
		return appendTerm(b, l, depth)
	case Tuple:
		if len(t) <= math.MaxUint8 {
			b = append(b, tagSmallTuple, byte(len(t)))
		} else {
			b = append(b, tagLargeTuple)
			b = binary.BigEndian.AppendUint32(b, uint32(len(t)))
		}
		for _, e := range t {
			if b, err = appendTerm(b, e, depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	case List:
		if len(t) == 0 {
			return append(b, tagNil), nil
		}
		b = append(b, tagList)
		b = binary.BigEndian.AppendUint32(b, uint32(len(t)))
		for _, e := range t {
			if b, err = appendTerm(b, e, depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, tagNil), nil
	case Map:
		b = append(b, tagMap)
		b = binary.BigEndian.AppendUint32(b, uint32(len(t)))
		for _, p := range t {
			if b, err = appendTerm(b, p.Key, depth+1); err != nil {
				return nil, err
			}
			if b, err = appendTerm(b, p.Value, depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	default:
		return nil, fmt.Errorf("erlterm: cannot encode %T", v)
	}
}

func appendAtom(b []byte, name string) ([]byte, error) {
	latin1 := make([]byte, 0, len(name))
	for _, r := range name {
		if r > 0xff {
			latin1 = nil
			break
		}
		latin1 = append(latin1, byte(r))
	}
	if latin1 != nil || name == "" {
		if len(latin1) > math.MaxUint16 {
			return nil, fmt.Errorf("erlterm: atom too long")
		}
		b = append(b, tagAtom)
		b = binary.BigEndian.AppendUint16(b, uint16(len(latin1)))
		return append(b, latin1...), nil
	}
	if len(name) > math.MaxUint16 {
		return nil, fmt.Errorf("erlterm: atom too long")
	}
	b = append(b, tagAtomUTF8)
	b = binary.BigEndian.AppendUint16(b, uint16(len(name)))
	return append(b, name...), nil
}

func appendInt(b []byte, n int64) []byte {
	switch {
	case n >= 0 && n <= math.MaxUint8:
		return append(b, tagSmallInteger, byte(n))
	case n >= math.MinInt32 && n <= math.MaxInt32:
		b = append(b, tagInteger)
		return binary.BigEndian.AppendUint32(b, uint32(int32(n)))
	default:
		return appendBig(b, big.NewInt(n))
	}
}

func appendBig(b []byte, n *big.Int) []byte {
	be := new(big.Int).Abs(n).Bytes()
	if len(be) <= math.MaxUint8 {
		b = append(b, tagSmallBig, byte(len(be)))
	} else {
		b = append(b, tagLargeBig)
		b = binary.BigEndian.AppendUint32(b, uint32(len(be)))
	}
	sign := byte(0)
	if n.Sign() < 0 {
		sign = 1
	}
	b = append(b, sign)
	for i := len(be) - 1; i >= 0; i-- {
		b = append(b, be[i])
	}
	return b
}

func appendBinary(b, data []byte) []byte {
	b = append(b, tagBinary)
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	return append(b, data...)
}
