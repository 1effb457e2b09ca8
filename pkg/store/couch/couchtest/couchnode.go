package couchtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// EnvCouchDBScript names the variable holding the path of couchdb.sh, the script that runs a
// real Apache CouchDB on loopback (../shared/couchdb on our machines). When it is set,
// StartServer gives each test a CouchDB node of its own instead of a pouchdb-server, and
// Cluster can stop and start the nodes of the cluster named by EnvClusterDir.
const EnvCouchDBScript = "RECORDINGS_TEST_COUCHDB_SH"

// couchNode is one Apache CouchDB node started by couchdb.sh in a directory of its own. It is
// stopped and started by the PID of its HTTP listener, as the script itself does.
type couchNode struct {
	script string
	dir    string
	n      int // node number within dir
	port   int
	url    string   // with the admin's credentials
	lock   *os.File // holds the port range against other test processes; nil for cluster nodes
}

// Node ports: couchdb.sh also uses port+100 (Erlang distribution) and port+200 (the
// directory's own epmd), so a node needs three free ports. They are below Linux's ephemeral
// range (32768 up), so a test server on a port the kernel picked never lands on a node's port,
// and clear of CI's single node (15984) and cluster (25980).
const (
	nodePortLow   = 17000
	nodePortHigh  = 24800
	nodeStartWait = 90 * time.Second
)

// startCouchNode unpacks and starts a single node in dir on a free port range.
func startCouchNode(ctx context.Context, script, dir string) (*couchNode, error) {
	port, lock, err := reserveNodePorts()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, nodeStartWait)
	defer cancel()
	out, err := exec.CommandContext(ctx, script, "start", dir, strconv.Itoa(port)).CombinedOutput()
	if err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("couchdb.sh start %s %d: %v: %s", dir, port, err, tail(out))
	}
	n := &couchNode{script: script, dir: dir, n: 1, port: port, lock: lock, url: lastLine(out)}
	if !strings.HasPrefix(n.url, "http://") {
		_ = n.Close()
		return nil, fmt.Errorf("couchdb.sh start printed no URL: %s", tail(out))
	}
	return n, nil
}

// reserveNodePorts picks a port whose range (port, +100, +200) is free, and takes a lock file
// for it, so that test binaries running side by side never pick the same one.
func reserveNodePorts() (int, *os.File, error) {
	for range 200 {
		port := nodePortLow + rand.IntN(nodePortHigh-nodePortLow)
		lockPath := filepath.Join(os.TempDir(), fmt.Sprintf("recordingsd-couchnode-%d.lock", port))
		f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return 0, nil, err
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			f.Close()
			continue
		}
		if portsFree(port, port+100, port+200) {
			return port, f, nil
		}
		f.Close()
	}
	return 0, nil, errors.New("couchtest: no free port range for a CouchDB node")
}

func portsFree(ports ...int) bool {
	for _, p := range ports {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}

func (n *couchNode) URL() string  { return n.url }
func (n *couchNode) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.port)) }

// PID is the process listening on the node's HTTP port (the Erlang VM), or 0 when none is.
func (n *couchNode) PID() int { return listenerPID(n.port) }

var ssPID = regexp.MustCompile(`pid=(\d+)`)

// listenerPID asks ss, as couchdb.sh does, which process listens on port.
func listenerPID(port int) int {
	out, err := exec.Command("ss", "-ltnpH", fmt.Sprintf("sport = :%d", port)).Output()
	if err != nil {
		return 0
	}
	m := ssPID.FindSubmatch(out)
	if m == nil {
		return 0
	}
	pid, _ := strconv.Atoi(string(m[1]))
	return pid
}

// Stop kills the node (SIGKILL, as a crash would) and returns once its port refuses
// connections. Its data stays for Restart.
func (n *couchNode) Stop() error {
	pid := n.PID()
	if pid == 0 {
		return nil
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill CouchDB node %d (pid %d): %w", n.n, pid, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil && n.PID() == 0 {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("CouchDB node %d (pid %d) still up 10 s after SIGKILL", n.n, pid)
}

// Restart starts a stopped node again with the same data; couchdb.sh returns once it answers
// /_up. It does nothing when the node is running.
func (n *couchNode) Restart(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, nodeStartWait)
	defer cancel()
	out, err := exec.CommandContext(ctx, n.script, "node-start", n.dir, strconv.Itoa(n.n)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("couchdb.sh node-start %s %d: %v: %s", n.dir, n.n, err, tail(out))
	}
	return n.waitUp(ctx)
}

// Pause freezes the node (SIGSTOP): connections are still accepted, nothing answers.
func (n *couchNode) Pause() error { return n.signal(syscall.SIGSTOP) }

// Resume thaws a paused node (SIGCONT) and returns once it answers /_up again.
func (n *couchNode) Resume(ctx context.Context) error {
	if err := n.signal(syscall.SIGCONT); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, nodeStartWait)
	defer cancel()
	return n.waitUp(ctx)
}

func (n *couchNode) signal(sig syscall.Signal) error {
	pid := n.PID()
	if pid == 0 {
		return fmt.Errorf("CouchDB node %d of %s is not running", n.n, n.dir)
	}
	return syscall.Kill(pid, sig)
}

func (n *couchNode) waitUp(ctx context.Context) error {
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.Addr()+"/_up", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("CouchDB node %d on %s: not up: %w", n.n, n.Addr(), ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Close stops every node of the directory (and its port mapper) and releases the ports.
func (n *couchNode) Close() error {
	// A paused node would ignore couchdb.sh's SIGTERM until the script's own SIGKILL.
	_ = n.signal(syscall.SIGCONT)
	out, err := exec.Command(n.script, "stop", n.dir).CombinedOutput()
	if n.lock != nil {
		n.lock.Close()
	}
	if err != nil {
		return fmt.Errorf("couchdb.sh stop %s: %v: %s", n.dir, err, tail(out))
	}
	return nil
}

// LogTail is the end of the node's log.
func (n *couchNode) LogTail() string {
	b, _ := os.ReadFile(filepath.Join(n.dir, fmt.Sprintf("node%d.log", n.n)))
	return string(tail(b))
}

func lastLine(out []byte) string {
	var last string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			last = line
		}
	}
	return last
}

func tail(b []byte) []byte {
	const max = 4 << 10
	if len(b) > max {
		return b[len(b)-max:]
	}
	return b
}
