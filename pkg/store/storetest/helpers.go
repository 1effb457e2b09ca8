package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// testMonth is the month most cases write into; each case has its own account, so its own
// month database.
var testMonth = recording.Month{Year: 2024, Month: 3}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// NewAccountID returns a fresh random account id, so that every case owns its databases.
func NewAccountID() string { return randomHex(16) }

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
		"pvt_created": jsonInt(pvtCreated),
		"name":        "rec-" + id + ".mp3",
	}
	for k, v := range extra {
		d[k] = v
	}
	return d
}

func jsonInt(n int64) json.Number { return json.Number(strconv.FormatInt(n, 10)) }

// newRecordingID returns a fresh id in month m.
func newRecordingID(m recording.Month) string {
	return m.String() + "-" + randomHex(16)
}

func mustPutRecording(t *testing.T, s Backend, accountID string, doc recording.Doc) string {
	t.Helper()
	rev, err := s.PutRecording(testContext(t), accountID, doc)
	if err != nil {
		t.Fatalf("PutRecording %s: %v", doc.ID(), err)
	}
	wantRev(t, "PutRecording "+doc.ID(), rev)
	return rev
}

func mustGet(t *testing.T, s Backend, accountID, id string) recording.Doc {
	t.Helper()
	doc, err := s.Get(testContext(t), accountID, id)
	if err != nil {
		t.Fatalf("Get %s: %v", id, err)
	}
	return doc
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := recording.ErrorCode(err); got != code {
		t.Fatalf("%s: error code %q, want %q (err: %v)", what, got, code, err)
	}
}

// revPattern is CouchDB's revision: the generation, then 32 hex digits.
var revPattern = regexp.MustCompile(`^[1-9][0-9]*-[0-9a-f]{32}$`)

func wantRev(t *testing.T, what, rev string) {
	t.Helper()
	if !revPattern.MatchString(rev) {
		t.Fatalf("%s: revision %q is not N-<32 hex>", what, rev)
	}
}

// generation is N of revision N-hash.
func generation(t *testing.T, rev string) int {
	t.Helper()
	wantRev(t, "revision", rev)
	n, _ := strconv.Atoi(strings.SplitN(rev, "-", 2)[0])
	return n
}

// wantGeneration checks that rev is a well-formed revision of generation gen.
func wantGeneration(t *testing.T, what, rev string, gen int) {
	t.Helper()
	wantRev(t, what, rev)
	if got := generation(t, rev); got != gen {
		t.Fatalf("%s: revision %s, want generation %d", what, rev, gen)
	}
}

func ids(rows []recording.Row) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Doc.ID()
	}
	return out
}
