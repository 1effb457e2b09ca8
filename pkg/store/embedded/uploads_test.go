package embedded

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// failingReader yields n bytes of the pattern, then fails.
type failingReader struct {
	patternReader
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.patternReader.Read(p)
	if err == io.EOF {
		return n, errors.New("client went away")
	}
	return n, err
}

// TestFailedUploadLeavesNothing: a body that breaks off, or a revision that went stale
// during a long upload, leaves the document and the chunks as they were.
func TestFailedUploadLeavesNothing(t *testing.T) {
	s, _ := openTemp(t)
	ctx := testContext(t)
	account, id := randomHex(16), newRecordingID(testMonth)
	dbName := recording.MonthDBName(account, testMonth)
	rev := mustPutRecording(t, s, account, recordingDoc(id, created(testMonth, 1), nil))
	rev, err := s.PutAttachment(ctx, account, id, rev, "keep.mp3", "audio/mpeg", &patternReader{size: 3*chunkSize + 5})
	if err != nil {
		t.Fatal(err)
	}
	const kept = 4 // chunks of keep.mp3

	_, err = s.PutAttachment(ctx, account, id, rev, "broken.mp3", "audio/mpeg", &failingReader{patternReader{size: 3 * mib}})
	if err == nil || recording.ErrorCode(err) != recording.EInternal {
		t.Fatalf("PutAttachment of a broken body: %v", err)
	}
	if n := countChunks(t, s, dbName); n != kept {
		t.Fatalf("%d chunks after a broken upload, want %d", n, kept)
	}

	// The revision goes stale while the body streams in: refused at the end, nothing kept.
	stale := &patternReader{size: 3 * mib}
	stale.progress = func(off int64) {
		if off == 2*mib {
			doc, err := s.Get(ctx, account, id)
			if err != nil {
				t.Error(err)
				return
			}
			doc["note"] = "changed meanwhile"
			if _, err := s.Save(ctx, account, doc); err != nil {
				t.Error(err)
			}
		}
	}
	_, err = s.PutAttachment(ctx, account, id, rev, "late.mp3", "audio/mpeg", stale)
	wantCode(t, "PutAttachment whose revision went stale", err, recording.EConflict)
	if n := countChunks(t, s, dbName); n != kept {
		t.Fatalf("%d chunks after a refused upload, want %d", n, kept)
	}
	if n := pendingUploads(t, s); n != 0 {
		t.Fatalf("%d uploads still registered", n)
	}
	doc, err := s.Get(ctx, account, id)
	if err != nil || len(doc.Attachments()) != 1 || doc.String("note") == "" {
		t.Fatalf("document after the failed uploads: %v, %v", doc, err)
	}
}

// TestCrashedUploadIsSwept: the chunks of an upload a crash cut short are deleted by the
// next Open.
func TestCrashedUploadIsSwept(t *testing.T) {
	path := t.TempDir() + "/recordings.db"
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	account, id := randomHex(16), newRecordingID(testMonth)
	dbName := recording.MonthDBName(account, testMonth)
	mustPutRecording(t, s, account, recordingDoc(id, created(testMonth, 1), nil))
	up := &attachmentUpload{s: s, dbName: dbName}
	for range 20 { // more than one sweep transaction's worth
		if err := up.stage(context.Background(), "test upload", make([]byte, chunksPerTransaction*chunkSize)); err != nil {
			t.Fatal(err)
		}
	}
	if n := countChunks(t, s, dbName); n != 20*chunksPerTransaction {
		t.Fatalf("%d chunks staged", n)
	}
	if err := s.Close(); err != nil { // no discard: as if the process had died
		t.Fatal(err)
	}

	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := countChunks(t, s, dbName); n != 0 {
		t.Fatalf("%d chunks left after reopening", n)
	}
	if n := pendingUploads(t, s); n != 0 {
		t.Fatalf("%d uploads still registered", n)
	}
	if _, err := s.Get(context.Background(), account, id); err != nil {
		t.Fatal(err)
	}
}

// TestReaderAcrossWrites: a reader holds no transaction between reads, so writers (even
// ones that grow the file and make bbolt remap it) go on while a client is slow; a reader
// whose attachment is replaced under it fails rather than mixing two versions.
func TestReaderAcrossWrites(t *testing.T) {
	s, _ := openTemp(t)
	ctx := testContext(t)
	account, id := randomHex(16), newRecordingID(testMonth)
	rev := mustPutRecording(t, s, account, recordingDoc(id, created(testMonth, 1), nil))
	const size = 5*chunkSize + 17
	rev, err := s.PutAttachment(ctx, account, id, rev, "a.mp3", "audio/mpeg", &patternReader{size: size})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := s.OpenAttachment(ctx, account, id, "a.mp3", nil)
	if err != nil {
		t.Fatal(err)
	}
	first := make([]byte, chunkSize+10)
	if _, err := io.ReadFull(rc, first); err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)
	go func() {
		other := newRecordingID(testMonth)
		orev, err := s.PutRecording(ctx, account, recordingDoc(other, created(testMonth, 2), nil))
		if err == nil {
			_, err = s.PutAttachment(ctx, account, other, orev, "big.mp3", "audio/mpeg", &patternReader{size: 20 * mib})
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("a write waited for an idle reader")
	}
	rest, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, size)
	patternAt(0, want)
	if got := append(first, rest...); !bytes.Equal(got, want) {
		t.Fatal("bytes read across other writes differ")
	}
	_ = rc.Close()

	rc, err = s.OpenAttachment(ctx, account, id, "a.mp3", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadFull(rc, first); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutAttachment(ctx, account, id, rev, "a.mp3", "audio/mpeg", bytes.NewReader(make([]byte, size))); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(rc); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("reading on after the attachment was replaced: %v, want io.ErrUnexpectedEOF", err)
	}
}

// TestRangePastTheEnd mirrors the CouchDB backend: a range the attachment cannot fill ends
// in io.ErrUnexpectedEOF, one starting past its end is refused.
func TestRangePastTheEnd(t *testing.T) {
	s, _ := openTemp(t)
	ctx := testContext(t)
	account, id := randomHex(16), newRecordingID(testMonth)
	rev := mustPutRecording(t, s, account, recordingDoc(id, created(testMonth, 1), nil))
	if _, err := s.PutAttachment(ctx, account, id, rev, "a", "text/plain", bytes.NewReader([]byte("four"))); err != nil {
		t.Fatal(err)
	}
	rc, err := s.OpenAttachment(ctx, account, id, "a", &recording.Range{Start: 2, End: 10})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	if string(got) != "ur" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("read %q, %v; want \"ur\", io.ErrUnexpectedEOF", got, err)
	}
	_, err = s.OpenAttachment(ctx, account, id, "a", &recording.Range{Start: 8, End: 10})
	wantCode(t, "range starting past the end", err, recording.EInternal)
}

// TestNoChunkOutlivesItsAttachment: replacing, leaving out and deleting attachments frees
// their chunks and references in the same write, whichever way the revision comes.
func TestNoChunkOutlivesItsAttachment(t *testing.T) {
	s, _ := openTemp(t)
	ctx := testContext(t)
	account, id := randomHex(16), newRecordingID(testMonth)
	dbName := recording.MonthDBName(account, testMonth)
	want := func(step string, chunks int) {
		t.Helper()
		if n := countChunks(t, s, dbName); n != chunks {
			t.Fatalf("%s: %d chunks stored, want %d", step, n, chunks)
		}
		refs := 0
		_ = s.db.View(func(tx *bolt.Tx) error {
			db, _ := openDatabase(tx, dbName)
			refs = db.attachments.Stats().KeyN
			return nil
		})
		doc, err := s.Get(ctx, account, id)
		if err != nil && !recording.IsNotFound(err) {
			t.Fatal(err)
		}
		if atts := doc.Attachments(); refs != len(atts) {
			t.Fatalf("%s: %d attachment references for %d attachments", step, refs, len(atts))
		}
	}
	put := func(name string, size int64) {
		t.Helper()
		doc, err := s.Get(ctx, account, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.PutAttachment(ctx, account, id, doc.Rev(), name, "audio/mpeg", &patternReader{size: size}); err != nil {
			t.Fatal(err)
		}
	}

	mustPutRecording(t, s, account, recordingDoc(id, created(testMonth, 1), nil))
	put("a", 2*chunkSize+1) // 3 chunks
	put("b", 10)            // 1
	want("two attachments", 4)
	put("a", chunkSize) // replaced: 1
	want("one replaced", 2)
	doc, _ := s.Get(ctx, account, id)
	delete(doc["_attachments"].(map[string]any), "a")
	if _, err := s.Save(ctx, account, doc); err != nil {
		t.Fatal(err)
	}
	want("one left out by Save", 1)
	mustPutRecording(t, s, account, recordingDoc(id, created(testMonth, 1), map[string]any{
		"_attachments": map[string]any{"inline": map[string]any{"data": "aGVsbG8="}},
	}))
	want("replaced by PutRecording with an inline attachment", 1)
	put("c", 3*chunkSize)
	want("one more", 4)
	doc, _ = s.Get(ctx, account, id)
	saved, err := s.SaveMany(ctx, account, testMonth, []recording.Doc{doc})
	if err != nil || saved[0].Err != nil {
		t.Fatalf("SaveMany with stubs: %+v, %v", saved, err)
	}
	want("kept by SaveMany with stubs", 4)
	if err := s.Delete(ctx, account, id, saved[0].Rev); err != nil {
		t.Fatal(err)
	}
	want("deleted", 0)
}
