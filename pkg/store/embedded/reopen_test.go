package embedded

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// TestReopenKeepsEverything writes every kind of data, closes the file, opens it again and
// finds every document, revision, listing and attachment byte as it was; the history then
// goes on where it stopped.
func TestReopenKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "not", "there", "yet", "recordings.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open, creating the directories: %v", err)
	}
	ctx := testContext(t)
	account, user, owner := randomHex(16), randomHex(16), randomHex(16)
	if err := s.PutAccount(ctx, recording.Doc{"_id": account, "name": "Acme", "pvt_tree": []any{"x"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutUser(ctx, account, recording.Doc{"_id": user, "first_name": "Ann"}); err != nil {
		t.Fatal(err)
	}

	big := make([]byte, 5*chunkSize+123)
	patternAt(0, big)
	var recs []string
	for i, m := range []recording.Month{testMonth, testMonth.Next()} {
		for j, extra := range []map[string]any{
			nil,
			{"owner_id": owner},
			{"owner_id": owner, "soft_delete": map[string]any{"by": "x"}},
			{"pvt_deleted": true},
		} {
			id := newRecordingID(m)
			rev := mustPutRecording(t, s, account, recordingDoc(id, created(m, int64(10*i+j)), extra))
			if rev, err = s.PutAttachment(ctx, account, id, rev, "a.mp3", "audio/mpeg", bytes.NewReader(big[j:])); err != nil {
				t.Fatal(err)
			}
			if _, err = s.PutAttachment(ctx, account, id, rev, "empty", "", bytes.NewReader(nil)); err != nil {
				t.Fatal(err)
			}
			recs = append(recs, id)
		}
	}
	// A replaced attachment, a deleted recording.
	doc, _ := s.Get(ctx, account, recs[0])
	if _, err := s.PutAttachment(ctx, account, recs[0], doc.Rev(), "a.mp3", "audio/x-mp3", bytes.NewReader(big[:1000])); err != nil {
		t.Fatal(err)
	}
	doc, _ = s.Get(ctx, account, recs[1])
	if err := s.Delete(ctx, account, recs[1], doc.Rev()); err != nil {
		t.Fatal(err)
	}

	before := snapshot(t, s, account, user, owner, recs)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	after := snapshot(t, s, account, user, owner, recs)
	if !reflect.DeepEqual(before, after) {
		for k, v := range before {
			if !reflect.DeepEqual(v, after[k]) {
				t.Errorf("%s: before %.300v\nafter %.300v", k, v, after[k])
			}
		}
		t.Fatal("the reopened store differs")
	}

	// The history goes on: revisions after the last, new attachments beside the old ones.
	doc, _ = s.Get(ctx, account, recs[2])
	rev, err := s.PutAttachment(ctx, account, recs[2], doc.Rev(), "new.mp3", "audio/mpeg", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	if gen, _ := revGeneration(rev); gen != 4 {
		t.Fatalf("revision after reopening %s, want generation 4", rev)
	}
	rev = mustPutRecording(t, s, account, recordingDoc(recs[1], created(testMonth, 1), nil))
	if gen, _ := revGeneration(rev); gen != 5 { // 3 revisions, the deletion, this one
		t.Fatalf("recreated after reopening: revision %s, want generation 5", rev)
	}
	for _, name := range []string{"a.mp3", "new.mp3"} {
		if got := readRange(t, s, account, recs[2], name, nil, nil); !bytes.Equal(got, big[2:]) && !bytes.Equal(got, big) {
			t.Fatalf("%s after reopening and writing: %d bytes differ", name, len(got))
		}
	}
}

// snapshot reads everything the store answers about the data set, keyed by question.
func snapshot(t *testing.T, s *Store, account, user, owner string, recs []string) map[string]any {
	t.Helper()
	ctx := context.Background()
	out := map[string]any{}
	answer := func(v any, err error) any {
		if err != nil {
			return "error " + recording.ErrorCode(err)
		}
		return v
	}
	out["account"] = answer(s.Account(ctx, account))
	out["user"] = answer(s.User(ctx, account, user))
	for _, m := range []recording.Month{testMonth.Prev(), testMonth, testMonth.Next()} {
		out["exists "+m.String()] = answer(s.MonthExists(ctx, account, m))
		for _, q := range []recording.ScanQuery{
			{From: 0, To: 1 << 40, Limit: 100},
			{From: 0, To: 1 << 40, Limit: 100, IncludeSoftDeleted: true},
			{From: 0, To: 1 << 40, Limit: 100, Owner: owner},
			{From: 0, To: 1 << 40, Limit: 100, Owner: owner, IncludeSoftDeleted: true, Descending: true},
		} {
			out[fmt.Sprintf("scan %s %+v", m, q)] = answer(s.Scan(ctx, account, m, q))
		}
	}
	for _, id := range recs {
		doc, err := s.Get(ctx, account, id)
		out["get "+id] = answer(doc, err)
		for _, a := range doc.Attachments() {
			rc, err := s.OpenAttachment(ctx, account, id, a.Name, nil)
			if err != nil {
				out["attachment "+id+" "+a.Name] = answer(nil, err)
				continue
			}
			b, err := io.ReadAll(rc)
			_ = rc.Close()
			out["attachment "+id+" "+a.Name] = answer(b, err)
		}
	}
	return out
}
