package main

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
	readyTimeout  = 30 * time.Second
	startAttempts = 3 // the free port we picked can be taken before the server binds it
	serverLogName = "server.log"
	// pouchdb-server's own request log, written to its working directory.
	pouchdbLogName = "log.txt"
)

var errPortTaken = errors.New("pouchdb-server: port already in use")

// server is one pouchdb-server process, in memory, in its own directory and process group.
type server struct {
	dir     string // working directory: config.json, log.txt, server.log
	addr    string // 127.0.0.1:port
	process *exec.Cmd
	exited  chan struct{} // closed once the process has exited; waitErr is set then
	waitErr error
	client  *http.Client
}

// startServer starts pouchdb-server from pouchdbDir/node_modules and waits until it answers.
func startServer(ctx context.Context, pouchdbDir string) (*server, error) {
	bin, err := filepath.Abs(filepath.Join(pouchdbDir, "node_modules", ".bin", "pouchdb-server"))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("pouchdb-server is not installed (run `make testdeps`): %w", err)
	}
	for attempt := 1; ; attempt++ {
		srv, err := launchServer(bin)
		if err != nil {
			return nil, err
		}
		err = srv.waitReady(ctx, readyTimeout)
		if err == nil {
			return srv, nil
		}
		if ctx.Err() == nil {
			err = fmt.Errorf("%w\n%s", err, srv.logTail())
		}
		if stopErr := srv.stop(); stopErr != nil {
			return nil, errors.Join(err, stopErr)
		}
		if !errors.Is(err, errPortTaken) || attempt == startAttempts {
			return nil, err
		}
	}
}

func launchServer(bin string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	// pouchdb-server writes config.json and log.txt into its working directory, whatever --dir says.
	dir, err := os.MkdirTemp("", "withcouch-")
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, serverLogName))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin, "--in-memory", "-o", "127.0.0.1", "-p", strconv.Itoa(port), "-n")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NODE_OPTIONS=--max-old-space-size=768")
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = serverProcAttr()
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start pouchdb-server: %w", err)
	}

	srv := &server{
		dir:     dir,
		addr:    addr,
		process: cmd,
		exited:  make(chan struct{}),
		client:  &http.Client{Timeout: 5 * time.Second},
	}
	go func() {
		srv.waitErr = cmd.Wait()
		close(srv.exited)
	}()
	return srv, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls GET / until this server answers, it exits, or timeout passes.
// pouchdb-server has no /_up.
func (s *server) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeoutCause(ctx, timeout,
		fmt.Errorf("pouchdb-server did not answer GET http://%s/ within %s", s.addr, timeout))
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.answers(ctx) {
			return nil
		}
		select {
		case <-s.exited:
			if strings.Contains(readTail(filepath.Join(s.dir, serverLogName)), "EADDRINUSE") {
				return errPortTaken
			}
			return fmt.Errorf("pouchdb-server exited before answering: %v", s.waitErr)
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-tick.C:
		}
	}
}

// answers reports whether GET / succeeds and comes from this server, not from
// another one that took the port first: its uuid must be the one in our config.json.
func (s *server) answers(ctx context.Context) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.addr+"/", nil)
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

// createAdmin ends the "admin party" by creating user admin with a random
// password, checks that credentials are then required and accepted, and
// returns the server URL with those credentials.
func (s *server) createAdmin(ctx context.Context) (string, error) {
	password := rand.Text()
	body, err := json.Marshal(password)
	if err != nil {
		return "", err
	}
	if err := s.expect(ctx, http.MethodPut, nil, "/_config/admins/admin", body, http.StatusOK); err != nil {
		return "", fmt.Errorf("create admin: %w", err)
	}

	admin := url.UserPassword("admin", password)
	// Never an anonymous PUT /db here: with admins configured, that crashes pouchdb-server.
	checks := []struct {
		user   *url.Userinfo
		method string
		path   string
		want   int
	}{
		{nil, http.MethodGet, "/_config/admins", http.StatusUnauthorized},
		{admin, http.MethodPut, "/withcouch_probe", http.StatusCreated},
		{admin, http.MethodDelete, "/withcouch_probe", http.StatusOK},
	}
	for _, c := range checks {
		if err := s.expect(ctx, c.method, c.user, c.path, nil, c.want); err != nil {
			return "", fmt.Errorf("check admin credentials: %w", err)
		}
	}
	return s.url(admin, ""), nil
}

func (s *server) url(user *url.Userinfo, path string) string {
	return (&url.URL{Scheme: "http", User: user, Host: s.addr, Path: path}).String()
}

// expect sends one request (net/http turns the URL's user into basic auth) and checks its status.
func (s *server) expect(ctx context.Context, method string, user *url.Userinfo, path string, body []byte, want int) error {
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

// crashed reports, with the end of its logs, a server that exited before we stopped it.
func (s *server) crashed() error {
	select {
	case <-s.exited:
		return fmt.Errorf("pouchdb-server exited while the command ran (%v); an anonymous PUT /db crashes it, for one\n%s", s.waitErr, s.logTail())
	default:
		return nil
	}
}

// stop kills the server's process group, waits for it and removes its directory.
func (s *server) stop() error {
	err := syscall.Kill(-s.process.Process.Pid, syscall.SIGKILL)
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop pouchdb-server (pid %d): %w; its directory %s is left", s.process.Process.Pid, err, s.dir)
	}
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		return fmt.Errorf("pouchdb-server (pid %d) still running 10s after SIGKILL; its directory %s is left", s.process.Process.Pid, s.dir)
	}
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("remove pouchdb-server directory: %w", err)
	}
	return nil
}

// logTail returns the end of the server's output and of its request log.
func (s *server) logTail() string {
	var b strings.Builder
	for _, name := range []string{serverLogName, pouchdbLogName} {
		fmt.Fprintf(&b, "--- end of %s ---\n%s\n", name, readTail(filepath.Join(s.dir, name)))
	}
	return b.String()
}

// readTail returns the last 4 KiB of a file, or why it could not be read.
func readTail(path string) string {
	const tailSize = 4 << 10
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.Size() > tailSize {
		if _, err := f.Seek(info.Size()-tailSize, io.SeekStart); err != nil {
			return err.Error()
		}
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return err.Error()
	}
	return strings.TrimRight(string(data), "\n")
}
