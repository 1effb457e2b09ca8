// Package couchtest finds the CouchDB-compatible server that integration tests run against.
package couchtest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	neturl "net/url"
	"os"
	"strings"
	"testing"
)

// EnvURL names the variable holding the test server's URL, credentials included.
// `make test` starts pouchdb-server and sets it.
const EnvURL = "RECORDINGS_TEST_COUCHDB_URL"

// EnvRequire names the variable that, when "1", turns a missing server into a failure instead
// of a skip.
const EnvRequire = "RECORDINGS_TEST_REQUIRE_COUCHDB"

// URL returns the test server URL, or skips the test (fails under EnvRequire) when none is set.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("%s is not set but %s=1: start the test server with `make test`", EnvURL, EnvRequire)
		}
		t.Skipf("no CouchDB test server: %s is not set (run `make test`)", EnvURL)
	}
	return u
}

// NewAccountID returns a fresh random account id, so every test owns its databases.
func NewAccountID() string { return randomHex(16) }

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// IsPouchDB reports whether the server at url is pouchdb-server (its welcome names
// express-pouchdb) rather than Apache CouchDB.
func IsPouchDB(t testing.TB, url string) bool {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("couchtest: GET %s: %v", redacted(url), err)
	}
	defer resp.Body.Close()
	var welcome map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&welcome); err != nil {
		t.Fatalf("couchtest: GET %s: %v", redacted(url), err)
	}
	_, express := welcome["express-pouchdb"]
	return express
}

func redacted(raw string) string {
	u, err := neturl.Parse(raw)
	if err != nil {
		return "the test server"
	}
	return u.Redacted()
}

// IsCluster reports whether the server at url is a CouchDB cluster of more than one node.
func IsCluster(t testing.TB, url string) bool {
	t.Helper()
	resp, err := http.Get(strings.TrimSuffix(url, "/") + "/_membership")
	if err != nil {
		t.Fatalf("couchtest: GET %s/_membership: %v", redacted(url), err)
	}
	defer resp.Body.Close()
	var m struct {
		ClusterNodes []string `json:"cluster_nodes"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&m) != nil {
		return false // pouchdb-server has no _membership
	}
	return len(m.ClusterNodes) > 1
}

// WriteQuorum is the couch.Config.WriteQuorum tests use against url: every copy (3) on a
// cluster, so that a listing right after a write sees it whichever copy it reads (see
// couchdb.write_quorum in the README); CouchDB's default elsewhere.
func WriteQuorum(t testing.TB, url string) int {
	t.Helper()
	if IsCluster(t, url) {
		return 3
	}
	return 0
}
