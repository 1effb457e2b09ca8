package couch

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
)

func TestAttachmentRoundTrip(t *testing.T) {
	s := newTestStore(t)
	ctx := testContext(t)
	account := couchtest.NewAccountID()
	id := newRecordingID(testMonth)
	rev := mustPutRecording(t, s, account, recordingDoc(id, created(testMonth, 1), nil))

	audio := make([]byte, 3<<20+12345)
	if _, err := rand.Read(audio); err != nil {
		t.Fatal(err)
	}
	// Random bytes do not compress, but a run of zeros does: any gzip on the way would show.
	copy(audio[1000:], make([]byte, 100000))
	const name = "call recording #1.mp3" // a space and a '#' must survive the path
	// A pipe has no known length: the upload goes chunked, as a streamed file would.
	pr, pw := io.Pipe()
	go func() {
		_, err := io.Copy(pw, bytes.NewReader(audio))
		pw.CloseWithError(err)
	}()
	newRev, err := s.PutAttachment(ctx, account, id, rev, name, "audio/mpeg", pr)
	if err != nil {
		t.Fatalf("PutAttachment: %v", err)
	}
	if newRev == "" || newRev == rev {
		t.Fatalf("PutAttachment rev %q (was %q)", newRev, rev)
	}
	_, err = s.PutAttachment(ctx, account, id, rev, "other.mp3", "audio/mpeg", bytes.NewReader(audio[:10]))
	wantCode(t, "PutAttachment with a stale rev", err, recording.EConflict)

	doc, err := s.Get(ctx, account, id)
	if err != nil {
		t.Fatal(err)
	}
	atts := doc.Attachments()
	sum := md5.Sum(audio)
	wantDigest := "md5-" + base64.StdEncoding.EncodeToString(sum[:])
	if len(atts) != 1 || atts[0].Name != name || atts[0].Length != int64(len(audio)) ||
		atts[0].ContentType != "audio/mpeg" || atts[0].Digest != wantDigest {
		t.Fatalf("attachments %+v, want %s of %d bytes, digest %s", atts, name, len(audio), wantDigest)
	}

	read := func(r *recording.Range) []byte {
		t.Helper()
		rc, err := s.OpenAttachment(ctx, account, id, name, r)
		if err != nil {
			t.Fatalf("OpenAttachment %+v: %v", r, err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("read %+v: %v", r, err)
		}
		return b
	}
	if got := read(nil); !bytes.Equal(got, audio) {
		t.Fatalf("whole attachment: %d bytes differ from the %d uploaded", len(got), len(audio))
	}
	last := int64(len(audio)) - 1
	for _, r := range []recording.Range{
		{Start: 0, End: 0},
		{Start: 0, End: 65535},
		{Start: 1 << 20, End: 2<<20 + 17},
		{Start: last - 999, End: last}, // what a suffix request bytes=-1000 resolves to
		{Start: last, End: last},
		{Start: 0, End: last},
	} {
		t.Run(fmt.Sprintf("range %d-%d", r.Start, r.End), func(t *testing.T) {
			got := read(&r)
			if want := audio[r.Start : r.End+1]; !bytes.Equal(got, want) {
				t.Fatalf("got %d bytes, want exactly the %d of the range", len(got), len(want))
			}
		})
	}

	// Closing early must not hang or leak: read a little of a big body and close.
	rc, err := s.OpenAttachment(ctx, account, id, name, &recording.Range{Start: 10, End: last})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(rc, make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	if err := rc.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	_, err = s.OpenAttachment(ctx, account, id, "missing.mp3", nil)
	wantCode(t, "missing attachment", err, recording.ENotFound)
	_, err = s.OpenAttachment(ctx, account, newRecordingID(testMonth), name, nil)
	wantCode(t, "attachment of a missing doc", err, recording.ENotFound)
	_, err = s.OpenAttachment(ctx, account, newRecordingID(testMonth.Prev()), name, &recording.Range{Start: 0, End: 1})
	wantCode(t, "attachment in a missing month", err, recording.ENotFound)
}

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
