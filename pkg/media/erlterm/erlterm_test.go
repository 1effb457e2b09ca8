package erlterm

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"math/big"
	"os"
	"strings"
	"testing"
)

// otpFixtures are terms written by a real Erlang (OTP 25's term_to_binary), from
// testdata/otp_fixtures.erl.
func otpFixtures(t testing.TB) map[string][]byte {
	t.Helper()
	f, err := os.Open("testdata/otp25.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]byte{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		name, hx, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		b, err := hex.DecodeString(hx)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = b
	}
	return out
}

func get(t *testing.T, m Map, key any) any {
	t.Helper()
	v, ok := m.Get(key)
	if !ok {
		t.Fatalf("no %v in %v", key, m)
	}
	return v
}

// The shape kz_att_s3 (Kazoo 4.1 to 4.3) stores: {SettingsMap, FilePath}, the map's keys
// atoms (kz_maps:keys_to_atoms), its values whatever the storage plan's JSON held.
func TestDecodeKazooS3Settings(t *testing.T) {
	fx := otpFixtures(t)
	var first any
	for _, name := range []string{"kazoo43", "kazoo43_utf8atoms", "kazoo43_oldfloat", "kazoo43_compressed"} {
		t.Run(name, func(t *testing.T) {
			v, err := Decode(fx[name])
			if err != nil {
				t.Fatal(err)
			}
			tup, ok := v.(Tuple)
			if !ok || len(tup) != 2 {
				t.Fatalf("want a 2-tuple, got %#v", v)
			}
			if tup[1] != "kazoo/account%2F12%2F34%2Frest-202601/202601-abc_call.mp3" {
				t.Errorf("file path = %#v", tup[1])
			}
			m := tup[0].(Map)
			for key, want := range map[Atom]any{
				"key": "AKIAEXAMPLEKEY", "secret": "s3cr3t/Key+Value", "bucket": "recordings",
				"host": "127.0.0.1", "scheme": "http", "port": int64(9000), "region": "us-east-1",
				"bucket_access_method": "path", "folder_base_path": "kazoo", "nothing": Atom("null"),
				"flag": Atom("true"), "ratio": 0.5, "big": int64(123456789012), "neg": int64(-5), "small": int64(7),
			} {
				if got := get(t, m, key); !Equal(got, want) {
					t.Errorf("%s = %#v, want %#v", key, got, want)
				}
			}
			fields := get(t, m, Atom("field_list")).(List)
			if arg := get(t, fields[0].(Map), "arg"); arg != "account_id" {
				t.Errorf("field_list[0].arg = %#v", arg)
			}
			group := get(t, fields[1].(Map), "group").(List)
			if c := get(t, group[1].(Map), "const"); c != "_" {
				t.Errorf("group const = %#v", c)
			}
			if tags := get(t, m, Atom("tags")); !Equal(tags, List{Charlist("ab"), List{int64(1), int64(2), int64(300)}}) {
				t.Errorf("tags = %#v", tags)
			}
			if tp := get(t, m, Atom("tup")); !Equal(tp, Tuple{"x", Atom("Élan")}) {
				t.Errorf("tup = %#v", tp)
			}
			nested := get(t, get(t, m, Atom("nested")).(Map), Atom("a")).(Map)
			if b := get(t, nested, Atom("b")); !Equal(b, List{}) {
				t.Errorf("nested.a.b = %#v", b)
			}
			if first == nil {
				first = v
			} else if !Equal(first, v) {
				t.Errorf("%s decodes differently from kazoo43", name)
			}
		})
	}
}

// The older tuples kz_att_s3:decode_retrieval/1 still reads.
func TestDecodeLegacyTuples(t *testing.T) {
	fx := otpFixtures(t)
	for name, want := range map[string]any{
		"legacy4":           Tuple{"AK", "SK", "bucket", "path"},
		"legacy5_tuplehost": Tuple{"AK", "SK", Tuple{"http", "minio.local", int64(9000)}, "bucket", Atom("undefined")},
		"legacy5_host":      Tuple{"AK", "SK", "s3.eu-west-1.amazonaws.com", "bucket", "p"},
	} {
		v, err := Decode(fx[name])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !Equal(v, want) {
			t.Errorf("%s = %#v, want %#v", name, v, want)
		}
	}
}

func TestDecodeNumbersAndLargeContainers(t *testing.T) {
	fx := otpFixtures(t)
	two64 := new(big.Int).Lsh(big.NewInt(1), 64)
	minus270 := new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), 70))
	v, err := Decode(fx["bigs"])
	if err != nil {
		t.Fatal(err)
	}
	want := List{two64, minus270, int64(1<<63 - 1), int64(-1 << 63), int64(2147483648), int64(-2147483649)}
	if !Equal(v, want) {
		t.Errorf("bigs = %v, want %v", v, want)
	}
	v, err = Decode(fx["largemap"])
	if err != nil {
		t.Fatal(err)
	}
	if m := v.(Map); len(m) != 40 || get(t, m, int64(33)) != int64(33) {
		t.Errorf("largemap = %v", v)
	}
	v, err = Decode(fx["largetuple"])
	if err != nil {
		t.Fatal(err)
	}
	if tup := v.(Tuple); len(tup) != 300 || tup[299] != int64(300) {
		t.Errorf("largetuple has %d elements", len(tup))
	}
}

// Pids, improper lists and bitstrings never appear in Kazoo's payloads: refused, not guessed.
func TestDecodeRefusesWhatKazooNeverWrites(t *testing.T) {
	fx := otpFixtures(t)
	for _, name := range []string{"pid", "improper", "bitbin"} {
		if _, err := Decode(fx[name]); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: err = %v, want ErrUnsupported", name, err)
		}
	}
	for _, bad := range [][]byte{nil, {}, {130, 97, 1}, {131}, {131, 97}, {131, 97, 1, 0}, {131, 80, 0, 0, 0, 9}} {
		if _, err := Decode(bad); err == nil {
			t.Errorf("Decode(%x) succeeded", bad)
		}
	}
}

// Every prefix of a real payload is an error, never a panic or a partial value.
func TestDecodeTruncated(t *testing.T) {
	b := otpFixtures(t)["kazoo43"]
	for n := range len(b) {
		if _, err := Decode(b[:n]); err == nil {
			t.Fatalf("prefix of %d bytes decoded", n)
		}
	}
}

// Encode writes what OTP 25 writes, byte for byte, for everything but compressed terms and
// the OTP 26 atom encoding (both of which decode to the same values).
func TestEncodeMatchesErlang(t *testing.T) {
	fx := otpFixtures(t)
	for _, name := range []string{"kazoo43", "legacy4", "legacy5_tuplehost", "legacy5_host", "bigs", "largemap", "largetuple"} {
		v, err := Decode(fx[name])
		if err != nil {
			t.Fatal(err)
		}
		got, err := Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, fx[name]) {
			t.Errorf("%s: Encode = %X\nwant %X", name, got, fx[name])
		}
	}
}

// A hostile header cannot make the decoder allocate what the input does not hold.
func TestDecodeLyingLengths(t *testing.T) {
	for _, b := range [][]byte{
		{131, 108, 0x7f, 0xff, 0xff, 0xff, 106},    // a list of 2^31 elements
		{131, 116, 0x7f, 0xff, 0xff, 0xff},         // a map of 2^31 pairs
		{131, 105, 0x7f, 0xff, 0xff, 0xff},         // a tuple of 2^31 elements
		{131, 109, 0xff, 0xff, 0xff, 0xff},         // a binary of 4 GiB
		{131, 111, 0x00, 0x10, 0x00, 0x00, 0, 1},   // a bignum of 1 MiB
		{131, 80, 0xff, 0xff, 0xff, 0xff, 0x78, 1}, // 4 GiB once inflated
	} {
		if _, err := Decode(b); err == nil {
			t.Errorf("Decode(%x) succeeded", b)
		}
	}
	deep := []byte{131}
	for range 100 {
		deep = append(deep, 104, 1)
	}
	deep = append(deep, 106)
	if _, err := Decode(deep); err == nil {
		t.Error("a term nested 100 deep decoded")
	}
}

// FuzzDecode: no input panics or hangs, and whatever decodes re-encodes to the same value.
func FuzzDecode(f *testing.F) {
	for _, b := range otpFixtures(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Decode(b)
		if err != nil {
			return
		}
		enc, err := Encode(v)
		if err != nil {
			t.Fatalf("decoded %#v but cannot encode it: %v", v, err)
		}
		again, err := Decode(enc)
		if err != nil {
			t.Fatalf("re-encoded term does not decode: %v", err)
		}
		if !Equal(v, again) {
			t.Fatalf("round trip changed %#v into %#v", v, again)
		}
	})
}
