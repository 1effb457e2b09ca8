package couch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
)

// testMonth is the month most tests write into; each test has its own account, so its own MODB.
var testMonth = recording.Month{Year: 2024, Month: 3}

// newTestStore connects to the test server (skipping without one).
func newTestStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(Config{URL: couchtest.URL(t), WriteQuorum: couchtest.WriteQuorum(t, couchtest.URL(t))}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// created returns a pvt_created inside m, offset seconds after its start.
func created(m recording.Month, offset int64) int64 {
	return recording.ToGregorian(m.Start()) + offset
}

// recordingDoc builds a call_recording document; extra fields override the defaults.
func recordingDoc(id string, pvtCreated int64, extra map[string]any) recording.Doc {
	d := recording.Doc{
		"_id":         id,
		"pvt_type":    recording.TypeCallRecording,
		"pvt_created": json.Number(jsonInt(pvtCreated)),
		"name":        "rec-" + id + ".mp3",
	}
	for k, v := range extra {
		d[k] = v
	}
	return d
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// newRecordingID returns a fresh id in month m.
func newRecordingID(m recording.Month) string {
	return m.String() + "-" + randomHex(16)
}

func mustPutRecording(t *testing.T, s *Store, accountID string, doc recording.Doc) string {
	t.Helper()
	rev, err := s.PutRecording(testContext(t), accountID, doc)
	if err != nil {
		t.Fatalf("PutRecording %s: %v", doc.ID(), err)
	}
	return rev
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := recording.ErrorCode(err); got != code {
		t.Fatalf("%s: error code %q, want %q (err: %v)", what, got, code, err)
	}
}

func ids(rows []recording.Row) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Doc.ID()
	}
	return out
}

// settle runs check, and against a cluster runs it again until it passes or 5 s are over: a
// view is read from one copy of each shard, and a copy may lag a write (or a dropped
// database) that the quorum already took by a few milliseconds.
func settle(t *testing.T, check func() error) {
	t.Helper()
	cluster := couchtest.IsCluster(t, couchtest.URL(t))
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if !cluster || time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
