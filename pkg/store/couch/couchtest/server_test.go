package couchtest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
)

// A stopped server refuses connections; started again it has the same port, the same
// databases, documents and attachments, and still requires the admin's credentials.
func TestServerKeepsDataAcrossRestart(t *testing.T) {
	srv := couchtest.StartServer(t)
	base := srv.URL()
	audio := make([]byte, 300<<10)
	if _, err := rand.Read(audio); err != nil {
		t.Fatal(err)
	}
	// A database name with slashes, as Kazoo's are.
	db := "/" + url.PathEscape("account/ab/cd/ef-202611")
	mustDo(t, "PUT", base+db, "", nil, http.StatusCreated)
	rev := revOf(t, mustDo(t, "PUT", base+db+"/doc", "application/json", []byte(`{"n":1}`), http.StatusCreated))
	mustDo(t, "PUT", base+db+"/doc/a.mp3?rev="+rev, "audio/mpeg", audio, http.StatusCreated)

	srv.Stop()
	if conn, err := net.DialTimeout("tcp", srv.Addr(), time.Second); err == nil {
		conn.Close()
		t.Fatalf("%s still accepts connections after Stop", srv.Addr())
	}
	srv.Stop() // stopping twice is harmless

	srv.Start()
	if srv.URL() != base {
		t.Errorf("URL after restart = %s, want %s", srv.URL(), base)
	}
	var doc map[string]any
	if err := json.Unmarshal(mustDo(t, "GET", base+db+"/doc", "", nil, http.StatusOK), &doc); err != nil || doc["n"] != float64(1) {
		t.Errorf("document after restart = %v (%v)", doc, err)
	}
	if got := mustDo(t, "GET", base+db+"/doc/a.mp3", "", nil, http.StatusOK); !bytes.Equal(got, audio) {
		t.Errorf("attachment after restart: %d bytes, not the %d stored", len(got), len(audio))
	}
	mustDo(t, "GET", "http://"+srv.Addr()+"/_config/admins", "", nil, http.StatusUnauthorized)
}

// A paused server accepts connections but answers nothing until it is resumed.
func TestServerPauseResume(t *testing.T) {
	srv := couchtest.StartServer(t)
	srv.Pause()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL()+"/", nil)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("a paused server answered %d", resp.StatusCode)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("request to a paused server: %v, want a timeout", err)
	}
	srv.Resume()
	mustDo(t, "GET", srv.URL()+"/", "", nil, http.StatusOK)
}

func mustDo(t *testing.T, method, rawURL, contentType string, body []byte, want int) []byte {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %.300s", method, req.URL.Redacted(), resp.StatusCode, want, got)
	}
	return got
}

func revOf(t *testing.T, body []byte) string {
	t.Helper()
	var r struct {
		Rev string `json:"rev"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.Rev == "" {
		t.Fatalf("no rev in %s (%v)", body, err)
	}
	return r.Rev
}
