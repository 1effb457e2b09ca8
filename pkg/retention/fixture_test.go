package retention_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/media"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/retention"
	"github.com/recordingsd/recordingsd/pkg/store/couch"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
	"github.com/recordingsd/recordingsd/pkg/store/embedded"
	"github.com/recordingsd/recordingsd/pkg/store/storetest"
)

// backend is a store the tests load data into and sweep.
type backend = storetest.PurgeBackend

// world is one store, its data surviving restarts of the "process": restart closes the
// store and opens another on the same data, as a restarted service would.
type world struct {
	t       *testing.T
	store   backend
	restart func()
}

// forEachBackend runs test on CouchDB (a pouchdb-server of the test's own: a sweep walks
// every database of its server, so it must not share one with other tests) and on the
// embedded store.
func forEachBackend(t *testing.T, test func(t *testing.T, w *world)) {
	t.Run("couchdb", func(t *testing.T) {
		t.Parallel()
		srv := couchtest.StartServer(t)
		w := &world{t: t}
		var cur *couch.Store
		open := func() {
			s, err := couch.New(couch.Config{URL: srv.URL()}, zap.NewNop())
			if err != nil {
				t.Fatal(err)
			}
			cur, w.store = s, s
		}
		open()
		w.restart = func() { _ = cur.Close(); open() }
		t.Cleanup(func() { _ = cur.Close() })
		test(t, w)
	})
	t.Run("embedded", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "recordings.db")
		w := &world{t: t}
		var cur *embedded.Store
		open := func() {
			s, err := embedded.Open(path, embedded.Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			cur, w.store = s, s
		}
		open()
		w.restart = func() { _ = cur.Close(); open() }
		t.Cleanup(func() { _ = cur.Close() })
		test(t, w)
	})
}

// clock is the sweepers' time, moved by the tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// ago is a gregorian time d before the clock's now, as documents carry it.
func (c *clock) ago(d time.Duration) json.Number {
	return json.Number(strconv.FormatInt(recording.ToGregorian(c.Now().Add(-d)), 10))
}

const day = 24 * time.Hour

// dataset is what a test loaded: every document, by a name saying what it shows, with the
// revision it was written at.
type dataset struct {
	w     *world
	clock *clock
	docs  map[string]stored
	users map[string]stored // user documents of account databases
}

type stored struct {
	accountID string
	id        string
	rev       string
}

func newDataset(w *world, c *clock) *dataset {
	return &dataset{w: w, clock: c, docs: map[string]stored{}, users: map[string]stored{}}
}

func ctxOf(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// put writes a call recording of the month into the account; extra overrides fields.
func (d *dataset) put(name, accountID string, m recording.Month, extra map[string]any) string {
	t := d.w.t
	t.Helper()
	id := m.String() + "-" + couchtest.NewAccountID()
	doc := recording.Doc{
		"_id":          id,
		"pvt_type":     recording.TypeCallRecording,
		"pvt_created":  json.Number(strconv.FormatInt(recording.ToGregorian(m.Start().Add(time.Hour)), 10)),
		"pvt_modified": d.clock.ago(400 * day),
		"name":         name,
	}
	for k, v := range extra {
		doc[k] = v
	}
	rev, err := d.w.store.PutRecording(ctxOf(t), accountID, doc)
	if err != nil {
		t.Fatalf("PutRecording %s: %v", name, err)
	}
	d.docs[name] = stored{accountID: accountID, id: id, rev: rev}
	return id
}

// putAudio stores inline audio on a recording already put.
func (d *dataset) putAudio(name string, audio []byte) {
	t := d.w.t
	t.Helper()
	s := d.docs[name]
	rev, err := d.w.store.PutAttachment(ctxOf(t), s.accountID, s.id, s.rev, "call.mp3", "audio/mpeg", bytes.NewReader(audio))
	if err != nil {
		t.Fatalf("PutAttachment %s: %v", name, err)
	}
	s.rev = rev
	d.docs[name] = s
}

// account creates an account with a deleted user, which no sweep may touch.
func (d *dataset) account(name string) string {
	t := d.w.t
	t.Helper()
	id := couchtest.NewAccountID()
	ctx := ctxOf(t)
	if err := d.w.store.PutAccount(ctx, recording.Doc{"_id": id, "pvt_type": "account", "name": name}); err != nil {
		t.Fatal(err)
	}
	user := couchtest.NewAccountID()
	if err := d.w.store.PutUser(ctx, id, recording.Doc{"_id": user, "pvt_type": "user", "pvt_deleted": true,
		"pvt_modified": d.clock.ago(400 * day)}); err != nil {
		t.Fatal(err)
	}
	doc, err := d.w.store.AccountDoc(ctx, id, user)
	if err != nil {
		t.Fatal(err)
	}
	d.users[name] = stored{accountID: id, id: user, rev: doc.Rev()}
	return id
}

// standardMonth fills one month database with a recording of every kind, suffixing names.
func (d *dataset) standardMonth(accountID string, m recording.Month, suffix string) {
	c := d.clock
	d.put("deleted-2d"+suffix, accountID, m, map[string]any{"pvt_deleted": true, "pvt_modified": c.ago(2 * day)})
	d.put("deleted-23h"+suffix, accountID, m, map[string]any{"pvt_deleted": true, "pvt_modified": c.ago(23 * time.Hour)})
	d.put("deleted-1h"+suffix, accountID, m, map[string]any{"pvt_deleted": true, "pvt_modified": c.ago(time.Hour)})
	d.put("soft-40d"+suffix, accountID, m, map[string]any{"soft_delete": map[string]any{"deleted_at": c.ago(40 * day)}, "pvt_modified": c.ago(40 * day)})
	d.put("soft-10d"+suffix, accountID, m, map[string]any{"soft_delete": map[string]any{"deleted_at": c.ago(10 * day)}, "pvt_modified": c.ago(10 * day)})
	d.put("restored"+suffix, accountID, m, map[string]any{"soft_delete": nil,
		"soft_restore": map[string]any{"restored_at": c.ago(50 * day)}, "pvt_modified": c.ago(50 * day)})
	d.put("live"+suffix, accountID, m, nil)
	d.put("cdr-deleted"+suffix, accountID, m, map[string]any{"pvt_type": "cdr", "pvt_deleted": true})
}

// check asserts that exactly the named documents are gone and every other document, user
// documents included, is still at the revision it was written at.
func (d *dataset) check(gone ...string) {
	t := d.w.t
	t.Helper()
	ctx := ctxOf(t)
	isGone := map[string]bool{}
	for _, name := range gone {
		if _, ok := d.docs[name]; !ok {
			t.Fatalf("check: no document named %s", name)
		}
		isGone[name] = true
	}
	for name, s := range d.docs {
		doc, err := d.w.store.Get(ctx, s.accountID, s.id)
		switch {
		case isGone[name] && !recording.IsNotFound(err):
			t.Errorf("%s: still there (err %v), want purged", name, err)
		case !isGone[name] && err != nil:
			t.Errorf("%s: %v, want it kept", name, err)
		case !isGone[name] && doc.Rev() != s.rev:
			t.Errorf("%s: revision %s, want %s untouched", name, doc.Rev(), s.rev)
		}
	}
	for name, u := range d.users {
		doc, err := d.w.store.AccountDoc(ctx, u.accountID, u.id)
		if err != nil || doc.Rev() != u.rev {
			t.Errorf("deleted user of %s: %v rev %s, want untouched at %s", name, err, doc.Rev(), u.rev)
		}
	}
}

// names is the names with each suffix appended.
func names(base []string, suffixes ...string) []string {
	var out []string
	for _, s := range suffixes {
		for _, b := range base {
			out = append(out, b+s)
		}
	}
	return out
}

// recorder is an Observer keeping what it was told.
type recorder struct {
	mu      sync.Mutex
	purged  map[recording.PurgeReason]int
	failed  map[string]int // reason/cause
	media   map[string]int
	held    map[recording.PurgeReason]int
	ends    []string
	onPurge func(n int) // called after each purge with the running total
	total   int
}

func newRecorder() *recorder {
	return &recorder{purged: map[recording.PurgeReason]int{}, failed: map[string]int{}, media: map[string]int{},
		held: map[recording.PurgeReason]int{}}
}

func (r *recorder) Purged(reason recording.PurgeReason) {
	r.mu.Lock()
	r.purged[reason]++
	r.total++
	n, hook := r.total, r.onPurge
	r.mu.Unlock()
	if hook != nil {
		hook(n)
	}
}

func (r *recorder) PurgeFailed(reason recording.PurgeReason, cause string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed[string(reason)+"/"+cause]++
}

func (r *recorder) Held(reason recording.PurgeReason) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.held[reason]++
}

func (r *recorder) MediaDeleted(handler string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.media[handler]++
}

func (r *recorder) SweepEnded(result string, _ time.Time, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ends = append(r.ends, result)
}

// config is a sweeper configuration on the test clock: unhurried batches of 2 so that every
// month database takes several, no rate bound.
func config(c *clock, p retention.Policy, instance string) retention.Config {
	return retention.Config{Policy: p, BatchSize: 2, Lease: time.Minute, Interval: time.Hour,
		StateDB: "recordingsd", Instance: instance, Now: c.Now}
}

func newSweeper(t *testing.T, store recording.Purger, sources media.Sources, cfg retention.Config, obs retention.Observer) *retention.Sweeper {
	t.Helper()
	s, err := retention.New(store, sources, cfg, zap.NewNop(), obs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustSweep(t *testing.T, s *retention.Sweeper) *retention.Report {
	t.Helper()
	r, err := s.Sweep(ctxOf(t))
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	return r
}
