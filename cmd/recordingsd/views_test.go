package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
	"github.com/recordingsd/recordingsd/pkg/store/embedded"
)

// The embedded store has no views: the command says so and succeeds, without even opening
// the store's file (a running service holds its lock).
func TestViewsBuildOnEmbeddedStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "recordings.db")
	held, err := embedded.Open(path, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	var out bytes.Buffer
	err = run(context.Background(), []string{"views", "build", "--config", "../../config/recordings.example.yaml"},
		envOf(map[string]string{"RECORDINGS_STORE_EMBEDDED_PATH": path}), &out, io.Discard)
	if err != nil {
		t.Fatalf("views build on the embedded store: %v", err)
	}
	if want := "the embedded store " + path + " has no CouchDB views: nothing to build\n"; out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
}

func TestViewsBuildRefusesBadArguments(t *testing.T) {
	for _, args := range [][]string{
		{"views"},
		{"views", "rebuild"},
		{"views", "build", "--account", "not-an-account"},
		{"views", "build", "--months", "-1"},
		{"views", "build", "--parallel", "0"},
		{"views", "build", "extra"},
	} {
		if err := run(context.Background(), args, envOf(nil), io.Discard, io.Discard); err == nil {
			t.Errorf("recordingsd %s: no error", strings.Join(args, " "))
		}
	}
}

// fakeMonthLister serves MonthDatabases from a sorted list, as the store pages _all_dbs.
type fakeMonthLister struct {
	dbs   []recording.MonthDB
	calls int
}

func (f *fakeMonthLister) MonthDatabases(_ context.Context, after recording.MonthDB, limit int) ([]recording.MonthDB, error) {
	f.calls++
	var out []recording.MonthDB
	for _, db := range f.dbs {
		if after.Less(db) && len(out) < limit {
			out = append(out, db)
		}
	}
	return out, nil
}

func TestMonthDatabasesToBuild(t *testing.T) {
	a, b, c := strings.Repeat("a", 32), strings.Repeat("b", 32), strings.Repeat("c", 32)
	now := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	month := func(y, m int) recording.Month { return recording.Month{Year: y, Month: m} }
	var all []recording.MonthDB
	for _, acc := range []string{a, b, c} {
		for _, m := range []recording.Month{month(2025, 11), month(2026, 1), month(2026, 2), month(2026, 3)} {
			all = append(all, recording.MonthDB{AccountID: acc, Month: m})
		}
	}
	// Enough of account b's databases to take several pages.
	for y := 1900; y < 2000; y++ {
		for m := 1; m <= 12; m++ {
			all = append(all, recording.MonthDB{AccountID: b, Month: month(y, m)})
		}
	}
	sortMonthDBs(all)
	names := func(dbs []recording.MonthDB) string {
		var s []string
		for _, db := range dbs {
			s = append(s, db.AccountID[:1]+"-"+db.Month.String())
		}
		return strings.Join(s, " ")
	}
	for _, tt := range []struct {
		account   string
		months    int
		want      string
		wantCalls int
	}{
		{a, 0, "a-202603 a-202602 a-202601 a-202511", 1},
		{c, 2, "c-202603 c-202602", 1},
		{"", 1, "a-202603 b-202603 c-202603", 3}, // 1204 databases, 500 a page
		{"", 3, "a-202603 b-202603 c-202603 a-202602 b-202602 c-202602 a-202601 b-202601 c-202601", 3},
		{b, 3, "b-202603 b-202602 b-202601", 3},
	} {
		lister := &fakeMonthLister{dbs: all}
		got, err := monthDatabasesToBuild(context.Background(), lister, tt.account, tt.months, now)
		if err != nil {
			t.Fatal(err)
		}
		if names(got) != tt.want || lister.calls != tt.wantCalls {
			t.Errorf("account %q, months %d: got %s in %d calls\nwant %s in %d calls", tt.account, tt.months, names(got), lister.calls, tt.want, tt.wantCalls)
		}
	}
}

func sortMonthDBs(dbs []recording.MonthDB) {
	for i := range dbs {
		for j := i + 1; j < len(dbs); j++ {
			if dbs[j].Less(dbs[i]) {
				dbs[i], dbs[j] = dbs[j], dbs[i]
			}
		}
	}
}

// On a terminal the progress line is redrawn in place, and lines of their own go above it.
func TestBuildProgressOnATerminal(t *testing.T) {
	var out bytes.Buffer
	p := newBuildProgress(&out, true, []string{"_design/recordingsd"})
	targets := []buildTarget{
		{name: "account/aa/aa/aaaa-202603", work: couch.IndexWork{Changes: 1000, Known: true, ByDesign: map[string]int64{"_design/recordingsd": 1000}}},
		{name: "account/aa/aa/aaaa-202602", work: couch.IndexWork{Changes: 0, Known: true, Current: true}},
	}
	p.plan(targets)
	p.started = time.Now().Add(-10 * time.Second)
	p.start(targets[0])
	p.observe(map[couch.IndexKey]couch.IndexProgress{{DB: targets[0].name, Design: "_design/recordingsd"}: {Done: 250, Total: 1000}})
	line := "0/2 month databases, 250/1,000 documents indexed (25%), 10s elapsed, ETA 30s"
	if !strings.HasSuffix(out.String(), "\r\x1b[K"+line) {
		t.Fatalf("progress line: got %q, want it to end with %q", out.String(), line)
	}
	out.Reset()
	p.finish(targets[0], nil, false)
	want := "\r\x1b[K[1/2] account/aa/aa/aaaa-202603: built, 1,000 documents indexed in "
	if !strings.HasPrefix(out.String(), want) || !strings.Contains(out.String(), "\n\r\x1b[K1/2 month databases, 1,000/1,000 documents indexed (100%)") {
		t.Fatalf("a finished database: got %q, want its line above the redrawn progress line", out.String())
	}
	p.finish(targets[1], nil, false)
	if err := p.summary(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out.String(), "\r\x1b[Kviews build done: 2 month databases in 10s (1 built, 1 already built, 0 failed), 1,000 documents indexed\n") {
		t.Errorf("summary: got %q, want it last, over the progress line", out.String())
	}
}

// A build resumed after an interruption meets CouchDB's run under way, whose tasks count
// from before: documents indexed are what was planned minus what is left.
func TestBuildProgressCountsFromThePlan(t *testing.T) {
	var out bytes.Buffer
	p := newBuildProgress(&out, false, []string{"_design/recordingsd", "_design/recordingsd_retention"})
	target := buildTarget{name: "account/aa/aa/aaaa-202603", work: couch.IndexWork{Changes: 700, Known: true,
		ByDesign: map[string]int64{"_design/recordingsd": 600, "_design/recordingsd_retention": 100}}}
	p.plan([]buildTarget{target})
	p.start(target)
	key := func(design string) couch.IndexKey { return couch.IndexKey{DB: target.name, Design: design} }
	p.observe(map[couch.IndexKey]couch.IndexProgress{
		key("_design/recordingsd"):           {Done: 700, Total: 1000}, // 300 left of the 600 planned
		key("_design/recordingsd_retention"): {Done: 5, Total: 1000},   // more left than planned: none read yet
	})
	if !strings.Contains(p.line(), "300/700 documents indexed (42%)") {
		t.Errorf("progress: %q, want 300 of 700 documents indexed", p.line())
	}
	p.observe(map[couch.IndexKey]couch.IndexProgress{key("_design/recordingsd"): {Done: 650, Total: 1000}}) // another copy, behind
	if !strings.Contains(p.line(), "300/700 documents indexed") {
		t.Errorf("progress went back: %q", p.line())
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 100006: "100,006", 1234567: "1,234,567", -1000: "-1,000"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// couchFixture is the test server with what the command tests write there.
type couchFixture struct {
	t        *testing.T
	url      string // with credentials
	user     string
	password string
}

func newCouchFixture(t *testing.T) *couchFixture {
	u, err := url.Parse(couchtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	password, _ := u.User.Password()
	return &couchFixture{t: t, url: u.String(), user: u.User.Username(), password: password}
}

// env configures the commands for the fixture's server.
func (f *couchFixture) env(extra map[string]string) func(string) string {
	vars := map[string]string{
		"RECORDINGS_COUCHDB_URL":      f.url,
		"RECORDINGS_COUCHDB_USERNAME": f.user,
		"RECORDINGS_COUCHDB_PASSWORD": f.password,
		"RECORDINGS_LOG_LEVEL":        "warn",
	}
	for k, v := range extra {
		vars[k] = v
	}
	return envOf(vars)
}

func (f *couchFixture) request(method, path string, body any) (int, map[string]any) {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(f.url, "/")+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// isCouchDB3 reports whether the server is Apache CouchDB 3 rather than pouchdb-server.
func (f *couchFixture) isCouchDB3() bool {
	_, welcome := f.request(http.MethodGet, "/", nil)
	version, _ := welcome["version"].(string)
	return welcome["couchdb"] == "Welcome" && strings.HasPrefix(version, "3.")
}

// seedMonth writes n recordings of month m in a new month database through _bulk_docs, as
// Kazoo leaves them: without our design documents.
func (f *couchFixture) seedMonth(account string, m recording.Month, n int) {
	f.t.Helper()
	path := "/" + url.PathEscape(recording.MonthDBName(account, m))
	if status, body := f.request(http.MethodPut, path, nil); status != http.StatusCreated {
		f.t.Fatalf("create %s: %d %v", path, status, body)
	}
	start := recording.ToGregorian(m.Start())
	for i := 0; i < n; i += 1000 {
		var docs []map[string]any
		for k := i; k < min(i+1000, n); k++ {
			docs = append(docs, map[string]any{
				"_id": fmt.Sprintf("%s-%032x", m, k), "pvt_type": recording.TypeCallRecording, "pvt_account_id": account,
				"pvt_created": start + int64(k), "pvt_modified": start + int64(k), "name": fmt.Sprintf("call-%d.mp3", k),
				"media_source": "recorded", "caller_id_number": "+14155550101", "callee_id_number": "+12125550199",
			})
		}
		req, _ := http.NewRequest(http.MethodPost, strings.TrimSuffix(f.url, "/")+path+"/_bulk_docs", nil)
		body, _ := json.Marshal(map[string]any{"docs": docs})
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			f.t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			f.t.Fatalf("_bulk_docs %s: %s", path, resp.Status)
		}
	}
}

// hasDesign reports whether a month database holds one of our design documents.
func (f *couchFixture) hasDesign(account string, m recording.Month, design string) bool {
	status, _ := f.request(http.MethodGet, "/"+url.PathEscape(recording.MonthDBName(account, m))+"/"+design, nil)
	return status == http.StatusOK
}

// views runs `recordingsd views build args…` and returns its output.
func (f *couchFixture) views(ctx context.Context, env func(string) string, args ...string) (string, error) {
	var out bytes.Buffer
	err := run(ctx, append([]string{"views", "build", "--config", "../../config/recordings.example.yaml"}, args...), env, &out, io.Discard)
	return out.String(), err
}

// `views build` installs the design documents in the month databases asked for, newest
// first, leaves the others alone, and has nothing left to do when run again.
func TestViewsBuildCommand(t *testing.T) {
	f := newCouchFixture(t)
	ctx := context.Background()
	account, other := couchtest.NewAccountID(), couchtest.NewAccountID()
	this := recording.MonthOf(time.Now())
	last, old := this.Prev(), this.Prev().Prev().Prev()
	for _, m := range []recording.Month{this, last, old} {
		f.seedMonth(account, m, 20)
	}
	f.seedMonth(other, this, 20)

	out, err := f.views(ctx, f.env(nil), "--account", account, "--months", "2")
	if err != nil {
		t.Fatalf("views build: %v\n%s", err, out)
	}
	built := regexp.MustCompile(`(?m)^\[(\d)/2\] (\S+): built, (\d+) documents indexed in `).FindAllStringSubmatch(out, -1)
	if len(built) != 2 || built[0][2] != recording.MonthDBName(account, this) || built[1][2] != recording.MonthDBName(account, last) {
		t.Fatalf("want this month's then last month's database built, got\n%s", out)
	}
	if built[0][3] != "20" {
		t.Errorf("documents indexed in %s: %s, want 20", built[0][2], built[0][3])
	}
	if !strings.Contains(out, "building _design/recordingsd in 2 month databases, newest month first; 40 documents to index\n") ||
		!strings.Contains(out, "views build done: 2 month databases in ") || !strings.Contains(out, "(2 built, 0 already built, 0 failed), 40 documents indexed\n") {
		t.Errorf("plan or summary missing:\n%s", out)
	}
	for _, tt := range []struct {
		account string
		month   recording.Month
		want    bool
	}{{account, this, true}, {account, last, true}, {account, old, false}, {other, this, false}} {
		if got := f.hasDesign(tt.account, tt.month, "_design/recordingsd"); got != tt.want {
			t.Errorf("%s: _design/recordingsd installed %v, want %v", recording.MonthDBName(tt.account, tt.month), got, tt.want)
		}
		if f.hasDesign(tt.account, tt.month, "_design/recordingsd_retention") {
			t.Errorf("%s: the retention design was installed without --retention or retention enabled", recording.MonthDBName(tt.account, tt.month))
		}
	}

	again, err := f.views(ctx, f.env(nil), "--account", account, "--months", "2")
	if err != nil {
		t.Fatalf("views build again: %v\n%s", err, again)
	}
	if f.isCouchDB3() {
		if !strings.Contains(again, "(0 built, 2 already built, 0 failed), 0 documents indexed\n") {
			t.Errorf("a second run found work to do:\n%s", again)
		}
	} else {
		t.Logf("not CouchDB 3: no index info, so a second run cannot tell built indexes beforehand:\n%s", again)
	}

	// Retention enabled in the configuration builds the purge index too; --retention=false does not.
	out, err = f.views(ctx, f.env(map[string]string{"RECORDINGS_RECORDINGS_RETENTION_ENABLED": "true"}), "--account", account, "--months", "1", "--retention=false")
	if err != nil || !strings.Contains(out, "building _design/recordingsd in 1 month database") || f.hasDesign(account, this, "_design/recordingsd_retention") {
		t.Fatalf("--retention=false with retention enabled: %v\n%s", err, out)
	}
	out, err = f.views(ctx, f.env(map[string]string{"RECORDINGS_RECORDINGS_RETENTION_ENABLED": "true"}), "--account", account, "--months", "1")
	if err != nil || !strings.Contains(out, "building _design/recordingsd, _design/recordingsd_retention in 1 month database") {
		t.Fatalf("retention enabled: %v\n%s", err, out)
	}
	if !f.hasDesign(account, this, "_design/recordingsd_retention") || f.hasDesign(account, last, "_design/recordingsd_retention") {
		t.Error("retention enabled: the purge index must be installed in this month's database only")
	}

	out, err = f.views(ctx, f.env(nil), "--account", couchtest.NewAccountID())
	if err != nil || out != "no month databases to build\n" {
		t.Errorf("an account without month databases: %v, %q", err, out)
	}
}

// A listing that arrives while `views build` builds its month's index answers 503
// datastore_busy with Retry-After within couchdb.request_timeout; the build stops cleanly
// when interrupted and finishes when run again; then the listing answers 200.
func TestListingWhileViewsBuild(t *testing.T) {
	f := newCouchFixture(t)
	if !f.isCouchDB3() {
		t.Skip("needs Apache CouchDB 3 (its _active_tasks say which index is being built); this server is not: run with RECORDINGS_TEST_COUCHDB_URL pointing at a CouchDB 3")
	}
	account := couchtest.NewAccountID()
	this := recording.MonthOf(time.Now())
	f.request(http.MethodPut, "/"+url.PathEscape(recording.AccountDBName(account)), nil)
	f.request(http.MethodPut, "/"+url.PathEscape(recording.AccountDBName(account))+"/"+account,
		map[string]any{"pvt_type": "account", "pvt_tree": []any{}, "name": "big"})
	f.seedMonth(account, this, 6000)

	const timeout = 200 * time.Millisecond
	base := startServe(t, f.env(map[string]string{
		"RECORDINGS_COUCHDB_REQUEST_TIMEOUT": timeout.String(),
		"RECORDINGS_AUTH_TOKENS":             `[{"token":"ops","all_accounts":true}]`,
	}))
	list := func() (*http.Response, map[string]any, time.Duration) {
		t.Helper()
		// From the month's start: the window then reads this month's database only.
		from := recording.ToGregorian(this.Start())
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/v2/accounts/%s/recordings?created_from=%d&created_to=%d", base, account, from, from+86400), nil)
		req.Header.Set("X-Auth-Token", "ops")
		started := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var env map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&env)
		return resp, env, time.Since(started)
	}

	buildCtx, stopBuild := context.WithCancel(context.Background())
	defer stopBuild()
	var buildOut string
	var buildErr error
	var wg sync.WaitGroup
	wg.Go(func() { buildOut, buildErr = f.views(buildCtx, f.env(nil), "--account", account) })
	waitForIndexTask(t, f, recording.MonthDBName(account, this))

	resp, env, took := list()
	data, _ := env["data"].(map[string]any)
	message, _ := data["message"].(string)
	if resp.StatusCode != http.StatusServiceUnavailable || env["message"] != "datastore_busy" || resp.Header.Get("Retry-After") == "" ||
		!strings.Contains(message, "listing index of month "+fmt.Sprintf("%04d-%02d", this.Year, this.Month)+" is being built") {
		t.Fatalf("listing during the build: %d Retry-After %q %v", resp.StatusCode, resp.Header.Get("Retry-After"), env)
	}
	if took > timeout+time.Second {
		t.Errorf("listing during the build answered in %v, want within about %v", took, timeout)
	}
	t.Logf("listing during the build: %d in %v, Retry-After %s: %s", resp.StatusCode, took, resp.Header.Get("Retry-After"), message)

	stopped := time.Now()
	stopBuild()
	wg.Wait()
	if buildErr == nil || !strings.Contains(buildErr.Error(), "interrupted") || !strings.Contains(buildOut, "stopped after 0 of 1 month database") {
		t.Fatalf("interrupted build: %v\n%s", buildErr, buildOut)
	}
	if d := time.Since(stopped); d > 2*time.Second {
		t.Errorf("the build took %v to stop", d)
	}

	out, err := f.views(context.Background(), f.env(nil), "--account", account)
	if err != nil || !strings.Contains(out, "[1/1] "+recording.MonthDBName(account, this)+": built, ") {
		t.Fatalf("build run again: %v\n%s", err, out)
	}
	resp, env, _ = list()
	if items, _ := env["data"].([]any); resp.StatusCode != http.StatusOK || len(items) != 50 {
		t.Fatalf("listing after the build: %d, %d items: %v", resp.StatusCode, len(items), env["message"])
	}
}

// waitForIndexTask waits until CouchDB's _active_tasks shows an index of the database being built.
func waitForIndexTask(t *testing.T, f *couchFixture, dbName string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest(http.MethodGet, strings.TrimSuffix(f.url, "/")+"/_active_tasks", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var tasks []struct {
			Type     string `json:"type"`
			Database string `json:"database"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&tasks)
		resp.Body.Close()
		for _, task := range tasks {
			if task.Type == "indexer" && strings.Contains(task.Database, "/"+dbName+".") {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no index of %s being built after 30s", dbName)
}

// startServe runs `recordingsd serve` until the test ends and returns its base URL.
func startServe(t *testing.T, env func(string) string) string {
	t.Helper()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	serveEnv := func(k string) string {
		if k == "RECORDINGS_HTTP_LISTEN" {
			return "127.0.0.1:0"
		}
		return env(k)
	}
	go func() {
		done <- run(ctx, []string{"serve", "--config", "../../config/recordings.example.yaml"}, serveEnv, pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop")
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no startup line: %v", err)
	}
	go io.Copy(io.Discard, pr)
	return strings.Fields(line[strings.Index(line, "http://"):])[0]
}
