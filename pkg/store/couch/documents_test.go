package couch

import (
	"encoding/json"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
)

func TestGetSaveDelete(t *testing.T) {
	s := newTestStore(t)
	ctx := testContext(t)
	account := couchtest.NewAccountID()
	id := newRecordingID(testMonth)
	rev1 := mustPutRecording(t, s, account, recordingDoc(id, created(testMonth, 1), map[string]any{"duration": 17}))

	doc, err := s.Get(ctx, account, id)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if doc.Rev() != rev1 {
		t.Fatalf("rev %q, want %q", doc.Rev(), rev1)
	}
	if n, ok := doc["duration"].(json.Number); !ok || n != "17" {
		t.Fatalf("duration %#v: numbers must stay json.Number", doc["duration"])
	}

	doc["soft_delete"] = map[string]any{"at": 1}
	rev2, err := s.Save(ctx, account, doc)
	if err != nil || rev2 == "" || rev2 == rev1 {
		t.Fatalf("Save: rev %q, err %v", rev2, err)
	}
	// The same document again, still at rev1: somebody else got there first.
	_, err = s.Save(ctx, account, doc)
	wantCode(t, "Save with a stale rev", err, recording.EConflict)

	got, err := s.Get(ctx, account, id)
	if err != nil || got.Rev() != rev2 || !got.IsSoftDeleted() {
		t.Fatalf("Get after Save: rev %q soft-deleted %v, err %v", got.Rev(), got.IsSoftDeleted(), err)
	}

	wantCode(t, "Delete with a stale rev", s.Delete(ctx, account, id, rev1), recording.EConflict)
	if err := s.Delete(ctx, account, id, rev2); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err = s.Get(ctx, account, id)
	wantCode(t, "Get after Delete", err, recording.ENotFound)
	wantCode(t, "Delete again", s.Delete(ctx, account, id, rev2), recording.ENotFound)

	_, err = s.Get(ctx, account, newRecordingID(testMonth))
	wantCode(t, "Get of a missing doc", err, recording.ENotFound)
	_, err = s.Get(ctx, account, newRecordingID(testMonth.Next()))
	wantCode(t, "Get in a missing month", err, recording.ENotFound)
	_, err = s.Get(ctx, account, "not-a-recording-id")
	wantCode(t, "Get of a malformed id", err, recording.ENotFound)
	_, err = s.Save(ctx, account, recordingDoc(newRecordingID(testMonth.Next()), 1, nil))
	wantCode(t, "Save into a missing month", err, recording.ENotFound)
	wantCode(t, "Delete of a missing doc", s.Delete(ctx, account, newRecordingID(testMonth), "1-abc"), recording.ENotFound)
}

func TestGetManySaveMany(t *testing.T) {
	s := newTestStore(t)
	ctx := testContext(t)
	account := couchtest.NewAccountID()
	a, b, gone := newRecordingID(testMonth), newRecordingID(testMonth), newRecordingID(testMonth)
	missing := newRecordingID(testMonth)
	for i, id := range []string{a, b, gone} {
		mustPutRecording(t, s, account, recordingDoc(id, created(testMonth, int64(i)), nil))
	}
	goneDoc, err := s.Get(ctx, account, gone)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, account, gone, goneDoc.Rev()); err != nil {
		t.Fatal(err)
	}

	results, err := s.GetMany(ctx, account, testMonth, []string{b, missing, a, gone, b})
	if err != nil {
		t.Fatalf("GetMany: %v", err)
	}
	want := []struct {
		id   string
		code string
	}{{b, ""}, {missing, recording.ENotFound}, {a, ""}, {gone, recording.ENotFound}, {b, ""}}
	if len(results) != len(want) {
		t.Fatalf("%d results, want %d", len(results), len(want))
	}
	for i, w := range want {
		r := results[i]
		if r.ID != w.id || recording.ErrorCode(r.Err) != w.code {
			t.Fatalf("result %d: id %s err %v; want id %s code %q", i, r.ID, r.Err, w.id, w.code)
		}
		if w.code == "" && (r.Doc.ID() != w.id || r.Doc.Rev() == "") {
			t.Fatalf("result %d: doc %v", i, r.Doc)
		}
	}

	// Save a and b; then save them again with a's stale rev: only a conflicts.
	docA, docB := results[2].Doc, results[0].Doc
	docA["soft_delete"] = map[string]any{"at": 2}
	docB["soft_delete"] = map[string]any{"at": 2}
	saved, err := s.SaveMany(ctx, account, testMonth, []recording.Doc{docA, docB})
	if err != nil {
		t.Fatalf("SaveMany: %v", err)
	}
	for i, r := range saved {
		if r.Err != nil || r.Rev == "" {
			t.Fatalf("SaveMany result %d: %+v", i, r)
		}
	}
	docB["_rev"] = saved[1].Rev
	delete(docA, "soft_delete")
	delete(docB, "soft_delete")
	saved, err = s.SaveMany(ctx, account, testMonth, []recording.Doc{docA, docB, {"no": "id"}})
	if err != nil {
		t.Fatalf("SaveMany: %v", err)
	}
	wantCode(t, "SaveMany stale doc", saved[0].Err, recording.EConflict)
	if saved[1].Err != nil || saved[1].ID != b || saved[1].Rev == "" {
		t.Fatalf("SaveMany fresh doc: %+v", saved[1])
	}
	wantCode(t, "SaveMany doc without _id", saved[2].Err, recording.EInvalid)
	if got, _ := s.Get(ctx, account, a); !got.IsSoftDeleted() {
		t.Fatalf("the conflicting write must not have landed: %v", got)
	}
	if got, _ := s.Get(ctx, account, b); got.IsSoftDeleted() || got.Rev() != saved[1].Rev {
		t.Fatalf("the fresh write must have landed: %v", got)
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
	saved, err = s.SaveMany(ctx, account, other, []recording.Doc{recordingDoc(newRecordingID(other), 1, nil)})
	if err != nil || len(saved) != 1 {
		t.Fatalf("SaveMany in a missing month: %v, %v", saved, err)
	}
	wantCode(t, "SaveMany in a missing month", saved[0].Err, recording.ENotFound)
}

func TestAccountsAndUsers(t *testing.T) {
	s := newTestStore(t)
	ctx := testContext(t)
	account := couchtest.NewAccountID()

	_, err := s.Account(ctx, account)
	wantCode(t, "Account before PutAccount", err, recording.ENotFound)
	_, err = s.Account(ctx, "nope")
	wantCode(t, "Account with a malformed id", err, recording.ENotFound)

	for _, name := range []string{"first", "second"} { // the second write replaces the first
		if err := s.PutAccount(ctx, recording.Doc{"_id": account, "name": name, "pvt_type": "account"}); err != nil {
			t.Fatalf("PutAccount: %v", err)
		}
	}
	doc, err := s.Account(ctx, account)
	if err != nil || doc.String("name") != "second" {
		t.Fatalf("Account: %v, %v", doc, err)
	}

	user, deleted := randomHex(16), randomHex(16)
	if err := s.PutUser(ctx, account, recording.Doc{"_id": user, "pvt_type": "user"}); err != nil {
		t.Fatalf("PutUser: %v", err)
	}
	if err := s.PutUser(ctx, account, recording.Doc{"_id": deleted, "pvt_type": "user", "pvt_deleted": true}); err != nil {
		t.Fatalf("PutUser: %v", err)
	}
	if doc, err := s.User(ctx, account, user); err != nil || doc.ID() != user {
		t.Fatalf("User: %v, %v", doc, err)
	}
	_, err = s.User(ctx, account, deleted)
	wantCode(t, "User pvt_deleted", err, recording.ENotFound)
	_, err = s.User(ctx, account, randomHex(16))
	wantCode(t, "User missing", err, recording.ENotFound)
	_, err = s.User(ctx, couchtest.NewAccountID(), user)
	wantCode(t, "User of a missing account", err, recording.ENotFound)
	err = s.PutUser(ctx, couchtest.NewAccountID(), recording.Doc{"_id": user})
	wantCode(t, "PutUser into a missing account", err, recording.ENotFound)

	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}
