package storetest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

func testGetSaveDelete(t *testing.T, s Backend) {
	ctx := testContext(t)
	account := NewAccountID()
	id := newRecordingID(testMonth)
	rev1 := mustPutRecording(t, s, account, recordingDoc(id, created(testMonth, 1), map[string]any{"duration": 17}))

	doc := mustGet(t, s, account, id)
	if doc.Rev() != rev1 || doc.ID() != id {
		t.Fatalf("Get: _id %q _rev %q, want %q %q", doc.ID(), doc.Rev(), id, rev1)
	}

	doc["soft_delete"] = map[string]any{"at": 1}
	rev2, err := s.Save(ctx, account, doc)
	if err != nil {
		t.Fatalf("Save: %v", err)
	}
	wantGeneration(t, "Save", rev2, 2)
	// The same document again, still at rev1: somebody else got there first.
	_, err = s.Save(ctx, account, doc)
	wantCode(t, "Save with a stale rev", err, recording.EConflict)
	noRev := doc.Clone()
	delete(noRev, "_rev")
	_, err = s.Save(ctx, account, noRev)
	wantCode(t, "Save of an existing document without _rev", err, recording.EConflict)
	// A new document given a _rev is left out: CouchDB 3 refuses it on an empty shard but
	// accepts it on one that holds documents (as revision 2), so no answer is reliable.

	got := mustGet(t, s, account, id)
	if got.Rev() != rev2 || !got.IsSoftDeleted() {
		t.Fatalf("Get after Save: rev %q soft-deleted %v", got.Rev(), got.IsSoftDeleted())
	}

	// Save creates a document that has no _rev, in an existing month.
	fresh := newRecordingID(testMonth)
	rev, err := s.Save(ctx, account, recordingDoc(fresh, created(testMonth, 2), nil))
	if err != nil {
		t.Fatalf("Save of a new document: %v", err)
	}
	wantGeneration(t, "Save of a new document", rev, 1)

	wantCode(t, "Delete with a stale rev", s.Delete(ctx, account, id, rev1), recording.EConflict)
	wantCode(t, "Delete without rev", s.Delete(ctx, account, id, ""), recording.EConflict)
	if err := s.Delete(ctx, account, id, rev2); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err = s.Get(ctx, account, id)
	wantCode(t, "Get after Delete", err, recording.ENotFound)
	wantCode(t, "Delete again", s.Delete(ctx, account, id, rev2), recording.ENotFound)
	// A deleted document is written again without a revision, like a new one.
	rev3, err := s.Save(ctx, account, recordingDoc(id, created(testMonth, 1), nil))
	if err != nil {
		t.Fatalf("Save after Delete: %v", err)
	}
	if generation(t, rev3) <= 2 {
		t.Fatalf("Save after Delete: revision %s, want a generation after the deletion's", rev3)
	}

	_, err = s.Get(ctx, account, newRecordingID(testMonth))
	wantCode(t, "Get of a missing doc", err, recording.ENotFound)
	_, err = s.Get(ctx, account, newRecordingID(testMonth.Next()))
	wantCode(t, "Get in a missing month", err, recording.ENotFound)
	_, err = s.Get(ctx, account, "not-a-recording-id")
	wantCode(t, "Get of a malformed id", err, recording.ENotFound)
	_, err = s.Get(ctx, "nope", id)
	wantCode(t, "Get with a malformed account id", err, recording.ENotFound)
	_, err = s.Get(ctx, NewAccountID(), id)
	wantCode(t, "Get in another account", err, recording.ENotFound)
	_, err = s.Save(ctx, account, recordingDoc(newRecordingID(testMonth.Next()), 1, nil))
	wantCode(t, "Save into a missing month", err, recording.ENotFound)
	_, err = s.Save(ctx, account, recordingDoc("not-a-recording-id", 1, nil))
	wantCode(t, "Save with a malformed id", err, recording.EInvalid)
	_, err = s.Save(ctx, account, recording.Doc{"name": "no id"})
	wantCode(t, "Save without _id", err, recording.EInvalid)
	wantCode(t, "Delete of a missing doc", s.Delete(ctx, account, newRecordingID(testMonth), "1-abc"), recording.ENotFound)
	wantCode(t, "Delete in a missing month", s.Delete(ctx, account, newRecordingID(testMonth.Next()), "1-abc"), recording.ENotFound)
	wantCode(t, "Delete of a malformed id", s.Delete(ctx, account, "not-a-recording-id", "1-abc"), recording.ENotFound)
	_, err = s.PutRecording(ctx, account, recordingDoc("not-a-recording-id", 1, nil))
	wantCode(t, "PutRecording with a malformed id", err, recording.EInvalid)
}

// testRevisions follows one document's revisions through every kind of write: each is
// N-<32 hex>, with N one more than the last, deletions included.
func testRevisions(t *testing.T, s Backend) {
	ctx := testContext(t)
	account := NewAccountID()
	id := newRecordingID(testMonth)
	seen := map[string]bool{}
	step := func(what, rev string, gen int) {
		t.Helper()
		wantGeneration(t, what, rev, gen)
		if seen[rev] {
			t.Fatalf("%s: revision %s given twice", what, rev)
		}
		seen[rev] = true
	}

	doc := recordingDoc(id, created(testMonth, 1), nil)
	rev := mustPutRecording(t, s, account, doc)
	step("PutRecording", rev, 1)
	// The same body again is still a new revision.
	rev = mustPutRecording(t, s, account, doc)
	step("PutRecording of the same body", rev, 2)
	doc = mustGet(t, s, account, id)
	rev, err := s.Save(ctx, account, doc)
	if err != nil {
		t.Fatal(err)
	}
	step("Save of the same body", rev, 3)
	rev, err = s.PutAttachment(ctx, account, id, rev, "a.mp3", "audio/mpeg", strings.NewReader("abc"))
	if err != nil {
		t.Fatal(err)
	}
	step("PutAttachment", rev, 4)
	saved, err := s.SaveMany(ctx, account, testMonth, []recording.Doc{mustGet(t, s, account, id)})
	if err != nil || saved[0].Err != nil {
		t.Fatalf("SaveMany: %+v, %v", saved, err)
	}
	step("SaveMany", saved[0].Rev, 5)
	if err := s.Delete(ctx, account, id, saved[0].Rev); err != nil {
		t.Fatal(err)
	}
	// The deletion was revision 6: the history goes on from there.
	rev = mustPutRecording(t, s, account, doc)
	step("PutRecording after Delete", rev, 7)
	if got := mustGet(t, s, account, id); got.Rev() != rev {
		t.Fatalf("Get: revision %s, want %s", got.Rev(), rev)
	}
}

// testSaveSpecialMembers covers what CouchDB does with the underscore members of a
// document it is given.
func testSaveSpecialMembers(t *testing.T, s Backend) {
	ctx := testContext(t)
	account := NewAccountID()
	id := newRecordingID(testMonth)
	rev1 := mustPutRecording(t, s, account, recordingDoc(id, created(testMonth, 1), nil))

	// _deleted: true deletes, at a new revision.
	doc := mustGet(t, s, account, id)
	doc["_deleted"] = true
	tombstone, err := s.Save(ctx, account, doc)
	if err != nil {
		t.Fatalf("Save with _deleted: %v", err)
	}
	wantGeneration(t, "Save with _deleted", tombstone, 2)
	_, err = s.Get(ctx, account, id)
	wantCode(t, "Get after Save with _deleted", err, recording.ENotFound)
	wantCode(t, "Delete after Save with _deleted, with the revision before", s.Delete(ctx, account, id, rev1), recording.ENotFound)
	// CouchDB 3 takes no revision over a deletion, neither the one before it nor the
	// tombstone's own: a deleted document is written again without _rev, and its history
	// goes on from the tombstone.
	_, err = s.Save(ctx, account, recordingDoc(id, created(testMonth, 1), map[string]any{"_rev": rev1}))
	wantCode(t, "Save over a deletion with the revision before it", err, recording.EConflict)
	if !onPouchDB(s) { // pouchdb-server still takes the tombstone's revision, as CouchDB 1 did
		_, err = s.Save(ctx, account, recordingDoc(id, created(testMonth, 1), map[string]any{"_rev": tombstone}))
		wantCode(t, "Save over a deletion with the tombstone's revision", err, recording.EConflict)
		wantCode(t, "Delete with the tombstone's revision", s.Delete(ctx, account, id, tombstone), recording.ENotFound)
	}
	rev, err := s.Save(ctx, account, recordingDoc(id, created(testMonth, 1), nil))
	if err != nil {
		t.Fatalf("Save over a deletion without a revision: %v", err)
	}
	wantGeneration(t, "Save over a deletion", rev, 3)

	// Underscore members CouchDB does not know are refused.
	doc = mustGet(t, s, account, id)
	doc["_secret"] = 1
	if _, err := s.Save(ctx, account, doc); err == nil {
		t.Fatal("Save with _secret succeeded")
	}
	if got := mustGet(t, s, account, id); got.Rev() != rev || got["_secret"] != nil {
		t.Fatalf("the refused Save changed the document: %v", got)
	}
}

func testNumbersStayExact(t *testing.T, s Backend) {
	account := NewAccountID()
	id := newRecordingID(testMonth)
	mustPutRecording(t, s, account, recordingDoc(id, created(testMonth, 1), map[string]any{
		"duration":   17,
		"big":        json.Number("4503599627370497"), // 2^52+1: exact in a float64 too, so JavaScript servers keep it
		"fraction":   json.Number("0.25"),
		"nested":     map[string]any{"list": []any{json.Number("1"), "two", nil, true}},
		"unicode":    "Zoë ☎ \u00a0<&>",
		"empty":      map[string]any{},
		"empty_list": []any{},
	}))
	doc := mustGet(t, s, account, id)
	for field, want := range map[string]string{"duration": "17", "big": "4503599627370497", "fraction": "0.25"} {
		if n, ok := doc[field].(json.Number); !ok || n.String() != want {
			t.Fatalf("%s %#v, want json.Number %s", field, doc[field], want)
		}
	}
	if c, ok := doc.Int("pvt_created"); !ok || c != created(testMonth, 1) {
		t.Fatalf("pvt_created %#v", doc["pvt_created"])
	}
	if doc["unicode"] != "Zoë ☎ \u00a0<&>" {
		t.Fatalf("unicode %q", doc["unicode"])
	}
	got, _ := json.Marshal(map[string]any{"nested": doc["nested"], "empty": doc["empty"], "empty_list": doc["empty_list"]})
	if want := `{"empty":{},"empty_list":[],"nested":{"list":[1,"two",null,true]}}`; string(got) != want {
		t.Fatalf("fields came back as %s, want %s", got, want)
	}
}

func testGetMany(t *testing.T, s Backend) {
	ctx := testContext(t)
	account := NewAccountID()
	a, b, gone := newRecordingID(testMonth), newRecordingID(testMonth), newRecordingID(testMonth)
	missing := newRecordingID(testMonth)
	for i, id := range []string{a, b, gone} {
		mustPutRecording(t, s, account, recordingDoc(id, created(testMonth, int64(i)), nil))
	}
	if err := s.Delete(ctx, account, gone, mustGet(t, s, account, gone).Rev()); err != nil {
		t.Fatal(err)
	}

	results, err := s.GetMany(ctx, account, testMonth, []string{b, missing, a, gone, b, "not-a-recording-id"})
	if err != nil {
		t.Fatalf("GetMany: %v", err)
	}
	want := []struct {
		id   string
		code string
	}{{b, ""}, {missing, recording.ENotFound}, {a, ""}, {gone, recording.ENotFound}, {b, ""}, {"not-a-recording-id", recording.ENotFound}}
	if len(results) != len(want) {
		t.Fatalf("%d results, want %d", len(results), len(want))
	}
	for i, w := range want {
		r := results[i]
		if r.ID != w.id || recording.ErrorCode(r.Err) != w.code {
			t.Fatalf("result %d: id %s err %v; want id %s code %q", i, r.ID, r.Err, w.id, w.code)
		}
		if w.code == "" && (r.Doc.ID() != w.id || r.Doc.Rev() != mustGet(t, s, account, w.id).Rev()) {
			t.Fatalf("result %d: doc %v", i, r.Doc)
		}
	}
	// A repeated id yields documents of its own: changing one leaves the other alone.
	results[0].Doc["name"] = "changed"
	if results[4].Doc.String("name") == "changed" {
		t.Fatal("GetMany shares one document between results")
	}

	results, err = s.GetMany(ctx, account, testMonth, nil)
	if err != nil || results == nil || len(results) != 0 {
		t.Fatalf("GetMany of no ids: %#v, %v; want an empty slice", results, err)
	}
	// A month that does not exist: every id is simply not found.
	other := testMonth.Prev()
	results, err = s.GetMany(ctx, account, other, []string{newRecordingID(other), newRecordingID(other)})
	if err != nil || len(results) != 2 {
		t.Fatalf("GetMany in a missing month: %v, %v", results, err)
	}
	for _, r := range results {
		wantCode(t, "GetMany in a missing month", r.Err, recording.ENotFound)
	}
	_, err = s.GetMany(ctx, "nope", testMonth, []string{a})
	wantCode(t, "GetMany with a malformed account id", err, recording.ENotFound)
}

func testSaveMany(t *testing.T, s Backend) {
	ctx := testContext(t)
	account := NewAccountID()
	a, b := newRecordingID(testMonth), newRecordingID(testMonth)
	for i, id := range []string{a, b} {
		mustPutRecording(t, s, account, recordingDoc(id, created(testMonth, int64(i)), nil))
	}
	docA, docB := mustGet(t, s, account, a), mustGet(t, s, account, b)

	// Save a and b; then save them again with a's stale rev: only a conflicts.
	docA["soft_delete"] = map[string]any{"at": 2}
	docB["soft_delete"] = map[string]any{"at": 2}
	saved, err := s.SaveMany(ctx, account, testMonth, []recording.Doc{docA, docB})
	if err != nil || len(saved) != 2 {
		t.Fatalf("SaveMany: %v, %v", saved, err)
	}
	for i, r := range saved {
		if r.Err != nil || r.ID != []string{a, b}[i] {
			t.Fatalf("SaveMany result %d: %+v", i, r)
		}
		wantGeneration(t, "SaveMany", r.Rev, 2)
	}
	docB["_rev"] = saved[1].Rev
	delete(docA, "soft_delete")
	delete(docB, "soft_delete")
	unknown := newRecordingID(testMonth)
	fresh := recordingDoc(newRecordingID(testMonth), created(testMonth, 9), nil)
	saved, err = s.SaveMany(ctx, account, testMonth, []recording.Doc{
		docA, docB, {"no": "id"},
		recordingDoc(unknown, 1, map[string]any{"_rev": "1-0123456789abcdef0123456789abcdef"}),
		fresh,
	})
	if err != nil || len(saved) != 5 {
		t.Fatalf("SaveMany: %v, %v", saved, err)
	}
	wantCode(t, "SaveMany stale doc", saved[0].Err, recording.EConflict)
	if saved[0].ID != a || saved[0].Rev != "" {
		t.Fatalf("SaveMany stale doc: %+v", saved[0])
	}
	if saved[1].Err != nil || saved[1].ID != b {
		t.Fatalf("SaveMany fresh doc: %+v", saved[1])
	}
	wantGeneration(t, "SaveMany fresh doc", saved[1].Rev, 3)
	wantCode(t, "SaveMany doc without _id", saved[2].Err, recording.EInvalid)
	// An unknown document with a _rev has no reliable answer on CouchDB 3 (see
	// testGetSaveDelete): only its place in the results is checked.
	if saved[3].ID != unknown {
		t.Fatalf("SaveMany unknown doc: %+v", saved[3])
	}
	if saved[4].Err != nil || saved[4].ID != fresh.ID() {
		t.Fatalf("SaveMany new doc: %+v", saved[4])
	}
	wantGeneration(t, "SaveMany new doc", saved[4].Rev, 1)
	if got := mustGet(t, s, account, a); !got.IsSoftDeleted() {
		t.Fatalf("the conflicting write must not have landed: %v", got)
	}
	if got := mustGet(t, s, account, b); got.IsSoftDeleted() || got.Rev() != saved[1].Rev {
		t.Fatalf("the fresh write must have landed: %v", got)
	}
	if got := mustGet(t, s, account, fresh.ID()); got.Rev() != saved[4].Rev {
		t.Fatalf("the new document must have landed: %v", got)
	}
	if saved[3].Err != nil {
		wantCode(t, "SaveMany unknown doc with a _rev, refused", saved[3].Err, recording.EConflict)
		_, err = s.Get(ctx, account, unknown)
		wantCode(t, "the refused unknown doc must not have been created", err, recording.ENotFound)
	} else if got := mustGet(t, s, account, unknown); got.Rev() != saved[3].Rev {
		t.Fatalf("the accepted unknown doc is at %s, SaveMany said %s", got.Rev(), saved[3].Rev)
	}

	saved, err = s.SaveMany(ctx, account, testMonth, nil)
	if err != nil || saved == nil || len(saved) != 0 {
		t.Fatalf("SaveMany of nothing: %#v, %v; want an empty slice", saved, err)
	}
	// A month that does not exist: every document is not found, except those refused first.
	other := testMonth.Prev()
	saved, err = s.SaveMany(ctx, account, other, []recording.Doc{recordingDoc(newRecordingID(other), 1, nil), {"no": "id"}})
	if err != nil || len(saved) != 2 {
		t.Fatalf("SaveMany in a missing month: %v, %v", saved, err)
	}
	wantCode(t, "SaveMany in a missing month", saved[0].Err, recording.ENotFound)
	wantCode(t, "SaveMany without _id in a missing month", saved[1].Err, recording.EInvalid)
	if exists, err := s.MonthExists(ctx, account, other); err != nil || exists {
		t.Fatalf("SaveMany created the month: %v, %v", exists, err)
	}
	_, err = s.SaveMany(ctx, "nope", testMonth, []recording.Doc{docA})
	wantCode(t, "SaveMany with a malformed account id", err, recording.ENotFound)
}
