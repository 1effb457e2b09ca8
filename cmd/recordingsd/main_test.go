package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
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
			"RECORDINGS_AUTH_TOKENS":      `[{"token":"dev-admin-token","admin":true}]`,
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
