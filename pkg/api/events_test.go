package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/recordingsd/recordingsd/pkg/api"
	"github.com/recordingsd/recordingsd/pkg/authz"
	"github.com/recordingsd/recordingsd/pkg/events"
	"github.com/recordingsd/recordingsd/pkg/events/eventstest"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
)

// sseEvent is one message of a Server-Sent Events stream.
type sseEvent struct {
	id, event string
	data      map[string]any
}

// sseClient reads a stream in the background.
type sseClient struct {
	t      *testing.T
	status int
	header http.Header
	events chan sseEvent
	cancel context.CancelFunc
}

func (f *fixture) stream(path, token string, headers ...string) *sseClient {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+path, nil)
	req.Header.Set("X-Auth-Token", token)
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		f.t.Fatal(err)
	}
	c := &sseClient{t: f.t, status: resp.StatusCode, header: resp.Header, events: make(chan sseEvent, 100), cancel: cancel}
	f.t.Cleanup(cancel)
	go func() {
		defer resp.Body.Close()
		defer close(c.events)
		sc := bufio.NewScanner(resp.Body)
		var cur sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if cur.event != "" {
					c.events <- cur
				}
				cur = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				cur.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				cur.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(line[6:]), &cur.data)
			}
		}
	}()
	return c
}

// next waits for the next event of the stream.
func (c *sseClient) next() sseEvent {
	c.t.Helper()
	select {
	case e, ok := <-c.events:
		if !ok {
			c.t.Fatal("the stream ended")
		}
		return e
	case <-time.After(30 * time.Second):
		c.t.Fatal("no event within 30 s")
	}
	return sseEvent{}
}

// quiet checks that no event comes for a while.
func (c *sseClient) quiet(d time.Duration) {
	c.t.Helper()
	select {
	case e, ok := <-c.events:
		if ok {
			c.t.Fatalf("unexpected event %s %v", e.event, e.data["recording_id"])
		}
	case <-time.After(d):
	}
}

// withEvents runs the events watcher and the log's tail over the fixture's store, and serves
// the stream from them.
func withEvents(t *testing.T, f *fixture, cfg func(*api.Config)) {
	t.Helper()
	store, ok := any(f.store).(events.Store)
	if !ok {
		t.Fatalf("%T has no change feed", f.store)
	}
	db := "events_api_" + randHex(6)
	w, err := events.NewWatcher(store, events.Config{DB: db, Retention: time.Hour, Lease: 5 * time.Second, Instance: "test"}, zaptest.NewLogger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	tail := events.NewTail(store, db, 50*time.Millisecond, zaptest.NewLogger(t))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); w.Run(ctx) }()
	go func() { defer wg.Done(); tail.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	f.cfg.Events = tail
	if cfg != nil {
		cfg(&f.cfg)
	}
	f.restart(f.static, f.cfg, zap.NewNop())
	eventstest.WaitLive(t, f.store, tail)
}

func skipOnPouchDB(t *testing.T) {
	t.Helper()
	if strings.HasSuffix(t.Name(), "/couchdb") && couchtest.IsPouchDB(t, couchtest.URL(t)) {
		t.Skip("pouchdb-server has no _db_updates: the stream is tested on Apache CouchDB (make test-couchdb, CI)")
	}
}

// The stream: a recording Kazoo writes arrives as recording.created with its listing view;
// Last-Event-ID resumes after an event; the wrong Accept or a made-up id is a clear 4xx.
func TestEventStream(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		skipOnPouchDB(t)
		f := newFixture(t, open)
		withEvents(t, f, nil)
		s := f.stream(f.base()+"/recordings/events", tokenAccount)
		if s.status != 200 || s.header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("stream: %d %v", s.status, s.header)
		}
		var ids []string
		for i := 0; i < 3; i++ {
			ids = append(ids, f.addRecording(rec{audio: randBytes(100)}))
		}
		var got []sseEvent
		for len(got) < 3 {
			got = append(got, s.next())
		}
		// one recording.created each; recordings of one month database may come in any order
		// (CouchDB merges the feeds of the database's shards)
		want := map[any]bool{ids[0]: true, ids[1]: true, ids[2]: true}
		for i, e := range got {
			if e.event != "recording.created" || !want[e.data["recording_id"]] || e.data["event_id"] != e.id ||
				e.data["account_id"] != f.account {
				t.Errorf("event %d: %s %v, want recording.created of one of %v", i, e.event, e.data, ids)
			}
			delete(want, e.data["recording_id"])
			data, _ := e.data["data"].(map[string]any)
			if data["id"] != e.data["recording_id"] || data["_read_only"] == nil {
				t.Errorf("event %d data is not the listing's view: %v", i, data)
			}
		}

		resumed := f.stream(f.base()+"/recordings/events", tokenAccount, "Last-Event-ID", got[0].id)
		for i := 1; i < 3; i++ {
			if e := resumed.next(); e.id != got[i].id {
				t.Errorf("resumed event %d: %s, want %s", i, e.id, got[i].id)
			}
		}
		byQuery := f.stream(f.base()+"/recordings/events?last_event_id="+got[1].id, tokenAccount)
		if e := byQuery.next(); e.id != got[2].id {
			t.Errorf("resumed by last_event_id: %s, want %s", e.id, got[2].id)
		}

		expectError(t, f.call("GET", f.base()+"/recordings/events", tokenAccount, nil, "Accept", "application/json"), 406, "not_acceptable")
		expectError(t, f.call("GET", f.base()+"/recordings/events?last_event_id=nope", tokenAccount, nil, "Accept", "text/event-stream"), 400, "validation error")
		expectError(t, f.call("GET", f.base()+"/recordings/events?include_subaccounts=yes", tokenAccount, nil, "Accept", "text/event-stream"), 400, "validation error")
	})
}

// Who sees what: a reseller sees its children's events only with include_subaccounts; a user
// under owner gating sees only their own recordings'.
func TestEventStreamScopes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		skipOnPouchDB(t)
		f := newFixture(t, open)
		withEvents(t, f, func(c *api.Config) { c.OwnerGating = authz.OwnerGating{Enabled: true} })
		reseller := f.stream("/v2/accounts/"+f.reseller+"/recordings/events", tokenReseller)
		withChildren := f.stream("/v2/accounts/"+f.reseller+"/recordings/events?include_subaccounts=true", tokenReseller)
		user := f.stream(f.base()+"/recordings/events", tokenUser)
		admin := f.stream(f.base()+"/recordings/events", tokenAccountAdmin)

		theirs := f.addRecording(rec{audio: randBytes(100), owner: "someone-else"})
		mine := f.addRecording(rec{audio: randBytes(100), owner: f.user})

		// events of different recordings may come in either order
		both := func(who string, c *sseClient) {
			t.Helper()
			got := map[any]bool{c.next().data["recording_id"]: true, c.next().data["recording_id"]: true}
			if !got[theirs] || !got[mine] {
				t.Errorf("%s saw %v, want %s and %s", who, got, theirs, mine)
			}
		}
		both("reseller with include_subaccounts", withChildren)
		both("account admin", admin)
		if e := user.next(); e.data["recording_id"] != mine {
			t.Errorf("gated user: %v, want only %s", e.data["recording_id"], mine)
		}
		reseller.quiet(2 * time.Second)
		user.quiet(500 * time.Millisecond)
	})
}
