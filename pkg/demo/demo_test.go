package demo_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/demo"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
)

func listAll(t *testing.T, s recording.Store, accountID string, from, to time.Time, soft bool) []recording.Row {
	t.Helper()
	var rows []recording.Row
	_, err := recording.List(context.Background(), s, recording.ListRequest{
		AccountID: accountID, From: recording.ToGregorian(from), To: recording.ToGregorian(to), IncludeSoftDeleted: soft,
	}, func(r recording.Row) error { rows = append(rows, r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// Seeding writes accounts, users and recordings with audio; seeding again adds nothing.
func TestSeedIsIdempotent(t *testing.T) {
	s, err := couch.New(couch.Config{URL: couchtest.URL(t), WriteQuorum: couchtest.WriteQuorum(t, couchtest.URL(t))}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// The demo ids are fixed, so this test owns the shared test server's demo accounts: clear the
	// ground by seeding with a fixed anchor each time.
	anchor := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	res, err := demo.Seed(ctx, s, demo.Options{RecordingsPerAccount: 30, Anchor: anchor})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := demo.Seeded(ctx, s); !ok || err != nil {
		t.Fatalf("Seeded = %v, %v", ok, err)
	}
	acc := res.Accounts[0]
	if len(acc.Users) != 3 || res.Recordings != 30 || res.SampleRecording == "" || res.SoftDeleted == "" || res.KazooDeleted == "" {
		t.Fatalf("result = %+v", res)
	}
	child, err := s.Account(ctx, acc.ID)
	if err != nil || child["pvt_tree"].([]any)[0] != demo.ResellerID {
		t.Fatalf("child account %v, %v", child, err)
	}
	from, to := anchor.AddDate(0, -3, -2), anchor
	var visible, all []recording.Row
	// The window is wider than one listing allows: walk it in two halves.
	mid := anchor.AddDate(0, 0, -46)
	visible = append(listAll(t, s, acc.ID, from, mid, false), listAll(t, s, acc.ID, mid.Add(time.Second), to, false)...)
	all = append(listAll(t, s, acc.ID, from, mid, true), listAll(t, s, acc.ID, mid.Add(time.Second), to, true)...)
	if len(all) != 29 || len(visible) != 29-3 {
		t.Fatalf("listed %d (with soft-deleted %d), want 26 and 29 (one pvt_deleted, three soft-deleted)", len(visible), len(all))
	}
	months := map[string]bool{}
	for _, r := range all {
		months[r.Doc.ID()[:6]] = true
	}
	if len(months) < 3 {
		t.Errorf("recordings span %d months, want at least 3", len(months))
	}
	doc, err := s.Get(ctx, acc.ID, res.SampleRecording)
	if err != nil || len(doc.Attachments()) != 1 || doc.Attachments()[0].Length < 5000 {
		t.Fatalf("sample recording %v, %v", doc.Attachments(), err)
	}

	again, err := demo.Seed(ctx, s, demo.Options{RecordingsPerAccount: 30})
	if err != nil {
		t.Fatal(err)
	}
	if again.SampleRecording != res.SampleRecording {
		t.Errorf("a second seed wrote other ids: %s, then %s", res.SampleRecording, again.SampleRecording)
	}
	allAgain := append(listAll(t, s, acc.ID, from, mid, true), listAll(t, s, acc.ID, mid.Add(time.Second), to, true)...)
	if len(allAgain) != len(all) {
		t.Errorf("after a second seed: %d recordings, want %d", len(allAgain), len(all))
	}
}
