package api

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// An unavailable datastore is 503 either way; one that says when to come back (an index
// being built) is datastore_busy with its message and Retry-After, one that does not is
// datastore_unreachable, its details kept for the log.
func TestAPIErrorOfAnUnavailableDatastore(t *testing.T) {
	busy := &recording.Error{Code: recording.EUnavailable, Message: "the listing index of month 2026-12 is being built (39% done); retry later",
		Err: errors.New("index of listing index in account/…"), RetryAfter: 20 * time.Second}
	tests := []struct {
		name        string
		err         error
		wantMessage string
		wantText    string
		wantRetry   time.Duration
	}{
		{"index being built", busy, "datastore_busy", busy.Message, 20 * time.Second},
		{"wrapped", fmt.Errorf("scan: %w", busy), "datastore_busy", busy.Message, 20 * time.Second},
		{"timed out", recording.Wrap(recording.EUnavailable, errors.New("dial tcp: refused"), "datastore unreachable"),
			"datastore_unreachable", "datastore unreachable", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := apiError(tt.err, "")
			data, _ := e.Data.(map[string]any)
			if e.Status != 503 || e.Message != tt.wantMessage || data["message"] != tt.wantText || e.RetryAfter != tt.wantRetry {
				t.Errorf("got %d %q %v retry %v; want 503 %q %q retry %v", e.Status, e.Message, data, e.RetryAfter, tt.wantMessage, tt.wantText, tt.wantRetry)
			}
		})
	}
}
