package couchtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Server is a pouchdb-server of one test's own, for tests that stop, freeze or restart
// their database. Its databases are on disk (leveldb) in the test's temporary directory, so
// Stop then Start gives back the same data on the same port, with the same admin user.
// Its methods must be called from the test's goroutine.
type Server struct {
	t      testing.TB
	bin    string // node_modules/.bin/pouchdb-server
	dir    string // working directory: config.json, log.txt, server.log; data/ holds the databases
	port   int
	admin  *url.Userinfo
	client *http.Client

	process *exec.Cmd     // nil while stopped
	exited  chan struct{} // closed when process has exited; waitErr is set then
	waitErr error
}

const (
	serverReadyTimeout  = 30 * time.Second
	serverStartAttempts = 3 // a free port we picked can be taken before the server binds it
	serverLogName       = "server.log"
)

var errServerPortTaken = errors.New("pouchdb-server: port already in use")

// StartServer starts a pouchdb-server for t alone on a free loopback port, creates its admin
// user and waits until it answers. It is stopped and its files removed when t ends. It skips
// t when pouchdb-server is not installed (`make testdeps`), or fails it under EnvRequire=1.
func StartServer(t testing.TB) *Server {
	t.Helper()
	bin := pouchdbServerBin(t)
	s := &Server{
		t:      t,
		bin:    bin,
		dir:    t.TempDir(), // removed after the cleanup below has killed the server
		client: &http.Client{Timeout: 5 * time.Second},
	}
	t.Cleanup(func() {
		if t.Failed() && s.process != nil {
			t.Logf("couchtest: end of pouchdb-server's logs:\n%s", s.logTail())
		}
		if err := s.kill(); err != nil {
			t.Errorf("couchtest: %v", err)
		}
	})
	var err error
	for attempt := 1; attempt <= serverStartAttempts; attempt++ {
		if s.port, err = freeLoopbackPort(); err != nil {
			t.Fatalf("couchtest: %v", err)
		}
		if err = s.launch(); !errors.Is(err, errServerPortTaken) {
			break
		}
	}
	if err != nil {
		t.Fatalf("couchtest: start pouchdb-server: %v", err)
	}
	if err := s.createAdmin(); err != nil {
		t.Fatalf("couchtest: %v\n%s", err, s.logTail())
	}
	return s
}

// URL is the server's address with the admin's credentials, as couch.Config.URL takes it.
func (s *Server) URL() string {
	return (&url.URL{Scheme: "http", User: s.admin, Host: s.Addr()}).String()
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Stop kills the server (SIGKILL, as a crash would) and waits until it is gone: connections
// to its port are refused from then on. Its data stays for Start.
func (s *Server) Stop() {
	s.t.Helper()
	if err := s.kill(); err != nil {
		s.t.Fatalf("couchtest: %v", err)
	}
}

// Start starts a stopped server again on the same port with the same data, and returns once
// it answers. It does nothing when the server is running.
func (s *Server) Start() {
	s.t.Helper()
	if s.process != nil {
		return
	}
	if err := s.launch(); err != nil {
		s.t.Fatalf("couchtest: restart pouchdb-server on port %d: %v", s.port, err)
	}
}

// Pause freezes the server (SIGSTOP): the kernel still accepts connections and requests,
// but nothing answers them, as with a hung database or a silent network.
func (s *Server) Pause() {
	s.t.Helper()
	if err := s.signal(syscall.SIGSTOP); err != nil {
		s.t.Fatalf("couchtest: pause pouchdb-server: %v", err)
	}
}

// Resume thaws a paused server (SIGCONT) and returns once it answers again.
func (s *Server) Resume() {
	s.t.Helper()
	if err := s.signal(syscall.SIGCONT); err != nil {
		s.t.Fatalf("couchtest: resume pouchdb-server: %v", err)
	}
	if err := s.waitReady(); err != nil {
		s.t.Fatalf("couchtest: resumed pouchdb-server: %v\n%s", err, s.logTail())
	}
}

func (s *Server) signal(sig syscall.Signal) error {
	if s.process == nil {
		return errors.New("pouchdb-server is not running")
	}
	return syscall.Kill(-s.process.Process.Pid, sig)
}

// launch starts the process on s.port and waits until it answers.
func (s *Server) launch() error {
	dataDir := filepath.Join(s.dir, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return err
	}
	logFile, err := os.OpenFile(filepath.Join(s.dir, serverLogName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child has its own descriptor

	// Not --in-memory: leveldb files in data/ are what lets a restart find the data again.
	// pouchdb-server writes config.json and log.txt into its working directory whatever -d says.
	cmd := exec.Command(s.bin, "-o", "127.0.0.1", "-p", strconv.Itoa(s.port), "-d", dataDir+string(filepath.Separator), "-n")
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "NODE_OPTIONS=--max-old-space-size=768")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = serverProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	s.process, s.exited, s.waitErr = cmd, exited, nil
	go func() {
		err := cmd.Wait()
		s.waitErr = err // read only after exited is closed
		close(exited)
	}()
	if err := s.waitReady(); err != nil {
		err = fmt.Errorf("%w\n%s", err, s.logTail())
		return errors.Join(err, s.kill())
	}
	return nil
}

// waitReady polls GET / until this server answers, it exits, or serverReadyTimeout passes.
func (s *Server) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), serverReadyTimeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.answers(ctx) {
			return nil
		}
		select {
		case <-s.exited:
			if strings.Contains(readFileTail(filepath.Join(s.dir, serverLogName)), "EADDRINUSE") {
				return errServerPortTaken
			}
			return fmt.Errorf("pouchdb-server exited before answering: %v", s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("pouchdb-server did not answer GET http://%s/ within %s", s.Addr(), serverReadyTimeout)
		case <-tick.C:
		}
	}
}

// answers reports whether GET / succeeds and comes from this server, not from another one
// that took the port: its uuid must be the one in our config.json.
func (s *Server) answers(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.Addr()+"/", nil)
	if err != nil {
		return false
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var welcome struct {
		UUID string `json:"uuid"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&welcome) != nil {
		return false
	}
	var config struct {
		CouchDB struct {
			UUID string `json:"uuid"`
		} `json:"couchdb"`
	}
	data, err := os.ReadFile(filepath.Join(s.dir, "config.json"))
	if err != nil || json.Unmarshal(data, &config) != nil {
		return false
	}
	return welcome.UUID != "" && welcome.UUID == config.CouchDB.UUID
}

// createAdmin ends the "admin party" with user admin and a random password (kept in
// config.json, so it survives restarts) and checks that credentials are then required.
func (s *Server) createAdmin() error {
	password := rand.Text()
	body, _ := json.Marshal(password) // a string always encodes
	if err := s.expect(http.MethodPut, nil, "/_config/admins/admin", body, http.StatusOK); err != nil {
		return fmt.Errorf("create admin: %w", err)
	}
	admin := url.UserPassword("admin", password)
	// Never an anonymous PUT /db: with admins configured, that crashes pouchdb-server.
	checks := []struct {
		user   *url.Userinfo
		method string
		path   string
		want   int
	}{
		{nil, http.MethodGet, "/_config/admins", http.StatusUnauthorized},
		{admin, http.MethodPut, "/couchtest_probe", http.StatusCreated},
		{admin, http.MethodDelete, "/couchtest_probe", http.StatusOK},
	}
	for _, c := range checks {
		if err := s.expect(c.method, c.user, c.path, nil, c.want); err != nil {
			return fmt.Errorf("check admin credentials: %w", err)
		}
	}
	s.admin = admin
	return nil
}

// expect sends one request (the URL's user becomes basic auth) and checks its status.
func (s *Server) expect(method string, user *url.Userinfo, path string, body []byte, want int) error {
	var reqBody io.Reader
	if body != nil {
		reqBody = bytes.NewReader(body)
	}
	u := &url.URL{Scheme: "http", User: user, Host: s.Addr(), Path: path}
	req, err := http.NewRequest(method, u.String(), reqBody)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		answer, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, bytes.TrimSpace(answer))
	}
	return nil
}

// kill ends the server's process group, paused or not, and waits for it; data stays.
func (s *Server) kill() error {
	if s.process == nil {
		return nil
	}
	pid := s.process.Process.Pid
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop pouchdb-server (pid %d): %w", pid, err)
	}
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		return fmt.Errorf("pouchdb-server (pid %d) still running 10s after SIGKILL", pid)
	}
	s.process = nil
	return nil
}

func (s *Server) logTail() string {
	var b strings.Builder
	for _, name := range []string{serverLogName, "log.txt"} {
		fmt.Fprintf(&b, "--- end of %s ---\n%s\n", name, readFileTail(filepath.Join(s.dir, name)))
	}
	return b.String()
}

// readFileTail returns the last 4 KiB of a file, or why it could not be read.
func readFileTail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(data) > 4<<10 {
		data = data[len(data)-4<<10:]
	}
	return strings.TrimRight(string(data), "\n")
}

func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// pouchdbServerBin finds testenv/pouchdb/node_modules/.bin/pouchdb-server at the root of the
// module (the nearest directory above with a go.mod), or skips t (fails under EnvRequire).
func pouchdbServerBin(t testing.TB) string {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("%s, but %s=1", msg, EnvRequire)
		}
		t.Skip(msg)
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			missing("no go.mod above the test's directory: cannot find testenv/pouchdb")
			return ""
		}
		dir = parent
	}
	bin := filepath.Join(dir, "testenv", "pouchdb", "node_modules", ".bin", "pouchdb-server")
	if _, err := os.Stat(bin); err != nil {
		missing("pouchdb-server is not installed; run `make testdeps` (%v)", err)
	}
	return bin
}
