package storetest

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// digest is CouchDB's digest of an attachment.
func digest(b []byte) string {
	sum := md5.Sum(b)
	return "md5-" + base64.StdEncoding.EncodeToString(sum[:])
}

// readAttachment reads a whole attachment, or the bytes of r.
func readAttachment(t *testing.T, s Backend, account, id, name string, r *recording.Range) []byte {
	t.Helper()
	rc, err := s.OpenAttachment(testContext(t), account, id, name, r)
	if err != nil {
		t.Fatalf("OpenAttachment %s %+v: %v", name, r, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s %+v: %v", name, r, err)
	}
	return b
}

// wantStub checks the _attachments entry of name in doc, as CouchDB shows it.
func wantStub(t *testing.T, doc recording.Doc, name, contentType string, content []byte, revpos int) {
	t.Helper()
	stubs, _ := doc["_attachments"].(map[string]any)
	stub, _ := stubs[name].(map[string]any)
	length, _ := recording.AsInt(stub["length"])
	pos, _ := recording.AsInt(stub["revpos"])
	if stub == nil || stub["content_type"] != contentType || length != int64(len(content)) ||
		stub["digest"] != digest(content) || pos != int64(revpos) || stub["stub"] != true {
		t.Fatalf("attachment %q: stub %v; want content_type %s, length %d, digest %s, revpos %d, stub true",
			name, stub, contentType, len(content), digest(content), revpos)
	}
}

func testAttachmentRoundTrip(t *testing.T, s Backend) {
	ctx := testContext(t)
	account := NewAccountID()
	id := newRecordingID(testMonth)
	rev := mustPutRecording(t, s, account, recordingDoc(id, created(testMonth, 1), nil))

	audio := make([]byte, 3<<20+12345)
	if _, err := rand.Read(audio); err != nil {
		t.Fatal(err)
	}
	// Random bytes do not compress, but a run of zeros does: any gzip on the way would show.
	copy(audio[1000:], make([]byte, 100000))
	const name = "call recording #1.mp3" // a space and a '#' must survive
	// A pipe has no known length: the upload streams, as a file would.
	pr, pw := io.Pipe()
	go func() {
		_, err := io.Copy(pw, bytes.NewReader(audio))
		pw.CloseWithError(err)
	}()
	newRev, err := s.PutAttachment(ctx, account, id, rev, name, "audio/mpeg", pr)
	if err != nil {
		t.Fatalf("PutAttachment: %v", err)
	}
	wantGeneration(t, "PutAttachment", newRev, 2)
	_, err = s.PutAttachment(ctx, account, id, rev, "other.mp3", "audio/mpeg", bytes.NewReader(audio[:10]))
	wantCode(t, "PutAttachment with a stale rev", err, recording.EConflict)
	_, err = s.PutAttachment(ctx, account, id, "", "other.mp3", "audio/mpeg", bytes.NewReader(audio[:10]))
	wantCode(t, "PutAttachment without rev on an existing doc", err, recording.EConflict)

	doc := mustGet(t, s, account, id)
	if doc.Rev() != newRev {
		t.Fatalf("rev %s, want %s", doc.Rev(), newRev)
	}
	wantStub(t, doc, name, "audio/mpeg", audio, 2)
	if atts := doc.Attachments(); len(atts) != 1 || atts[0].Name != name || atts[0].Length != int64(len(audio)) ||
		atts[0].ContentType != "audio/mpeg" || atts[0].Digest != digest(audio) {
		t.Fatalf("attachments %+v, want only %s of %d bytes, digest %s", atts, name, len(audio), digest(audio))
	}

	if got := readAttachment(t, s, account, id, name, nil); !bytes.Equal(got, audio) {
		t.Fatalf("whole attachment: %d bytes differ from the %d uploaded", len(got), len(audio))
	}
	last := int64(len(audio)) - 1
	for _, r := range []recording.Range{
		{Start: 0, End: 0},
		{Start: 0, End: 65535},
		{Start: 65535, End: 65536},                 // across the first 64 KiB boundary
		{Start: 1<<20 - 100, End: 1<<20 + 100},     // across a megabyte boundary
		{Start: 1 << 20, End: 2<<20 + 17},          // from a megabyte boundary, many chunks on
		{Start: 1<<20 + 1, End: 2<<20 + 17},        // many chunks, neither end aligned
		{Start: last - 999, End: last},             // what a suffix request bytes=-1000 resolves to
		{Start: last, End: last},                   // the last byte
		{Start: 0, End: last},                      // all of it
		{Start: 3 << 20, End: 3<<20 + 12345 - 1},   // the tail after the last whole megabyte
		{Start: 2*65536 + 7, End: 2*65536 + 7 + 1}, // two bytes inside one chunk
	} {
		t.Run(fmt.Sprintf("range %d-%d", r.Start, r.End), func(t *testing.T) {
			got := readAttachment(t, s, account, id, name, &r)
			if want := audio[r.Start : r.End+1]; !bytes.Equal(got, want) {
				t.Fatalf("got %d bytes, want exactly the %d of the range", len(got), len(want))
			}
		})
	}

	// Small reads see the same bytes as big ones.
	rc, err := s.OpenAttachment(ctx, account, id, name, &recording.Range{Start: 65530, End: 65545})
	if err != nil {
		t.Fatal(err)
	}
	var small []byte
	for {
		b := make([]byte, 3)
		n, err := rc.Read(b)
		small = append(small, b[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	_ = rc.Close()
	if !bytes.Equal(small, audio[65530:65546]) {
		t.Fatalf("read 3 bytes at a time: %x, want %x", small, audio[65530:65546])
	}

	// Closing early must not hang or leak: read a little of a big body and close.
	rc, err = s.OpenAttachment(ctx, account, id, name, &recording.Range{Start: 10, End: last})
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
	_, err = s.OpenAttachment(ctx, account, id, "", nil)
	wantCode(t, "attachment without a name", err, recording.ENotFound)
	_, err = s.OpenAttachment(ctx, account, newRecordingID(testMonth), name, nil)
	wantCode(t, "attachment of a missing doc", err, recording.ENotFound)
	_, err = s.OpenAttachment(ctx, account, newRecordingID(testMonth.Prev()), name, &recording.Range{Start: 0, End: 1})
	wantCode(t, "attachment in a missing month", err, recording.ENotFound)
	_, err = s.OpenAttachment(ctx, account, "not-a-recording-id", name, nil)
	wantCode(t, "attachment of a malformed id", err, recording.ENotFound)
	_, err = s.OpenAttachment(ctx, account, id, name, &recording.Range{Start: 5, End: 4})
	wantCode(t, "reversed range", err, recording.EInvalid)
	_, err = s.OpenAttachment(ctx, account, id, name, &recording.Range{Start: -1, End: 4})
	wantCode(t, "negative range", err, recording.EInvalid)
}

// testAttachmentRevisions adds, replaces and creates attachments and checks the stubs and
// bytes after each step.
func testAttachmentRevisions(t *testing.T, s Backend) {
	ctx := testContext(t)
	account := NewAccountID()
	id := newRecordingID(testMonth)
	rev := mustPutRecording(t, s, account, recordingDoc(id, created(testMonth, 1), nil))
	put := func(rev, name, contentType, content string) string {
		t.Helper()
		newRev, err := s.PutAttachment(ctx, account, id, rev, name, contentType, strings.NewReader(content))
		if err != nil {
			t.Fatalf("PutAttachment %s: %v", name, err)
		}
		if generation(t, newRev) != generation(t, rev)+1 {
			t.Fatalf("PutAttachment %s: revision %s after %s", name, newRev, rev)
		}
		return newRev
	}

	rev = put(rev, "a.mp3", "audio/mpeg", "first")
	rev = put(rev, "b.wav", "", "") // empty, with the default content type
	doc := mustGet(t, s, account, id)
	wantStub(t, doc, "a.mp3", "audio/mpeg", []byte("first"), 2)
	wantStub(t, doc, "b.wav", "application/octet-stream", nil, 3)
	if got := readAttachment(t, s, account, id, "b.wav", nil); len(got) != 0 {
		t.Fatalf("empty attachment read as %q", got)
	}

	// Replacing one attachment leaves the other as it was.
	rev = put(rev, "a.mp3", "audio/x-mp3", "second, longer")
	doc = mustGet(t, s, account, id)
	wantStub(t, doc, "a.mp3", "audio/x-mp3", []byte("second, longer"), 4)
	wantStub(t, doc, "b.wav", "application/octet-stream", nil, 3)
	if got := readAttachment(t, s, account, id, "a.mp3", nil); string(got) != "second, longer" {
		t.Fatalf("replaced attachment reads %q", got)
	}
	if got := readAttachment(t, s, account, id, "a.mp3", &recording.Range{Start: 8, End: 13}); string(got) != "longer" {
		t.Fatalf("range of the replaced attachment reads %q", got)
	}
	if doc.Rev() != rev {
		t.Fatalf("rev %s, want %s", doc.Rev(), rev)
	}

	// Without a revision, PutAttachment creates the document it names.
	bare := newRecordingID(testMonth)
	bareRev, err := s.PutAttachment(ctx, account, bare, "", "c.mp3", "audio/mpeg", strings.NewReader("created"))
	if err != nil {
		t.Fatalf("PutAttachment creating its document: %v", err)
	}
	wantGeneration(t, "PutAttachment creating its document", bareRev, 1)
	doc = mustGet(t, s, account, bare)
	wantStub(t, doc, "c.mp3", "audio/mpeg", []byte("created"), 1)
	if len(doc) != 3 { // _id, _rev, _attachments
		t.Fatalf("document created by PutAttachment: %v", doc)
	}

	_, err = s.PutAttachment(ctx, account, newRecordingID(testMonth.Next()), "", "c.mp3", "audio/mpeg", strings.NewReader("x"))
	wantCode(t, "PutAttachment in a missing month", err, recording.ENotFound)
	_, err = s.PutAttachment(ctx, account, "not-a-recording-id", "", "c.mp3", "audio/mpeg", strings.NewReader("x"))
	wantCode(t, "PutAttachment with a malformed id", err, recording.ENotFound)
	_, err = s.PutAttachment(ctx, account, id, rev, "", "audio/mpeg", strings.NewReader("x"))
	wantCode(t, "PutAttachment without a name", err, recording.EInvalid)

	// Attachments sent inline with the document, base64 in "data", as Kazoo's importers do.
	// CouchDB stores text/* gzipped, and its digest is then of the gzipped bytes: only the
	// audio's stub is compared with the content's md5; both read back as they were sent.
	inline := newRecordingID(testMonth)
	mustPutRecording(t, s, account, recordingDoc(inline, created(testMonth, 2), map[string]any{
		"_attachments": map[string]any{
			"inline.mp3": map[string]any{
				"content_type": "audio/mpeg",
				"data":         base64.StdEncoding.EncodeToString([]byte("hello, inline")),
			},
			"notes.txt": map[string]any{
				"content_type": "text/plain",
				"data":         base64.StdEncoding.EncodeToString([]byte("hello, notes")),
			},
		},
	}))
	wantStub(t, mustGet(t, s, account, inline), "inline.mp3", "audio/mpeg", []byte("hello, inline"), 1)
	if got := readAttachment(t, s, account, inline, "inline.mp3", &recording.Range{Start: 7, End: 12}); string(got) != "inline" {
		t.Fatalf("inline attachment reads %q", got)
	}
	if got := readAttachment(t, s, account, inline, "notes.txt", nil); string(got) != "hello, notes" {
		t.Fatalf("inline text attachment reads %q", got)
	}
	if got := readAttachment(t, s, account, inline, "notes.txt", &recording.Range{Start: 7, End: 11}); string(got) != "notes" {
		t.Fatalf("range of the inline text attachment reads %q", got)
	}
}

// testAttachmentsFollowTheDocument: a document's attachments live and die with what its
// revisions say, as in CouchDB.
func testAttachmentsFollowTheDocument(t *testing.T, s Backend) {
	ctx := testContext(t)
	account := NewAccountID()
	id := newRecordingID(testMonth)
	rev := mustPutRecording(t, s, account, recordingDoc(id, created(testMonth, 1), nil))
	content := make([]byte, 200000)
	if _, err := rand.Read(content); err != nil {
		t.Fatal(err)
	}
	_, err := s.PutAttachment(ctx, account, id, rev, "a.mp3", "audio/mpeg", bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}

	// Saving the document with its stubs keeps the attachments as they were.
	doc := mustGet(t, s, account, id)
	doc["duration"] = jsonInt(12)
	rev, err = s.Save(ctx, account, doc)
	if err != nil {
		t.Fatalf("Save with stubs: %v", err)
	}
	doc = mustGet(t, s, account, id)
	wantStub(t, doc, "a.mp3", "audio/mpeg", content, 2)
	if got := readAttachment(t, s, account, id, "a.mp3", nil); !bytes.Equal(got, content) {
		t.Fatal("attachment changed by a Save that kept its stub")
	}

	// A stub for an attachment that does not exist is refused, and changes nothing.
	bad := doc.Clone()
	bad["_attachments"].(map[string]any)["ghost.mp3"] = map[string]any{"stub": true, "content_type": "audio/mpeg", "length": 1, "digest": digest([]byte("x"))}
	if _, err := s.Save(ctx, account, bad); err == nil {
		t.Fatal("Save with the stub of a missing attachment succeeded")
	}
	if got := mustGet(t, s, account, id); got.Rev() != rev {
		t.Fatalf("the refused Save wrote revision %s", got.Rev())
	}
	_, err = s.Save(ctx, account, recordingDoc(newRecordingID(testMonth), 1, map[string]any{
		"_attachments": map[string]any{"ghost.mp3": map[string]any{"stub": true}},
	}))
	if err == nil {
		t.Fatal("Save of a new document with a stub succeeded")
	}

	// A revision without _attachments has none: CouchDB drops what it leaves out.
	delete(doc, "_attachments")
	if _, err = s.Save(ctx, account, doc); err != nil {
		t.Fatalf("Save without _attachments: %v", err)
	}
	doc = mustGet(t, s, account, id)
	if _, has := doc["_attachments"]; has {
		t.Fatalf("attachments after a Save without them: %v", doc["_attachments"])
	}
	_, err = s.OpenAttachment(ctx, account, id, "a.mp3", nil)
	wantCode(t, "attachment left out by a Save", err, recording.ENotFound)

	// Deleting the document deletes its attachments; writing it again brings none back.
	rev, err = s.PutAttachment(ctx, account, id, doc.Rev(), "b.mp3", "audio/mpeg", bytes.NewReader(content[:1000]))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, account, id, rev); err != nil {
		t.Fatal(err)
	}
	_, err = s.OpenAttachment(ctx, account, id, "b.mp3", nil)
	wantCode(t, "attachment of a deleted document", err, recording.ENotFound)
	mustPutRecording(t, s, account, recordingDoc(id, created(testMonth, 1), nil))
	_, err = s.OpenAttachment(ctx, account, id, "b.mp3", nil)
	wantCode(t, "attachment of a document written again", err, recording.ENotFound)
	if _, has := mustGet(t, s, account, id)["_attachments"]; has {
		t.Fatal("a document written again after Delete has attachments")
	}

	// PutRecording replaces the document: attachments it does not name are gone too.
	if _, err := s.PutAttachment(ctx, account, id, mustGet(t, s, account, id).Rev(), "c.mp3", "audio/mpeg", bytes.NewReader(content[:10])); err != nil {
		t.Fatal(err)
	}
	mustPutRecording(t, s, account, recordingDoc(id, created(testMonth, 1), nil))
	_, err = s.OpenAttachment(ctx, account, id, "c.mp3", nil)
	wantCode(t, "attachment after PutRecording replaced the document", err, recording.ENotFound)
}
