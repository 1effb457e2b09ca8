package crossbar

import (
	"fmt"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

func TestParseRange(t *testing.T) {
	const whole = "whole" // nil, nil: send everything with 200
	const unsatisfiable = "416"
	tests := []struct {
		header string
		size   int64
		want   string // "S-E", whole or unsatisfiable
	}{
		{"", 1000, whole},

		// One range: served.
		{"bytes=0-499", 1000, "0-499"},
		{"bytes=500-999", 1000, "500-999"},
		{"bytes=500-5000", 1000, "500-999"}, // end clipped to the last byte
		{"bytes=0-", 1000, "0-999"},         // what <audio> sends first
		{"bytes=999-", 1000, "999-999"},
		{"bytes=7-7", 1000, "7-7"},
		{"bytes=-100", 1000, "900-999"},
		{"bytes=-1000", 1000, "0-999"},
		{"bytes=-5000", 1000, "0-999"}, // longer than the file: all of it
		{"Bytes=1-2", 1000, "1-2"},     // the unit is case-insensitive
		{"bytes = 1-2", 1000, "1-2"},
		{"bytes= 1-2 ", 1000, "1-2"},
		{"bytes=1-2,", 1000, "1-2"},                        // empty list elements do not count
		{"bytes=0-99999999999999999999999", 1000, "0-999"}, // an end past int64 is past the end

		// Cannot be served: 416.
		{"bytes=1000-", 1000, unsatisfiable},
		{"bytes=1000-2000", 1000, unsatisfiable},
		{"bytes=99999999999999999999999-", 1000, unsatisfiable},
		{"bytes=-0", 1000, unsatisfiable},
		{"bytes=0-", 0, unsatisfiable},
		{"bytes=-10", 0, unsatisfiable},

		// Not served, the whole file instead (RFC 9110 lets a server ignore Range).
		{"bytes=0-1,5-9", 1000, whole},
		{"bytes=0-1, 1000-", 1000, whole},
		{"items=0-1", 1000, whole},
		{"bytes 0-1", 1000, whole},
		{"bytes=", 1000, whole},
		{"bytes=-", 1000, whole},
		{"bytes=5", 1000, whole},
		{"bytes=5-4", 1000, whole},
		{"bytes=5-4", 0, whole},
		{"bytes=a-4", 1000, whole},
		{"bytes=1-b", 1000, whole},
		{"bytes=-x", 1000, whole},
		{"bytes=+1-2", 1000, whole},
		{"bytes=1 - 2", 1000, whole},
		{"bytes=--1", 1000, whole},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s of %d", tt.header, tt.size), func(t *testing.T) {
			r, err := ParseRange(tt.header, tt.size)
			var got string
			switch {
			case err == ErrUnsatisfiable && r == nil:
				got = unsatisfiable
			case err != nil:
				got = "error " + err.Error()
			case r == nil:
				got = whole
			default:
				got = fmt.Sprintf("%d-%d", r.Start, r.End)
			}
			if got != tt.want {
				t.Errorf("ParseRange(%q, %d) = %s, want %s", tt.header, tt.size, got, tt.want)
			}
		})
	}
}

func TestContentRange(t *testing.T) {
	tests := []struct {
		r    *recording.Range
		size int64
		want string
	}{
		{&recording.Range{Start: 0, End: 499}, 1000, "bytes 0-499/1000"},
		{&recording.Range{Start: 999, End: 999}, 1000, "bytes 999-999/1000"},
		{nil, 1000, "bytes */1000"}, // with 416
		{nil, 0, "bytes */0"},
	}
	for _, tt := range tests {
		if got := ContentRange(tt.r, tt.size); got != tt.want {
			t.Errorf("ContentRange(%v, %d) = %q, want %q", tt.r, tt.size, got, tt.want)
		}
	}
}
