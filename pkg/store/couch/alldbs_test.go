package couch

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// allDBsRequest is what one GET /_all_dbs asked for.
type allDBsRequest struct {
	StartKey, EndKey string
	Limit            int
}

// fakeAllDBs answers GET /_all_dbs over a fixed list of names: as CouchDB 3 does (startkey,
// endkey and limit honoured), or as pouchdb-server does (every name, slashes stripped).
type fakeAllDBs struct {
	names  []string // sorted
	honour bool
	status int // non-zero: answer every request with this error status

	mu       sync.Mutex
	requests []allDBsRequest
}

func (f *fakeAllDBs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path != "/_all_dbs" {
		http.Error(w, `{"error":"not_found"}`, http.StatusNotFound)
		return
	}
	var req allDBsRequest
	q := r.URL.Query()
	for key, dest := range map[string]*string{"startkey": &req.StartKey, "endkey": &req.EndKey} {
		if err := json.Unmarshal([]byte(q.Get(key)), dest); err != nil {
			http.Error(w, `{"error":"bad_request","reason":"invalid `+key+`"}`, http.StatusBadRequest)
			return
		}
	}
	req.Limit, _ = strconv.Atoi(q.Get("limit"))
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	if f.status != 0 {
		w.WriteHeader(f.status)
		_, _ = w.Write([]byte(`{"error":"unauthorized","reason":"You are not a server admin."}`))
		return
	}
	out := []string{}
	for _, name := range f.names {
		switch {
		case !f.honour:
			out = append(out, strings.ReplaceAll(name, "/", ""))
		case name >= req.StartKey && name <= req.EndKey && len(out) < req.Limit:
			out = append(out, name)
		}
	}
	_ = json.NewEncoder(w).Encode(out)
}

// allDBsFixture: 200 accounts, every fourth with two month databases, and system databases
// on either side. In name order, each block of four accounts reads: account, month, month,
// account, account, account.
func allDBsFixture() (names []string, months []recording.MonthDB) {
	names = []string{"_replicator", "_users", "system_auth", "system_config"}
	for i := range 200 {
		account := fmt.Sprintf("%032x", i+1)
		names = append(names, recording.AccountDBName(account))
		if i%4 == 0 {
			for _, m := range []recording.Month{{Year: 2024, Month: 1}, {Year: 2024, Month: 2}} {
				months = append(months, recording.MonthDB{AccountID: account, Month: m})
				names = append(names, recording.MonthDBName(account, m))
			}
		}
	}
	sort.Strings(names)
	return names, months
}

// TestMonthDatabasesPaging checks the requests MonthDatabases sends and what it makes of
// the answers, against a server that pages _all_dbs and one that ignores the paging.
func TestMonthDatabasesPaging(t *testing.T) {
	names, months := allDBsFixture()
	var inRange []string // names from "account/" to "account0"
	for _, n := range names {
		if n >= "account/" && n <= "account0" {
			inRange = append(inRange, n)
		}
	}
	last := months[len(months)-1]
	cases := []struct {
		name     string
		honour   bool
		after    recording.MonthDB
		limit    int
		want     []recording.MonthDB
		requests []allDBsRequest
	}{
		{
			// The first 100 names hold 34 month databases, the next 99 another 32.
			name: "from the start, over two pages", honour: true, limit: 40, want: months[:40],
			requests: []allDBsRequest{{"account/", "account0", 100}, {inRange[99], "account0", 100}},
		},
		{
			name: "strictly after a month database", honour: true, after: months[10], limit: 1, want: months[11:12],
			requests: []allDBsRequest{{months[10].Name(), "account0", 100}},
		},
		{
			name: "after an account: its months first", honour: true, after: recording.MonthDB{AccountID: months[20].AccountID},
			limit: 3, want: months[20:23],
			requests: []allDBsRequest{{recording.AccountDBName(months[20].AccountID) + "-000000", "account0", 100}},
		},
		{
			// Not an account id, so no name to start at: from the first, filtered.
			name: "after something odd", honour: true, after: recording.MonthDB{AccountID: "0"}, limit: 2, want: months[:2],
			requests: []allDBsRequest{{"account/", "account0", 100}},
		},
		{
			name: "after the last", honour: true, after: last, limit: 5, want: nil,
			requests: []allDBsRequest{{last.Name(), "account0", 100}},
		},
		{
			name: "all in one short page", honour: true, limit: 1000, want: months,
			requests: []allDBsRequest{{"account/", "account0", 1000}},
		},
		{
			// 304 names fill the page of 300; asking past the last name brings nothing new.
			name: "server ignoring the paging, fewer than wanted", honour: false, limit: 150, want: months,
			requests: []allDBsRequest{{"account/", "account0", 300}, {strings.ReplaceAll(names[len(names)-1], "/", ""), "account0", 300}},
		},
		{
			name: "server ignoring the paging, after a month database", honour: false, after: months[50], limit: 10, want: months[51:61],
			requests: []allDBsRequest{{months[50].Name(), "account0", 100}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake := &fakeAllDBs{names: names, honour: c.honour}
			s := newFakeServerStore(t, fake)
			got, err := s.MonthDatabases(testContext(t), c.after, c.limit)
			if err != nil {
				t.Fatalf("MonthDatabases: %v", err)
			}
			if len(got) != len(c.want) || (len(got) > 0 && !reflect.DeepEqual(got, c.want)) {
				t.Errorf("MonthDatabases:\n got  %v\n want %v", got, c.want)
			}
			if !reflect.DeepEqual(fake.requests, c.requests) {
				t.Errorf("requests:\n got  %+v\n want %+v", fake.requests, c.requests)
			}
		})
	}
}

// TestMonthDatabasesNeedsAdmin: CouchDB lists databases to server admins only; the error
// says what to fix.
func TestMonthDatabasesNeedsAdmin(t *testing.T) {
	for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden} {
		s := newFakeServerStore(t, &fakeAllDBs{status: status})
		_, err := s.MonthDatabases(testContext(t), recording.MonthDB{}, 10)
		wantCode(t, fmt.Sprintf("status %d", status), err, recording.EUnavailable)
		if msg := recording.ErrorMessage(err); !strings.Contains(msg, "must be an admin") {
			t.Errorf("status %d: message %q does not say the user must be an admin", status, msg)
		}
	}
	s := newFakeServerStore(t, &fakeAllDBs{status: http.StatusInternalServerError})
	_, err := s.MonthDatabases(testContext(t), recording.MonthDB{}, 10)
	wantCode(t, "status 500", err, recording.EInternal)
}

func newFakeServerStore(t *testing.T, h http.Handler) *Store {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s, err := New(Config{URL: "http://admin:secret@" + strings.TrimPrefix(srv.URL, "http://")}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
