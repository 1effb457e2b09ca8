package couch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/couchviews"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
)

// isCouchDB3 reports whether the test server is Apache CouchDB 3 (GET / says so), which has
// _active_tasks and index info; pouchdb-server has neither.
func isCouchDB3(t *testing.T, s *Store) bool {
	t.Helper()
	var welcome struct {
		CouchDB string `json:"couchdb"`
		Version string `json:"version"`
	}
	if err := s.getJSON(testContext(t), nil, &welcome); err != nil {
		t.Fatalf("GET /: %v", err)
	}
	return welcome.CouchDB == "Welcome" && strings.HasPrefix(welcome.Version, "3.")
}

// seedBulk writes n Kazoo-shaped recordings of month m into a new month database, 1000 a
// request, without our design documents, as Kazoo leaves them.
func seedBulk(t *testing.T, s *Store, account string, m recording.Month, n int) string {
	t.Helper()
	ctx := testContext(t)
	dbName := recording.MonthDBName(account, m)
	if err := s.client.CreateDB(ctx, dbName); err != nil {
		t.Fatalf("create %s: %v", dbName, err)
	}
	for i := 0; i < n; i += 1000 {
		var docs []recording.Doc
		for k := i; k < min(i+1000, n); k++ {
			docs = append(docs, recordingDoc(newRecordingID(m), created(m, int64(k)), map[string]any{
				"pvt_account_id": account, "call_id": fmt.Sprintf("call-%d@pbx", k), "media_source": "recorded",
				"caller_id_number": "+14155550101", "callee_id_number": "+12125550199", "duration_ms": 63000,
			}))
		}
		body, _ := json.Marshal(map[string]any{"docs": docs})
		resp, err := s.do(ctx, http.MethodPost, []string{dbName, "_bulk_docs"}, nil,
			http.Header{"Content-Type": {"application/json"}}, bytes.NewReader(body))
		if err != nil {
			t.Fatalf("_bulk_docs: %v", err)
		}
		err = statusErr(resp)
		drainClose(resp.Body)
		if err != nil {
			t.Fatalf("_bulk_docs: %v", err)
		}
	}
	return dbName
}

// The builder installs every design document it is given and builds their indexes; a
// second run has nothing left to do and says so beforehand.
func TestIndexBuilderBuilds(t *testing.T) {
	s := newTestStore(t)
	ctx := testContext(t)
	account := couchtest.NewAccountID()
	db := recording.MonthDB{AccountID: account, Month: testMonth}
	dbName := seedBulk(t, s, account, testMonth, 300)
	couch3 := isCouchDB3(t, s)
	b := NewIndexBuilder(s, couchviews.Recordings, couchviews.Retention)
	defer b.Close()

	before, err := b.Pending(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	// 300 documents, read by each of the two indexes from scratch.
	if before.Current || !before.Known || before.Changes != 600 ||
		before.ByDesign[couchviews.DesignID] != 300 || before.ByDesign[couchviews.RetentionDesignID] != 300 {
		t.Errorf("pending before the build: %+v, want 300 changes for each design, known, not current", before)
	}
	if err := b.Build(ctx, db); err != nil {
		t.Fatalf("Build: %v", err)
	}
	for _, d := range []*couchviews.Design{couchviews.Recordings, couchviews.Retention} {
		doc, err := s.readDoc(ctx, dbName, d.ID())
		if err != nil || !d.IsCurrent(doc) {
			t.Errorf("%s after the build: current %v, err %v", d.ID(), d.IsCurrent(doc), err)
		}
	}
	after, err := b.Pending(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case couch3 && (after.Changes != 0 || !after.Known || !after.Current):
		t.Errorf("pending after the build: %+v, want nothing, known, current", after)
	case !couch3 && (!after.Current || after.Known):
		t.Errorf("pending after the build on a server without index info: %+v, want current, unknown", after)
	}

	started := time.Now()
	if err := b.Build(ctx, db); err != nil {
		t.Fatalf("second Build: %v", err)
	}
	if took := time.Since(started); took > 2*time.Second {
		t.Errorf("building built indexes took %v", took)
	}
	rows, err := s.Scan(ctx, account, testMonth, recording.ScanQuery{From: 0, To: 1 << 40, Limit: 1000})
	if err != nil || len(rows) != 300 {
		t.Fatalf("Scan after the build: %d rows, %v; want 300", len(rows), err)
	}

	missing := recording.MonthDB{AccountID: couchtest.NewAccountID(), Month: testMonth}
	if _, err := b.Pending(ctx, missing); !recording.IsNotFound(err) {
		t.Errorf("Pending of a missing database: %v, want not found", err)
	}
	if err := b.Build(ctx, missing); !recording.IsNotFound(err) {
		t.Errorf("Build of a missing database: %v, want not found", err)
	}
}

// While a big month database's listing index is being built, a listing answers before its
// request timeout with a retry hint; the build stops waiting when told to (CouchDB goes on),
// resumes when run again, and then the listing answers with rows.
func TestListingDuringIndexBuild(t *testing.T) {
	s := newTestStore(t)
	if !isCouchDB3(t, s) {
		t.Skip("needs Apache CouchDB 3 (its _active_tasks say which index is being built); this server is not: run with RECORDINGS_TEST_COUCHDB_URL pointing at a CouchDB 3")
	}
	ctx := testContext(t)
	account := couchtest.NewAccountID()
	db := recording.MonthDB{AccountID: account, Month: testMonth}
	dbName := seedBulk(t, s, account, testMonth, 6000)
	key := IndexKey{DB: dbName, Design: couchviews.DesignID}

	b := NewIndexBuilder(s, couchviews.Recordings)
	defer b.Close()
	buildCtx, stopBuild := context.WithCancel(ctx)
	buildDone := make(chan error, 1)
	go func() { buildDone <- b.Build(buildCtx, db) }()
	waitFor(t, "the index build to show in _active_tasks", func() bool {
		building, err := s.IndexesBuilding(ctx)
		return err == nil && building[key].Total > 0
	})

	const timeout = 200 * time.Millisecond
	lister, err := New(Config{URL: couchtest.URL(t), RequestTimeout: timeout}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lister.Close()
	started := time.Now()
	_, err = lister.Scan(ctx, account, testMonth, recording.ScanQuery{From: 0, To: 1 << 40, Limit: 10})
	took := time.Since(started)
	if recording.ErrorCode(err) != recording.EUnavailable || recording.RetryAfter(err) <= 0 {
		t.Fatalf("listing during the build: %v (retry after %v), want unavailable with a retry hint", err, recording.RetryAfter(err))
	}
	if msg := recording.ErrorMessage(err); !strings.Contains(msg, "listing index of month 2024-03 is being built (") {
		t.Errorf("message %q does not say the month's listing index is being built", msg)
	}
	if took > timeout+time.Second {
		t.Errorf("listing during the build answered in %v, want about %v", took, timeout)
	}
	t.Logf("listing during the build: %v in %v: %s", recording.RetryAfter(err), took, recording.ErrorMessage(err))

	stopBuild()
	select {
	case err := <-buildDone:
		if err == nil {
			t.Fatal("the build ended before it was stopped: seed more documents")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Build did not return within 2s of its context ending")
	}
	if building, err := s.IndexesBuilding(ctx); err != nil || building[key].Total == 0 {
		t.Errorf("CouchDB stopped building when the builder stopped waiting: %v, %v", building, err)
	}

	if err := b.Build(ctx, db); err != nil {
		t.Fatalf("Build run again: %v", err)
	}
	work, err := b.Pending(ctx, db)
	if err != nil || work.Changes != 0 || !work.Known || !work.Current {
		t.Errorf("pending after the build: %+v, %v", work, err)
	}
	rows, err := lister.Scan(ctx, account, testMonth, recording.ScanQuery{From: 0, To: 1 << 40, Limit: 10})
	if err != nil || len(rows) != 10 {
		t.Fatalf("listing after the build: %d rows, %v; want 10", len(rows), err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// CouchDB stops waiting for an index after fabric's request_timeout with a 500 "timeout",
// while the build goes on: the builder asks again until the index answers.
func TestIndexBuilderOutlastsServerTimeouts(t *testing.T) {
	var viewQueries atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.Contains(r.URL.Path, "/_view/"):
			if viewQueries.Add(1) <= 2 {
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = w.Write([]byte(`{"error":"timeout","reason":"The request could not be processed in a reasonable amount of time."}`))
				return
			}
			_, _ = w.Write([]byte(`{"total_rows":100000,"offset":0,"rows":[]}`))
		case strings.HasSuffix(r.URL.Path, "/"+couchviews.DesignID):
			doc := couchviews.Recordings.Doc()
			doc["_rev"] = "1-design"
			_ = json.NewEncoder(w).Encode(doc)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	s, err := New(Config{URL: srv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := NewIndexBuilder(s, couchviews.Recordings)
	defer b.Close()
	if err := b.Build(testContext(t), recording.MonthDB{AccountID: couchtest.NewAccountID(), Month: testMonth}); err != nil {
		t.Fatalf("Build: %v", err)
	}
	if n := viewQueries.Load(); n != 3 {
		t.Errorf("%d view queries, want 3 (two timeouts, then the answer)", n)
	}
}

// A query CouchDB keeps waiting after its index is built (seen after an interrupted build)
// is given up once the index info says nothing is pending, and a fresh one answers.
func TestIndexBuilderReasksWhenTheIndexIsBuilt(t *testing.T) {
	var viewQueries atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.Contains(r.URL.Path, "/_view/"):
			if viewQueries.Add(1) == 1 {
				<-r.Context().Done() // never released
				return
			}
			_, _ = w.Write([]byte(`{"total_rows":100000,"offset":0,"rows":[]}`))
		case strings.HasSuffix(r.URL.Path, "/_info"):
			_, _ = w.Write([]byte(`{"name":"recordingsd","view_index":{"updates_pending":{"minimum":0,"preferred":0,"total":0},"updater_running":false}}`))
		case strings.HasSuffix(r.URL.Path, "/"+couchviews.DesignID):
			doc := couchviews.Recordings.Doc()
			doc["_rev"] = "1-design"
			_ = json.NewEncoder(w).Encode(doc)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	s, err := New(Config{URL: srv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := NewIndexBuilder(s, couchviews.Recordings)
	defer b.Close()
	b.checkEvery = 50 * time.Millisecond
	started := time.Now()
	if err := b.Build(testContext(t), recording.MonthDB{AccountID: couchtest.NewAccountID(), Month: testMonth}); err != nil {
		t.Fatalf("Build: %v", err)
	}
	if n, took := viewQueries.Load(), time.Since(started); n != 2 || took > 5*time.Second {
		t.Errorf("%d view queries in %v, want 2 (the stuck one given up at the first check)", n, took)
	}
}
