package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
)

// run serves the API until its context ends, then shuts down cleanly.
func TestRunServesAndStops(t *testing.T) {
	couchURL, err := url.Parse(couchtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	password, _ := couchURL.User.Password()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--config", "../../config/recordings.example.yaml"}, envOf(map[string]string{
			"RECORDINGS_HTTP_LISTEN":      "127.0.0.1:0",
			"RECORDINGS_COUCHDB_URL":      couchURL.String(),
			"RECORDINGS_COUCHDB_USERNAME": couchURL.User.Username(),
			"RECORDINGS_COUCHDB_PASSWORD": password,
			"RECORDINGS_LOG_LEVEL":        "warn",
			"RECORDINGS_AUTH_TOKENS":      `[{"token":"dev-admin-token","all_accounts":true}]`,
		}), pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no startup line: %v", err)
	}
	go io.Copy(io.Discard, pr)
	base := strings.Fields(line[strings.Index(line, "http://"):])[0]

	resp, err := http.Get(base + "/v2/accounts/0123456789abcdef0123456789abcdef/recordings")
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&env)
	resp.Body.Close()
	if resp.StatusCode != 401 || env["message"] != "invalid_credentials" {
		t.Errorf("unauthenticated request: %d %v", resp.StatusCode, env)
	}
	req, _ := http.NewRequest("GET", base+"/v2/accounts/0123456789abcdef0123456789abcdef/recordings", nil)
	req.Header.Set("X-Auth-Token", "dev-admin-token")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("admin token on an unknown account: %d, want 404", resp.StatusCode)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v after shutdown", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
}

// syncBuffer is a log sink the test reads while the service writes.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// System tokens are announced at start (how many, never the tokens); admin: true without an
// account is refused, naming all_accounts.
func TestStaticTokenScopesAtStart(t *testing.T) {
	env := func(tokens string) func(string) string {
		return envOf(map[string]string{
			"RECORDINGS_HTTP_LISTEN":         "127.0.0.1:0",
			"RECORDINGS_STORE_BACKEND":       "embedded",
			"RECORDINGS_STORE_EMBEDDED_PATH": t.TempDir() + "/r.db",
			"RECORDINGS_LOG_LEVEL":           "warn",
			"RECORDINGS_AUTH_TOKENS":         tokens,
		})
	}
	err := run(context.Background(), []string{"--config", "../../config/recordings.example.yaml"},
		env(`[{"token":"typo","admin":true}]`), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "all_accounts") {
		t.Fatalf("admin without account_id: %v, want a refusal naming all_accounts", err)
	}

	logs := &syncBuffer{}
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--config", "../../config/recordings.example.yaml"},
			env(`[{"token":"ops-one","all_accounts":true},{"token":"ops-two","all_accounts":true},`+
				`{"token":"cust","account_id":"0123456789abcdef0123456789abcdef","admin":true}]`), pw, logs)
		pw.Close()
	}()
	if _, err := bufio.NewReader(pr).ReadString('\n'); err != nil {
		t.Fatalf("no startup line: %v (logs: %s)", err, logs)
	}
	go io.Copy(io.Discard, pr)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !strings.Contains(out, "system tokens configured") || !strings.Contains(out, `"all_accounts_tokens":2`) {
		t.Errorf("no start-up warning counting 2 system tokens in:\n%s", out)
	}
	if strings.Contains(out, "ops-one") || strings.Contains(out, "ops-two") {
		t.Errorf("a token is in the log:\n%s", out)
	}
}
