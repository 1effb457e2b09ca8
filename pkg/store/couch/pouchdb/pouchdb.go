// Package pouchdb runs pouchdb-server, the CouchDB-compatible server from npm that the tests
// (cmd/withcouch, couchtest) and the benchmark (tools/recbench) use in place of CouchDB.
//
// Start launches one server on a free loopback port, in a directory of its own and in a
// process group of its own, waits until it answers, and ends the "admin party" with an admin
// user whose credentials are in URL. The Server can then be stopped as a crash would stop it,
// restarted on the same port (with the same data when on disk), frozen and thawed.
package pouchdb

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
	"time"
)

const (
	// DefaultInstallDir is where `make testdeps` installs pouchdb-server, relative to the
	// module's root: its node_modules/.bin holds the executable.
	DefaultInstallDir = "testenv/pouchdb"
	// DefaultHeapMB is node's --max-old-space-size when Options.HeapMB is 0.
	DefaultHeapMB = 768
	// ReadyTimeout is how long a server may take to answer after it is launched or resumed.
	ReadyTimeout = 30 * time.Second
	// AdminName is the admin user Start creates.
	AdminName = "admin"

	startAttempts = 3 // the free port we picked can be taken before the server binds it
	stopTimeout   = 10 * time.Second
	probeTimeout  = 2 * time.Second // one GET / while waiting: a paused server never answers
	pollInterval  = 10 * time.Millisecond
	tailSize      = 4 << 10

	// ServerLogName is the server's standard output and error, in its directory.
	ServerLogName = "server.log"
	// RequestLogName is pouchdb-server's own request log, in its directory.
	RequestLogName = "log.txt"
)

// ErrNotInstalled is returned (wrapped) by Start when pouchdb-server cannot be found.
var ErrNotInstalled = errors.New("pouchdb-server is not installed (run `make testdeps`)")

var errPortTaken = errors.New("pouchdb-server: port already in use")

// Options say how to run a server. The zero value runs the module's testenv/pouchdb install
// in memory, in a fresh temporary directory, with a DefaultHeapMB heap.
type Options struct {
	// InstallDir holds node_modules/.bin/pouchdb-server. "" is DefaultInstallDir in the
	// module root: the nearest directory, from the working directory up, with a go.mod.
	InstallDir string
	// Dir is the server's working directory: pouchdb-server writes config.json (its uuid
	// and the admin) and log.txt there whatever else it is told, and Start adds server.log
	// and, on disk, data/. It is created when missing and left in place by Close. "" is a
	// fresh temporary directory, which Close removes.
	Dir string
	// OnDisk keeps the databases in Dir/data (leveldb), so that Restart finds them again.
	// Otherwise they are in memory and a Stop loses them (the admin, in config.json, stays).
	OnDisk bool
	// HeapMB is node's --max-old-space-size (NODE_OPTIONS); 0 is DefaultHeapMB.
	HeapMB int
}

// Server is one pouchdb-server. Its methods are not safe for concurrent use.
type Server struct {
	bin     string
	dir     string // absolute
	ownsDir bool   // made by Start: Close removes it
	onDisk  bool
	heapMB  int
	port    int
	admin   *url.Userinfo
	client  *http.Client

	process   *exec.Cmd     // nil while stopped
	exited    chan struct{} // closed once process has exited; waitErr is set then
	waitErr   error
	logOffset int64 // size of server.log when process was launched
}

// Start launches a server on a free loopback port, waits until it answers (it, not another
// server that took the port), creates the admin user and checks that credentials are then
// required. On failure nothing is left running, the error carries the end of the server's
// logs, and an error wrapping ErrNotInstalled says that the executable is missing. When ctx
// ends first, the error is context.Cause(ctx).
func Start(ctx context.Context, opts Options) (*Server, error) {
	bin, err := findBin(opts.InstallDir)
	if err != nil {
		return nil, err
	}
	s := &Server{
		bin:    bin,
		onDisk: opts.OnDisk,
		heapMB: opts.HeapMB,
		client: &http.Client{Timeout: 5 * time.Second},
	}
	if s.heapMB <= 0 {
		s.heapMB = DefaultHeapMB
	}
	if opts.Dir == "" {
		if s.dir, err = os.MkdirTemp("", "pouchdb-server-"); err != nil {
			return nil, err
		}
		s.ownsDir = true
	} else {
		if s.dir, err = filepath.Abs(opts.Dir); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(s.dir, 0o755); err != nil {
			return nil, err
		}
	}
	if err := s.start(ctx); err != nil {
		if ctx.Err() != nil {
			err = context.Cause(ctx)
		}
		return nil, errors.Join(err, s.Close())
	}
	return s, nil
}

// start launches the process on a free port, retrying when another process takes the port
// first, then creates the admin.
func (s *Server) start(ctx context.Context) error {
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return err
		}
		s.port = port
		err = s.launch(ctx)
		if err == nil {
			break
		}
		if !errors.Is(err, errPortTaken) || attempt == startAttempts {
			return err
		}
	}
	if err := s.createAdmin(ctx); err != nil {
		return fmt.Errorf("%w\n%s", err, s.LogTail())
	}
	return nil
}

// URL is the server's base URL with the admin's credentials, as couch.Config.URL takes it.
func (s *Server) URL() string { return s.url(s.admin, "") }

// Addr is the server's 127.0.0.1:port; it stays the same across Restart.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Dir is the server's working directory.
func (s *Server) Dir() string { return s.dir }

// PID is the process id of the running server (its process group's id too), or 0 once Stop
// has stopped it. A server that crashed keeps its pid until Stop.
func (s *Server) PID() int {
	if s.process == nil {
		return 0
	}
	return s.process.Process.Pid
}

// Crashed reports whether the server exited without Stop, and what waiting for it returned.
func (s *Server) Crashed() (bool, error) {
	if s.process == nil {
		return false, nil
	}
	select {
	case <-s.exited:
		return true, s.waitErr
	default:
		return false, nil
	}
}

// Stop kills the server's process group (SIGKILL, as a crash would, paused or not) and waits
// until it is gone: connections to its port are refused from then on. Its directory stays.
// Stopping a stopped server does nothing.
func (s *Server) Stop() error {
	if s.process == nil {
		return nil
	}
	pid := s.process.Process.Pid
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop pouchdb-server (pid %d): %w", pid, err)
	}
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		return fmt.Errorf("pouchdb-server (pid %d) still running %s after SIGKILL", pid, stopTimeout)
	}
	s.process = nil
	return nil
}

// Close stops the server and removes its directory when Start made it.
func (s *Server) Close() error {
	if err := s.Stop(); err != nil {
		return fmt.Errorf("%w; its directory %s is left", err, s.dir)
	}
	if s.ownsDir {
		if err := os.RemoveAll(s.dir); err != nil {
			return fmt.Errorf("remove pouchdb-server directory: %w", err)
		}
	}
	return nil
}

// Restart launches a stopped (or crashed) server again on the same port and directory, with
// the same admin and, on disk, the same databases, and returns once it answers. It does
// nothing while the server runs.
func (s *Server) Restart(ctx context.Context) error {
	if crashed, _ := s.Crashed(); crashed {
		if err := s.Stop(); err != nil {
			return err
		}
	}
	if s.process != nil {
		return nil
	}
	return s.launch(ctx)
}

// Pause freezes the server (SIGSTOP): the kernel still accepts connections and requests,
// but nothing answers them, as with a hung database or a silent network.
func (s *Server) Pause() error { return s.signal(syscall.SIGSTOP) }

// Resume thaws a paused server (SIGCONT) and returns once it answers again.
func (s *Server) Resume(ctx context.Context) error {
	if err := s.signal(syscall.SIGCONT); err != nil {
		return err
	}
	if err := s.waitReady(ctx); err != nil {
		return fmt.Errorf("%w\n%s", err, s.LogTail())
	}
	return nil
}

func (s *Server) signal(sig syscall.Signal) error {
	if s.process == nil {
		return errors.New("pouchdb-server is not running")
	}
	return syscall.Kill(-s.process.Process.Pid, sig)
}

// LogTail returns the end of the server's output and of its request log.
func (s *Server) LogTail() string {
	var b strings.Builder
	for _, name := range []string{ServerLogName, RequestLogName} {
		fmt.Fprintf(&b, "--- end of %s ---\n%s\n", name, readTail(filepath.Join(s.dir, name), 0))
	}
	return b.String()
}

// launch starts the process on s.port and waits until it answers; on failure it is killed.
func (s *Server) launch(ctx context.Context) error {
	args := []string{"-o", "127.0.0.1", "-p", strconv.Itoa(s.port), "-n"}
	if s.onDisk {
		dataDir := filepath.Join(s.dir, "data")
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return err
		}
		// The trailing separator matters: -d is a prefix of the databases' paths.
		args = append(args, "-d", dataDir+string(filepath.Separator))
	} else {
		args = append([]string{"--in-memory"}, args...)
	}
	logFile, err := os.OpenFile(filepath.Join(s.dir, ServerLogName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child has its own descriptor
	info, err := logFile.Stat()
	if err != nil {
		return err
	}

	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir // where config.json and log.txt go
	// The last NODE_OPTIONS wins (os/exec keeps the last of duplicate keys).
	cmd.Env = append(os.Environ(), "NODE_OPTIONS=--max-old-space-size="+strconv.Itoa(s.heapMB))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start pouchdb-server: %w", err)
	}
	exited := make(chan struct{})
	s.process, s.exited, s.waitErr, s.logOffset = cmd, exited, nil, info.Size()
	go func() {
		err := cmd.Wait()
		s.waitErr = err // read only after exited is closed
		close(exited)
	}()
	if err := s.waitReady(ctx); err != nil {
		if ctx.Err() == nil {
			err = fmt.Errorf("%w\n%s", err, s.LogTail())
		}
		return errors.Join(err, s.Stop())
	}
	return nil
}

// waitReady polls GET / until this server answers, it exits, ctx ends or ReadyTimeout
// passes. pouchdb-server has no /_up.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeoutCause(ctx, ReadyTimeout,
		fmt.Errorf("pouchdb-server did not answer GET http://%s/ within %s", s.Addr(), ReadyTimeout))
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		if s.answers(ctx) {
			return nil
		}
		select {
		case <-s.exited:
			if strings.Contains(readTail(filepath.Join(s.dir, ServerLogName), s.logOffset), "EADDRINUSE") {
				return errPortTaken
			}
			return fmt.Errorf("pouchdb-server exited before answering: %v", s.waitErr)
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-tick.C:
		}
	}
}

// answers reports whether GET / succeeds and comes from this server, not from another one
// that took the port: its uuid must be the one in our config.json.
func (s *Server) answers(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url(nil, "/"), nil)
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

// createAdmin ends the "admin party" with user AdminName and a random password (kept in
// config.json, so it survives restarts) and checks that credentials are then required and
// accepted.
func (s *Server) createAdmin(ctx context.Context) error {
	password := rand.Text()
	body, _ := json.Marshal(password) // a string always encodes
	if err := s.expect(ctx, http.MethodPut, nil, "/_config/admins/"+AdminName, body, http.StatusOK); err != nil {
		return fmt.Errorf("create admin: %w", err)
	}
	admin := url.UserPassword(AdminName, password)
	// Never an anonymous PUT /db: with admins configured, that crashes pouchdb-server.
	checks := []struct {
		user   *url.Userinfo
		method string
		path   string
		want   int
	}{
		{nil, http.MethodGet, "/_config/admins", http.StatusUnauthorized},
		{admin, http.MethodPut, "/pouchdb_probe", http.StatusCreated},
		{admin, http.MethodDelete, "/pouchdb_probe", http.StatusOK},
	}
	for _, c := range checks {
		if err := s.expect(ctx, c.method, c.user, c.path, nil, c.want); err != nil {
			return fmt.Errorf("check admin credentials: %w", err)
		}
	}
	s.admin = admin
	return nil
}

func (s *Server) url(user *url.Userinfo, path string) string {
	return (&url.URL{Scheme: "http", User: user, Host: s.Addr(), Path: path}).String()
}

// expect sends one request (net/http turns the URL's user into basic auth) and checks its status.
func (s *Server) expect(ctx context.Context, method string, user *url.Userinfo, path string, body []byte, want int) error {
	var reqBody io.Reader
	if body != nil {
		reqBody = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.url(user, path), reqBody)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req) // its errors leave the password out of the URL
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

// findBin returns the absolute path of installDir/node_modules/.bin/pouchdb-server, installDir
// defaulting to the module root's DefaultInstallDir.
func findBin(installDir string) (string, error) {
	if installDir == "" {
		root, err := moduleRoot()
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrNotInstalled, err)
		}
		installDir = filepath.Join(root, DefaultInstallDir)
	}
	bin, err := filepath.Abs(filepath.Join(installDir, "node_modules", ".bin", "pouchdb-server"))
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("%w: %w", ErrNotInstalled, err)
	}
	return bin, nil
}

// moduleRoot is the nearest directory, from the working directory up, with a go.mod.
func moduleRoot() (string, error) {
	start, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := start; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above %s: cannot find %s", start, DefaultInstallDir)
		}
		dir = parent
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// readTail returns the last 4 KiB of a file from offset on, or why it could not be read.
func readTail(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil {
		offset = max(offset, info.Size()-tailSize)
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return err.Error()
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return err.Error()
	}
	return strings.TrimRight(string(data), "\n")
}
