package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
)

// helperEnv makes the test binary act as the command withcouch runs (see TestMain):
// "report" prints a helperReport and exits 0, "fail" prints it and exits 3,
// "wait" prints it and sleeps until signalled.
const helperEnv = "WITHCOUCH_TEST_HELPER"

// helperReport is what the command saw: its environment and the server's answer to it.
type helperReport struct {
	URL           string
	Require       string
	SessionStatus int
	SessionUser   string
	SessionRoles  []string
}

func TestMain(m *testing.M) {
	switch mode := os.Getenv(helperEnv); mode {
	case "":
		os.Exit(m.Run())
	case "report", "fail", "wait":
		if err := json.NewEncoder(os.Stdout).Encode(reportFromCommand()); err != nil {
			os.Exit(10)
		}
		switch mode {
		case "fail":
			os.Exit(3)
		case "wait":
			time.Sleep(time.Minute) // the default SIGINT action ends this
		}
		os.Exit(0)
	default:
		fmt.Fprintf(os.Stderr, "unknown %s=%q\n", helperEnv, mode)
		os.Exit(11)
	}
}

// reportFromCommand asks the server who we are, with the URL's credentials.
func reportFromCommand() helperReport {
	r := helperReport{URL: os.Getenv(couchtest.EnvURL), Require: os.Getenv(couchtest.EnvRequire)}
	resp, err := http.Get(r.URL + "/_session")
	if err != nil {
		return r
	}
	defer resp.Body.Close()
	r.SessionStatus = resp.StatusCode
	var session struct {
		UserCtx struct {
			Name  string   `json:"name"`
			Roles []string `json:"roles"`
		} `json:"userCtx"`
	}
	if json.NewDecoder(resp.Body).Decode(&session) == nil {
		r.SessionUser, r.SessionRoles = session.UserCtx.Name, session.UserCtx.Roles
	}
	return r
}

func TestRunGivesTheCommandAnAdminOnAFreshServer(t *testing.T) {
	pouchdbDir := requirePouchDB(t)
	tmp := isolateTempDir(t)
	t.Setenv(helperEnv, "report")

	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"-pouchdb", pouchdbDir, "--", os.Args[0]}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, stderr.String())
	}

	report := decodeReport(t, stdout.Bytes())
	if report.Require != "1" {
		t.Errorf("%s = %q, want 1", couchtest.EnvRequire, report.Require)
	}
	u, err := url.Parse(report.URL)
	if err != nil {
		t.Fatalf("%s = %q: %v", couchtest.EnvURL, report.URL, err)
	}
	if password, ok := u.User.Password(); u.User.Username() != "admin" || !ok || password == "" {
		t.Errorf("%s = %q, want admin credentials", couchtest.EnvURL, report.URL)
	}
	if u.Hostname() != "127.0.0.1" || u.Path != "" {
		t.Errorf("%s = %q, want http://admin:…@127.0.0.1:port", couchtest.EnvURL, report.URL)
	}
	if report.SessionStatus != http.StatusOK || report.SessionUser != "admin" || !slices.Contains(report.SessionRoles, "_admin") {
		t.Errorf("GET /_session with the URL's credentials = %d, user %q, roles %v; want 200, admin, _admin",
			report.SessionStatus, report.SessionUser, report.SessionRoles)
	}
	assertStopped(t, u.Host, tmp)
}

func TestRunExitsWithTheCommandsCode(t *testing.T) {
	pouchdbDir := requirePouchDB(t)
	tmp := isolateTempDir(t)
	t.Setenv(helperEnv, "fail")

	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"-pouchdb", pouchdbDir, "--", os.Args[0]}, &stdout, &stderr)
	if code := exitCode(err, io.Discard); code != 3 {
		t.Errorf("exit code %d (run: %v), want 3\nstderr:\n%s", code, err, stderr.String())
	}
	report := decodeReport(t, stdout.Bytes())
	assertStopped(t, hostOf(t, report.URL), tmp)
}

func TestRunForwardsTheSignalAndCleansUp(t *testing.T) {
	pouchdbDir := requirePouchDB(t)
	tmp := isolateTempDir(t)
	t.Setenv(helperEnv, "wait")

	ctx, interrupt := context.WithCancelCause(t.Context())
	defer interrupt(nil)
	stdout := newFirstLineWriter()
	var stderr bytes.Buffer // written by run's goroutine; read only after done
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-pouchdb", pouchdbDir, "--", os.Args[0]}, stdout, &stderr)
	}()

	select {
	case <-stdout.lineDone:
	case err := <-done:
		t.Fatalf("run returned before the command reported: %v\nstderr:\n%s", err, stderr.String())
	case <-time.After(readyTimeout + 10*time.Second):
		t.Fatal("the command never reported")
	}
	report := decodeReport(t, stdout.bytes())

	interrupt(signalReceived{syscall.SIGINT}) // what main does on Ctrl-C
	select {
	case err := <-done:
		if code := exitCode(err, io.Discard); code != 128+int(syscall.SIGINT) {
			t.Errorf("exit code %d (run: %v), want %d: the command should die of the forwarded SIGINT", code, err, 128+int(syscall.SIGINT))
		}
	case <-time.After(commandGracePeriod / 2):
		t.Fatal("run did not return soon after the interrupt: the signal was not forwarded")
	}
	assertStopped(t, hostOf(t, report.URL), tmp)
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		args        []string
		wantDir     string
		wantCommand []string
		wantErr     error
	}{
		{[]string{"--", "go", "test", "-race", "./..."}, "testenv/pouchdb", []string{"go", "test", "-race", "./..."}, nil},
		{[]string{"-pouchdb", "x/y", "--", "sh", "-c", "true"}, "x/y", []string{"sh", "-c", "true"}, nil},
		{[]string{"go", "test", "-v"}, "testenv/pouchdb", []string{"go", "test", "-v"}, nil},
		{[]string{}, "", nil, errUsage},
		{[]string{"--"}, "", nil, errUsage},
		{[]string{"-nosuchflag", "--", "true"}, "", nil, errUsage},
	}
	for _, tt := range tests {
		opts, err := parseArgs(tt.args, io.Discard)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("parseArgs(%q) error = %v, want %v", tt.args, err, tt.wantErr)
			continue
		}
		if err == nil && (opts.pouchdbDir != tt.wantDir || !slices.Equal(opts.command, tt.wantCommand)) {
			t.Errorf("parseArgs(%q) = %q, %q; want %q, %q", tt.args, opts.pouchdbDir, opts.command, tt.wantDir, tt.wantCommand)
		}
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"success", nil, 0},
		{"withcouch interrupted", signalReceived{syscall.SIGINT}, 130},
		{"withcouch terminated", fmt.Errorf("wrapped: %w", signalReceived{syscall.SIGTERM}), 143},
		{"usage", fmt.Errorf("%w: no command given", errUsage), 2},
		{"other failure", errors.New("pouchdb-server did not answer"), 1},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err, io.Discard); got != tt.want {
			t.Errorf("%s: exitCode(%v) = %d, want %d", tt.name, tt.err, got, tt.want)
		}
	}
}

// requirePouchDB returns the directory holding pouchdb-server, or skips the
// test when it is not installed (fails under RECORDINGS_TEST_REQUIRE_COUCHDB=1).
func requirePouchDB(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "testenv", "pouchdb")
	bin := filepath.Join(dir, "node_modules", ".bin", "pouchdb-server")
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv(couchtest.EnvRequire) == "1" {
			t.Fatalf("pouchdb-server is not installed but %s=1: run `make testdeps` (%v)", couchtest.EnvRequire, err)
		}
		t.Skipf("pouchdb-server is not installed; run `make testdeps` (%v)", err)
	}
	return dir
}

// isolateTempDir points TMPDIR at an empty directory, so that the test can see
// whether withcouch removed the directory it made.
func isolateTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	return dir
}

// assertStopped checks that nothing listens on addr any more and that tmp is empty again.
func assertStopped(t *testing.T, addr, tmp string) {
	t.Helper()
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Errorf("%s still accepts connections after run returned: pouchdb-server was not stopped", addr)
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("%s left behind in the temporary directory", e.Name())
	}
}

func decodeReport(t *testing.T, stdout []byte) helperReport {
	t.Helper()
	var r helperReport
	if err := json.Unmarshal(stdout, &r); err != nil {
		t.Fatalf("the command's output %q: %v", stdout, err)
	}
	return r
}

func hostOf(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		t.Fatalf("%s = %q: not a server URL (%v)", couchtest.EnvURL, rawURL, err)
	}
	return u.Host
}

// firstLineWriter collects what it is given and closes lineDone at the first newline.
type firstLineWriter struct {
	mu       sync.Mutex
	buf      bytes.Buffer
	lineDone chan struct{}
	once     sync.Once
}

func newFirstLineWriter() *firstLineWriter {
	return &firstLineWriter{lineDone: make(chan struct{})}
}

func (w *firstLineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if bytes.IndexByte(w.buf.Bytes(), '\n') >= 0 {
		w.once.Do(func() { close(w.lineDone) })
	}
	return len(p), nil
}

func (w *firstLineWriter) bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Clone(w.buf.Bytes())
}
