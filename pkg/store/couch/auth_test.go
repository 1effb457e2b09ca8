package couch

import (
	"slices"
	"sync"
	"testing"

	"github.com/recordingsd/recordingsd/couchviews"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
)

// seedUsers writes an account database the way Kazoo would, without our design document,
// holding n enabled users sharing md5 hash; it returns their ids, sorted.
func seedUsers(t *testing.T, s *Store, account, hash string, n int) []string {
	t.Helper()
	ctx := testContext(t)
	if err := s.PutAccount(ctx, recording.Doc{"_id": account, "pvt_type": "account"}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range n {
		id := randomHex(16)
		if err := s.PutUser(ctx, account, recording.Doc{"_id": id, "pvt_type": "user", "enabled": true, "pvt_md5_auth": hash}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func usersByMD5(t *testing.T, s *Store, account, hash string) []string {
	t.Helper()
	users, err := s.UsersByCredentials(testContext(t), account, recording.FieldMD5Auth, hash)
	if err != nil {
		t.Fatalf("UsersByCredentials: %v", err)
	}
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID()
	}
	return ids
}

// TestAuthDesignInstallRace: processes meet an account database without our design
// document at the same moment; all install it (some get a 409) and all answer.
func TestAuthDesignInstallRace(t *testing.T) {
	seeder := newTestStore(t)
	account, hash := couchtest.NewAccountID(), randomHex(16)
	want := seedUsers(t, seeder, account, hash, 2)

	stores := []*Store{newTestStore(t), newTestStore(t), newTestStore(t)}
	ctx := testContext(t)
	var wg sync.WaitGroup
	errs := make(chan error, 9)
	found := make(chan []recording.Doc, 9)
	for i := range 9 {
		wg.Go(func() {
			users, err := stores[i%3].UsersByCredentials(ctx, account, recording.FieldMD5Auth, hash)
			errs <- err
			found <- users
		})
	}
	wg.Wait()
	close(errs)
	close(found)
	for err := range errs {
		if err != nil {
			t.Fatalf("UsersByCredentials: %v", err)
		}
	}
	for users := range found {
		if len(users) != len(want) || users[0].ID() != want[0] || users[1].ID() != want[1] {
			t.Fatalf("UsersByCredentials found %v, want %v", users, want)
		}
	}
	design, err := seeder.readDoc(ctx, recording.AccountDBName(account), couchviews.AuthDesignID)
	if err != nil || !couchviews.Auth.IsCurrent(design) {
		t.Fatalf("installed auth design document: %v, %v", design, err)
	}
}

// TestAuthDesignUpgrade: an older _design/recordingsd_auth is replaced before the lookup.
func TestAuthDesignUpgrade(t *testing.T) {
	s := newTestStore(t)
	ctx := testContext(t)
	account, hash := couchtest.NewAccountID(), randomHex(16)
	want := seedUsers(t, s, account, hash, 1)
	dbName := recording.AccountDBName(account)
	version, _ := couchviews.Auth.Version()
	old := map[string]any{
		"language":    "javascript",
		"recordingsd": map[string]any{"version": version - 1},
		"views": map[string]any{
			couchviews.ViewCredsByMD5: map[string]any{"map": "function (doc) {}"},
		},
	}
	if _, err := s.client.DB(dbName).Put(ctx, couchviews.AuthDesignID, old); err != nil {
		t.Fatal(err)
	}
	if got := usersByMD5(t, s, account, hash); !slices.Equal(got, want) {
		t.Fatalf("over an outdated design: %v, want %v", got, want)
	}
	if design, err := s.readDoc(ctx, dbName, couchviews.AuthDesignID); err != nil || !couchviews.Auth.IsCurrent(design) {
		t.Fatalf("design not upgraded: %v, %v", design, err)
	}
}

// TestAuthDesignRemovedUnderUs: the design document, then the whole account database, go
// away after this process installed the view; lookups reinstall it, or find nobody.
func TestAuthDesignRemovedUnderUs(t *testing.T) {
	s := newTestStore(t)
	ctx := testContext(t)
	account, hash := couchtest.NewAccountID(), randomHex(16)
	want := seedUsers(t, s, account, hash, 1)
	dbName := recording.AccountDBName(account)
	if got := usersByMD5(t, s, account, hash); !slices.Equal(got, want) {
		t.Fatalf("first lookup: %v, want %v", got, want)
	}

	design, err := s.readDoc(ctx, dbName, couchviews.AuthDesignID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.client.DB(dbName).Delete(ctx, couchviews.AuthDesignID, design.Rev()); err != nil {
		t.Fatal(err)
	}
	if got := usersByMD5(t, s, account, hash); !slices.Equal(got, want) {
		t.Fatalf("after the design document was deleted: %v, want %v", got, want)
	}

	if err := s.client.DestroyDB(ctx, dbName); err != nil {
		t.Fatal(err)
	}
	if got := usersByMD5(t, s, account, hash); len(got) != 0 {
		t.Fatalf("after the account database was deleted: %v", got)
	}
	if exists, err := s.client.DBExists(ctx, dbName); err != nil || exists {
		t.Fatalf("a lookup re-created the account database: %v, %v", exists, err)
	}

	want = seedUsers(t, s, account, hash, 1)
	if got := usersByMD5(t, s, account, hash); !slices.Equal(got, want) {
		t.Fatalf("after the account database was created again: %v, want %v", got, want)
	}
}

// TestSystemDocDeleted: a document CouchDB deleted is missing, and so are its attachments.
func TestSystemDocDeleted(t *testing.T) {
	s := newTestStore(t)
	ctx := testContext(t)
	kid := randomHex(16)
	rev, err := s.PutSystemDoc(ctx, recording.SystemAuthDB, recording.Doc{"_id": kid, "pvt_type": "system_key"})
	if err != nil {
		t.Fatal(err)
	}
	if rev, err = s.PutSystemAttachment(ctx, recording.SystemAuthDB, kid, rev, "private_key.pem", "application/x-pem-file", []byte("key")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.client.DB(recording.SystemAuthDB).Delete(ctx, kid, rev); err != nil {
		t.Fatal(err)
	}
	_, err = s.SystemDoc(ctx, recording.SystemAuthDB, kid)
	wantCode(t, "SystemDoc of a deleted document", err, recording.ENotFound)
	_, err = s.SystemAttachment(ctx, recording.SystemAuthDB, kid, "private_key.pem", 100)
	wantCode(t, "SystemAttachment of a deleted document", err, recording.ENotFound)
	// Written again without a revision, like a new one.
	if _, err := s.PutSystemDoc(ctx, recording.SystemAuthDB, recording.Doc{"_id": kid, "pvt_type": "system_key"}); err != nil {
		t.Fatalf("PutSystemDoc over a deleted document: %v", err)
	}
	if _, err := s.SystemDoc(ctx, recording.SystemAuthDB, kid); err != nil {
		t.Fatal(err)
	}
}
