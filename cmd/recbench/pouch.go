package main

import (
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

// pouchServer is a private in-memory pouchdb-server, the CouchDB-compatible server `make test`
// uses (cmd/withcouch), started with a bigger heap: the benchmark holds tens of thousands of
// documents and streams a 50 MB attachment to 16 clients at once.
type pouchServer struct {
	dir  string
	cmd  *exec.Cmd
	url  string // with admin credentials
	done chan struct{}
}

// startPouch starts node_modules/.bin/pouchdb-server from dir and creates an admin user.
func startPouch(ctx context.Context, dir string, heapMB int) (*pouchServer, error) {
	bin, err := filepath.Abs(filepath.Join(dir, "node_modules", ".bin", "pouchdb-server"))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("pouchdb-server is not installed (run `make testdeps`): %w", err)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		p, err := launchPouch(ctx, bin, heapMB)
		if err == nil {
			return p, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func launchPouch(ctx context.Context, bin string, heapMB int) (*pouchServer, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	// pouchdb-server writes config.json and log.txt into its working directory.
	dir, err := os.MkdirTemp("", "recbench-pouch-")
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "--in-memory", "-o", "127.0.0.1", "-p", strconv.Itoa(port), "-n")
	cmd.Dir = dir
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NODE_OPTIONS=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "NODE_OPTIONS=--max-old-space-size="+strconv.Itoa(heapMB))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("start pouchdb-server: %w", err)
	}
	p := &pouchServer{dir: dir, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	if err := p.waitReady(ctx, base); err != nil {
		p.stop()
		return nil, err
	}
	password := rand.Text()
	body, _ := json.Marshal(password)
	if err := expectStatus(ctx, http.MethodPut, base+"/_config/admins/admin", string(body), http.StatusOK); err != nil {
		p.stop()
		return nil, fmt.Errorf("pouchdb-server: create admin: %w", err)
	}
	u, _ := url.Parse(base)
	u.User = url.UserPassword("admin", password)
	p.url = u.String()
	return p, nil
}

func (p *pouchServer) waitReady(ctx context.Context, base string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("pouchdb-server exited before answering:\n%s", p.logTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := http.Get(base + "/")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return errors.New("pouchdb-server did not answer within 30s")
}

// alive reports whether the server is still running (it dies when its heap overflows).
func (p *pouchServer) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

func (p *pouchServer) pid() int { return p.cmd.Process.Pid }

func (p *pouchServer) logTail() string {
	data, _ := os.ReadFile(filepath.Join(p.dir, "server.log"))
	if len(data) > 4096 {
		data = data[len(data)-4096:]
	}
	return string(data)
}

// stop kills the server's process group (ours alone: it was started with Setpgid) and
// removes its directory.
func (p *pouchServer) stop() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
	_ = os.RemoveAll(p.dir)
}

func expectStatus(ctx context.Context, method, rawURL, body string, want int) error {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, r)
	if err != nil {
		return err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != want {
		return fmt.Errorf("%s: status %d, want %d: %s", method, resp.StatusCode, want, strings.TrimSpace(string(msg)))
	}
	return nil
}
