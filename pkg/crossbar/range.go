package crossbar

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// ErrUnsatisfiable means a Range header cannot select any byte of the attachment: answer
// 416 with Content-Range "bytes */size".
var ErrUnsatisfiable = errors.New("crossbar: range not satisfiable")

// ParseRange reads a Range header against an attachment of size bytes. It serves one
// bytes range, the only kind an <audio> element sends when seeking:
//   - "bytes=S-E": S..E, E clipped to the last byte;
//   - "bytes=S-": S to the end;
//   - "bytes=-N": the last N bytes, the whole attachment when N > size.
//
// It returns nil, nil, meaning "send the whole attachment with 200", for no header and
// for anything it does not serve: several ranges, another unit, bad syntax (RFC 9110
// §14.2 lets a server ignore Range). ErrUnsatisfiable when the range starts at or after
// the end, when the attachment is empty, or for "bytes=-0".
func ParseRange(header string, size int64) (*recording.Range, error) {
	unit, set, found := strings.Cut(header, "=")
	if !found || !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		return nil, nil
	}
	specs := splitOutsideQuotes(set, ',')
	if len(specs) != 1 {
		return nil, nil
	}
	first, last, found := strings.Cut(specs[0], "-")
	if !found {
		return nil, nil
	}

	if first == "" { // suffix range: the last N bytes
		n, ok := parseRangeNumber(last)
		switch {
		case !ok:
			return nil, nil
		case n == 0 || size <= 0:
			return nil, ErrUnsatisfiable
		}
		return &recording.Range{Start: size - min(n, size), End: size - 1}, nil
	}

	start, ok := parseRangeNumber(first)
	if !ok {
		return nil, nil
	}
	end := int64(math.MaxInt64)
	if last != "" {
		if end, ok = parseRangeNumber(last); !ok || end < start {
			return nil, nil
		}
	}
	if start >= size {
		return nil, ErrUnsatisfiable
	}
	return &recording.Range{Start: start, End: min(end, size-1)}, nil
}

// parseRangeNumber parses 1*DIGIT. Numbers too big for int64 saturate: any of them lies
// past the end of an attachment, which is all the caller needs to know.
func parseRangeNumber(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			n = math.MaxInt64
		} else {
			n = n*10 + d
		}
	}
	return n, true
}

// ContentRange is the Content-Range header for r within size bytes: "bytes S-E/size",
// or "bytes */size" with a nil r, for a 416 answer.
func ContentRange(r *recording.Range, size int64) string {
	if r == nil {
		return fmt.Sprintf("bytes */%d", size)
	}
	return fmt.Sprintf("bytes %d-%d/%d", r.Start, r.End, size)
}
