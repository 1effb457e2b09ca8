package storetest

import (
	"bytes"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// PurgeBackend is a store the retention sweeper can run on.
type PurgeBackend interface {
	Backend
	recording.Purger
}

// RunPurger runs the contract of recording.Purger, each case in parallel with a store
// from open.
func RunPurger(t *testing.T, open func(t *testing.T) PurgeBackend) {
	cases := []struct {
		name string
		run  func(t *testing.T, s PurgeBackend)
	}{
		{"PurgeIndexRule", testPurgeIndexRule},
		{"PurgeCutoffsAndPaging", testPurgeCutoffsAndPaging},
		{"PurgeIndexFollowsWrites", testPurgeIndexFollowsWrites},
		{"PurgeMissingMonthAndBadLimit", testPurgeMissingMonthAndBadLimit},
		{"DeleteMany", testDeleteMany},
		{"MonthDatabases", testMonthDatabases},
		{"SaveSystemDoc", testSaveSystemDoc},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, open(t))
		})
	}
}

// purgeFixture is one month database holding a recording for every case of the purge
// index rule, named by what it shows.
type purgeFixture struct {
	db   recording.MonthDB
	ids  map[string]string // name → id
	docs map[string]recording.Doc
}

func newPurgeFixture(t *testing.T, s PurgeBackend) purgeFixture {
	t.Helper()
	f := purgeFixture{db: recording.MonthDB{AccountID: NewAccountID(), Month: testMonth},
		ids: map[string]string{}, docs: map[string]recording.Doc{}}
	add := func(name string, extra map[string]any) {
		id := newRecordingID(testMonth)
		doc := recordingDoc(id, created(testMonth, int64(len(f.ids))), extra)
		doc["_rev"] = mustPutRecording(t, s, f.db.AccountID, doc)
		f.ids[name], f.docs[name] = id, doc
	}
	add("deleted@100", map[string]any{"pvt_deleted": true, "pvt_modified": jsonInt(100)})
	add("deleted-string@200", map[string]any{"pvt_deleted": "true", "pvt_modified": jsonInt(200)})
	add("soft@300", map[string]any{"soft_delete": map[string]any{"deleted_at": jsonInt(300)}, "pvt_modified": jsonInt(999)})
	add("soft-untimed@400", map[string]any{"soft_delete": map[string]any{}, "pvt_modified": jsonInt(400)})
	add("soft-not-object@700", map[string]any{"soft_delete": "yes", "pvt_modified": jsonInt(700)})
	add("both-marks@600", map[string]any{"pvt_deleted": true, "pvt_modified": jsonInt(600),
		"soft_delete": map[string]any{"deleted_at": jsonInt(5)}})
	add("deleted-untimed@0", map[string]any{"pvt_deleted": true})
	add("restored", map[string]any{"soft_delete": nil, "pvt_modified": jsonInt(1)})
	add("live", map[string]any{"pvt_modified": jsonInt(1)})
	add("deleted-false", map[string]any{"pvt_deleted": false, "pvt_modified": jsonInt(1)})
	add("other-type", map[string]any{"pvt_type": "cdr", "pvt_deleted": true, "pvt_modified": jsonInt(1)})
	return f
}

// everything takes every candidate.
var everything = recording.PurgeQuery{
	Deleted:     recording.Cutoff{On: true, Before: 1 << 62},
	SoftDeleted: recording.Cutoff{On: true, Before: 1 << 62},
	Limit:       100,
}

func (f purgeFixture) key(reason recording.PurgeReason, at int64, name string) recording.PurgeKey {
	return recording.PurgeKey{Reason: reason, At: at, ID: f.ids[name]}
}

// sortKeys orders keys as the index does.
func sortKeys(keys []recording.PurgeKey) []recording.PurgeKey {
	sort.Slice(keys, func(i, j int) bool { return keys[i].Less(keys[j]) })
	return keys
}

func candidateKeys(cs []recording.PurgeCandidate) []recording.PurgeKey {
	out := make([]recording.PurgeKey, len(cs))
	for i, c := range cs {
		out[i] = c.Key
	}
	return out
}

func mustCandidates(t *testing.T, s PurgeBackend, db recording.MonthDB, q recording.PurgeQuery) []recording.PurgeCandidate {
	t.Helper()
	cs, err := s.PurgeCandidates(testContext(t), db, q)
	if err != nil {
		t.Fatalf("PurgeCandidates %+v: %v", q, err)
	}
	return cs
}

func wantKeys(t *testing.T, what string, got, want []recording.PurgeKey) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

func testPurgeIndexRule(t *testing.T, s PurgeBackend) {
	f := newPurgeFixture(t, s)
	want := sortKeys([]recording.PurgeKey{
		f.key(recording.PurgeDeleted, 100, "deleted@100"),
		f.key(recording.PurgeDeleted, 200, "deleted-string@200"),
		f.key(recording.PurgeDeleted, 600, "both-marks@600"),
		f.key(recording.PurgeDeleted, 0, "deleted-untimed@0"),
		f.key(recording.PurgeSoftDeleted, 300, "soft@300"),
		f.key(recording.PurgeSoftDeleted, 400, "soft-untimed@400"),
		f.key(recording.PurgeSoftDeleted, 700, "soft-not-object@700"),
	})
	got := mustCandidates(t, s, f.db, everything)
	wantKeys(t, "every candidate", candidateKeys(got), want)

	// The Go rule the embedded index follows is the same rule as the store's index.
	for name, doc := range f.docs {
		key, ok := recording.PurgeKeyOf(doc)
		inIndex := false
		for _, w := range want {
			if w.ID == doc.ID() {
				inIndex = true
				if !ok || key != w {
					t.Errorf("%s: PurgeKeyOf = %+v %v, index has %+v", name, key, ok, w)
				}
			}
		}
		if ok && !inIndex {
			t.Errorf("%s: PurgeKeyOf = %+v, but the index has no entry", name, key)
		}
	}
	// Each candidate carries the document as stored, at its current revision.
	for _, c := range got {
		stored := mustGet(t, s, f.db.AccountID, c.Key.ID)
		if c.Doc.ID() != c.Key.ID || c.Doc.Rev() != stored.Rev() || c.Doc["pvt_type"] != recording.TypeCallRecording {
			t.Fatalf("candidate %s: doc _id %q _rev %q, stored _rev %q", c.Key.ID, c.Doc.ID(), c.Doc.Rev(), stored.Rev())
		}
	}
}

func testPurgeCutoffsAndPaging(t *testing.T, s PurgeBackend) {
	f := newPurgeFixture(t, s)
	q := recording.PurgeQuery{Deleted: recording.Cutoff{On: true, Before: 200}, Limit: 100}
	wantKeys(t, "deleted up to 200, inclusive", candidateKeys(mustCandidates(t, s, f.db, q)), []recording.PurgeKey{
		f.key(recording.PurgeDeleted, 0, "deleted-untimed@0"),
		f.key(recording.PurgeDeleted, 100, "deleted@100"),
		f.key(recording.PurgeDeleted, 200, "deleted-string@200"),
	})
	q = recording.PurgeQuery{SoftDeleted: recording.Cutoff{On: true, Before: 400}, Limit: 100}
	wantKeys(t, "soft-deleted up to 400", candidateKeys(mustCandidates(t, s, f.db, q)), []recording.PurgeKey{
		f.key(recording.PurgeSoftDeleted, 300, "soft@300"),
		f.key(recording.PurgeSoftDeleted, 400, "soft-untimed@400"),
	})
	q = recording.PurgeQuery{Deleted: recording.Cutoff{On: true, Before: 99}, SoftDeleted: recording.Cutoff{On: true, Before: 299}, Limit: 100}
	wantKeys(t, "both cutoffs below most", candidateKeys(mustCandidates(t, s, f.db, q)), []recording.PurgeKey{
		f.key(recording.PurgeDeleted, 0, "deleted-untimed@0"),
	})
	q = recording.PurgeQuery{Limit: 100}
	wantKeys(t, "no cutoff on", candidateKeys(mustCandidates(t, s, f.db, q)), nil)

	// Pages of 2, each continuing after the last key, walk the same sequence as one read,
	// across the deleted/soft_deleted boundary.
	all := candidateKeys(mustCandidates(t, s, f.db, everything))
	var walked []recording.PurgeKey
	page := everything
	page.Limit = 2
	for range 10 {
		cs := mustCandidates(t, s, f.db, page)
		if len(cs) > 2 {
			t.Fatalf("page of limit 2 returned %d", len(cs))
		}
		if len(cs) == 0 {
			break
		}
		walked = append(walked, candidateKeys(cs)...)
		last := cs[len(cs)-1].Key
		page.After = &last
	}
	wantKeys(t, "paged walk", walked, all)

	// After a key that is not itself in the index (its document was purged meanwhile).
	gone := recording.PurgeKey{Reason: recording.PurgeDeleted, At: 150, ID: "zzz"}
	page = everything
	page.After = &gone
	wantKeys(t, "after a vanished key", candidateKeys(mustCandidates(t, s, f.db, page)), all[2:])
}

func testPurgeIndexFollowsWrites(t *testing.T, s PurgeBackend) {
	ctx := testContext(t)
	f := newPurgeFixture(t, s)
	// Restore the soft-deleted one, delete the live one, the Kazoo way.
	restored := mustGet(t, s, f.db.AccountID, f.ids["soft@300"])
	restored["soft_delete"] = nil
	if _, err := s.Save(ctx, f.db.AccountID, restored); err != nil {
		t.Fatalf("Save: %v", err)
	}
	killed := mustGet(t, s, f.db.AccountID, f.ids["live"])
	killed["pvt_deleted"] = true
	killed["pvt_modified"] = jsonInt(50)
	if _, err := s.Save(ctx, f.db.AccountID, killed); err != nil {
		t.Fatalf("Save: %v", err)
	}
	// And hard-delete one that was a candidate.
	gone := mustGet(t, s, f.db.AccountID, f.ids["deleted@100"])
	if err := s.Delete(ctx, f.db.AccountID, gone.ID(), gone.Rev()); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	q := everything
	q.SoftDeleted.On = false
	q.Deleted.Before = 100
	wantKeys(t, "deleted up to 100 after the writes", candidateKeys(mustCandidates(t, s, f.db, q)), []recording.PurgeKey{
		f.key(recording.PurgeDeleted, 0, "deleted-untimed@0"),
		f.key(recording.PurgeDeleted, 50, "live"),
	})
	q = everything
	q.Deleted.On = false
	q.SoftDeleted.Before = 400
	wantKeys(t, "soft-deleted up to 400 after the restore", candidateKeys(mustCandidates(t, s, f.db, q)), []recording.PurgeKey{
		f.key(recording.PurgeSoftDeleted, 400, "soft-untimed@400"),
	})
}

func testPurgeMissingMonthAndBadLimit(t *testing.T, s PurgeBackend) {
	ctx := testContext(t)
	missing := recording.MonthDB{AccountID: NewAccountID(), Month: testMonth}
	cs, err := s.PurgeCandidates(ctx, missing, everything)
	if err != nil || len(cs) != 0 {
		t.Fatalf("missing month database: %d candidates, err %v; want none, no error", len(cs), err)
	}
	q := everything
	q.Limit = 0
	_, err = s.PurgeCandidates(ctx, missing, q)
	wantCode(t, "limit 0", err, recording.EInvalid)
	results, err := s.DeleteMany(ctx, missing, []recording.DocRef{{ID: newRecordingID(testMonth), Rev: "1-00000000000000000000000000000000"}})
	if err != nil || len(results) != 1 {
		t.Fatalf("DeleteMany in a missing database: %v, %d results", err, len(results))
	}
	wantCode(t, "DeleteMany in a missing database", results[0].Err, recording.ENotFound)
}

func testDeleteMany(t *testing.T, s PurgeBackend) {
	ctx := testContext(t)
	account := NewAccountID()
	db := recording.MonthDB{AccountID: account, Month: testMonth}
	put := func(extra map[string]any) recording.Doc {
		id := newRecordingID(testMonth)
		doc := recordingDoc(id, created(testMonth, 1), extra)
		doc["_rev"] = mustPutRecording(t, s, account, doc)
		return doc
	}
	withAudio := put(map[string]any{"pvt_deleted": true})
	audio := bytes.Repeat([]byte("mp3!"), 1000)
	rev, err := s.PutAttachment(ctx, account, withAudio.ID(), withAudio.Rev(), "a.mp3", "audio/mpeg", bytes.NewReader(audio))
	if err != nil {
		t.Fatalf("PutAttachment: %v", err)
	}
	withAudio["_rev"] = rev
	plain := put(nil)
	stale := put(nil)
	staleRev := stale.Rev()
	stale["x"] = 1
	if stale["_rev"], err = s.Save(ctx, account, stale); err != nil {
		t.Fatalf("Save: %v", err)
	}
	kept := put(nil)
	neverWas := newRecordingID(testMonth)

	results, err := s.DeleteMany(ctx, db, []recording.DocRef{
		{ID: withAudio.ID(), Rev: withAudio.Rev()},
		{ID: stale.ID(), Rev: staleRev},
		{ID: neverWas, Rev: "1-00000000000000000000000000000000"},
		{ID: plain.ID(), Rev: plain.Rev()},
	})
	if err != nil {
		t.Fatalf("DeleteMany: %v", err)
	}
	if len(results) != 4 {
		t.Fatalf("DeleteMany: %d results, want 4", len(results))
	}
	wantIDs := []string{withAudio.ID(), stale.ID(), neverWas, plain.ID()}
	for i, r := range results {
		if r.ID != wantIDs[i] {
			t.Fatalf("result %d is for %s, want %s", i, r.ID, wantIDs[i])
		}
	}
	if results[0].Err != nil || results[3].Err != nil {
		t.Fatalf("DeleteMany at current revisions: %v, %v", results[0].Err, results[3].Err)
	}
	wantCode(t, "DeleteMany with a stale revision", results[1].Err, recording.EConflict)
	// A document that never was: not found, or (CouchDB 3, on a shard holding documents) a
	// tombstone written for it; either way nothing is there to read.
	if results[2].Err != nil {
		wantCode(t, "DeleteMany of a document that never was", results[2].Err, recording.ENotFound)
	}
	_, err = s.Get(ctx, account, neverWas)
	wantCode(t, "Get of a document that never was, after DeleteMany", err, recording.ENotFound)

	for _, id := range []string{withAudio.ID(), plain.ID()} {
		_, err := s.Get(ctx, account, id)
		wantCode(t, "Get after DeleteMany", err, recording.ENotFound)
	}
	_, err = s.OpenAttachment(ctx, account, withAudio.ID(), "a.mp3", nil)
	wantCode(t, "audio after DeleteMany", err, recording.ENotFound)
	if got := mustGet(t, s, account, stale.ID()); got.Rev() != stale.Rev() {
		t.Fatalf("the document with a stale revision changed: %s, want %s", got.Rev(), stale.Rev())
	}
	if got := mustGet(t, s, account, kept.ID()); got.Rev() != kept.Rev() {
		t.Fatalf("a document not named changed: %s, want %s", got.Rev(), kept.Rev())
	}
	// Deleting again: already gone.
	results, err = s.DeleteMany(ctx, db, []recording.DocRef{{ID: plain.ID(), Rev: plain.Rev()}})
	if err != nil || len(results) != 1 {
		t.Fatalf("DeleteMany again: %v, %d results", err, len(results))
	}
	if c := recording.ErrorCode(results[0].Err); c != recording.ENotFound && c != recording.EConflict {
		t.Fatalf("DeleteMany of a deleted document: code %q, want not_found or conflict", c)
	}
	if results, err = s.DeleteMany(ctx, db, nil); err != nil || len(results) != 0 {
		t.Fatalf("DeleteMany of nothing: %v, %d results", err, len(results))
	}
	// The id is free again: a new document of that id starts afresh, without the old audio.
	fresh := recordingDoc(withAudio.ID(), created(testMonth, 1), nil)
	mustPutRecording(t, s, account, fresh)
	_, err = s.OpenAttachment(ctx, account, withAudio.ID(), "a.mp3", nil)
	wantCode(t, "old audio under a re-created id", err, recording.ENotFound)
}

func testMonthDatabases(t *testing.T, s PurgeBackend) {
	ctx := testContext(t)
	a, b := NewAccountID(), NewAccountID()
	if b < a {
		a, b = b, a
	}
	months := map[string][]recording.Month{
		a: {{Year: 2024, Month: 1}, {Year: 2024, Month: 3}, {Year: 2023, Month: 12}},
		b: {{Year: 2024, Month: 2}},
	}
	var want []recording.MonthDB
	for account, ms := range months {
		if err := s.PutAccount(ctx, recording.Doc{"_id": account, "pvt_type": "account", "name": "acc"}); err != nil {
			t.Fatalf("PutAccount: %v", err)
		}
		for _, m := range ms {
			mustPutRecording(t, s, account, recordingDoc(newRecordingID(m), created(m, 1), nil))
			want = append(want, recording.MonthDB{AccountID: account, Month: m})
		}
	}
	sort.Slice(want, func(i, j int) bool { return want[i].Less(want[j]) })
	ours := func(dbs []recording.MonthDB) []recording.MonthDB {
		var out []recording.MonthDB
		for _, d := range dbs {
			if d.AccountID == a || d.AccountID == b {
				out = append(out, d)
			}
		}
		return out
	}
	strictlyIncreasing := func(what string, dbs []recording.MonthDB, after recording.MonthDB) {
		t.Helper()
		prev := after
		for _, d := range dbs {
			if !prev.IsZero() && !prev.Less(d) {
				t.Fatalf("%s: %s does not come after %s", what, d, prev)
			}
			prev = d
		}
	}

	// From the start, in one read (other cases' databases may be listed too).
	all, err := s.MonthDatabases(ctx, recording.MonthDB{}, 1<<20)
	if err != nil {
		t.Fatalf("MonthDatabases: %v", err)
	}
	strictlyIncreasing("from the start", all, recording.MonthDB{})
	if got := ours(all); !reflect.DeepEqual(got, want) {
		t.Fatalf("MonthDatabases: ours %v, want %v", got, want)
	}

	// One at a time from just before a, until past b.
	after := recording.MonthDB{AccountID: a}
	var walked []recording.MonthDB
	for range 1000 {
		page, err := s.MonthDatabases(ctx, after, 1)
		if err != nil {
			t.Fatalf("MonthDatabases after %s: %v", after, err)
		}
		if len(page) > 1 {
			t.Fatalf("MonthDatabases with limit 1: %d databases", len(page))
		}
		if len(page) == 0 {
			break
		}
		strictlyIncreasing(fmt.Sprintf("after %s", after), page, after)
		walked = append(walked, page...)
		after = page[0]
		if after.AccountID > b {
			break
		}
	}
	if got := ours(walked); !reflect.DeepEqual(got, want) {
		t.Fatalf("walk one at a time: ours %v, want %v", got, want)
	}
	// Strictly after a month database: the next ones only.
	page, err := s.MonthDatabases(ctx, want[1], 2)
	if err != nil {
		t.Fatalf("MonthDatabases: %v", err)
	}
	if len(page) == 0 || page[0] != want[2] {
		t.Fatalf("after %s: %v, want %s first", want[1], page, want[2])
	}
	_, err = s.MonthDatabases(ctx, recording.MonthDB{}, 0)
	wantCode(t, "limit 0", err, recording.EInvalid)
}

func testSaveSystemDoc(t *testing.T, s PurgeBackend) {
	ctx := testContext(t)
	db := "rtest_" + randomHex(6)
	id := "state-" + randomHex(4)
	rev1, err := s.SaveSystemDoc(ctx, db, recording.Doc{"_id": id, "n": jsonInt(1)})
	if err != nil {
		t.Fatalf("SaveSystemDoc into a new database: %v", err)
	}
	wantGeneration(t, "SaveSystemDoc", rev1, 1)
	_, err = s.SaveSystemDoc(ctx, db, recording.Doc{"_id": id, "n": jsonInt(2)})
	wantCode(t, "SaveSystemDoc without _rev over an existing document", err, recording.EConflict)
	rev2, err := s.SaveSystemDoc(ctx, db, recording.Doc{"_id": id, "_rev": rev1, "n": jsonInt(2)})
	if err != nil {
		t.Fatalf("SaveSystemDoc at the current revision: %v", err)
	}
	wantGeneration(t, "SaveSystemDoc", rev2, 2)
	_, err = s.SaveSystemDoc(ctx, db, recording.Doc{"_id": id, "_rev": rev1, "n": jsonInt(3)})
	wantCode(t, "SaveSystemDoc at a stale revision", err, recording.EConflict)
	got, err := s.SystemDoc(ctx, db, id)
	if err != nil {
		t.Fatalf("SystemDoc: %v", err)
	}
	if n, _ := got.Int("n"); n != 2 || got.Rev() != rev2 {
		t.Fatalf("SystemDoc: n=%v _rev %s, want 2 at %s", got["n"], got.Rev(), rev2)
	}
	for _, bad := range []string{"", "_users", "account/ab/cd/" + strings.Repeat("e", 28), "Upper"} {
		if _, err := s.SaveSystemDoc(ctx, bad, recording.Doc{"_id": "x"}); err == nil {
			t.Fatalf("SaveSystemDoc into %q: no error", bad)
		}
	}
	if _, err := s.SaveSystemDoc(ctx, db, recording.Doc{"_id": "_design/x"}); err == nil {
		t.Fatalf("SaveSystemDoc of a design document: no error")
	}
}
