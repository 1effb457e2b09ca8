package couch

import (
	"fmt"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// A month database's created range decides which windows need its listing index.
func TestCreatedRangeMayHold(t *testing.T) {
	read := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	now := recording.ToGregorian(read)
	closed := createdRange{count: 10, min: 1000, max: 2000, read: read}
	open := closed
	open.open = true
	empty := createdRange{read: read}
	emptyOpen := createdRange{open: true, read: read}
	slack := int64(newSlack / time.Second)
	cases := []struct {
		name   string
		r      createdRange
		lo, hi int64
		want   bool
	}{
		{"inside", closed, 1200, 1300, true},
		{"overlaps the start", closed, 500, 1000, true},
		{"overlaps the end", closed, 2000, 2500, true},
		{"before", closed, 0, 999, false},
		{"after, month finished", closed, 2001, now, false},
		{"after, month still written to, window up to now", open, 2001, now, true},
		{"after, month still written to, window ends before the read", open, 2001, now - slack - 1, false},
		{"empty, finished", empty, 0, now, false},
		{"empty, still written to, window reaches the read", emptyOpen, now - slack, now, true},
		{"empty, still written to, window long before", emptyOpen, 0, now - 2*slack, false},
	}
	for _, c := range cases {
		if got := c.r.mayHold(c.lo, c.hi); got != c.want {
			t.Errorf("%s: mayHold(%d, %d) = %v, want %v", c.name, c.lo, c.hi, got, c.want)
		}
	}
}

// A cached range never hides a recording: one written through the store is listed at once, and
// so is one Kazoo writes (through another client) into the month still being written to.
func TestCreatedRangeFollowsWrites(t *testing.T) {
	s, kazoo := newTestStore(t), newTestStore(t)
	ctx := testContext(t)
	account := randomHex(16)
	now := time.Now().UTC()
	month := recording.MonthOf(now)
	gnow := recording.ToGregorian(now)
	first := recordingDoc(fmt.Sprintf("%s-%s", month, randomHex(16)), gnow-3600, nil)
	mustPutRecording(t, s, account, first)
	scan := func(what string, lo, hi int64, want ...string) {
		t.Helper()
		settle(t, func() error {
			rows, err := s.Scan(ctx, account, month, recording.ScanQuery{From: lo, To: hi, Limit: 10})
			if err != nil {
				return fmt.Errorf("%s: %v", what, err)
			}
			if got := ids(rows); fmt.Sprint(got) != fmt.Sprint(want) {
				return fmt.Errorf("%s: listed %v, want %v", what, got, want)
			}
			return nil
		})
	}
	scan("the first recording", gnow-7200, gnow+60, first.ID())
	scan("a window before it, answered from the cached range", gnow-86400, gnow-7200)
	if _, ok := s.ranges.get(recording.MonthDBName(account, month), time.Now()); !ok {
		t.Fatal("the month's range was not cached")
	}

	// Written through the store: the cached range is forgotten.
	early := recordingDoc(fmt.Sprintf("%s-%s", month, randomHex(16)), gnow-80000, nil)
	mustPutRecording(t, s, account, early)
	scan("a recording the store wrote before the cached range", gnow-86400, gnow-7200, early.ID())

	// Written by another client, dated about now, as Kazoo dates new recordings.
	late := recordingDoc(fmt.Sprintf("%s-%s", month, randomHex(16)), gnow+30, nil)
	mustPutRecording(t, kazoo, account, late)
	scan("a recording another client wrote after the range was read", gnow-7200, gnow+60, first.ID(), late.ID())
}
