package pouchdb_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
	"github.com/recordingsd/recordingsd/pkg/store/couch/pouchdb"
)

// start starts a server with opts, or skips t when pouchdb-server is not installed (fails it
// under RECORDINGS_TEST_REQUIRE_COUCHDB=1).
func start(t *testing.T, opts pouchdb.Options) *pouchdb.Server {
	t.Helper()
	srv, err := pouchdb.Start(t.Context(), opts)
	if errors.Is(err, pouchdb.ErrNotInstalled) && os.Getenv(couchtest.EnvRequire) != "1" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	return srv
}

// An in-memory server in a temporary directory of its own: the URL's admin credentials are
// required and accepted, Close stops it and removes its directory.
func TestStartInMemory(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	srv := start(t, pouchdb.Options{HeapMB: 256})

	u, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	if password, ok := u.User.Password(); u.User.Username() != pouchdb.AdminName || !ok || password == "" || u.Host != srv.Addr() {
		t.Errorf("URL %s, want http://admin:…@%s", u.Redacted(), srv.Addr())
	}
	if !strings.HasPrefix(srv.Addr(), "127.0.0.1:") {
		t.Errorf("Addr %s, want a loopback address", srv.Addr())
	}
	if filepath.Dir(srv.Dir()) != tmp {
		t.Errorf("Dir %s, not in TMPDIR %s", srv.Dir(), tmp)
	}
	status(t, "GET", "http://"+srv.Addr()+"/_config/admins", http.StatusUnauthorized)
	status(t, "GET", srv.URL()+"/_config/admins", http.StatusOK)
	status(t, "PUT", srv.URL()+"/db", http.StatusCreated)
	if crashed, err := srv.Crashed(); crashed {
		t.Errorf("Crashed() = true (%v) on a running server", err)
	}
	if srv.PID() <= 0 {
		t.Errorf("PID() = %d", srv.PID())
	}
	if err := syscall.Kill(-srv.PID(), 0); err != nil {
		t.Errorf("the server is not in a process group of its own: %v", err)
	}

	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	assertRefused(t, srv.Addr())
	if _, err := os.Stat(srv.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("directory %s after Close: %v", srv.Dir(), err)
	}
	if srv.PID() != 0 {
		t.Errorf("PID() = %d after Close", srv.PID())
	}
}

// On disk, Restart gives back the same port, databases and admin; Close leaves a given directory.
func TestRestartOnDisk(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "server")
	srv := start(t, pouchdb.Options{Dir: dir, OnDisk: true})
	base, addr := srv.URL(), srv.Addr()
	status(t, "PUT", base+"/kept", http.StatusCreated)
	req, _ := http.NewRequest("PUT", base+"/kept/doc", strings.NewReader(`{"n":1}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT /kept/doc: %v %v", resp, err)
	}
	resp.Body.Close()

	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	assertRefused(t, addr)
	if err := srv.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if err := srv.Restart(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := srv.Restart(t.Context()); err != nil {
		t.Errorf("Restart of a running server: %v", err)
	}
	if srv.URL() != base || srv.Addr() != addr {
		t.Errorf("after Restart: %s, want %s", srv.Addr(), addr)
	}
	status(t, "GET", base+"/kept/doc", http.StatusOK)
	status(t, "GET", "http://"+addr+"/_config/admins", http.StatusUnauthorized)

	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		t.Errorf("Close removed a directory it was given: %v", err)
	}
}

// A paused server accepts connections but answers nothing until resumed.
func TestPauseResume(t *testing.T) {
	srv := start(t, pouchdb.Options{})
	if err := srv.Pause(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL()+"/", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("a paused server answered %d", resp.StatusCode)
	} else if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("request to a paused server: %v, want a timeout", err)
	}
	if err := srv.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	status(t, "GET", srv.URL()+"/", http.StatusOK)
}

// A server killed behind our back is reported as crashed, with its logs, and can be restarted.
func TestCrashed(t *testing.T) {
	srv := start(t, pouchdb.Options{OnDisk: true})
	if err := syscall.Kill(-srv.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		crashed, waitErr := srv.Crashed()
		if crashed {
			if waitErr == nil || !strings.Contains(waitErr.Error(), "killed") {
				t.Errorf("Crashed() error = %v, want the kill", waitErr)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Crashed() still false 10s after SIGKILL")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if tail := srv.LogTail(); !strings.Contains(tail, "--- end of "+pouchdb.ServerLogName) || !strings.Contains(tail, "--- end of "+pouchdb.RequestLogName) {
		t.Errorf("LogTail() = %q", tail)
	}
	if err := srv.Restart(t.Context()); err != nil {
		t.Fatal(err)
	}
	status(t, "GET", srv.URL()+"/_config/admins", http.StatusOK)
}

func TestNotInstalled(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	_, err := pouchdb.Start(t.Context(), pouchdb.Options{InstallDir: tmp})
	if !errors.Is(err, pouchdb.ErrNotInstalled) {
		t.Errorf("Start with no pouchdb-server: %v, want ErrNotInstalled", err)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("Start left %d entries in TMPDIR", len(entries))
	}
}

// A cancelled start returns the context's cause and leaves nothing behind.
func TestStartCancelled(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	cause := errors.New("interrupted")
	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(cause)
	srv, err := pouchdb.Start(ctx, pouchdb.Options{})
	if errors.Is(err, pouchdb.ErrNotInstalled) && os.Getenv(couchtest.EnvRequire) != "1" {
		t.Skip(err)
	}
	if !errors.Is(err, cause) {
		srv.Close()
		t.Fatalf("Start with a cancelled context: %v, want %v", err, cause)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("Start left %d entries in TMPDIR", len(entries))
	}
}

func status(t *testing.T, method, rawURL string, want int) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, req.URL.Redacted(), resp.StatusCode, want, body)
	}
}

func assertRefused(t *testing.T, addr string) {
	t.Helper()
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Errorf("%s still accepts connections", addr)
	}
}
