package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/embedded"
)

// The retention data set falls into exactly two month databases, half of it pvt_deleted
// two days ago, whatever day of the year the case runs.
func TestRetentionDataSpansTwoMonths(t *testing.T) {
	ctx := context.Background()
	for m := time.January; m <= time.December; m++ {
		for _, day := range []int{1, 15, 28, 31} {
			now := time.Date(2026, m, day, 23, 59, 0, 0, time.UTC)
			d, err := newRetentionData(ctx, 200, now)
			if err != nil {
				t.Fatalf("%s: %v", now.Format(time.DateOnly), err)
			}
			if d.nDeleted != 100 || d.nLive != 100 || len(d.docs) != 200 {
				t.Fatalf("%s: %d deleted, %d live of %d", now.Format(time.DateOnly), d.nDeleted, d.nLive, len(d.docs))
			}
			for _, mo := range d.months {
				if len(d.deleted[mo]) < 20 || len(d.live[mo]) < 20 {
					t.Errorf("%s: lopsided: %s", now.Format(time.DateOnly), d.spread())
				}
			}
			cut := recording.ToGregorian(now.Add(-24 * time.Hour))
			for _, doc := range d.docs {
				key, ok := recording.PurgeKeyOf(doc)
				if ok != doc.IsDeleted() || ok && (key.Reason != recording.PurgeDeleted || key.At > cut) {
					t.Fatalf("%s: %s: purge key %v %v", now.Format(time.DateOnly), doc.ID(), key, ok)
				}
			}
		}
	}
}

// A sweep of the case's data set passes the check, and the check fails when a live
// recording is missing or the report disagrees.
func TestRetentionVerifyCatchesWrongSweeps(t *testing.T) {
	ctx := context.Background()
	d, err := newRetentionData(ctx, 60, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "r.db")
	if err := d.seedEmbedded(ctx, path); err != nil {
		t.Fatal(err)
	}
	s, err := embedded.Open(path, embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, rep, err := timeSweep(ctx, s, 7, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.purged != 30 {
		t.Fatalf("purged %d, want 30", r.purged)
	}
	if err := d.verify(ctx, s, rep); err != nil {
		t.Fatalf("verify after a right sweep: %v", err)
	}

	rep.Purged["deleted"]--
	if err := d.verify(ctx, s, rep); err == nil {
		t.Fatal("verify passed a report short of one recording")
	}
	rep.Purged["deleted"]++

	victim := d.live[d.months[1]][0]
	doc, err := s.Get(ctx, d.accountID, victim)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, d.accountID, victim, doc.Rev()); err != nil {
		t.Fatal(err)
	}
	if err := d.verify(ctx, s, rep); err == nil {
		t.Fatal("verify passed with a live recording gone")
	}
}
