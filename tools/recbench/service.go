package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// benchToken is the admin token the benchmark's service instances accept.
const benchToken = "bench"

// buildService compiles cmd/recordingsd into dir, exactly as `make build` would.
func buildService(ctx context.Context, dir string) (string, error) {
	bin := dir + "/recordingsd"
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/recordingsd")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/recordingsd: %w\n%s", err, out.String())
	}
	return bin, nil
}

// service is one recordingsd process, configured through RECORDINGS_* variables alone.
type service struct {
	cmd  *exec.Cmd
	base string // http://127.0.0.1:port
	log  *bytes.Buffer
	done chan struct{}
	mu   sync.Mutex
}

type syncBuffer struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (s syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buf.Len() > 1<<20 {
		s.buf.Reset()
	}
	return s.buf.Write(p)
}

// serviceEnv configures a service on CouchDB (couchURL with credentials) or on the
// embedded store file at dbPath, with the default configuration otherwise. With
// wideDays > 0, listing.max_range_s allows windows of that many days (the paging case walks
// 3 months; the default is 31 days, which is also the default window, so only that case
// runs a service configured so).
func serviceEnv(couchURL, dbPath string, wideDays int) []string {
	env := []string{
		`RECORDINGS_AUTH_TOKENS=[{"token":"` + benchToken + `","all_accounts":true}]`,
		"RECORDINGS_LOG_LEVEL=warn",
		"RECORDINGS_WEBHOOKS_ALLOWED_HOSTS=127.0.0.1", // the webhooks case's receiver is on loopback
	}
	if wideDays > 0 {
		env = append(env, "RECORDINGS_LISTING_MAX_RANGE_S="+strconv.Itoa(wideDays*24*3600))
	}
	if couchURL != "" {
		return append(env, "RECORDINGS_STORE_BACKEND=couchdb", "RECORDINGS_COUCHDB_URL="+couchURL,
			"RECORDINGS_COUCHDB_USERNAME=", "RECORDINGS_COUCHDB_PASSWORD=")
	}
	return append(env, "RECORDINGS_STORE_BACKEND=embedded", "RECORDINGS_STORE_EMBEDDED_PATH="+dbPath)
}

// startService starts the binary on a free loopback port and waits until a listing of
// accountID answers 200.
func startService(ctx context.Context, bin string, env []string, accountID string, hc *http.Client) (*service, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	_ = l.Close()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(cleanEnv(), append(env, "RECORDINGS_HTTP_LISTEN="+addr)...)
	s := &service{cmd: cmd, base: "http://" + addr, log: new(bytes.Buffer), done: make(chan struct{})}
	cmd.Stdout = syncBuffer{&s.mu, s.log}
	cmd.Stderr = syncBuffer{&s.mu, s.log}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case <-s.done:
			return nil, fmt.Errorf("recordingsd exited at start:\n%s", s.output())
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/v2/accounts/"+accountID+"/recordings?page_size=1", nil)
		req.Header.Set("X-Auth-Token", benchToken)
		if resp, err := hc.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("recordingsd did not answer a listing within 2 minutes:\n%s", s.output())
		}
	}
}

// cleanEnv is our environment without RECORDINGS_* variables, so that only the benchmark's
// configuration reaches the service.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RECORDINGS_") {
			out = append(out, kv)
		}
	}
	return out
}

func (s *service) pid() int { return s.cmd.Process.Pid }

func (s *service) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.log.String()
	if len(out) > 4096 {
		out = out[len(out)-4096:]
	}
	return out
}

// stop ends the service gracefully (SIGTERM), or kills it after 5 seconds.
func (s *service) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
}

// memStatus is a process's memory as /proc/PID/status reports it, in bytes.
type memStatus struct {
	rss  int64 // VmRSS: resident memory, anonymous and file-backed
	hwm  int64 // VmHWM: the peak of VmRSS
	anon int64 // RssAnon: heap, stacks (file-backed pages, such as a mapped store file, excluded)
	file int64 // RssFile: resident pages of mapped files (the binary, bbolt's mmap of its file)
}

// procStatus reads a process's memory figures.
func procStatus(pid int) (memStatus, error) {
	var m memStatus
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		for _, field := range []struct {
			name string
			dst  *int64
		}{{"VmRSS:", &m.rss}, {"VmHWM:", &m.hwm}, {"RssAnon:", &m.anon}, {"RssFile:", &m.file}} {
			if strings.HasPrefix(line, field.name) {
				kb, _ := strconv.ParseInt(strings.Fields(line[len(field.name):])[0], 10, 64)
				*field.dst = kb << 10
			}
		}
	}
	if m.rss == 0 {
		return m, errors.New("no VmRSS in /proc status")
	}
	return m, sc.Err()
}

// rssWatch samples a process's memory every 10 ms until stopped. It first resets the
// kernel's peak (VmHWM) so that the peak it reports covers this watch alone.
type rssWatch struct {
	pid     int
	stopped chan struct{}
	done    chan struct{}
	peak    memStatus // highest of each figure over the samples
}

func watchRSS(pid int) *rssWatch {
	// "5" resets the peak resident set size (Linux 4.0+); the service is our child.
	_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
	w := &rssWatch{pid: pid, stopped: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			w.sample()
			select {
			case <-w.stopped:
				return
			case <-t.C:
			}
		}
	}()
	return w
}

func (w *rssWatch) sample() {
	if m, err := procStatus(w.pid); err == nil {
		w.peak.rss = max(w.peak.rss, m.rss, m.hwm)
		w.peak.hwm = max(w.peak.hwm, m.hwm)
		w.peak.anon = max(w.peak.anon, m.anon)
		w.peak.file = max(w.peak.file, m.file)
	}
}

// stop returns the peaks: VmRSS (the sampled maximum, or VmHWM since the reset if higher),
// VmHWM as the kernel keeps it since the reset, and the sampled maxima of RssAnon and RssFile.
func (w *rssWatch) stop() memStatus {
	close(w.stopped)
	<-w.done
	w.sample()
	return w.peak
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }

// procCPU returns the CPU time (user + system) a process has used so far, in seconds.
func procCPU(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times: 100 on every Linux we run on.
const clockTicks = 100
