package couchtest

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// EnvClusterDir names the folder of a three-node cluster started by `couchdb.sh
// cluster-start`, whose nodes a test may stop and start (with EnvCouchDBScript). Tests that do
// so must run alone against it: .ci/run gives them a run of their own.
const EnvClusterDir = "RECORDINGS_TEST_COUCHDB_CLUSTER_DIR"

// Cluster is a CouchDB cluster of couchdb.sh whose nodes the test controls.
type Cluster struct {
	t      testing.TB
	script string
	dir    string
}

// OpenCluster returns the cluster named by EnvClusterDir, or skips t when none is.
func OpenCluster(t testing.TB) *Cluster {
	t.Helper()
	dir, script := os.Getenv(EnvClusterDir), os.Getenv(EnvCouchDBScript)
	if dir == "" || script == "" {
		t.Skipf("no CouchDB cluster to stop nodes of: set %s and %s (see .ci/run)", EnvClusterDir, EnvCouchDBScript)
	}
	return &Cluster{t: t, script: script, dir: dir}
}

// NodeURL is node n's URL with the admin's credentials.
func (c *Cluster) NodeURL(n int) string {
	c.t.Helper()
	out, err := exec.Command(c.script, "url", c.dir, strconv.Itoa(n)).Output()
	if err != nil {
		c.t.Fatalf("couchdb.sh url %s %d: %v", c.dir, n, err)
	}
	return strings.TrimSpace(string(out))
}

func (c *Cluster) node(n int) *couchNode {
	c.t.Helper()
	port, err := os.ReadFile(c.dir + "/node" + strconv.Itoa(n) + "/.port")
	if err != nil {
		c.t.Fatalf("cluster node %d: %v", n, err)
	}
	p, err := strconv.Atoi(strings.TrimSpace(string(port)))
	if err != nil {
		c.t.Fatalf("cluster node %d: port %q", n, port)
	}
	return &couchNode{script: c.script, dir: c.dir, n: n, port: p}
}

// StopNode kills node n (SIGKILL, by the PID of its listener) and waits until it is gone.
func (c *Cluster) StopNode(n int) {
	c.t.Helper()
	if err := c.node(n).Stop(); err != nil {
		c.t.Fatal(err)
	}
}

// StartNode starts node n again and waits until it answers.
func (c *Cluster) StartNode(n int) {
	c.t.Helper()
	if err := c.node(n).Restart(context.Background()); err != nil {
		c.t.Fatal(err)
	}
}

// NodeDown stops node n for the rest of the test, after checking that it no longer answers,
// and returns what starts it again; if the test ends first, it is started then, so the
// cluster stays whole for whoever runs next.
func (c *Cluster) NodeDown(n int) (back func()) {
	c.t.Helper()
	c.StopNode(n)
	if resp, err := http.Get(c.NodeURL(n) + "/_up"); err == nil {
		resp.Body.Close()
		c.t.Fatalf("node %d still answers after StopNode: %d", n, resp.StatusCode)
	}
	var once sync.Once
	back = func() { once.Do(func() { c.StartNode(n) }) }
	c.t.Cleanup(back)
	return back
}
