package crossbar

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

// FuzzParseRange: no Range header makes ParseRange panic; what it returns is "the whole
// file" (nil, nil), "unsatisfiable", or a range inside the attachment; and a well-formed
// single range gives exactly the bytes RFC 9110 says.
func FuzzParseRange(f *testing.F) {
	for _, seed := range []struct {
		header string
		size   int64
	}{
		{"bytes=0-99", 1000}, {"bytes=-100", 1000}, {"bytes=100-", 1000}, {"bytes=-0", 1000}, {"bytes=999999999-", 1000},
		{"bytes=-99999999999999999999999", 1000}, {"bytes=0-99999999999999999999999", 1000}, {"bytes=5-4", 1000},
		{"bytes=0-0,5-6", 1000}, {"BYTES = 1-2", 1000}, {"bytes=0-", 0}, {"bytes=-1", 0}, {"items=0-1", 10},
		{"bytes=--1", 10}, {"bytes=1--2", 10}, {"bytes= 1-2 ", 10}, {`bytes="0-1"`, 10}, {"bytes=0-1,", 10},
		{"bytes=9223372036854775807-", math.MaxInt64}, {"bytes=-9223372036854775807", math.MaxInt64}, {"bytes=0x10-", 100},
	} {
		f.Add(seed.header, seed.size)
	}
	f.Fuzz(func(t *testing.T, header string, size int64) {
		if size < 0 {
			size = -(size + 1) // attachment lengths are never negative
		}
		r, err := ParseRange(header, size)
		switch {
		case err != nil && !errors.Is(err, ErrUnsatisfiable):
			t.Fatalf("ParseRange(%q, %d): unexpected error %v", header, size, err)
		case err != nil && r != nil:
			t.Fatalf("ParseRange(%q, %d) = %v with error %v", header, size, r, err)
		case r != nil && (r.Start < 0 || r.Start > r.End || r.End >= size || r.Len() < 1 || r.Len() > size):
			t.Fatalf("ParseRange(%q, %d) = %+v, not inside the attachment", header, size, *r)
		}
		if r != nil {
			if cr := ContentRange(r, size); cr != fmt.Sprintf("bytes %d-%d/%d", r.Start, r.End, size) {
				t.Fatalf("ContentRange = %q", cr)
			}
		}
		if unit, _, _ := strings.Cut(header, "="); !strings.EqualFold(strings.TrimSpace(unit), "bytes") && (r != nil || err != nil) {
			t.Fatalf("ParseRange(%q, %d) = %v, %v for a header that is no bytes range", header, size, r, err)
		}
		if size == 0 && r != nil {
			t.Fatalf("ParseRange(%q, 0) = %+v: an empty attachment has no bytes to give", header, *r)
		}

		// The same header made of well-formed numbers: check against RFC 9110's arithmetic.
		var first, last uint32
		if _, err := fmt.Sscanf(header, "%d-%d", &first, &last); err == nil {
			s, e := int64(first), int64(last)
			r, err := ParseRange(fmt.Sprintf("bytes=%d-%d", s, e), size)
			switch {
			case e < s:
				if r != nil || err != nil {
					t.Fatalf("bytes=%d-%d of %d: %v, %v; want the whole file", s, e, size, r, err)
				}
			case s >= size:
				if !errors.Is(err, ErrUnsatisfiable) {
					t.Fatalf("bytes=%d-%d of %d: %v, %v; want unsatisfiable", s, e, size, r, err)
				}
			default:
				if err != nil || r == nil || r.Start != s || r.End != min(e, size-1) {
					t.Fatalf("bytes=%d-%d of %d: %v, %v", s, e, size, r, err)
				}
			}
			r, err = ParseRange(fmt.Sprintf("bytes=-%d", e), size)
			switch {
			case e == 0 || size == 0:
				if !errors.Is(err, ErrUnsatisfiable) {
					t.Fatalf("bytes=-%d of %d: %v, %v; want unsatisfiable", e, size, r, err)
				}
			default:
				if err != nil || r == nil || r.Start != size-min(e, size) || r.End != size-1 {
					t.Fatalf("bytes=-%d of %d: %v, %v", e, size, r, err)
				}
			}
		}
	})
}
