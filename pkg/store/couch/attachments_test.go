package couch

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// TestOpenAttachmentAnswers covers the server behaviours pouchdb-server cannot show:
// CouchDB's 206, a gzip-encoded answer, and a body shorter than the range.
func TestOpenAttachmentAnswers(t *testing.T) {
	content := make([]byte, 100000)
	if _, err := rand.Read(content); err != nil {
		t.Fatal(err)
	}
	var modeValue atomic.Value
	setMode := func(m string) { modeValue.Store(m) }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept-Encoding") != "identity" {
			t.Errorf("Accept-Encoding %q, want identity", r.Header.Get("Accept-Encoding"))
		}
		w.Header().Set("Content-Type", "audio/mpeg")
		switch modeValue.Load().(string) {
		case "206": // CouchDB: honours Range
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(content))
		case "200": // pouchdb-server: ignores Range
			_, _ = w.Write(content)
		case "short":
			_, _ = w.Write(content[:500])
		case "gzip":
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write(content)
		case "wrong range":
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-9/%d", len(content)))
			w.WriteHeader(http.StatusPartialContent)
			_, _ = w.Write(content[:10])
		}
	}))
	defer srv.Close()
	s, err := New(Config{URL: srv.URL}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	account, id := strings.Repeat("ab", 16), newRecordingID(testMonth)
	open := func(r *recording.Range) ([]byte, error) {
		rc, err := s.OpenAttachment(context.Background(), account, id, "a.mp3", r)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return io.ReadAll(rc)
	}
	rng := &recording.Range{Start: 1000, End: 1999}
	for _, m := range []string{"206", "200"} {
		setMode(m)
		got, err := open(rng)
		if err != nil || !bytes.Equal(got, content[1000:2000]) {
			t.Fatalf("%s: %d bytes, err %v", m, len(got), err)
		}
		got, err = open(nil)
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("%s whole: %d bytes, err %v", m, len(got), err)
		}
	}
	setMode("short")
	if _, err := open(&recording.Range{Start: 100, End: 999}); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short body: err %v, want io.ErrUnexpectedEOF", err)
	}
	for _, m := range []string{"gzip", "wrong range"} {
		setMode(m)
		_, err := open(rng)
		wantCode(t, m, err, recording.EInternal)
	}
}

// pacedServer sends content the way CouchDB does, in 4 KB pieces: /whole.mp3 quickly,
// /paused.mp3 with a short pause after the first piece and a long one after the second,
// /stalled.mp3 not beyond 100 KB; /tiny.mp3 is 10 bytes. A range gets the whole body, as
// from pouchdb-server. It counts connections.
func pacedServer(t *testing.T, content []byte, pause time.Duration) (srv *httptest.Server, conns *atomic.Int64) {
	t.Helper()
	conns = new(atomic.Int64)
	srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := content
		if strings.HasSuffix(r.URL.Path, "/tiny.mp3") {
			body = content[:10]
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		for off := 0; off < len(body); off += 4 << 10 {
			if _, err := w.Write(body[off:min(off+4<<10, len(body))]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			switch {
			case strings.HasSuffix(r.URL.Path, "/paused.mp3") && off == 0:
				time.Sleep(pause / 8) // the reader waits for the next piece
			case strings.HasSuffix(r.URL.Path, "/paused.mp3") && off == 4<<10:
				time.Sleep(pause)
			case strings.HasSuffix(r.URL.Path, "/stalled.mp3") && off >= 100<<10:
				<-r.Context().Done()
				return
			}
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, conns
}

// An attachment download waits for large pieces (the socket's low-water mark) without
// changing what it delivers or when: every byte, the first ones within lowWaterPatience of
// their arrival, a stall cut after RequestTimeout, and the connection handed back fit for
// the next request.
func TestAttachmentStreamPacing(t *testing.T) {
	content := make([]byte, 1<<20+777)
	if _, err := rand.Read(content); err != nil {
		t.Fatal(err)
	}
	const limit = 2 * time.Second
	srv, conns := pacedServer(t, content, limit*3/4)
	s, err := New(Config{URL: srv.URL, RequestTimeout: limit}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	account, id := strings.Repeat("ab", 16), newRecordingID(testMonth)
	open := func(t *testing.T, name string, r *recording.Range) io.ReadCloser {
		t.Helper()
		rc, err := s.OpenAttachment(context.Background(), account, id, name, r)
		if err != nil {
			t.Fatalf("OpenAttachment %s: %v", name, err)
		}
		return rc
	}

	t.Run("whole, then a small answer on the same connection", func(t *testing.T) {
		for _, r := range []*recording.Range{nil, {Start: 70000, End: int64(len(content)) - 1}} {
			rc := open(t, "whole.mp3", r)
			got, err := io.ReadAll(rc)
			_ = rc.Close()
			want := content
			if r != nil {
				want = content[r.Start : r.End+1]
			}
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("range %v: %d bytes (want %d), err %v", r, len(got), len(want), err)
			}
			// A mark left raised would hold this answer back until RequestTimeout.
			start := time.Now()
			rc = open(t, "tiny.mp3", nil)
			got, err = io.ReadAll(rc)
			_ = rc.Close()
			if err != nil || !bytes.Equal(got, content[:10]) || time.Since(start) > limit/2 {
				t.Fatalf("small answer after a download: %q, err %v, after %v", got, err, time.Since(start))
			}
		}
		if n := conns.Load(); n != 1 {
			t.Errorf("%d connections, want the one reused", n)
		}
	})

	t.Run("slow source", func(t *testing.T) {
		// 4 KB, 4 KB more a little later, then a pause of 3/4 of RequestTimeout: the second
		// 4 KB come before that pause ends (not once the mark is reached), and it is no stall.
		rc := open(t, "paused.mp3", nil)
		defer rc.Close()
		start := time.Now()
		buf := make([]byte, 256<<10)
		got := 0
		for got < 8<<10 {
			n, err := rc.Read(buf)
			if err != nil {
				t.Fatalf("after %d bytes: %v", got, err)
			}
			got += n
		}
		if took := time.Since(start); took > limit/2 {
			t.Errorf("the first 8 KB came after %v", took)
		}
		rest, err := io.ReadAll(rc)
		if err != nil || !bytes.Equal(rest, content[got:]) {
			t.Fatalf("rest: %d bytes, err %v", len(rest), err)
		}
	})

	t.Run("stall", func(t *testing.T) {
		rc := open(t, "stalled.mp3", nil)
		defer rc.Close()
		start := time.Now()
		n, err := io.Copy(io.Discard, rc)
		if err == nil || n >= int64(len(content)) {
			t.Fatalf("stalled answer: %d bytes, err %v; want a cut", n, err)
		}
		if took := time.Since(start); took < limit || took > 3*limit {
			t.Errorf("stall cut after %v, want about %v", took, limit)
		}
	})
}
