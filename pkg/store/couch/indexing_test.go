package couch

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/recordingsd/recordingsd/couchviews"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// scriptedCouch answers what a listing of one month database asks: the database exists,
// _design/recordingsd is current, the view answers after viewDelay (never when negative),
// and _active_tasks says tasks (or tasksStatus).
type scriptedCouch struct {
	viewDelay   time.Duration
	tasks       []activeTask
	tasksStatus int
}

func (c scriptedCouch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch path := r.URL.Path; {
	case path == "/_active_tasks":
		if c.tasksStatus != 0 {
			w.WriteHeader(c.tasksStatus)
			_, _ = w.Write([]byte(`{"error":"unauthorized","reason":"You are not a server admin."}`))
			return
		}
		_ = json.NewEncoder(w).Encode(c.tasks)
	case strings.Contains(path, "/_view/"):
		if c.viewDelay < 0 {
			<-r.Context().Done()
			return
		}
		select {
		case <-time.After(c.viewDelay):
		case <-r.Context().Done():
			return
		}
		if strings.HasSuffix(path, "/"+couchviews.ViewCreatedRange) {
			_, _ = w.Write([]byte(`{"rows":[{"key":null,"value":{"sum":63877305600,"count":1,"min":63877305600,"max":63877305600,"sumsqr":0}}]}`))
			return
		}
		_, _ = w.Write([]byte(`{"total_rows":1,"offset":0,"rows":[{"id":"202403-a","key":[63877305600,"202403-a"],"value":{"_id":"202403-a","_rev":"1-a","pvt_type":"call_recording","pvt_created":63877305600}}]}`))
	case strings.HasSuffix(path, "/"+couchviews.DesignID):
		doc := couchviews.Recordings.Doc()
		doc["_rev"] = "1-design"
		_ = json.NewEncoder(w).Encode(doc)
	case r.Method == http.MethodHead:
		w.WriteHeader(http.StatusOK)
	default:
		http.NotFound(w, r)
	}
}

// A listing whose view waits for an index being built answers before couchdb.request_timeout:
// at once with a retry hint when the build will not end in time, with the rows when it will,
// and as before (datastore unreachable, no hint) when nothing says an index is being built.
func TestListingWhileIndexBuilds(t *testing.T) {
	account := "ab12cd34ef56ab12cd34ef56ab12cd34"
	dbName := recording.MonthDBName(account, testMonth)
	shard := func(shards, db, design string, done, total, secs int64) activeTask {
		return activeTask{Type: "indexer", Node: "couchdb@127.0.0.1", Database: "shards/" + shards + "/" + db + ".1796303610",
			DesignDocument: design, ChangesDone: done, TotalChanges: total, StartedOn: 1796303000, UpdatedOn: 1796303000 + secs}
	}
	// Early answers come at the first look, a quarter of the timeout in: well before it.
	const timeout = time.Second
	const early = 3 * timeout / 4
	tests := []struct {
		name        string
		couch       scriptedCouch
		wantCode    string
		wantRetry   time.Duration
		wantMessage string
		minTime     time.Duration
		maxTime     time.Duration
	}{
		{
			name: "build just started, no rate yet: 503 at the first look",
			couch: scriptedCouch{viewDelay: -1, tasks: []activeTask{
				shard("00000000-7fffffff", dbName, couchviews.DesignID, 400, 1000, 0),
				shard("80000000-ffffffff", dbName, couchviews.DesignID, 400, 1000, 0),
			}},
			wantCode: recording.EUnavailable, wantRetry: unknownIndexRetry,
			wantMessage: "the listing index of month 2024-03 is being built (40% done); retry later",
			maxTime:     early,
		},
		{
			name: "build far from its end: 503 with the time left, capped",
			couch: scriptedCouch{viewDelay: -1, tasks: []activeTask{
				shard("00000000-7fffffff", dbName, couchviews.DesignID, 1000, 50000, 10),
				shard("80000000-ffffffff", dbName, couchviews.DesignID, 1000, 50000, 10),
				// The same range's copy on another node, behind: the furthest copy counts.
				shard("80000000-ffffffff", dbName, couchviews.DesignID, 10, 50000, 10),
			}},
			wantCode: recording.EUnavailable, wantRetry: maxIndexRetry,
			wantMessage: "the listing index of month 2024-03 is being built (2% done, about 8m10s left); retry later",
			maxTime:     early,
		},
		{
			name: "build about to end: the listing waits for it and gets its rows",
			couch: scriptedCouch{viewDelay: 300 * time.Millisecond, tasks: []activeTask{
				shard("00000000-7fffffff", dbName, couchviews.DesignID, 9990, 10000, 10),
			}},
			maxTime: timeout,
		},
		{
			name: "no task for this index (another database, another design): unreachable at the deadline, no hint",
			couch: scriptedCouch{viewDelay: -1, tasks: []activeTask{
				shard("00000000-7fffffff", recording.MonthDBName(account, testMonth.Prev()), couchviews.DesignID, 1, 1000, 0),
				shard("00000000-7fffffff", dbName, couchviews.RetentionDesignID, 1, 1000, 0),
				{Type: "view_compaction", Database: "shards/00000000-7fffffff/" + dbName + ".1796303610", DesignDocument: couchviews.DesignID},
			}},
			wantCode: recording.EUnavailable, wantMessage: "datastore unreachable",
			minTime: timeout, maxTime: timeout + time.Second,
		},
		{
			name:     "tasks not readable (not a server admin): unreachable at the deadline, no hint",
			couch:    scriptedCouch{viewDelay: -1, tasksStatus: http.StatusUnauthorized},
			wantCode: recording.EUnavailable, wantMessage: "datastore unreachable",
			minTime: timeout, maxTime: timeout + time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.couch)
			defer srv.Close()
			s, err := New(Config{URL: srv.URL, RequestTimeout: timeout}, zaptest.NewLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			started := time.Now()
			rows, err := s.Scan(context.Background(), account, testMonth, recording.ScanQuery{From: 0, To: 1 << 40, Limit: 10})
			took := time.Since(started)
			if took < tt.minTime || took > tt.maxTime {
				t.Errorf("answered in %v, want %v to %v", took, tt.minTime, tt.maxTime)
			}
			if got := recording.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("error code %q, want %q (err: %v)", got, tt.wantCode, err)
			}
			if tt.wantCode == "" {
				if len(rows) != 1 {
					t.Fatalf("got %d rows, want 1", len(rows))
				}
				return
			}
			if got := recording.ErrorMessage(err); got != tt.wantMessage {
				t.Errorf("message %q\nwant %q", got, tt.wantMessage)
			}
			if got := recording.RetryAfter(err); got != tt.wantRetry {
				t.Errorf("retry after %v, want %v", got, tt.wantRetry)
			}
		})
	}
}

func TestShardDatabase(t *testing.T) {
	for _, tt := range []struct{ in, db, shards string }{
		{"shards/00000000-7fffffff/account/ab/cd/ef0123456789abcdef0123456789-202402.1796303610",
			"account/ab/cd/ef0123456789abcdef0123456789-202402", "00000000-7fffffff"},
		{"shards/80000000-ffffffff/recordingsd.1796303610", "recordingsd", "80000000-ffffffff"},
		{"account/ab/cd/ef0123456789abcdef0123456789-202402", "account/ab/cd/ef0123456789abcdef0123456789-202402", ""}, // CouchDB 1.x
		{"shards/broken", "shards/broken", ""},
	} {
		if db, shards := shardDatabase(tt.in); db != tt.db || shards != tt.shards {
			t.Errorf("shardDatabase(%q) = %q, %q; want %q, %q", tt.in, db, shards, tt.db, tt.shards)
		}
	}
}

func TestSumIndexTasks(t *testing.T) {
	db := "account/ab/cd/ef0123456789abcdef0123456789-202402"
	got := sumIndexTasks([]activeTask{
		{Type: "indexer", Node: "n1", Database: "shards/00000000-7fffffff/" + db + ".1", DesignDocument: "_design/recordingsd",
			ChangesDone: 300, TotalChanges: 1000, StartedOn: 100, UpdatedOn: 110},
		{Type: "indexer", Node: "n2", Database: "shards/00000000-7fffffff/" + db + ".1", DesignDocument: "_design/recordingsd",
			ChangesDone: 100, TotalChanges: 1000, StartedOn: 100, UpdatedOn: 110}, // behind n1: not counted
		{Type: "indexer", Node: "n1", Database: "shards/80000000-ffffffff/" + db + ".1", DesignDocument: "_design/recordingsd",
			ChangesDone: 200, TotalChanges: 1000, StartedOn: 100, UpdatedOn: 105},
		{Type: "indexer", Node: "n1", Database: "shards/80000000-ffffffff/" + db + ".1", DesignDocument: "_design/recordingsd_retention",
			ChangesDone: 5, TotalChanges: 10, StartedOn: 100, UpdatedOn: 100},
		{Type: "replication", Database: "shards/80000000-ffffffff/" + db + ".1"},
	})
	want := map[IndexKey]IndexProgress{
		{DB: db, Design: "_design/recordingsd"}:           {Done: 500, Total: 2000, Rate: 30 + 40},
		{DB: db, Design: "_design/recordingsd_retention"}: {Done: 5, Total: 10},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%v: got %+v, want %+v", k, got[k], w)
		}
	}
	if eta, ok := got[IndexKey{DB: db, Design: "_design/recordingsd"}].ETA(); !ok || eta.Round(time.Second) != 21*time.Second {
		t.Errorf("ETA = %v, %v; want 21s (1500 changes at 70/s)", eta, ok)
	}
	if _, ok := got[IndexKey{DB: db, Design: "_design/recordingsd_retention"}].ETA(); ok {
		t.Error("a task without elapsed time has no rate, hence no ETA")
	}
}

func TestSeqNumber(t *testing.T) {
	for _, tt := range []struct {
		raw string
		n   int64
		ok  bool
	}{
		{`20001`, 20001, true},
		{`"20001-g1AAAACreJzLYWBgYMpgTmEQTc4vTc5ISTI3NjBwMDQy1zMAQsMckHQeC5BkaABS_4EgK4M5kSEXKMBumGxhamhhjksvAVMTGZLqUYxLNLI0NTZIxaUpCwAivCso"`, 20001, true},
		{`"0-g1AAAA"`, 0, true},
		{`"opaque"`, 0, false},
		{`null`, 0, true}, // json.Unmarshal leaves n at 0
	} {
		n, ok := seqNumber(json.RawMessage(tt.raw))
		if n != tt.n || ok != tt.ok {
			t.Errorf("seqNumber(%s) = %d, %v; want %d, %v", tt.raw, n, ok, tt.n, tt.ok)
		}
	}
}

// Whatever views couchviews defines, the builder queries one that exists.
func TestFirstViewOfEveryDesign(t *testing.T) {
	for _, d := range []*couchviews.Design{couchviews.Recordings, couchviews.Retention, couchviews.Auth} {
		view := firstView(d)
		views, _ := d.Doc()["views"].(map[string]any)
		if _, ok := views[view]; !ok {
			t.Errorf("%s: first view %q is not one of its views %v", d.ID(), view, views)
		}
	}
}
