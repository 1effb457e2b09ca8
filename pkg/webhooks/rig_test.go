package webhooks_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/recordingsd/recordingsd/pkg/events"
	"github.com/recordingsd/recordingsd/pkg/events/eventstest"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
	"github.com/recordingsd/recordingsd/pkg/webhooks"
)

// backend is a store webhooks run on, with the writes Kazoo makes.
type backend interface {
	events.Store
	webhooks.Store
	recording.Loader
}

func forEachStore(t *testing.T, test func(t *testing.T, s backend)) { eventstest.ForEachStore(t, test) }

// testLease is short, for takeovers within a test, and long enough that a loaded cluster
// (writes to three nodes, tests in parallel) renews it in time: a leader that loses it by
// mistake hands over mid-delivery, and a few events come twice (at least once).
const testLease = 5 * time.Second

// testConfig delivers fast: retries after tens of milliseconds.
func testConfig(db string) webhooks.Config {
	return webhooks.Config{DB: db, Scan: 100 * time.Millisecond, RetryBase: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		DisableAfterFailures: 1000, DisableAfter: time.Hour, AccountCacheTTL: time.Minute}
}

// rig is a deployment over one store: an events database, accounts (a reseller and a
// customer below it), and instances that watch and deliver.
type rig struct {
	t                  *testing.T
	store              backend
	db                 string
	reseller, customer string
	sender             *webhooks.Sender
	tail               *events.Tail // the first instance's, for the registry
	registry           *webhooks.Registry
}

func newRig(t *testing.T, s backend) *rig {
	r := &rig{t: t, store: s, db: "webhooks_test_" + couchtest.NewAccountID()[:12],
		reseller: couchtest.NewAccountID(), customer: couchtest.NewAccountID()}
	ctx := context.Background()
	for id, tree := range map[string][]any{r.reseller: {}, r.customer: {r.reseller}} {
		if err := s.PutAccount(ctx, recording.Doc{"_id": id, "pvt_type": "account", "pvt_tree": tree}); err != nil {
			t.Fatal(err)
		}
	}
	sender, err := webhooks.NewSender(webhooks.SenderConfig{Timeout: 2 * time.Second, AllowedHosts: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	r.sender = sender
	r.tail = r.runTail()
	r.registry = webhooks.NewRegistry(s, r.db, r.tail, sender, nil)
	return r
}

// runTail starts a tail of the rig's log until the test ends.
func (r *rig) runTail() *events.Tail { return r.runTailOn(r.store) }

func (r *rig) runTailOn(store backend) *events.Tail {
	tail := events.NewTail(store, r.db, 50*time.Millisecond, zaptest.NewLogger(r.t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); tail.Run(ctx) }()
	r.t.Cleanup(func() { cancel(); <-done })
	select {
	case <-tail.Ready():
	case <-time.After(30 * time.Second):
		r.t.Fatal("the tail did not find the log's end within 30 s")
	}
	return tail
}

// instance starts a service instance's watcher and deliverer (with a tail of its own) and
// returns what stops it, as a kill would: the lease is given back only when graceful.
func (r *rig) instance(name string, poster webhooks.Poster) (stop func()) {
	r.t.Helper()
	return r.instanceOn(r.store, name, poster)
}

// instanceOn is instance with a store of its own (a connection that can be cut).
func (r *rig) instanceOn(store backend, name string, poster webhooks.Poster) (stop func()) {
	r.t.Helper()
	tail := r.runTailOn(store)
	if poster == nil {
		poster = r.sender
	}
	d, err := webhooks.NewDispatcher(store, tail, poster, testConfig(r.db), zaptest.NewLogger(r.t).Named(name), nil)
	if err != nil {
		r.t.Fatal(err)
	}
	w, err := events.NewWatcher(store, events.Config{DB: r.db, Retention: time.Hour, Lease: testLease, Instance: name,
		WhileLeading: d.Run, KeepFrom: d.KeepFrom, MaxBacklog: 2 * time.Hour}, zaptest.NewLogger(r.t).Named(name), nil)
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

// create registers a webhook on account and returns it (with its secret).
func (r *rig) create(account string, data map[string]any) webhooks.Webhook {
	r.t.Helper()
	w, err := r.registry.Create(context.Background(), account, data)
	if err != nil {
		r.t.Fatal(err)
	}
	return w
}

// record writes a recording with audio into account, as Kazoo does, and returns its id.
func (r *rig) record(account string) string {
	r.t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	d := recording.Doc{"_id": recording.MonthOf(now).String() + "-" + couchtest.NewAccountID(), "pvt_type": "call_recording",
		"pvt_created": recording.ToGregorian(now), "pvt_modified": recording.ToGregorian(now),
		"caller_id_number": "+15550001", "callee_id_number": "+15550002"}
	rev, err := r.store.PutRecording(ctx, account, d)
	if err == nil {
		_, err = r.store.PutAttachment(ctx, account, d.ID(), rev, "call.mp3", "audio/mpeg", strings.NewReader("audio"))
	}
	if err != nil {
		r.t.Fatal(err)
	}
	return d.ID()
}

// delivery is one request a receiver got.
type delivery struct {
	Event, EventID, Signature string
	Body                      []byte
	Payload                   map[string]any
	Status                    int
}

// endpoint is a webhook receiver that answers with the statuses answer gives.
type endpoint struct {
	*httptest.Server
	mu     sync.Mutex
	got    []delivery
	answer func(n int, d delivery) int // n counts requests from 0
}

func newEndpoint(t *testing.T, answer func(n int, d delivery) int) *endpoint {
	rc := &endpoint{answer: answer}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		d := delivery{Event: req.Header.Get("X-Recordings-Event"), EventID: req.Header.Get("X-Recordings-Event-Id"),
			Signature: req.Header.Get("X-Recordings-Signature"), Body: body}
		_ = json.Unmarshal(body, &d.Payload)
		rc.mu.Lock()
		n := len(rc.got)
		d.Status = http.StatusOK
		if rc.answer != nil {
			d.Status = rc.answer(n, d)
		}
		rc.got = append(rc.got, d)
		rc.mu.Unlock()
		w.WriteHeader(d.Status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *endpoint) deliveries() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.got...)
}

// accepted is the 2xx deliveries, by event id, counted.
func (rc *endpoint) accepted() map[string]int {
	out := map[string]int{}
	for _, d := range rc.deliveries() {
		if d.Status/100 == 2 {
			out[d.EventID]++
		}
	}
	return out
}

// waitFor polls until cond holds, or fails after timeout saying what.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// createdFor is the accepted recording.created deliveries of recording id.
func (rc *endpoint) createdFor(id string) []delivery {
	var out []delivery
	for _, d := range rc.deliveries() {
		if d.Event == string(events.Created) && d.Payload["recording_id"] == id && d.Status/100 == 2 {
			out = append(out, d)
		}
	}
	return out
}

// live waits until a watcher follows the feed.
func (r *rig) live() { eventstest.WaitLive(r.t, r.store, r.tail) }

// gotAll says whether the recording.created of every one of ids was accepted.
func (rc *endpoint) gotAll(ids ...string) bool {
	for _, id := range ids {
		if len(rc.createdFor(id)) == 0 {
			return false
		}
	}
	return true
}

// acceptedOnce fails t for every event accepted more than once.
func (rc *endpoint) acceptedOnce(t *testing.T) {
	t.Helper()
	for id, n := range rc.accepted() {
		if n != 1 {
			t.Errorf("event %s accepted %d times", id, n)
		}
	}
}
