package exactio

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

var errBroken = errors.New("broken")

func TestNewReader(t *testing.T) {
	cases := []struct {
		name    string
		src     io.Reader
		n       int64
		want    string
		wantErr error
	}{
		{"exact", strings.NewReader("abcdef"), 6, "abcdef", nil},
		{"longer source is cut", strings.NewReader("abcdef"), 4, "abcd", nil},
		{"nothing promised", strings.NewReader("abcdef"), 0, "", nil},
		{"short source", strings.NewReader("abc"), 5, "abc", io.ErrUnexpectedEOF},
		{"short source, one byte a read", iotest.OneByteReader(strings.NewReader("abc")), 5, "abc", io.ErrUnexpectedEOF},
		{"EOF with the last bytes", iotest.DataErrReader(strings.NewReader("abc")), 3, "abc", nil},
		{"other errors pass", io.MultiReader(strings.NewReader("ab"), iotest.ErrReader(errBroken)), 5, "ab", errBroken},
	}
	for _, c := range cases {
		got, err := io.ReadAll(iotest.OneByteReader(NewReader(c.src, c.n)))
		if string(got) != c.want || !errors.Is(err, c.wantErr) {
			t.Errorf("%s: read %q, %v; want %q, %v", c.name, got, err, c.want, c.wantErr)
		}
	}
}
