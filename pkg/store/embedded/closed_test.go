package embedded

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// TestClosedStore: after Close, every method answers EUnavailable, as the CouchDB backend
// does when its server is gone; so does a reader opened before.
func TestClosedStore(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	account := randomHex(16)
	id := newRecordingID(testMonth)
	rev := mustPutRecording(t, s, account, recordingDoc(id, created(testMonth, 1), nil))
	rev, err := s.PutAttachment(ctx, account, id, rev, "a.mp3", "audio/mpeg", strings.NewReader(strings.Repeat("x", 3*chunkSize)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping while open: %v", err)
	}
	reader, err := s.OpenAttachment(ctx, account, id, "a.mp3", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(reader, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}

	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	doc := recordingDoc(id, created(testMonth, 1), map[string]any{"_rev": rev})
	monthDB := recording.MonthDB{AccountID: account, Month: testMonth}
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
		"Delete":   func() error { return s.Delete(ctx, account, id, rev) },
		"OpenAttachment": func() error {
			_, err := s.OpenAttachment(ctx, account, id, "a.mp3", &recording.Range{Start: 0, End: 9})
			return err
		},
		"reader opened before Close": func() error {
			_, err := io.ReadAll(reader)
			return err
		},
		"PutAccount":   func() error { return s.PutAccount(ctx, recording.Doc{"_id": account}) },
		"PutUser":      func() error { return s.PutUser(ctx, account, recording.Doc{"_id": randomHex(16)}) },
		"PutRecording": func() error { _, err := s.PutRecording(ctx, account, doc); return err },
		"PutAttachment": func() error {
			_, err := s.PutAttachment(ctx, account, id, rev, "b.mp3", "audio/mpeg", strings.NewReader("abc"))
			return err
		},
		"MonthDatabases": func() error { _, err := s.MonthDatabases(ctx, recording.MonthDB{}, 10); return err },
		"PurgeCandidates": func() error {
			_, err := s.PurgeCandidates(ctx, monthDB, recording.PurgeQuery{Deleted: recording.Cutoff{On: true, Before: 1 << 40}, Limit: 5})
			return err
		},
		"DeleteMany": func() error {
			_, err := s.DeleteMany(ctx, monthDB, []recording.DocRef{{ID: id, Rev: rev}})
			return err
		},
		"SystemDoc":     func() error { _, err := s.SystemDoc(ctx, "system_config", "x"); return err },
		"SaveSystemDoc": func() error { _, err := s.SaveSystemDoc(ctx, "system_config", recording.Doc{"_id": "x"}); return err },
		"GetSystemDocs": func() error { _, err := s.GetSystemDocs(ctx, "system_config", []string{"x"}); return err },
		"SaveSystemDocs": func() error {
			_, err := s.SaveSystemDocs(ctx, "system_config", []recording.Doc{{"_id": "x"}})
			return err
		},
		"SystemDocRange": func() error { _, err := s.SystemDocRange(ctx, "system_config", "", "", 10); return err },
		"FollowChanges": func() error {
			return s.FollowChanges(ctx, "system_config", "feed", func(context.Context, []recording.Change) error { return nil })
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call()
			wantCode(t, name, err, recording.EUnavailable)
			if msg := recording.ErrorMessage(err); msg != "datastore unreachable" {
				t.Errorf("message %q", msg)
			}
		})
	}
}

// TestCancelledContext: a caller that gave up gets EUnavailable, as from the CouchDB backend.
func TestCancelledContext(t *testing.T) {
	s, _ := openTemp(t)
	account := randomHex(16)
	id := newRecordingID(testMonth)
	mustPutRecording(t, s, account, recordingDoc(id, created(testMonth, 1), nil))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Get(ctx, account, id)
	wantCode(t, "Get with a cancelled context", err, recording.EUnavailable)
	_, err = s.PutRecording(ctx, account, recordingDoc(id, created(testMonth, 1), nil))
	wantCode(t, "PutRecording with a cancelled context", err, recording.EUnavailable)
}
