package media

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

func TestFit(t *testing.T) {
	const object = "0123456789"
	tests := []struct {
		name    string
		answer  Answer
		body    string
		rng     *recording.Range
		size    int64
		want    string
		wantErr string
	}{
		{"whole", Answer{ContentLength: 10}, object, nil, 10, object, ""},
		{"whole, length unknown everywhere", Answer{ContentLength: -1}, object, nil, -1, object, ""},
		{"whole, provider longer than promised", Answer{ContentLength: 11}, object + "x", nil, 10, "", "size"},
		{"whole, body shorter than promised", Answer{ContentLength: -1}, "01234", nil, 10, "01234", "unexpected EOF"},
		{"206 as asked", Answer{Partial: true, ContentRange: "bytes 2-4/10", ContentLength: 3}, "234", &recording.Range{Start: 2, End: 4}, 10, "234", ""},
		{"206 of another object size", Answer{Partial: true, ContentRange: "bytes 2-4/12"}, "234", &recording.Range{Start: 2, End: 4}, 10, "", "size"},
		{"206 of another range", Answer{Partial: true, ContentRange: "bytes 0-4/10"}, "01234", &recording.Range{Start: 2, End: 4}, 10, "", "asked for"},
		{"206 unasked", Answer{Partial: true, ContentRange: "bytes 0-4/10"}, "01234", nil, 10, "", "whole"},
		{"206 garbled", Answer{Partial: true, ContentRange: "bytes=2-4"}, "234", &recording.Range{Start: 2, End: 4}, 10, "", "Content-Range"},
		{"200 to a range: skipped and cut", Answer{ContentLength: 10}, object, &recording.Range{Start: 7, End: 8}, 10, "78", ""},
		{"200 to a range, too short to skip", Answer{ContentLength: -1}, "012", &recording.Range{Start: 7, End: 8}, 10, "", "skip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Fit(strings.NewReader(tt.body), tt.answer, tt.rng, tt.size)
			if err == nil {
				var got []byte
				got, err = io.ReadAll(r)
				if string(got) != tt.want {
					t.Errorf("read %q, want %q", got, tt.want)
				}
			}
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestScrubAndFailure(t *testing.T) {
	cause := errors.Join(context.DeadlineExceeded, errors.New("signed with AKIA123 and s3cr3t"))
	err := Failure("kz_att_s3", cause, "AKIA123", "s3cr3t", "")
	if err.Reason != "timeout" || strings.Contains(err.Error(), "AKIA123") || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("Failure = %v (reason %s)", err, err.Reason)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Error("the scrubbed error lost its cause for errors.Is")
	}
	for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), "s3cr3t") {
			t.Fatalf("unwrapping reaches the secret: %v", e)
		}
	}
	if plain := errors.New("nothing secret"); Scrub(plain, "x-not-there") != plain {
		t.Error("Scrub changed an error without secrets")
	}
}

func TestSourcesFor(t *testing.T) {
	var s Sources
	_, err := s.For("kz_att_ftp")
	var se *Error
	if !errors.As(err, &se) || se.Kind != Unsupported || se.Handler != "kz_att_ftp" {
		t.Fatalf("err = %v", err)
	}
}
