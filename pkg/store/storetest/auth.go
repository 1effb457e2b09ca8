package storetest

import (
	"bytes"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// The authentication data as Kazoo lays it out: signing keys in system_auth (doc id = kid,
// attachment private_key.pem), secrets in system_config, users with their credential
// hashes in the account database.

const (
	keyAttachment = "private_key.pem"
	pemType       = "application/x-pem-file"
)

// newSystemDBName names a system database no other case (or run) uses.
func newSystemDBName() string { return "storetest_" + randomHex(8) }

// fakePEM is the size and shape of a 2048-bit PKCS#1 key; its content does not matter here.
func fakePEM(t *testing.T) []byte {
	t.Helper()
	der := make([]byte, 1192)
	if _, err := rand.Read(der); err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der})
}

func mustPutSystemDoc(t *testing.T, s Backend, db string, doc recording.Doc) string {
	t.Helper()
	rev, err := s.PutSystemDoc(testContext(t), db, doc)
	if err != nil {
		t.Fatalf("PutSystemDoc %s/%s: %v", db, doc.ID(), err)
	}
	wantRev(t, "PutSystemDoc "+doc.ID(), rev)
	return rev
}

func mustSystemDoc(t *testing.T, s Backend, db, id string) recording.Doc {
	t.Helper()
	doc, err := s.SystemDoc(testContext(t), db, id)
	if err != nil {
		t.Fatalf("SystemDoc %s/%s: %v", db, id, err)
	}
	return doc
}

func mustSystemAttachment(t *testing.T, s Backend, db, id, name string, max int64) []byte {
	t.Helper()
	b, err := s.SystemAttachment(testContext(t), db, id, name, max)
	if err != nil {
		t.Fatalf("SystemAttachment %s/%s/%s max %d: %v", db, id, name, max, err)
	}
	return b
}

func testSystemDocs(t *testing.T, s Backend) {
	ctx := testContext(t)
	kid := randomHex(16)
	_, err := s.SystemDoc(ctx, recording.SystemAuthDB, kid)
	wantCode(t, "SystemDoc before PutSystemDoc", err, recording.ENotFound)

	rev1 := mustPutSystemDoc(t, s, recording.SystemAuthDB, recording.Doc{
		"_id": kid, "pvt_type": "system_key", "pvt_created": jsonInt(63881234567),
	})
	wantGeneration(t, "PutSystemDoc", rev1, 1)
	doc := mustSystemDoc(t, s, recording.SystemAuthDB, kid)
	if doc.ID() != kid || doc.Rev() != rev1 || doc.Type() != "system_key" || doc["pvt_created"] != jsonInt(63881234567) {
		t.Fatalf("SystemDoc: %v; want _rev %s", doc, rev1)
	}

	// An upsert: whatever _rev the document carries, it replaces the current revision.
	rev2 := mustPutSystemDoc(t, s, recording.SystemAuthDB, recording.Doc{
		"_id": kid, "_rev": "1-00000000000000000000000000000000", "pvt_type": "system_key", "note": "second",
	})
	wantGeneration(t, "PutSystemDoc over an existing document", rev2, 2)
	doc = mustSystemDoc(t, s, recording.SystemAuthDB, kid)
	if doc.Rev() != rev2 || doc.String("note") != "second" || doc["pvt_created"] != nil {
		t.Fatalf("SystemDoc after the second write: %v", doc)
	}

	// system_config/auth's shape, under an id of this case's own.
	cfgID := "auth_" + randomHex(8)
	secret := randomHex(16)
	mustPutSystemDoc(t, s, recording.SystemConfigDB, recording.Doc{
		"_id":     cfgID,
		"default": map[string]any{"system_key": kid, "secret_for_user_signature": secret},
	})
	cfg := mustSystemDoc(t, s, recording.SystemConfigDB, cfgID)
	def, _ := cfg["default"].(map[string]any)
	if def["system_key"] != kid || def["secret_for_user_signature"] != secret {
		t.Fatalf("system_config document: %v", cfg)
	}

	// PutSystemDoc creates the database it names.
	fresh := newSystemDBName()
	_, err = s.SystemDoc(ctx, fresh, "x")
	wantCode(t, "SystemDoc in a missing database", err, recording.ENotFound)
	mustPutSystemDoc(t, s, fresh, recording.Doc{"_id": "x", "n": jsonInt(1)})
	if doc := mustSystemDoc(t, s, fresh, "x"); doc["n"] != jsonInt(1) {
		t.Fatalf("SystemDoc in a database PutSystemDoc created: %v", doc)
	}
	_, err = s.SystemDoc(ctx, fresh, "y")
	wantCode(t, "SystemDoc of a missing document in an existing database", err, recording.ENotFound)

	for _, c := range []struct{ what, db, id string }{
		{"a missing document", recording.SystemAuthDB, randomHex(16)},
		{"an empty id", recording.SystemAuthDB, ""},
		{"a design document", recording.SystemAuthDB, "_design/auth"},
		{"an endpoint", recording.SystemAuthDB, "_all_docs"},
		{"an empty database name", "", kid},
		{"a database name that is not one", "System Auth", kid},
		{"an account database", recording.AccountDBName(NewAccountID()), kid},
		{"a name starting with an underscore", "_users", kid},
	} {
		_, err = s.SystemDoc(ctx, c.db, c.id)
		wantCode(t, "SystemDoc of "+c.what, err, recording.ENotFound)
	}

	_, err = s.PutSystemDoc(ctx, recording.SystemAuthDB, recording.Doc{"pvt_type": "system_key"})
	wantCode(t, "PutSystemDoc without _id", err, recording.EInvalid)
	_, err = s.PutSystemDoc(ctx, recording.SystemAuthDB, recording.Doc{"_id": "_design/x"})
	wantCode(t, "PutSystemDoc of a design document", err, recording.EInvalid)
	_, err = s.PutSystemDoc(ctx, "System Auth", recording.Doc{"_id": "x"})
	wantCode(t, "PutSystemDoc into a bad database name", err, recording.EInvalid)
	_, err = s.PutSystemDoc(ctx, recording.AccountDBName(NewAccountID()), recording.Doc{"_id": "x"})
	wantCode(t, "PutSystemDoc into an account database", err, recording.EInvalid)
}

func testSystemAttachments(t *testing.T, s Backend) {
	ctx := testContext(t)
	db := recording.SystemAuthDB
	kid := randomHex(16)
	rev := mustPutSystemDoc(t, s, db, recording.Doc{"_id": kid, "pvt_type": "system_key"})

	key := fakePEM(t)
	rev2, err := s.PutSystemAttachment(ctx, db, kid, rev, keyAttachment, pemType, key)
	if err != nil {
		t.Fatalf("PutSystemAttachment: %v", err)
	}
	wantGeneration(t, "PutSystemAttachment", rev2, 2)
	_, err = s.PutSystemAttachment(ctx, db, kid, rev, "other.pem", pemType, key)
	wantCode(t, "PutSystemAttachment with a stale rev", err, recording.EConflict)
	_, err = s.PutSystemAttachment(ctx, db, kid, "", "other.pem", pemType, key)
	wantCode(t, "PutSystemAttachment without rev on an existing doc", err, recording.EConflict)

	doc := mustSystemDoc(t, s, db, kid)
	if doc.Rev() != rev2 || doc.Type() != "system_key" {
		t.Fatalf("SystemDoc after PutSystemAttachment: %v", doc)
	}
	wantStub(t, doc, keyAttachment, pemType, key, 2)
	if got := mustSystemAttachment(t, s, db, kid, keyAttachment, 8192); !bytes.Equal(got, key) {
		t.Fatalf("key reads %q, want %q", got, key)
	}
	size := int64(len(key))
	if got := mustSystemAttachment(t, s, db, kid, keyAttachment, size); !bytes.Equal(got, key) {
		t.Fatal("key read with max = its size differs")
	}
	_, err = s.SystemAttachment(ctx, db, kid, keyAttachment, size-1)
	wantCode(t, "SystemAttachment one byte over max", err, recording.EInvalid)
	_, err = s.SystemAttachment(ctx, db, kid, keyAttachment, 0)
	wantCode(t, "SystemAttachment with max 0", err, recording.EInvalid)
	_, err = s.SystemAttachment(ctx, db, kid, keyAttachment, -1)
	wantCode(t, "SystemAttachment with a negative max", err, recording.EInvalid)

	// ~100 KB of random bytes with a run of zeros: a gzip on the way would show.
	blob := make([]byte, 100000)
	if _, err := rand.Read(blob); err != nil {
		t.Fatal(err)
	}
	copy(blob[20000:], make([]byte, 30000))
	rev3, err := s.PutSystemAttachment(ctx, db, kid, rev2, "blob.bin", "application/octet-stream", blob)
	if err != nil {
		t.Fatalf("PutSystemAttachment of 100 KB: %v", err)
	}
	if got := mustSystemAttachment(t, s, db, kid, "blob.bin", 1<<20); !bytes.Equal(got, blob) {
		t.Fatalf("100 KB attachment: %d bytes read differ from the %d written", len(got), len(blob))
	}
	if got := mustSystemAttachment(t, s, db, kid, "blob.bin", int64(len(blob))); !bytes.Equal(got, blob) {
		t.Fatal("100 KB attachment read with max = its size differs")
	}
	_, err = s.SystemAttachment(ctx, db, kid, "blob.bin", int64(len(blob))-1)
	wantCode(t, "100 KB attachment one byte over max", err, recording.EInvalid)
	// The first attachment stays as it was.
	if got := mustSystemAttachment(t, s, db, kid, keyAttachment, 8192); !bytes.Equal(got, key) {
		t.Fatal("key changed by adding another attachment")
	}

	// A text type CouchDB compresses when it stores it: the bytes still come back as sent.
	text := []byte(strings.Repeat("-----BEGIN NOTHING-----\n", 400))
	rev4, err := s.PutSystemAttachment(ctx, db, kid, rev3, "notes.txt", "text/plain", text)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustSystemAttachment(t, s, db, kid, "notes.txt", 1<<20); !bytes.Equal(got, text) {
		t.Fatalf("text attachment: %d bytes read, %d written", len(got), len(text))
	}
	// An empty attachment with the default content type fits max 0.
	rev5, err := s.PutSystemAttachment(ctx, db, kid, rev4, "empty", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustSystemAttachment(t, s, db, kid, "empty", 0); len(got) != 0 {
		t.Fatalf("empty attachment reads %q", got)
	}
	doc = mustSystemDoc(t, s, db, kid)
	wantGeneration(t, "after four attachments", doc.Rev(), 5)
	if doc.Rev() != rev5 {
		t.Fatalf("rev %s, want %s", doc.Rev(), rev5)
	}
	wantStub(t, doc, "empty", "application/octet-stream", nil, 5)
	wantStub(t, doc, "blob.bin", "application/octet-stream", blob, 3)

	for _, c := range []struct{ what, db, id, name string }{
		{"a missing attachment", db, kid, "missing.pem"},
		{"an attachment without a name", db, kid, ""},
		{"a missing document", db, randomHex(16), keyAttachment},
		{"a missing database", newSystemDBName(), kid, keyAttachment},
		{"a bad database name", "System Auth", kid, keyAttachment},
		{"a design document", db, "_design/auth", keyAttachment},
	} {
		_, err = s.SystemAttachment(ctx, c.db, c.id, c.name, 1<<20)
		wantCode(t, "SystemAttachment of "+c.what, err, recording.ENotFound)
	}

	// Without a revision, PutSystemAttachment creates the document it names.
	bare := randomHex(16)
	bareRev, err := s.PutSystemAttachment(ctx, db, bare, "", keyAttachment, pemType, key)
	if err != nil {
		t.Fatalf("PutSystemAttachment creating its document: %v", err)
	}
	wantGeneration(t, "PutSystemAttachment creating its document", bareRev, 1)
	if got := mustSystemAttachment(t, s, db, bare, keyAttachment, 8192); !bytes.Equal(got, key) {
		t.Fatal("key of a document PutSystemAttachment created differs")
	}

	_, err = s.PutSystemAttachment(ctx, newSystemDBName(), kid, "", keyAttachment, pemType, key)
	wantCode(t, "PutSystemAttachment into a missing database", err, recording.ENotFound)
	_, err = s.PutSystemAttachment(ctx, db, kid, rev5, "", pemType, key)
	wantCode(t, "PutSystemAttachment without a name", err, recording.EInvalid)
	_, err = s.PutSystemAttachment(ctx, "System Auth", kid, "", keyAttachment, pemType, key)
	wantCode(t, "PutSystemAttachment into a bad database name", err, recording.EInvalid)
	_, err = s.PutSystemAttachment(ctx, db, "_design/auth", "", keyAttachment, pemType, key)
	wantCode(t, "PutSystemAttachment onto a design document", err, recording.EInvalid)

	// PutSystemDoc replaces the document: attachments it does not name are gone.
	mustPutSystemDoc(t, s, db, recording.Doc{"_id": kid, "pvt_type": "system_key"})
	_, err = s.SystemAttachment(ctx, db, kid, keyAttachment, 8192)
	wantCode(t, "key after PutSystemDoc replaced its document", err, recording.ENotFound)
}

func testAccountDocs(t *testing.T, s Backend) {
	ctx := testContext(t)
	account := NewAccountID()
	_, err := s.AccountDoc(ctx, account, account)
	wantCode(t, "AccountDoc before the account exists", err, recording.ENotFound)
	_, err = s.AccountDoc(ctx, "nope", account)
	wantCode(t, "AccountDoc with a malformed account id", err, recording.ENotFound)

	secret := randomHex(16)
	if err := s.PutAccount(ctx, recording.Doc{
		"_id": account, "pvt_type": "account", "pvt_signature_secret": secret, "pvt_tree": []any{},
	}); err != nil {
		t.Fatal(err)
	}
	doc, err := s.AccountDoc(ctx, account, account)
	if err != nil || doc.ID() != account || doc.Type() != "account" || doc.String("pvt_signature_secret") != secret {
		t.Fatalf("AccountDoc of the account itself: %v, %v", doc, err)
	}
	wantRev(t, "account document", doc.Rev())

	user, device, deleted := randomHex(16), randomHex(16), randomHex(16)
	for _, d := range []recording.Doc{
		{"_id": user, "pvt_type": "user", "priv_level": "user", "pvt_signature_secret": secret},
		{"_id": user, "pvt_type": "user", "priv_level": "admin", "pvt_signature_secret": secret}, // replaces, no revision needed
		{"_id": device, "pvt_type": "device", "owner_id": user},
		{"_id": deleted, "pvt_type": "user", "pvt_deleted": true},
	} {
		if err := s.PutAccountDoc(ctx, account, d); err != nil {
			t.Fatalf("PutAccountDoc %v: %v", d, err)
		}
	}
	doc, err = s.AccountDoc(ctx, account, user)
	if err != nil || doc.ID() != user || doc.String("priv_level") != "admin" {
		t.Fatalf("AccountDoc of a user: %v, %v", doc, err)
	}
	wantGeneration(t, "user after two writes", doc.Rev(), 2)
	if _, err := s.User(ctx, account, user); err != nil {
		t.Fatalf("User of a user PutAccountDoc wrote: %v", err)
	}
	if doc, err := s.AccountDoc(ctx, account, device); err != nil || doc.String("owner_id") != user {
		t.Fatalf("AccountDoc of a device: %v, %v", doc, err)
	}
	// AccountDoc returns a pvt_deleted document as stored; User does not.
	if doc, err := s.AccountDoc(ctx, account, deleted); err != nil || !doc.IsDeleted() {
		t.Fatalf("AccountDoc of a pvt_deleted user: %v, %v", doc, err)
	}
	_, err = s.User(ctx, account, deleted)
	wantCode(t, "User of a pvt_deleted user", err, recording.ENotFound)

	// The credentials index (a design document on CouchDB) is no document of the account's.
	if _, err := s.UsersByCredentials(ctx, account, "pvt_md5_auth", randomHex(16)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ what, account, id string }{
		{"a missing document", account, randomHex(16)},
		{"an empty id", account, ""},
		{"a design document", account, "_design/recordingsd_auth"},
		{"an endpoint", account, "_all_docs"},
		{"a document of another account", NewAccountID(), user},
	} {
		_, err = s.AccountDoc(ctx, c.account, c.id)
		wantCode(t, "AccountDoc of "+c.what, err, recording.ENotFound)
	}

	// PutAccountDoc creates the account database if needed, account document or not.
	fresh := NewAccountID()
	if err := s.PutAccountDoc(ctx, fresh, recording.Doc{"_id": device, "pvt_type": "device"}); err != nil {
		t.Fatalf("PutAccountDoc into a missing account database: %v", err)
	}
	if doc, err := s.AccountDoc(ctx, fresh, device); err != nil || doc.ID() != device {
		t.Fatalf("AccountDoc in the database PutAccountDoc created: %v, %v", doc, err)
	}
	_, err = s.Account(ctx, fresh)
	wantCode(t, "Account of a database without its account document", err, recording.ENotFound)

	err = s.PutAccountDoc(ctx, "nope", recording.Doc{"_id": device})
	wantCode(t, "PutAccountDoc with a malformed account id", err, recording.EInvalid)
	err = s.PutAccountDoc(ctx, account, recording.Doc{"pvt_type": "device"})
	wantCode(t, "PutAccountDoc without _id", err, recording.EInvalid)
	err = s.PutAccountDoc(ctx, account, recording.Doc{"_id": "_design/users"})
	wantCode(t, "PutAccountDoc of a design document", err, recording.EInvalid)
}

// credUser is one user of the UsersByCredentials table: its own md5 and sha1 hashes unless
// the case shares one, and whether the lookups should find it.
type credUser struct {
	name  string
	doc   recording.Doc
	md5   string
	sha1  string
	found bool
}

func userIDs(docs []recording.Doc) []string {
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.ID()
	}
	return out
}

func wantUsers(t *testing.T, s Backend, what, account, field, hash string, want ...string) []recording.Doc {
	t.Helper()
	want = slices.Clone(want)
	slices.Sort(want)
	var got []recording.Doc
	settle(t, s, func() error {
		var err error
		got, err = s.UsersByCredentials(testContext(t), account, field, hash)
		if err != nil {
			return fmt.Errorf("%s: UsersByCredentials %s %s: %v", what, field, hash, err)
		}
		if ids := userIDs(got); !slices.Equal(ids, want) {
			return fmt.Errorf("%s: UsersByCredentials %s = %v, want %v", what, field, ids, want)
		}
		return nil
	})
	return got
}

func testUsersByCredentials(t *testing.T, s Backend) {
	ctx := testContext(t)
	account := NewAccountID()
	if err := s.PutAccount(ctx, recording.Doc{"_id": account, "pvt_type": "account"}); err != nil {
		t.Fatal(err)
	}
	md5, sha1 := func() string { return randomHex(16) }, func() string { return randomHex(20) }
	sharedMD5, sharedSHA1 := md5(), sha1()
	user := func(name string, extra map[string]any, md5, sha1 string, found bool) credUser {
		d := recording.Doc{
			"_id": randomHex(16), "pvt_type": "user", "pvt_account_id": account, "username": name,
			"pvt_md5_auth": md5, "pvt_sha1_auth": sha1, "enabled": true,
		}
		for k, v := range extra {
			if v == nil {
				delete(d, k)
			} else {
				d[k] = v
			}
		}
		return credUser{name: name, doc: d, md5: md5, sha1: sha1, found: found}
	}
	users := []credUser{
		user("enabled true", map[string]any{"enabled": true}, md5(), sha1(), true),
		user("enabled absent", map[string]any{"enabled": nil}, md5(), sha1(), false),
		user("enabled false", map[string]any{"enabled": false}, md5(), sha1(), false),
		user(`enabled "false" (a string)`, map[string]any{"enabled": "false"}, md5(), sha1(), true),
		user("pvt_deleted true", map[string]any{"enabled": true, "pvt_deleted": true}, md5(), sha1(), false),
		user(`pvt_deleted "true"`, map[string]any{"enabled": true, "pvt_deleted": "true"}, md5(), sha1(), false),
		user("pvt_deleted false", map[string]any{"enabled": true, "pvt_deleted": false}, md5(), sha1(), true),
		user("pvt_type device", map[string]any{"enabled": true, "pvt_type": "device"}, md5(), sha1(), false),
		user("pvt_type absent", map[string]any{"enabled": true, "pvt_type": nil}, md5(), sha1(), false),
		user("shared hashes, first", map[string]any{"enabled": true}, sharedMD5, sharedSHA1, true),
		user("shared hashes, second", nil, sharedMD5, sharedSHA1, true),
		user("shared hashes, disabled", map[string]any{"enabled": false}, sharedMD5, sharedSHA1, false),
		user("md5 only", map[string]any{"pvt_sha1_auth": nil}, md5(), "", true),
		user("sha1 only", map[string]any{"pvt_md5_auth": nil}, "", sha1(), true),
	}
	for i, u := range users {
		put := s.PutAccountDoc // both writers reach the same database
		if i%2 == 1 {
			put = s.PutUser
		}
		if err := put(ctx, account, u.doc); err != nil {
			t.Fatalf("write user %s: %v", u.name, err)
		}
	}
	// The same hashes in another account are not this account's users.
	other, otherUser := NewAccountID(), randomHex(16)
	if err := s.PutAccountDoc(ctx, other, recording.Doc{
		"_id": otherUser, "pvt_type": "user", "enabled": true, "pvt_md5_auth": sharedMD5, "pvt_sha1_auth": sharedSHA1,
	}); err != nil {
		t.Fatal(err)
	}

	var sharedFound []string
	for _, u := range users {
		if u.md5 == sharedMD5 {
			if u.found {
				sharedFound = append(sharedFound, u.doc.ID())
			}
			continue
		}
		var want []string
		if u.found {
			want = []string{u.doc.ID()}
		}
		if u.md5 != "" {
			wantUsers(t, s, u.name+" by md5", account, "pvt_md5_auth", u.md5, want...)
			wantUsers(t, s, u.name+"'s md5 asked of the sha1 index", account, "pvt_sha1_auth", u.md5)
		}
		if u.sha1 != "" {
			wantUsers(t, s, u.name+" by sha1", account, "pvt_sha1_auth", u.sha1, want...)
			wantUsers(t, s, u.name+"'s sha1 asked of the md5 index", account, "pvt_md5_auth", u.sha1)
		}
	}
	got := wantUsers(t, s, "two users sharing an md5", account, "pvt_md5_auth", sharedMD5, sharedFound...)
	wantUsers(t, s, "two users sharing a sha1", account, "pvt_sha1_auth", sharedSHA1, sharedFound...)
	wantUsers(t, s, "the other account's user", other, "pvt_md5_auth", sharedMD5, otherUser)

	// The documents come whole, as stored.
	for _, d := range got {
		wantRev(t, "user found by credentials", d.Rev())
		if d.String("pvt_account_id") != account || d.String("pvt_md5_auth") != sharedMD5 || !strings.HasPrefix(d.String("username"), "shared hashes") {
			t.Fatalf("user found by credentials: %v", d)
		}
	}

	// Hashes match byte for byte.
	wantUsers(t, s, "md5 in upper case", account, "pvt_md5_auth", strings.ToUpper(users[0].md5))
	wantUsers(t, s, "md5 with a trailing space", account, "pvt_md5_auth", users[0].md5+" ")
	wantUsers(t, s, "an empty hash", account, "pvt_md5_auth", "")
	wantUsers(t, s, "an empty hash", account, "pvt_sha1_auth", "")

	// No account database: no users, no error, and nothing created.
	missing := NewAccountID()
	wantUsers(t, s, "a missing account database", missing, "pvt_md5_auth", users[0].md5)
	wantUsers(t, s, "a missing account database", missing, "pvt_sha1_auth", users[0].sha1)
	_, err := s.AccountDoc(ctx, missing, missing)
	wantCode(t, "AccountDoc after a lookup in a missing account database", err, recording.ENotFound)
	wantUsers(t, s, "a malformed account id", "nope", "pvt_md5_auth", users[0].md5)

	_, err = s.UsersByCredentials(ctx, account, "password", users[0].md5)
	wantCode(t, "UsersByCredentials of an unknown field", err, recording.EInvalid)
}

// testUsersByCredentialsFollowWrites: every write to a user shows in the next lookup.
func testUsersByCredentialsFollowWrites(t *testing.T, s Backend) {
	ctx := testContext(t)
	account := NewAccountID()
	id := randomHex(16)
	first, second := randomHex(16), randomHex(16)
	put := func(extra map[string]any) {
		t.Helper()
		d := recording.Doc{"_id": id, "pvt_type": "user", "enabled": true, "pvt_md5_auth": first}
		for k, v := range extra {
			d[k] = v
		}
		if err := s.PutAccountDoc(ctx, account, d); err != nil {
			t.Fatal(err)
		}
	}
	// The first lookup before the user exists: on CouchDB it installs the index early.
	wantUsers(t, s, "before the user exists", account, "pvt_md5_auth", first)
	put(nil)
	wantUsers(t, s, "after the user is written", account, "pvt_md5_auth", first, id)
	put(map[string]any{"enabled": false})
	wantUsers(t, s, "after the user is disabled", account, "pvt_md5_auth", first)
	put(map[string]any{"pvt_md5_auth": second})
	wantUsers(t, s, "after the password changed: the old hash", account, "pvt_md5_auth", first)
	wantUsers(t, s, "after the password changed: the new hash", account, "pvt_md5_auth", second, id)
	put(map[string]any{"pvt_md5_auth": second, "pvt_deleted": true})
	wantUsers(t, s, "after the user is pvt_deleted", account, "pvt_md5_auth", second)
	put(map[string]any{"pvt_md5_auth": second, "pvt_type": "device"})
	wantUsers(t, s, "after the document became a device", account, "pvt_md5_auth", second)
	put(map[string]any{"pvt_md5_auth": second})
	wantUsers(t, s, "after the user is restored", account, "pvt_md5_auth", second, id)
}
