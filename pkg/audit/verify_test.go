package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/audit"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
)

// A chain of five entries in January, each about a recording (rec), written by a trail.
func fiveEntries(t *testing.T, s recording.StateDocs) (acct, rec, db string) {
	t.Helper()
	acct = couchtest.NewAccountID()
	rec = recording.NewRecordingID(at(jan, 1, 0, 0), couchtest.NewAccountID())
	trail, _ := startTrail(t, s, fastConfig)
	for n := 1; n <= 5; n++ {
		trail.Record(audit.Entry{At: at(jan, 9, 10, n), AccountID: acct, Actor: audit.Actor{UserID: "u1", Credential: "static"},
			ClientIP: "198.51.100.4", Action: audit.AudioRead, RecordingID: rec, Status: 200, Bytes: int64(1000 * n),
			RequestID: fmt.Sprintf("req-%d", n)})
	}
	closeTrail(t, trail)
	verifyOK(t, s, acct, jan)
	return acct, rec, audit.ChainDB(acct, jan)
}

func loadDoc(t *testing.T, s recording.StateDocs, db, id string) recording.Doc {
	t.Helper()
	res, err := s.GetSystemDocs(context.Background(), db, []string{id})
	if err != nil || res[0].Err != nil {
		t.Fatalf("read %s/%s: %v %v", db, id, err, res[0].Err)
	}
	return res[0].Doc
}

func saveDoc(t *testing.T, s recording.StateDocs, db string, doc recording.Doc) {
	t.Helper()
	res, err := s.SaveSystemDocs(context.Background(), db, []recording.Doc{doc})
	if err != nil || res[0].Err != nil {
		t.Fatalf("write %s/%s: %v %v", db, doc.ID(), err, res[0].Err)
	}
}

func removeDoc(t *testing.T, s recording.StateDocs, db, id string) {
	t.Helper()
	doc := loadDoc(t, s, db, id)
	saveDoc(t, s, db, recording.Doc{"_id": id, "_rev": doc.Rev(), "_deleted": true})
}

// firstBreak verifies January's chain and returns its first break, failing the test when
// the chain holds.
func firstBreak(t *testing.T, s recording.StateDocs, acct string) audit.Break {
	t.Helper()
	r, err := audit.Verify(context.Background(), s, acct, jan)
	if err != nil {
		t.Fatal(err)
	}
	if r.OK() {
		t.Fatalf("Verify found %s intact (%d entries)", r.DB, r.Entries)
	}
	return r.Breaks[0]
}

// Every way of changing a chain behind the writers' backs shows, at the entry concerned.
func TestVerifyFindsTampering(t *testing.T) {
	forEachStore(t, func(t *testing.T, s recording.StateDocs, _ func() recording.StateDocs) {
		tests := []struct {
			name   string
			tamper func(t *testing.T, db, rec string)
			seq    int64
			docID  string
			kind   string
		}{
			{"an entry edited", func(t *testing.T, db, _ string) {
				doc := loadDoc(t, s, db, "e000000000003")
				doc["client_ip"] = "203.0.113.66"
				saveDoc(t, s, db, doc)
			}, 3, "e000000000003", audit.BreakEdited},
			{"an entry edited with its hash recomputed: the next one's prev shows it", func(t *testing.T, db, _ string) {
				doc := loadDoc(t, s, db, "e000000000003")
				doc["bytes"] = json.Number("1")
				doc["hash"] = audit.Hash(doc)
				saveDoc(t, s, db, doc)
			}, 4, "e000000000004", audit.BreakRelinked},
			{"a member added to an entry", func(t *testing.T, db, _ string) {
				doc := loadDoc(t, s, db, "e000000000002")
				doc["note"] = "nothing to see"
				saveDoc(t, s, db, doc)
			}, 2, "e000000000002", audit.BreakEdited},
			{"an entry removed", func(t *testing.T, db, _ string) {
				removeDoc(t, s, db, "e000000000003")
			}, 3, "e000000000003", audit.BreakMissing},
			{"the first entry removed", func(t *testing.T, db, _ string) {
				removeDoc(t, s, db, "e000000000001")
			}, 1, "e000000000001", audit.BreakMissing},
			{"the last entry removed", func(t *testing.T, db, _ string) {
				removeDoc(t, s, db, "e000000000005")
			}, 5, "e000000000005", audit.BreakTruncated},
			{"the last entry removed and the head moved back", func(t *testing.T, db, _ string) {
				removeDoc(t, s, db, "e000000000005")
				head := loadDoc(t, s, db, "head")
				head["seq"] = json.Number("4")
				saveDoc(t, s, db, head)
			}, 4, "e000000000004", audit.BreakHead},
			{"an entry inserted at the end", func(t *testing.T, db, _ string) {
				doc := loadDoc(t, s, db, "e000000000005")
				forged := recording.Doc{}
				for k, v := range doc {
					forged[k] = v
				}
				delete(forged, "_rev")
				forged["_id"], forged["seq"], forged["prev"] = "e000000000006", json.Number("6"), doc.String("hash")
				forged["hash"] = audit.Hash(forged)
				saveDoc(t, s, db, forged)
			}, 6, "e000000000006", audit.BreakHead},
			{"an entry moved to another seq", func(t *testing.T, db, _ string) {
				doc := loadDoc(t, s, db, "e000000000005")
				removeDoc(t, s, db, "e000000000005")
				delete(doc, "_rev")
				doc["_id"] = "e000000000007"
				saveDoc(t, s, db, doc)
			}, 5, "e000000000005", audit.BreakMissing},
			{"an index document pointing to another recording's entry", func(t *testing.T, db, _ string) {
				saveDoc(t, s, db, recording.Doc{"_id": "r202401-forged_000000000002", "seq": json.Number("2")})
			}, 2, "r202401-forged_000000000002", audit.BreakIndex},
			{"an index document removed", func(t *testing.T, db, rec string) {
				removeDoc(t, s, db, "r"+rec+"_000000000004")
			}, 4, "", audit.BreakIndex},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				acct, rec, db := fiveEntries(t, s)
				tt.tamper(t, db, rec)
				b := firstBreak(t, s, acct)
				want := tt.docID
				if want == "" {
					want = "r" + rec + "_000000000004"
				}
				if b.Seq != tt.seq || b.DocID != want || b.Kind != tt.kind {
					t.Fatalf("first break %v; want seq %d (%s): %s", b, tt.seq, want, tt.kind)
				}
			})
		}
	})
}

// A forged index document shows no entry when a recording's entries are read.
func TestForgedIndexShowsNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, s recording.StateDocs, _ func() recording.StateDocs) {
		acct, rec, db := fiveEntries(t, s)
		other := recording.NewRecordingID(at(jan, 1, 0, 0), couchtest.NewAccountID())
		saveDoc(t, s, db, recording.Doc{"_id": "r" + other + "_000000000002", "seq": json.Number("2")})
		saveDoc(t, s, db, recording.Doc{"_id": "r" + rec + "_000000000009", "seq": json.Number("9")})
		if got, err := audit.RecordingEntries(context.Background(), s, acct, other, jan); err != nil || len(got) != 0 {
			t.Errorf("entries of a recording never read: %v, %v; want none", requestIDs(got), err)
		}
		if got, err := audit.RecordingEntries(context.Background(), s, acct, rec, jan); err != nil || len(got) != 5 {
			t.Errorf("entries of %s: %v, %v; want its 5", rec, requestIDs(got), err)
		}
	})
}

// A head removed behind the writers' backs does not stop the trail: the next writer
// rebuilds it after the last entry, and Verify says it did.
func TestHeadRemovedIsRebuiltAndReported(t *testing.T) {
	forEachStore(t, func(t *testing.T, s recording.StateDocs, _ func() recording.StateDocs) {
		acct, rec, db := fiveEntries(t, s)
		removeDoc(t, s, db, "head")
		if b := firstBreak(t, s, acct); b.Kind != audit.BreakHead || b.Seq != 5 {
			t.Fatalf("head removed: first break %v, want head at 5", b)
		}
		trail, obs := startTrail(t, s, fastConfig)
		trail.Record(audit.Entry{At: at(jan, 9, 11, 0), AccountID: acct, Action: audit.RecordingRead, RecordingID: rec, RequestID: "req-6"})
		closeTrail(t, trail)
		if written, lost := obs.counts(); written != 1 || len(lost) != 0 {
			t.Fatalf("written %d, lost %v", written, lost)
		}
		r, err := audit.Verify(context.Background(), s, acct, jan)
		if err != nil {
			t.Fatal(err)
		}
		if r.Entries != 6 || r.HeadSeq != 6 || len(r.Breaks) != 1 || r.Breaks[0].Kind != audit.BreakHead ||
			!strings.Contains(r.Breaks[0].Reason, "rebuilt") || r.Breaks[0].Seq != 5 {
			t.Fatalf("report %+v; want 6 entries, the head at 6, rebuilt after 5", r)
		}
	})
}

// A chain that was never written is intact and empty.
func TestVerifyEmptyChain(t *testing.T) {
	forEachStore(t, func(t *testing.T, s recording.StateDocs, _ func() recording.StateDocs) {
		if r := verifyOK(t, s, couchtest.NewAccountID(), jan); r.Entries != 0 || r.HeadSeq != 0 {
			t.Fatalf("%+v", r)
		}
	})
}
