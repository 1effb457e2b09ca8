package retention_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/retention"
)

var (
	may   = recording.Month{Year: 2024, Month: 5}
	april = recording.Month{Year: 2024, Month: 4}
)

// threeMonths loads two accounts, three month databases, each with a recording of every
// kind; the suffixes say where a name lives.
func threeMonths(w *world, c *clock) (*dataset, []string) {
	d := newDataset(w, c)
	a, b := d.account("a"), d.account("b")
	if b < a {
		a, b = b, a
	}
	d.standardMonth(a, april, "@a4")
	d.standardMonth(a, may, "@a5")
	d.standardMonth(b, may, "@b5")
	d.putAudio("deleted-2d@a5", []byte("ID3 not really an mp3"))
	return d, []string{"@a4", "@a5", "@b5"} // the order a sweep visits them
}

// Each sweep hard-deletes what its policy takes, measured from the time the mark was made,
// and nothing else: not live or restored recordings, not recent marks, not documents of
// another type, not account documents.
func TestSweepTakesWhatThePolicySays(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		c := newClock()
		d, where := threeMonths(w, c)
		obs := newRecorder()

		s := newSweeper(t, w.store, nil, config(c, retention.Policy{DeletedAfter: day, SoftDeletedAfter: retention.Never}, "one"), obs)
		r := mustSweep(t, s)
		gone := names([]string{"deleted-2d"}, where...)
		d.check(gone...)
		if r.Purged["deleted"] != 3 || r.Purged["soft_deleted"] != 0 || r.Failed != 0 || r.Databases < 3 || r.Resumed {
			t.Fatalf("report %+v, want 3 deleted purged in 3 databases", r)
		}
		if obs.purged[recording.PurgeDeleted] != 3 || len(obs.ends) != 1 || obs.ends[0] != "completed" {
			t.Fatalf("observed purged %v, ends %v", obs.purged, obs.ends)
		}
		_, err := w.store.OpenAttachment(ctxOf(t), d.docs["deleted-2d@a5"].accountID, d.docs["deleted-2d@a5"].id, "call.mp3", nil)
		if !recording.IsNotFound(err) {
			t.Fatalf("audio of a purged recording: %v, want not found", err)
		}

		// Soft-deleted recordings go only when the policy names an age for them.
		s = newSweeper(t, w.store, nil, config(c, retention.Policy{DeletedAfter: day, SoftDeletedAfter: 30 * day}, "one"), obs)
		r = mustSweep(t, s)
		gone = append(gone, names([]string{"soft-40d"}, where...)...)
		d.check(gone...)
		if r.Purged["soft_deleted"] != 3 || r.Total() != 3 {
			t.Fatalf("report %+v, want 3 soft-deleted purged", r)
		}

		// Two hours on, the 23-hour-old marks are past a day.
		c.Advance(2 * time.Hour)
		r = mustSweep(t, s)
		gone = append(gone, names([]string{"deleted-23h"}, where...)...)
		d.check(gone...)
		if r.Total() != 3 {
			t.Fatalf("report %+v, want 3 purged", r)
		}

		// Kazoo's own cleanup: every pvt_deleted recording, whatever its age.
		s = newSweeper(t, w.store, nil, config(c, retention.Policy{DeletedAfter: 0, SoftDeletedAfter: retention.Never}, "one"), obs)
		mustSweep(t, s)
		gone = append(gone, names([]string{"deleted-1h"}, where...)...)
		d.check(gone...)
		if obs.purged[recording.PurgeDeleted] != 9 || obs.purged[recording.PurgeSoftDeleted] != 3 {
			t.Fatalf("observed purged %v, want 9 deleted and 3 soft-deleted", obs.purged)
		}
	})
}

// A dry run lists exactly what a sweep would take and writes nothing, not even the
// sweeper's state.
func TestDryRunChangesNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		c := newClock()
		d, where := threeMonths(w, c)
		s := newSweeper(t, w.store, nil, config(c, retention.Policy{DeletedAfter: day, SoftDeletedAfter: 30 * day}, "one"), nil)
		seen := map[string]recording.PurgeReason{}
		r, err := s.DryRun(ctxOf(t), func(db recording.MonthDB, cand recording.PurgeCandidate) {
			seen[cand.Key.ID] = cand.Key.Reason
			if cand.Doc.ID() != cand.Key.ID {
				t.Errorf("candidate %s carries document %s", cand.Key.ID, cand.Doc.ID())
			}
		})
		if err != nil {
			t.Fatalf("DryRun: %v", err)
		}
		want := map[string]recording.PurgeReason{}
		for _, n := range names([]string{"deleted-2d"}, where...) {
			want[d.docs[n].id] = recording.PurgeDeleted
		}
		for _, n := range names([]string{"soft-40d"}, where...) {
			want[d.docs[n].id] = recording.PurgeSoftDeleted
		}
		if len(seen) != len(want) {
			t.Fatalf("dry run listed %d recordings, want %d: %v", len(seen), len(want), seen)
		}
		for id, reason := range want {
			if seen[id] != reason {
				t.Fatalf("dry run: %s listed as %q, want %q", id, seen[id], reason)
			}
		}
		if r.Candidates != 6 || r.Purged["deleted"] != 3 || r.Purged["soft_deleted"] != 3 {
			t.Fatalf("dry run report %+v", r)
		}
		d.check()
		if _, err := w.store.SystemDoc(ctxOf(t), "recordingsd", "retention"); !recording.IsNotFound(err) {
			t.Fatalf("state document after a dry run: %v, want none", err)
		}
	})
}

// spy wraps a store: it records which month databases' candidates were read, can block the
// first read until released, and can "crash": every call fails from then on.
type spy struct {
	backend
	mu      sync.Mutex
	read    []recording.MonthDB
	crashed atomic.Bool
	entered chan struct{} // closed when the first read starts, if block is set
	block   chan struct{}
	once    sync.Once
}

var errCrashed = recording.Errorf(recording.EUnavailable, "the process died")

func (s *spy) PurgeCandidates(ctx context.Context, db recording.MonthDB, q recording.PurgeQuery) ([]recording.PurgeCandidate, error) {
	if s.crashed.Load() {
		return nil, errCrashed
	}
	s.mu.Lock()
	s.read = append(s.read, db)
	s.mu.Unlock()
	if s.block != nil {
		s.once.Do(func() { close(s.entered); <-s.block })
	}
	return s.backend.PurgeCandidates(ctx, db, q)
}

func (s *spy) DeleteMany(ctx context.Context, db recording.MonthDB, refs []recording.DocRef) ([]recording.DocResult, error) {
	if s.crashed.Load() {
		return nil, errCrashed
	}
	return s.backend.DeleteMany(ctx, db, refs)
}

func (s *spy) MonthDatabases(ctx context.Context, after recording.MonthDB, limit int) ([]recording.MonthDB, error) {
	if s.crashed.Load() {
		return nil, errCrashed
	}
	return s.backend.MonthDatabases(ctx, after, limit)
}

func (s *spy) SystemDoc(ctx context.Context, db, id string) (recording.Doc, error) {
	if s.crashed.Load() {
		return nil, errCrashed
	}
	return s.backend.SystemDoc(ctx, db, id)
}

func (s *spy) SaveSystemDoc(ctx context.Context, db string, doc recording.Doc) (string, error) {
	if s.crashed.Load() {
		return "", errCrashed
	}
	return s.backend.SaveSystemDoc(ctx, db, doc)
}

// monthsRead lists the distinct month databases read, in order.
func (s *spy) monthsRead() []recording.MonthDB {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []recording.MonthDB
	for _, db := range s.read {
		if len(out) == 0 || out[len(out)-1] != db {
			out = append(out, db)
		}
	}
	return out
}

func monthOf(d *dataset, name string) recording.MonthDB {
	m, _ := recording.ParseRecordingID(d.docs[name].id)
	return recording.MonthDB{AccountID: d.docs[name].accountID, Month: m}
}

// A sweep stopped midway (the service shut down) saves how far it got and lets its lease
// go; the restarted service resumes it at the next month database, with the cutoffs the
// sweep started with, and the sweep after that uses new ones.
func TestSweepResumesAfterARestart(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		c := newClock()
		d, where := threeMonths(w, c)
		policy := retention.Policy{DeletedAfter: day, SoftDeletedAfter: retention.Never}
		ctx, stop := context.WithCancel(ctxOf(t))
		obs := newRecorder()
		obs.onPurge = func(n int) {
			if n == 2 { // the second month database's only candidate: the first is done
				stop()
			}
		}
		first := newSweeper(t, w.store, nil, config(c, policy, "first"), obs)
		if _, err := first.Sweep(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("interrupted sweep: %v, want context.Canceled", err)
		}
		d.check(names([]string{"deleted-2d"}, where[:2]...)...)

		c.Advance(2 * time.Hour) // deleted-23h is now past a day, but not for the resumed sweep
		w.restart()
		sp := &spy{backend: w.store}
		second := newSweeper(t, sp, nil, config(c, policy, "second"), nil)
		r := mustSweep(t, second)
		if !r.Resumed {
			t.Fatalf("second sweep did not resume: %+v", r)
		}
		wantRead := []recording.MonthDB{monthOf(d, "live@a5"), monthOf(d, "live@b5")}
		if got := sp.monthsRead(); len(got) != 2 || got[0] != wantRead[0] || got[1] != wantRead[1] {
			t.Fatalf("resumed sweep read %v, want only %v (the first month database was done)", got, wantRead)
		}
		d.check(names([]string{"deleted-2d"}, where...)...)

		c.Advance(time.Hour)
		r = mustSweep(t, second)
		if r.Resumed || r.Total() != 3 {
			t.Fatalf("next sweep: %+v, want a fresh one purging the three deleted-23h", r)
		}
		d.check(names([]string{"deleted-2d", "deleted-23h"}, where...)...)
	})
}

// A sweeper that died midway keeps its lease until it runs out: meanwhile another instance
// stays away (busy); then it resumes the sweep where the dead one last saved it.
func TestSweepAfterACrashWaitsForTheLease(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		c := newClock()
		d, where := threeMonths(w, c)
		policy := retention.Policy{DeletedAfter: day, SoftDeletedAfter: retention.Never}
		dying := &spy{backend: w.store}
		obs := newRecorder()
		obs.onPurge = func(n int) {
			if n == 2 {
				dying.crashed.Store(true)
			}
		}
		first := newSweeper(t, dying, nil, config(c, policy, "first"), obs)
		if _, err := first.Sweep(ctxOf(t)); err == nil {
			t.Fatal("a sweep whose store died reported success")
		}

		w.restart()
		sp := &spy{backend: w.store}
		obs2 := newRecorder()
		second := newSweeper(t, sp, nil, config(c, policy, "second"), obs2)
		if _, err := second.Sweep(ctxOf(t)); !errors.Is(err, retention.ErrBusy) {
			t.Fatalf("sweep while the dead sweeper's lease holds: %v, want ErrBusy", err)
		}
		if len(sp.monthsRead()) != 0 || len(obs2.ends) != 1 || obs2.ends[0] != "busy" {
			t.Fatalf("a busy sweep read %v, ended %v", sp.monthsRead(), obs2.ends)
		}
		c.Advance(2 * time.Minute) // the lease is a minute
		r := mustSweep(t, second)
		if !r.Resumed {
			t.Fatalf("sweep after the lease ran out: %+v, want resumed", r)
		}
		if got := sp.monthsRead(); len(got) != 2 || got[0] != monthOf(d, "live@a5") {
			t.Fatalf("resumed sweep read %v, want the second and third month databases", got)
		}
		d.check(names([]string{"deleted-2d"}, where...)...)
	})
}

// One sweep at a time: a second call in the same process and a sweeper of another instance
// are both turned away while a sweep runs.
func TestOneSweepAtATime(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		c := newClock()
		d, where := threeMonths(w, c)
		policy := retention.Policy{DeletedAfter: day, SoftDeletedAfter: retention.Never}
		sp := &spy{backend: w.store, entered: make(chan struct{}), block: make(chan struct{})}
		a := newSweeper(t, sp, nil, config(c, policy, "a"), nil)
		b := newSweeper(t, w.store, nil, config(c, policy, "b"), nil)

		done := make(chan error, 1)
		go func() { _, err := a.Sweep(ctxOf(t)); done <- err }()
		<-sp.entered
		if _, err := a.Sweep(ctxOf(t)); !errors.Is(err, retention.ErrBusy) {
			t.Errorf("second sweep in the same process: %v, want ErrBusy", err)
		}
		if _, err := b.Sweep(ctxOf(t)); !errors.Is(err, retention.ErrBusy) {
			t.Errorf("sweep of another instance: %v, want ErrBusy", err)
		}
		close(sp.block)
		if err := <-done; err != nil {
			t.Fatalf("the running sweep: %v", err)
		}
		d.check(names([]string{"deleted-2d"}, where...)...)
		if r := mustSweep(t, b); r.Total() != 0 || r.Resumed {
			t.Fatalf("the other instance's sweep afterwards: %+v, want nothing left", r)
		}
	})
}

// A sweep resumed after the policy changed never takes what the new policy keeps.
func TestResumedSweepFollowsAStricterPolicy(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		c := newClock()
		d, _ := threeMonths(w, c)
		ctx, stop := context.WithCancel(ctxOf(t))
		obs := newRecorder()
		obs.onPurge = func(n int) {
			if n == 3 { // a4's two candidates, then a5's first (batches of 1): stop in a5
				stop()
			}
		}
		loose := config(c, retention.Policy{DeletedAfter: day, SoftDeletedAfter: 30 * day}, "one")
		loose.BatchSize = 1
		if _, err := newSweeper(t, w.store, nil, loose, obs).Sweep(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("interrupted sweep: %v", err)
		}
		strict := retention.Policy{DeletedAfter: day, SoftDeletedAfter: retention.Never}
		r := mustSweep(t, newSweeper(t, w.store, nil, config(c, strict, "one"), nil))
		if !r.Resumed {
			t.Fatalf("not resumed: %+v", r)
		}
		// a4 went entirely under the old policy; a5 had lost its deleted one when it stopped.
		d.check("deleted-2d@a4", "soft-40d@a4", "deleted-2d@a5", "deleted-2d@b5")
	})
}

// Run sweeps at once when no sweep ever ran, then waits for the interval; it stops with ctx.
func TestRunSweepsAndStops(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		c := newClock()
		d, where := threeMonths(w, c)
		obs := newRecorder()
		ended := make(chan struct{})
		var once sync.Once
		obs.onPurge = func(n int) {
			if n == 3 {
				once.Do(func() { close(ended) })
			}
		}
		s := newSweeper(t, w.store, nil, config(c, retention.Policy{DeletedAfter: day, SoftDeletedAfter: retention.Never}, "one"), obs)
		ctx, stop := context.WithCancel(ctxOf(t))
		stopped := make(chan struct{})
		go func() { s.Run(ctx); close(stopped) }()
		select {
		case <-ended:
		case <-time.After(time.Minute):
			t.Fatal("Run did not sweep within a minute")
		}
		// Wait for the sweep to record its end, then stop.
		deadline := time.Now().Add(30 * time.Second)
		for {
			doc, err := w.store.SystemDoc(ctxOf(t), "recordingsd", "retention")
			if err == nil && doc["last_finished_at"] != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no finished sweep in the state document: %v %v", doc, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		stop()
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after its context ended")
		}
		d.check(names([]string{"deleted-2d"}, where...)...)
	})
}
