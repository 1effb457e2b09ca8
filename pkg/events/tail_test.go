package events

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/embedded"
)

// writeLog writes n log documents of two events each, numbered from 1.
func writeLog(t *testing.T, s Store, db string, n int, loggedAt time.Time) []string {
	t.Helper()
	var ids []string
	for seq := int64(1); seq <= int64(n); seq++ {
		b := logBatch{ID: logID(seq), LoggedAt: loggedAt.UnixMilli()}
		for i := int64(0); i < 2; i++ {
			id := eventID(position{seq, i}, "acc", fmt.Sprintf("rec%d", seq), "1-a", Created)
			b.Events = append(b.Events, logEvent{Event: Event{ID: id, Type: Created}})
			ids = append(ids, id)
		}
		doc, err := recording.DocOf(b)
		if err != nil {
			t.Fatal(err)
		}
		if res, err := s.SaveSystemDocs(context.Background(), db, []recording.Doc{doc}); err != nil || res[0].Err != nil {
			t.Fatalf("%v %v", res, err)
		}
	}
	return ids
}

func openEmbedded(t *testing.T) Store {
	s, err := embedded.Open(filepath.Join(t.TempDir(), "r.db"), embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// A subscriber resuming further back than memory holds reads the log itself, in order, without
// gaps or repeats, whether it resumes at a batch's first event or inside it.
func TestTailResumesFromTheLog(t *testing.T) {
	s := openEmbedded(t)
	ids := writeLog(t, s, "events", 40, time.Now())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// a tail that knew nothing at its start, then read the first 20 documents
	tail := NewTail(s, "events", time.Hour, zap.NewNop())
	tail.keep = 3
	tail.started, tail.first, tail.next = true, 1, 1
	if err := tail.readNew(ctx); err != nil {
		t.Fatal(err)
	}
	// and one that keeps everything in memory
	roomy := NewTail(s, "events", time.Hour, zap.NewNop())
	roomy.started, roomy.first, roomy.next = true, 1, 1
	if err := roomy.readNew(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tail *Tail
		from int
	}{{tail, 0}, {tail, 1}, {tail, 7}, {tail, 40}, {tail, 77}, {roomy, 0}, {roomy, 1}, {roomy, 33}, {roomy, 78}} {
		tail, from := c.tail, c.from
		sub := tail.Subscribe(ids[from])
		for i := from + 1; i < len(ids); i++ {
			c, stop := context.WithTimeout(ctx, 2*time.Second)
			e, err := sub.Next(c)
			stop()
			if err != nil || e.ID != ids[i] {
				t.Fatalf("resumed after %d: event %d = %q, %v; want %s", from, i, e.ID, err, ids[i])
			}
		}
	}
}

// A subscriber that resumes after an event the retention removed goes on from the oldest kept.
func TestTailResumesPastPrunedEvents(t *testing.T) {
	s := openEmbedded(t)
	ids := writeLog(t, s, "events", 10, time.Now().Add(-48*time.Hour))
	w, err := NewWatcher(s, Config{DB: "events", Retention: 24 * time.Hour, Lease: time.Minute, Instance: "x"}, zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// keep the last four documents: they are young
	for seq := int64(7); seq <= 10; seq++ {
		res, _ := s.GetSystemDocs(context.Background(), "events", []string{logID(seq)})
		doc := res[0].Doc
		doc["logged_at"] = time.Now().UnixMilli()
		if r, err := s.SaveSystemDocs(context.Background(), "events", []recording.Doc{doc}); err != nil || r[0].Err != nil {
			t.Fatal(r, err)
		}
	}
	if err := w.pruneOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if first, _ := firstBatch(context.Background(), s, "events"); first != 7 {
		t.Fatalf("oldest document after pruning: %d, want 7", first)
	}
	tail := NewTail(s, "events", time.Hour, zap.NewNop())
	if err := tail.start(context.Background()); err != nil {
		t.Fatal(err)
	}
	sub := tail.Subscribe(ids[3]) // in document 2, pruned
	c, stop := context.WithTimeout(context.Background(), 2*time.Second)
	defer stop()
	e, err := sub.Next(c)
	if err != nil || e.ID != ids[12] {
		t.Fatalf("after a pruned event: %q, %v; want the oldest kept, %s", e.ID, err, ids[12])
	}
}

// The retention spares the log documents a reader still needs (KeepFrom), until they are
// older than MaxBacklog.
func TestPruneSparesWhatReadersNeed(t *testing.T) {
	s := openEmbedded(t)
	writeLog(t, s, "events", 10, time.Now().Add(-48*time.Hour)) // all past the 24 h retention
	keepFrom := int64(4)
	cfg := Config{DB: "events", Retention: 24 * time.Hour, Lease: time.Minute, Instance: "x",
		KeepFrom: func(context.Context) (int64, error) { return keepFrom, nil }, MaxBacklog: 72 * time.Hour}
	w, err := NewWatcher(s, cfg, zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.pruneOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if first, _ := firstBatch(context.Background(), s, "events"); first != 4 {
		t.Fatalf("oldest document after pruning with a reader at 4: %d, want 4", first)
	}
	keepFrom = 0 // no reader needs anything: the retention alone decides
	if err := w.pruneOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if first, _ := firstBatch(context.Background(), s, "events"); first != 0 {
		t.Fatalf("oldest document after pruning with no reader: %d, want none", first)
	}

	// past the backlog limit, a reader's need no longer keeps them
	writeLog(t, s, "events", 3, time.Now().Add(-100*time.Hour))
	keepFrom = 1
	if err := w.pruneOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if first, _ := firstBatch(context.Background(), s, "events"); first != 0 {
		t.Fatalf("documents older than the backlog limit kept: oldest %d", first)
	}
	if _, err := NewWatcher(s, Config{DB: "events", Retention: 24 * time.Hour, Lease: time.Minute, Instance: "x",
		KeepFrom: cfg.KeepFrom, MaxBacklog: time.Hour}, zap.NewNop(), nil); err == nil {
		t.Error("a backlog limit shorter than the retention was accepted")
	}
}

func TestEventIDs(t *testing.T) {
	id := eventID(position{42, 3}, "acc", "rec", "2-b", Deleted)
	p, ok := positionOf(id)
	if !ok || p != (position{42, 3}) || !ValidEventID(id) {
		t.Fatalf("%s: %v %v", id, p, ok)
	}
	if id != eventID(position{42, 3}, "acc", "rec", "2-b", Deleted) || id == eventID(position{42, 3}, "acc", "rec", "3-c", Deleted) {
		t.Error("event ids are not a function of the change")
	}
	for _, bad := range []string{"", "42", "0000000000000042-0003", "0000000000000000-0000-0123456789abcdef", "000000000000004x-0003-0123456789abcdef", "0000000000000042-0003-0123456789abcdeg"} {
		if ValidEventID(bad) {
			t.Errorf("%q is taken for an event id", bad)
		}
	}
}
