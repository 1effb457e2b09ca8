package events_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/recordingsd/recordingsd/pkg/events"
	"github.com/recordingsd/recordingsd/pkg/events/eventstest"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
)

// backend is a store the events run on, with the writes Kazoo makes.
type backend interface {
	events.Store
	recording.Store
	recording.Loader
}

func forEachStore(t *testing.T, test func(t *testing.T, s backend)) { eventstest.ForEachStore(t, test) }

// rig is a watcher and a tail over one store, in a database of their own.
type rig struct {
	t       *testing.T
	store   backend
	db      string
	account string
	tail    *events.Tail
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func newRig(t *testing.T, s backend) *rig {
	r := &rig{t: t, store: s, db: "events_test_" + couchtest.NewAccountID()[:12], account: couchtest.NewAccountID()}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.tail = events.NewTail(s, r.db, 50*time.Millisecond, zaptest.NewLogger(t))
	r.wg.Add(1)
	go func() { defer r.wg.Done(); r.tail.Run(ctx) }()
	t.Cleanup(r.stop)
	select {
	case <-r.tail.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("the tail did not find the log's end within 30 s")
	}
	return r
}

// live waits until the watcher follows the feed.
func (r *rig) live() { eventstest.WaitLive(r.t, r.store, r.tail) }

// watch starts a watcher as instance; the returned func stops it.
func (r *rig) watch(instance string, lease time.Duration) (stop func()) {
	w, err := events.NewWatcher(r.store, events.Config{DB: r.db, Retention: time.Hour, Lease: lease, Instance: instance}, zaptest.NewLogger(r.t), nil)
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	r.t.Cleanup(stop)
	return stop
}

func (r *rig) stop() {
	r.cancel()
	r.wg.Wait()
}

// put writes a recording straight into the store, as Kazoo does.
func (r *rig) put(doc recording.Doc) string {
	r.t.Helper()
	rev, err := r.store.PutRecording(context.Background(), r.account, doc)
	if err != nil {
		r.t.Fatal(err)
	}
	return rev
}

func (r *rig) attach(id, rev string) string {
	r.t.Helper()
	rev, err := r.store.PutAttachment(context.Background(), r.account, id, rev, "call.mp3", "audio/mpeg", strings.NewReader("ID3 audio"))
	if err != nil {
		r.t.Fatal(err)
	}
	return rev
}

func (r *rig) save(doc recording.Doc) string {
	r.t.Helper()
	rev, err := r.store.Save(context.Background(), r.account, doc)
	if err != nil {
		r.t.Fatal(err)
	}
	return rev
}

func newRecording(fields map[string]any) recording.Doc {
	now := time.Now().UTC()
	d := recording.Doc{"_id": recording.MonthOf(now).String() + "-" + couchtest.NewAccountID(), "pvt_type": "call_recording",
		"pvt_created": recording.ToGregorian(now), "pvt_modified": recording.ToGregorian(now),
		"caller_id_number": "+15550001", "callee_id_number": "+15550002", "owner_id": "u1"}
	for k, v := range fields {
		d[k] = v
	}
	return d
}

// collect reads the rig's account's events from a subscription until want says enough.
func (r *rig) collect(sub *events.Subscription, enough func([]events.Event) bool) []events.Event {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var got []events.Event
	for !enough(got) {
		e, err := sub.Next(ctx)
		if err != nil {
			r.t.Fatalf("after %d events (%s): %v", len(got), describe(got), err)
		}
		if e.AccountID == r.account {
			got = append(got, e)
		}
	}
	return got
}

func count(n int) func([]events.Event) bool {
	return func(es []events.Event) bool { return len(es) >= n }
}

func describe(es []events.Event) string {
	var parts []string
	for _, e := range es {
		parts = append(parts, fmt.Sprintf("%s %s", e.Type, e.RecordingID))
	}
	return strings.Join(parts, "; ")
}

// What Kazoo writes and what the API writes make the events of a recording's life, each
// once, with the listing's view of the recording and no credentials. Each step waits for its
// event: a feed may fold quick writes of one document into its latest revision.
func TestEventsOfWrites(t *testing.T) {
	forEachStore(t, func(t *testing.T, s backend) {
		r := newRig(t, s)
		r.watch("a", 5*time.Second)
		r.live()
		sub := r.tail.Subscribe("")
		var all []events.Event
		expect := func(id string, want events.Type) events.Event {
			t.Helper()
			got := r.collect(sub, func(es []events.Event) bool { return len(es) > 0 && es[len(es)-1].RecordingID == id })
			all = append(all, got...)
			last := got[len(got)-1]
			if len(got) != 1 || last.Type != want {
				t.Fatalf("after the write: %s, want only %s of %s", describe(got), want, id)
			}
			return last
		}
		update := func(id string, change func(recording.Doc)) {
			t.Helper()
			doc := mustGet(t, s, r.account, id)
			change(doc)
			r.save(doc)
		}

		// Kazoo: the document (no event yet: no audio), then its audio.
		doc := newRecording(nil)
		r.attach(doc.ID(), r.put(doc))
		expect(doc.ID(), events.Created)
		// The API and Kazoo: soft delete, restore, an update, Kazoo's own delete.
		update(doc.ID(), func(d recording.Doc) { d["soft_delete"] = map[string]any{"deleted_at": 1} })
		expect(doc.ID(), events.SoftDeleted)
		update(doc.ID(), func(d recording.Doc) {
			delete(d, "soft_delete")
			d["soft_restore"] = map[string]any{"restored_at": 2}
		})
		expect(doc.ID(), events.Restored)
		update(doc.ID(), func(d recording.Doc) { d["notes"] = "called back" })
		if e := expect(doc.ID(), events.Updated); e.Data["notes"] != "called back" {
			t.Errorf("updated event's data: %v", e.Data)
		}
		update(doc.ID(), func(d recording.Doc) { d["pvt_deleted"] = true })
		if e := expect(doc.ID(), events.Deleted); e.Data["reason"] != events.ReasonKazooDeleted {
			t.Errorf("Kazoo delete reason = %v", e.Data["reason"])
		}

		// Another recording, on a storage provider (one write with its audio), then removed.
		ext := newRecording(map[string]any{"pvt_attachments": map[string]any{"call.mp3": map[string]any{"content_type": "audio/mpeg",
			"handler": map[string]any{"kz_att_s3": map[string]any{"key": "AKIAEXAMPLE", "secret": "s3cr3t-value"}}}}})
		extRev := r.put(ext)
		if e := expect(ext.ID(), events.Created); e.Data["id"] != ext.ID() || e.Data["caller_id_number"] != "+15550001" {
			t.Errorf("event data is not the listing's view: %v", e.Data)
		}
		if err := s.Delete(context.Background(), r.account, ext.ID(), extRev); err != nil {
			t.Fatal(err)
		}
		if e := expect(ext.ID(), events.Deleted); e.Data["reason"] != events.ReasonHardDeleted || e.Data["id"] != ext.ID() {
			t.Errorf("hard delete: data %v", e.Data)
		}

		// A third, purged by the retention sweeper: its tombstone says so.
		old := newRecording(nil)
		oldRev := r.put(old)
		oldRev = r.attach(old.ID(), oldRev)
		expect(old.ID(), events.Created)
		purger := any(s).(recording.Purger)
		month, _ := recording.ParseRecordingID(old.ID())
		if res, err := purger.DeleteMany(context.Background(), recording.MonthDB{AccountID: r.account, Month: month},
			[]recording.DocRef{{ID: old.ID(), Rev: oldRev}}); err != nil || res[0].Err != nil {
			t.Fatal(res, err)
		}
		if e := expect(old.ID(), events.Deleted); e.Data["reason"] != events.ReasonRetention {
			t.Errorf("purge: reason %v", e.Data["reason"])
		}

		for _, e := range all {
			if strings.Contains(fmt.Sprint(e.Data), "s3cr3t") || strings.Contains(fmt.Sprint(e.Data), "AKIAEXAMPLE") {
				t.Errorf("an event carries storage credentials: %v", e.Data)
			}
			if e.OccurredAt < recording.ToGregorian(time.Now().Add(-time.Hour)) || e.ID == "" || e.Owner != "u1" {
				t.Errorf("event %+v: occurred_at, id or owner wrong", e)
			}
		}
		// nothing more, nothing twice
		time.Sleep(time.Second)
		if extra := r.drain(sub); len(extra) > 0 {
			t.Errorf("events after the last: %s", describe(extra))
		}
	})
}

func mustGet(t *testing.T, s backend, account, id string) recording.Doc {
	t.Helper()
	d, err := s.Get(context.Background(), account, id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Stopped while recordings arrive, started again: every one is announced, once.
func TestWatcherRestartLosesNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, s backend) {
		r := newRig(t, s)
		stop := r.watch("a", 5*time.Second)
		r.live()
		sub := r.tail.Subscribe("")
		first := newRecording(nil)
		r.attach(first.ID(), r.put(first))
		r.collect(sub, count(1))
		stop()

		var ids []string
		for i := 0; i < 5; i++ {
			d := newRecording(nil)
			r.attach(d.ID(), r.put(d))
			ids = append(ids, d.ID())
		}
		r.watch("a", 5*time.Second)
		got := r.collect(sub, count(5))
		time.Sleep(time.Second) // room for duplicates to show
		got = append(got, r.drain(sub)...)
		seen := map[string]int{}
		for _, e := range got {
			if e.Type == events.Created {
				seen[e.RecordingID]++
			}
		}
		for _, id := range ids {
			if seen[id] != 1 {
				t.Errorf("%s announced %d times, want once (events: %s)", id, seen[id], describe(got))
			}
		}
	})
}

// Two instances share one database: one leads, no event is logged twice, and the other takes
// over when the leader stops.
func TestTwoWatchersOneLeader(t *testing.T) {
	forEachStore(t, func(t *testing.T, s backend) {
		r := newRig(t, s)
		stopA := r.watch("a", 5*time.Second)
		time.Sleep(300 * time.Millisecond)
		r.watch("b", 5*time.Second)
		r.live()
		sub := r.tail.Subscribe("")
		var ids []string
		for i := 0; i < 5; i++ {
			d := newRecording(nil)
			r.attach(d.ID(), r.put(d))
			ids = append(ids, d.ID())
		}
		got := r.collect(sub, count(5))
		stopA() // gives its lease back; b takes over
		for i := 0; i < 3; i++ {
			d := newRecording(nil)
			r.attach(d.ID(), r.put(d))
			ids = append(ids, d.ID())
		}
		got = append(got, r.collect(sub, count(3))...)
		time.Sleep(time.Second)
		got = append(got, r.drain(sub)...)
		seen := map[string]int{}
		for _, e := range got {
			seen[e.RecordingID+" "+string(e.Type)]++
		}
		for _, id := range ids {
			if n := seen[id+" recording.created"]; n != 1 {
				t.Errorf("%s announced %d times, want once", id, n)
			}
		}
	})
}

// A subscriber that resumes after an event gets what followed it, without gaps or repeats.
func TestResumeAfterEvent(t *testing.T) {
	forEachStore(t, func(t *testing.T, s backend) {
		r := newRig(t, s)
		r.watch("a", 5*time.Second)
		r.live()
		sub := r.tail.Subscribe("")
		for i := 0; i < 6; i++ {
			d := newRecording(nil)
			r.attach(d.ID(), r.put(d))
		}
		all := r.collect(sub, count(6))
		resumed := r.tail.Subscribe(all[2].ID)
		again := r.collect(resumed, count(3))
		for i, e := range again {
			if e.ID != all[3+i].ID {
				t.Errorf("resumed event %d = %s, want %s", i, e.ID, all[3+i].ID)
			}
		}
	})
}

// drain returns the rig's account's events already waiting.
func (r *rig) drain(sub *events.Subscription) []events.Event {
	var out []events.Event
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		e, err := sub.Next(ctx)
		cancel()
		if err != nil {
			return out
		}
		if e.AccountID == r.account {
			out = append(out, e)
		}
	}
}
