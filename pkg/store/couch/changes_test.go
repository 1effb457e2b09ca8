package couch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
	"github.com/recordingsd/recordingsd/pkg/store/storetest"
)

// What the contract (storetest) cannot see of the CouchDB change feed: its checkpoint
// documents, deletions as CouchDB keeps them, the first start's history, a server without
// _db_updates, an unreachable one, and how long a write takes to come out.

// needsCouchDB skips a test of the change feed on pouchdb-server, which has no _db_updates
// and crashes on filter=_selector.
func needsCouchDB(t *testing.T) {
	t.Helper()
	if couchtest.IsPouchDB(t, couchtest.URL(t)) {
		t.Skip("pouchdb-server has no /_db_updates and crashes on a _changes filter=_selector: the feed needs CouchDB")
	}
}

// startFeed follows the changes of account under the checkpoint name in db.
func startFeed(t *testing.T, s *Store, db, name, account string) *storetest.Follower {
	t.Helper()
	return storetest.Follow(t, s, db, name, account, nil)
}

// couchJSON sends a request straight to the server, as Kazoo writes, and decodes the answer.
func couchJSON(t *testing.T, s *Store, method string, segments []string, query url.Values, body, out any) {
	t.Helper()
	var r *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	} else {
		r = bytes.NewReader(nil)
	}
	resp, err := s.doOK(testContext(t), method, segments, query, http.Header{"Content-Type": {"application/json"}}, r)
	if err != nil {
		t.Fatalf("%s %v: %v", method, segments, err)
	}
	defer drainClose(resp.Body)
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %v: decode: %v", method, segments, err)
		}
	}
}

// kazooPut writes a document straight into a database (created if needed): no design
// document, no read before.
func kazooPut(t *testing.T, s *Store, dbName string, doc recording.Doc) string {
	t.Helper()
	if err := s.createDB(testContext(t), dbName); err != nil {
		t.Fatal(err)
	}
	var res struct {
		Rev string `json:"rev"`
	}
	couchJSON(t, s, http.MethodPut, []string{dbName, doc.ID()}, s.writeQuery(nil), doc, &res)
	return res.Rev
}

// kazooBulk writes documents with one _bulk_docs, each answered by its new revision.
func kazooBulk(t *testing.T, s *Store, dbName string, docs []recording.Doc) []string {
	t.Helper()
	if err := s.createDB(testContext(t), dbName); err != nil {
		t.Fatal(err)
	}
	var res []struct {
		Rev   string `json:"rev"`
		Error string `json:"error"`
	}
	couchJSON(t, s, http.MethodPost, []string{dbName, "_bulk_docs"}, s.writeQuery(nil), map[string]any{"docs": docs}, &res)
	revs := make([]string, len(res))
	for i, r := range res {
		if r.Error != "" {
			t.Fatalf("_bulk_docs %s: %s", docs[i].ID(), r.Error)
		}
		revs[i] = r.Rev
	}
	return revs
}

func newFeedDB() string { return "feedtest_" + randomHex(8) }

// dbUpdatesCatchUp waits out _db_updates' lag (up to half a second) after creating a month
// database that a feed's first start must find as existing: created just before the start,
// it would be listed as created after it, and read whole.
func dbUpdatesCatchUp() { time.Sleep(1500 * time.Millisecond) }

// waitFeedStarted waits for the feed's checkpoint document: from then on, writes count.
func waitFeedStarted(t *testing.T, s *Store, db, name string) recording.Doc {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := s.GetSystemDocs(testContext(t), db, []string{"changes:" + name})
		if err == nil && res[0].Err == nil {
			return res[0].Doc
		}
		if time.Now().After(deadline) {
			t.Fatalf("the feed %s never saved its checkpoint: %v %+v", name, err, res)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFollowChangesCheckpoints: the feed's checkpoint exists from its first start on, a month
// database created during the feed is followed, and its checkpoint (an id with slashes) says
// its sequence once the batch is handled; deleted, the database loses its checkpoint, and
// created again, it is followed from its start.
func TestFollowChangesCheckpoints(t *testing.T) {
	t.Parallel()
	needsCouchDB(t)
	s := newTestStore(t)
	db, account := newFeedDB(), randomHex(16)
	month := recording.MonthOf(time.Now().UTC())
	dbName := recording.MonthDBName(account, month)

	before := recording.ToGregorian(time.Now())
	r := startFeed(t, s, db, "ckpt", account)
	feedDoc := waitFeedStarted(t, s, db, "ckpt")
	t0, ok := feedDoc.Int("first_start")
	if feedDoc.Type() != "change_feed" || feedDoc.String("feed") != "ckpt" || feedDoc.String("db_updates_seq") == "" ||
		!ok || t0 < before || t0 > before+5 {
		t.Fatalf("the feed's checkpoint: %v (started at %d)", feedDoc, before)
	}

	// The month database did not exist when the feed started.
	doc := recordingDoc(newRecordingID(month), created(month, 0), map[string]any{"pvt_modified": recording.ToGregorian(time.Now())})
	rev := kazooPut(t, s, dbName, doc)
	r.WaitFor("a recording in a month database created during the feed", storetest.AtRev(doc.ID(), rev, false))

	id := "changes:ckpt:" + dbName
	var cp recording.Doc
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := s.GetSystemDocs(testContext(t), db, []string{id})
		if err != nil {
			t.Fatal(err)
		}
		if cp = res[0].Doc; cp != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint %s after its batch was handled: %v", id, res[0].Err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if cp.Type() != "change_feed_database" || cp.String("feed") != "ckpt" || cp.String("database") != dbName || cp.String("seq") == "" {
		t.Errorf("month database checkpoint: %v", cp)
	}
	if _, ok := cp["min_modified"]; ok {
		t.Errorf("a month database read to its end still skips what was modified before the first start: %v", cp)
	}
	// Other tests' month databases have theirs too: the range holds this one among them.
	listed, err := s.SystemDocRange(testContext(t), db, "changes:ckpt:", "changes:ckpt;", 1000)
	found := false
	for _, d := range listed {
		found = found || d.ID() == id
	}
	if err != nil || !found {
		t.Errorf("SystemDocRange over the month database checkpoints: %v, %v", listed, err)
	}

	// The month database deleted: its checkpoint goes. Created again, it is read from its start.
	couchJSON(t, s, http.MethodDelete, []string{dbName}, nil, nil, nil)
	deadline = time.Now().Add(20 * time.Second)
	for {
		res, err := s.GetSystemDocs(testContext(t), db, []string{id})
		if err != nil {
			t.Fatal(err)
		}
		if recording.IsNotFound(res[0].Err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the checkpoint of a deleted month database stays: %v", res[0].Doc)
		}
		time.Sleep(20 * time.Millisecond)
	}
	again := recordingDoc(newRecordingID(month), created(month, 0), map[string]any{"pvt_modified": recording.ToGregorian(time.Now())})
	r.WaitFor("a recording in the month database created again", storetest.AtRev(again.ID(), kazooPut(t, s, dbName, again), false))

	if err := r.Stop(); err != nil {
		t.Fatalf("FollowChanges after its context ended: %v", err)
	}
}

// TestFollowChangesDeletions: CouchDB keeps of a deleted document its id and revision (or,
// written with _bulk_docs, whatever body the deletion carried). A deletion is delivered
// without a body unless its tombstone says it was something other than a recording.
func TestFollowChangesDeletions(t *testing.T) {
	t.Parallel()
	needsCouchDB(t)
	s := newTestStore(t)
	db, account := newFeedDB(), randomHex(16)
	month := recording.MonthOf(time.Now().UTC())
	dbName := recording.MonthDBName(account, month)
	now := recording.ToGregorian(time.Now())
	mod := map[string]any{"pvt_modified": now}

	r := startFeed(t, s, db, "deletions", account)
	waitFeedStarted(t, s, db, "deletions")

	plain := recordingDoc(newRecordingID(month), now, mod)
	withBody := recordingDoc(newRecordingID(month), now, mod)
	cdr := recordingDoc(newRecordingID(month), now, map[string]any{"pvt_type": "cdr", "pvt_modified": now})
	bareCDR := recordingDoc(newRecordingID(month), now, map[string]any{"pvt_type": "cdr", "pvt_modified": now})
	revs := kazooBulk(t, s, dbName, []recording.Doc{plain, withBody, cdr, bareCDR})

	var gone struct {
		Rev string `json:"rev"`
	}
	couchJSON(t, s, http.MethodDelete, []string{dbName, plain.ID()}, s.writeQuery(url.Values{"rev": {revs[0]}}), nil, &gone)
	plainGone := gone.Rev
	couchJSON(t, s, http.MethodDelete, []string{dbName, bareCDR.ID()}, s.writeQuery(url.Values{"rev": {revs[3]}}), nil, &gone)
	bareCDRGone := gone.Rev
	tombstones := kazooBulk(t, s, dbName, []recording.Doc{
		{"_id": withBody.ID(), "_rev": revs[1], "_deleted": true, "pvt_type": recording.TypeCallRecording, "name": "kept"},
		{"_id": cdr.ID(), "_rev": revs[2], "_deleted": true, "pvt_type": "cdr"},
	})
	last := recordingDoc(newRecordingID(month), now, mod)
	lastRev := kazooPut(t, s, dbName, last)

	r.WaitFor("the last write", storetest.AtRev(last.ID(), lastRev, false))
	r.WaitFor("a hard delete", storetest.AtRev(plain.ID(), plainGone, true))
	r.WaitFor("a deletion that kept a recording's body", storetest.AtRev(withBody.ID(), tombstones[0], true))
	r.WaitFor("a hard delete of another type of document (its tombstone says nothing)", storetest.AtRev(bareCDR.ID(), bareCDRGone, true))
	if c, ok := r.Latest()[cdr.ID()]; ok && c.Deleted {
		t.Errorf("a deletion whose body says cdr was delivered: %+v", c)
	}
}

// TestFollowChangesFirstStart: a month database the feed meets for the first time is read
// from its start, over several pages, delivering what was modified from a few minutes before
// the first start on, documents without pvt_modified and deletions; once read to its end,
// every write counts, whatever its pvt_modified.
func TestFollowChangesFirstStart(t *testing.T) {
	t.Parallel()
	needsCouchDB(t)
	s := newTestStore(t)
	db, account := newFeedDB(), randomHex(16)
	month := recording.MonthOf(time.Now().UTC())
	dbName := recording.MonthDBName(account, month)
	now := recording.ToGregorian(time.Now())

	var docs []recording.Doc
	oldIDs := map[string]bool{}
	for range 2*changesPageSize + 50 { // the history takes several pages
		d := recordingDoc(newRecordingID(month), now-86400, map[string]any{"pvt_modified": now - 86400})
		oldIDs[d.ID()] = true
		docs = append(docs, d)
	}
	recent := recordingDoc(newRecordingID(month), now, map[string]any{"pvt_modified": now - 120})
	unmodified := recordingDoc(newRecordingID(month), now, nil)
	removed := recordingDoc(newRecordingID(month), now-86400, map[string]any{"pvt_modified": now - 86400})
	docs = append(docs, recent, unmodified, removed)
	revs := kazooBulk(t, s, dbName, docs)
	var gone struct {
		Rev string `json:"rev"`
	}
	couchJSON(t, s, http.MethodDelete, []string{dbName, removed.ID()}, s.writeQuery(url.Values{"rev": {revs[len(revs)-1]}}), nil, &gone)
	dbUpdatesCatchUp()

	r := startFeed(t, s, db, "first", account)
	waitFeedStarted(t, s, db, "first")
	trigger := recordingDoc(newRecordingID(month), now, map[string]any{"pvt_modified": recording.ToGregorian(time.Now())})
	triggerRev := kazooPut(t, s, dbName, trigger)

	r.WaitFor("a write after the first start", storetest.AtRev(trigger.ID(), triggerRev, false))
	r.WaitFor("a recording modified two minutes before the first start", storetest.AtRev(recent.ID(), revs[len(revs)-3], false))
	r.WaitFor("a recording without pvt_modified", storetest.AtRev(unmodified.ID(), revs[len(revs)-2], false))
	r.WaitFor("a deletion before the first start", storetest.AtRev(removed.ID(), gone.Rev, true))
	for id := range r.Latest() {
		if oldIDs[id] {
			t.Fatalf("%s, modified a day before the first start, was delivered", id)
		}
	}

	// Read to its end: from now on a write counts whatever its pvt_modified says.
	restored := recordingDoc(newRecordingID(month), now-86400, map[string]any{"pvt_modified": now - 86400})
	restoredRev := kazooPut(t, s, dbName, restored)
	r.WaitFor("a write with an old pvt_modified after the first read", storetest.AtRev(restored.ID(), restoredRev, false))
	if n := len(r.Latest()); n != 5 {
		t.Errorf("%d documents delivered, want 5", n)
	}
}

// TestFollowChangesNeedsDBUpdates: a server whose /_db_updates the store cannot use
// (pouchdb-server has none; CouchDB's is for server admins) stops the feed at once with
// EUnavailable, saying why.
func TestFollowChangesNeedsDBUpdates(t *testing.T) {
	t.Parallel()
	serverURL := couchtest.URL(t)
	s := newTestStore(t)
	feedURL := serverURL
	if !couchtest.IsPouchDB(t, serverURL) {
		// A user who is no server admin.
		user, password := "feedtest"+randomHex(4), randomHex(8)
		var created struct {
			Rev string `json:"rev"`
		}
		couchJSON(t, s, http.MethodPut, []string{"_users", "org.couchdb.user:" + user}, nil,
			map[string]any{"name": user, "password": password, "roles": []string{}, "type": "user"}, &created)
		t.Cleanup(func() {
			couchJSON(t, s, http.MethodDelete, []string{"_users", "org.couchdb.user:" + user}, url.Values{"rev": {created.Rev}}, nil, nil)
		})
		u, err := url.Parse(serverURL)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword(user, password)
		feedURL = u.String()
	}
	fs, err := New(Config{URL: feedURL}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fs.Close() })
	start := time.Now()
	err = fs.FollowChanges(testContext(t), newFeedDB(), "nofeed", func(context.Context, []recording.Change) error { return nil })
	wantCode(t, "FollowChanges without /_db_updates", err, recording.EUnavailable)
	if !strings.Contains(recording.ErrorMessage(err), "_db_updates") && !strings.Contains(err.Error(), "_db_updates") {
		t.Errorf("the error does not say what is missing: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("FollowChanges took %v to give up on a server without /_db_updates", d)
	}
}

// TestFollowChangesUnreachable: a server that cannot be reached is retried for FeedRetryFor,
// then the feed stops with EUnavailable; the end of ctx stops it at once, with nil.
func TestFollowChangesUnreachable(t *testing.T) {
	t.Parallel()
	noop := func(context.Context, []recording.Change) error { return nil }
	s, err := New(Config{URL: "http://127.0.0.1:1", FeedRetryFor: 700 * time.Millisecond}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	start := time.Now()
	err = s.FollowChanges(testContext(t), "feedtest_down", "down", noop)
	wantCode(t, "FollowChanges with the server down", err, recording.EUnavailable)
	if d := time.Since(start); d < 700*time.Millisecond || d > 10*time.Second {
		t.Errorf("FollowChanges gave up after %v, want about FeedRetryFor (700ms) plus a backoff", d)
	}

	patient, err := New(Config{URL: "http://127.0.0.1:1", FeedRetryFor: time.Hour}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = patient.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start = time.Now()
	if err := patient.FollowChanges(ctx, "feedtest_down", "down", noop); err != nil {
		t.Errorf("FollowChanges when its context ended while retrying: %v, want nil", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("FollowChanges returned %v after its context's end", d)
	}

	err = s.FollowChanges(testContext(t), "Not A DB", "x", noop)
	wantCode(t, "FollowChanges into a database that is not a system database name", err, recording.EInvalid)
	err = s.FollowChanges(testContext(t), "feedtest_x", "", noop)
	wantCode(t, "FollowChanges without a name", err, recording.EInvalid)
}

// TestFollowChangesHandlerError: an error from handle stops the feed and comes back as it is.
func TestFollowChangesHandlerError(t *testing.T) {
	t.Parallel()
	needsCouchDB(t)
	s := newTestStore(t)
	db, account := newFeedDB(), randomHex(16)
	month := recording.MonthOf(time.Now().UTC())
	boom := errors.New("boom")
	done := make(chan error, 1)
	go func() {
		done <- s.FollowChanges(testContext(t), db, "failing", func(_ context.Context, batch []recording.Change) error {
			for _, c := range batch {
				if c.AccountID == account {
					return fmt.Errorf("handling %s: %w", c.ID, boom)
				}
			}
			return nil
		})
	}()
	waitFeedStarted(t, s, db, "failing")
	kazooPut(t, s, recording.MonthDBName(account, month), recordingDoc(newRecordingID(month), created(month, 0), nil))
	select {
	case err := <-done:
		if !errors.Is(err, boom) {
			t.Fatalf("FollowChanges after its handler failed: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("FollowChanges did not stop when its handler failed")
	}
}

// TestFollowChangesLag measures how long a write takes to reach handle: a write every
// 150 ms into a month database the feed already follows.
func TestFollowChangesLag(t *testing.T) {
	needsCouchDB(t)
	s := newTestStore(t)
	db, account := newFeedDB(), randomHex(16)
	month := recording.MonthOf(time.Now().UTC())
	dbName := recording.MonthDBName(account, month)
	r := startFeed(t, s, db, "lag", account)
	waitFeedStarted(t, s, db, "lag")
	first := recordingDoc(newRecordingID(month), created(month, 0), nil)
	r.WaitFor("the first write", storetest.AtRev(first.ID(), kazooPut(t, s, dbName, first), false))

	const writes = 30
	type write struct {
		id, rev string
		at      time.Time
	}
	var done []write
	for range writes {
		doc := recordingDoc(newRecordingID(month), created(month, 0), map[string]any{"pvt_modified": recording.ToGregorian(time.Now())})
		rev := kazooPut(t, s, dbName, doc)
		done = append(done, write{doc.ID(), rev, time.Now()})
		time.Sleep(150 * time.Millisecond)
	}
	var lags []time.Duration
	for _, w := range done {
		r.WaitFor("write "+w.id, storetest.AtRev(w.id, w.rev, false))
		at, _ := r.Arrival(w.id, w.rev)
		lags = append(lags, at.Sub(w.at))
	}
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	p50, p90, worst := lags[len(lags)/2], lags[len(lags)*9/10], lags[len(lags)-1]
	t.Logf("write → handle over %d writes: p50 %v, p90 %v, max %v (cluster: %v)", writes,
		p50.Round(time.Millisecond), p90.Round(time.Millisecond), worst.Round(time.Millisecond), couchtest.IsCluster(t, couchtest.URL(t)))
	if p50 > 2*time.Second {
		t.Errorf("write → handle p50 %v: far off the goal (under 1 s)", p50)
	}
}

// TestStateDocsIDsWithSlashesAndDesignDocuments: ids with slashes (the feed's checkpoints)
// travel in bodies, never in paths; design documents never come out of a range, which goes
// on past them to fill its limit.
func TestStateDocsIDsWithSlashesAndDesignDocuments(t *testing.T) {
	t.Parallel()
	s := newTestStore(t)
	ctx := testContext(t)
	db := newFeedDB()
	slashed := "changes:x:account/ab/cd/" + randomHex(14) + "-202601"
	res, err := s.SaveSystemDocs(ctx, db, []recording.Doc{{"_id": slashed, "n": 1}, {"_id": "A"}, {"_id": "a"}, {"_id": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("SaveSystemDocs %s: %v", r.ID, r.Err)
		}
	}
	got, err := s.GetSystemDocs(ctx, db, []string{slashed, slashed})
	if err != nil || got[0].Err != nil || got[1].Err != nil || got[0].Doc.ID() != slashed {
		t.Fatalf("GetSystemDocs of an id with slashes, twice: %+v, %v", got, err)
	}
	got[0].Doc["n"] = 2
	if got[1].Doc["n"] == 2 {
		t.Errorf("two results share one document")
	}
	for _, d := range []string{"_design/a", "_design/b", "_design/c"} {
		couchJSON(t, s, http.MethodPut, []string{db, d}, nil, map[string]any{"language": "javascript"}, nil)
	}
	// Bytewise, "A" < "_design/…" < "a" < "b" < "changes:…".
	docs, err := s.SystemDocRange(ctx, db, "", "", 2)
	if err != nil || len(docs) != 2 || docs[0].ID() != "A" || docs[1].ID() != "a" {
		t.Fatalf("SystemDocRange past design documents: %v, %v", docs, err)
	}
	docs, err = s.SystemDocRange(ctx, db, "A", "", 10)
	var listed []string
	for _, d := range docs {
		listed = append(listed, d.ID())
	}
	if err != nil || strings.Join(listed, ",") != "a,b,"+slashed {
		t.Fatalf("SystemDocRange after A: %v, %v", listed, err)
	}
	_, err = s.SystemDocRange(ctx, db, "", "", 0)
	wantCode(t, "SystemDocRange with limit 0", err, recording.EInvalid)
}

// TestFollowChangesOutage: a CouchDB that goes away (killed) and comes back is retried, and
// the feed goes on where it was; a frozen one does not keep the feed from returning when its
// context ends.
func TestFollowChangesOutage(t *testing.T) {
	t.Parallel()
	srv := couchtest.StartServer(t)
	if srv.Kind() != "CouchDB" {
		t.Skipf("needs a CouchDB node of its own (%s), not %s", couchtest.EnvCouchDBScript, srv.Kind())
	}
	s, err := New(Config{URL: srv.URL(), FeedRetryFor: 2 * time.Minute}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	db, account := newFeedDB(), randomHex(16)
	month := recording.MonthOf(time.Now().UTC())
	dbName := recording.MonthDBName(account, month)
	mod := func() map[string]any { return map[string]any{"pvt_modified": recording.ToGregorian(time.Now())} }

	r := startFeed(t, s, db, "outage", account)
	waitFeedStarted(t, s, db, "outage")
	before := recordingDoc(newRecordingID(month), created(month, 0), mod())
	r.WaitFor("a write before the outage", storetest.AtRev(before.ID(), kazooPut(t, s, dbName, before), false))

	srv.Stop()
	time.Sleep(time.Second)
	srv.Start()
	after := recordingDoc(newRecordingID(month), created(month, 0), mod())
	r.WaitFor("a write after the server came back", storetest.AtRev(after.ID(), kazooPut(t, s, dbName, after), false))

	srv.Pause()
	defer srv.Resume()
	time.Sleep(500 * time.Millisecond)
	start := time.Now()
	if err := r.Stop(); err != nil {
		t.Errorf("FollowChanges when its context ended, the server frozen: %v", err)
	}
	// Only the checkpoint of a batch handled just before may hold it, for checkpointSaveTimeout.
	if d := time.Since(start); d > checkpointSaveTimeout+time.Second {
		t.Errorf("FollowChanges returned %v after its context's end, the server frozen", d)
	}
}

// TestFollowChangesLongHistory: a month database whose history takes more pages than a round
// reads (changesPagesPerRound) is read over several rounds; a handler failing in a later
// round stops the feed, and the next run goes on from the pages saved, still skipping what was
// modified before the first start.
func TestFollowChangesLongHistory(t *testing.T) {
	t.Parallel()
	needsCouchDB(t)
	s := newTestStore(t)
	db, account := newFeedDB(), randomHex(16)
	month := recording.MonthOf(time.Now().UTC())
	dbName := recording.MonthDBName(account, month)
	now := recording.ToGregorian(time.Now())

	var docs []recording.Doc
	for range changesPagesPerRound*changesPageSize + 2*changesPageSize + 100 {
		docs = append(docs, recordingDoc(newRecordingID(month), now-86400, map[string]any{"pvt_modified": now - 86400}))
	}
	for len(docs) > 0 {
		n := min(len(docs), 1000)
		kazooBulk(t, s, dbName, docs[:n])
		docs = docs[n:]
	}
	recent := recordingDoc(newRecordingID(month), now, map[string]any{"pvt_modified": now - 60})
	recentRev := kazooPut(t, s, dbName, recent)
	dbUpdatesCatchUp()

	boom := errors.New("boom")
	done := make(chan error, 1)
	go func() {
		done <- s.FollowChanges(testContext(t), db, "history", func(_ context.Context, batch []recording.Change) error {
			for _, c := range batch {
				if c.AccountID == account {
					return boom
				}
			}
			return nil
		})
	}()
	waitFeedStarted(t, s, db, "history")
	trigger := recordingDoc(newRecordingID(month), now, map[string]any{"pvt_modified": recording.ToGregorian(time.Now())})
	triggerRev := kazooPut(t, s, dbName, trigger)
	select {
	case err := <-done:
		if !errors.Is(err, boom) {
			t.Fatalf("FollowChanges: %v, want the handler's error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the handler was never given this account's recordings")
	}
	if !couchtest.IsCluster(t, couchtest.URL(t)) {
		// One node gives the changes in the order written: the first round read only old
		// documents, and saved where it stood, still skipping the history.
		res, err := s.GetSystemDocs(testContext(t), db, []string{"changes:history:" + dbName})
		if err != nil || res[0].Err != nil {
			t.Fatalf("no checkpoint for the month database after its first round: %+v, %v", res, err)
		}
		if _, ok := res[0].Doc.Int("min_modified"); !ok || res[0].Doc.String("seq") == "" {
			t.Errorf("checkpoint of a month database read part of the way: %v", res[0].Doc)
		}
	}

	r := startFeed(t, s, db, "history", account)
	r.WaitFor("the recent recording", storetest.AtRev(recent.ID(), recentRev, false))
	r.WaitFor("the write after the first start", storetest.AtRev(trigger.ID(), triggerRev, false))
	if n := len(r.Latest()); n != 2 {
		t.Errorf("%d documents delivered, want 2 (history before the first start skipped)", n)
	}
}
