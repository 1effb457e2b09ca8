package couch

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/recordingsd/recordingsd/internal/testnet"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// TestUnreachable points a store at a closed port: every method fails fast with EUnavailable.
func TestUnreachable(t *testing.T) {
	addr := testnet.RefusedAddr(t)

	s, err := New(Config{URL: "http://admin:secret@" + addr, RequestTimeout: 3 * time.Second}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	account := strings.Repeat("ab", 16)
	id := newRecordingID(testMonth)
	doc := recordingDoc(id, created(testMonth, 1), nil)
	calls := map[string]func() error{
		"Ping":        func() error { return s.Ping(ctx) },
		"Account":     func() error { _, err := s.Account(ctx, account); return err },
		"User":        func() error { _, err := s.User(ctx, account, randomHex(16)); return err },
		"MonthExists": func() error { _, err := s.MonthExists(ctx, account, testMonth); return err },
		"Scan": func() error {
			_, err := s.Scan(ctx, account, testMonth, recording.ScanQuery{From: 0, To: 1 << 40, Limit: 5})
			return err
		},
		"Get":      func() error { _, err := s.Get(ctx, account, id); return err },
		"GetMany":  func() error { _, err := s.GetMany(ctx, account, testMonth, []string{id}); return err },
		"Save":     func() error { _, err := s.Save(ctx, account, doc); return err },
		"SaveMany": func() error { _, err := s.SaveMany(ctx, account, testMonth, []recording.Doc{doc}); return err },
		"Delete":   func() error { return s.Delete(ctx, account, id, "1-abc") },
		"OpenAttachment": func() error {
			_, err := s.OpenAttachment(ctx, account, id, "a.mp3", &recording.Range{Start: 0, End: 9})
			return err
		},
		"PutAccount":   func() error { return s.PutAccount(ctx, recording.Doc{"_id": account}) },
		"PutUser":      func() error { return s.PutUser(ctx, account, recording.Doc{"_id": randomHex(16)}) },
		"PutRecording": func() error { _, err := s.PutRecording(ctx, account, doc); return err },
		"PutAttachment": func() error {
			_, err := s.PutAttachment(ctx, account, id, "1-abc", "a.mp3", "audio/mpeg", bytes.NewReader([]byte("abc")))
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			err := call()
			wantCode(t, name, err, recording.EUnavailable)
			if msg := recording.ErrorMessage(err); msg != "datastore unreachable" {
				t.Errorf("message %q", msg)
			}
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("took %v", elapsed)
			}
		})
	}
}

// TestRequestTimeout: a server that never answers costs RequestTimeout, then EUnavailable.
func TestRequestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	s, err := New(Config{URL: srv.URL, RequestTimeout: 200 * time.Millisecond}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = s.Get(context.Background(), strings.Repeat("ab", 16), newRecordingID(testMonth))
	wantCode(t, "Get from a silent server", err, recording.EUnavailable)
	_, err = s.OpenAttachment(context.Background(), strings.Repeat("ab", 16), newRecordingID(testMonth), "a.mp3", nil)
	wantCode(t, "OpenAttachment from a silent server", err, recording.EUnavailable)
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Fatalf("took %v", elapsed)
	}
}

// TestPathEscaping records what goes over the wire: database names with their slashes
// escaped (account%2Fab%2F…), also below a base path (CouchDB behind a proxy), and the
// credentials from the URL sent as Basic auth.
func TestPathEscaping(t *testing.T) {
	for _, basePath := range []string{"", "/couch", "/couch/"} {
		t.Run("base "+basePath, func(t *testing.T) {
			var mu sync.Mutex
			var seen []string
			var auth []bool
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen = append(seen, r.Method+" "+r.URL.EscapedPath())
				u, p, ok := r.BasicAuth()
				auth = append(auth, ok && u == "admin" && p == "s3cr@t")
				mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusNotFound)
				_, _ = w.Write([]byte(`{"error":"not_found","reason":"missing"}`))
			}))
			defer srv.Close()

			s, err := New(Config{URL: strings.Replace(srv.URL, "http://", "http://admin:s3cr%40t@", 1) + basePath}, zaptest.NewLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			account := "0123456789abcdef0123456789abcdef"
			id := "202403-" + strings.Repeat("e", 32)
			_, _ = s.Account(ctx, account)
			_, _ = s.MonthExists(ctx, account, testMonth)
			_, _ = s.Get(ctx, account, id)
			_, _ = s.OpenAttachment(ctx, account, id, "a b#1.mp3", nil)
			_, _ = s.Scan(ctx, account, recording.Month{Year: 2024, Month: 4}, recording.ScanQuery{Limit: 1})
			_ = s.Ping(ctx)

			prefix := strings.TrimSuffix(basePath, "/")
			acct := prefix + "/account%2F01%2F23%2F456789abcdef0123456789abcdef"
			want := []string{
				"GET " + acct + "/" + account,
				"HEAD " + acct + "-202403",
				"GET " + acct + "-202403/" + id,
				"GET " + acct + "-202403/" + id + "/a%20b%231.mp3",
				"HEAD " + acct + "-202404",
				"GET " + prefix + "/",
			}
			mu.Lock()
			defer mu.Unlock()
			if strings.Join(seen, "\n") != strings.Join(want, "\n") {
				t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
			}
			for i, ok := range auth {
				if !ok {
					t.Errorf("request %d (%s) lacked Basic auth", i, seen[i])
				}
			}
		})
	}
}

func TestNewRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "ftp://x", "http://[::1"} {
		if _, err := New(Config{URL: u}, nil); err == nil {
			t.Errorf("New(%q) succeeded", u)
		}
	}
}
