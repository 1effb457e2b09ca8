// Package exactio holds readers that keep a stream to the length promised for it.
package exactio

import (
	"errors"
	"io"
)

// NewReader yields exactly n bytes of r, or io.ErrUnexpectedEOF when r is shorter: every
// attachment reader promises its caller a length (recording.Store.OpenAttachment's contract),
// and a short body must never pass for a complete one.
func NewReader(r io.Reader, n int64) io.Reader { return &exactReader{r: r, left: n} }

type exactReader struct {
	r    io.Reader
	left int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if errors.Is(err, io.EOF) {
		if e.left > 0 {
			return n, io.ErrUnexpectedEOF
		}
		return n, io.EOF
	}
	return n, err
}
