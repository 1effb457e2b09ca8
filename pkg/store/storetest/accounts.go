package storetest

import (
	"testing"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

func testAccountsAndUsers(t *testing.T, s Backend) {
	ctx := testContext(t)
	account := NewAccountID()

	_, err := s.Account(ctx, account)
	wantCode(t, "Account before PutAccount", err, recording.ENotFound)
	_, err = s.Account(ctx, "nope")
	wantCode(t, "Account with a malformed id", err, recording.ENotFound)
	err = s.PutAccount(ctx, recording.Doc{"_id": "nope"})
	wantCode(t, "PutAccount with a malformed id", err, recording.EInvalid)

	for _, name := range []string{"first", "second"} { // the second write replaces the first
		if err := s.PutAccount(ctx, recording.Doc{"_id": account, "name": name, "pvt_type": "account"}); err != nil {
			t.Fatalf("PutAccount: %v", err)
		}
	}
	doc, err := s.Account(ctx, account)
	if err != nil || doc.String("name") != "second" || doc.ID() != account {
		t.Fatalf("Account: %v, %v", doc, err)
	}
	wantGeneration(t, "account after two writes", doc.Rev(), 2)

	user, deleted, deletedString := randomHex(16), randomHex(16), randomHex(16)
	for _, u := range []recording.Doc{
		{"_id": user, "pvt_type": "user", "first_name": "Ann"},
		{"_id": user, "pvt_type": "user", "first_name": "Bea"}, // replaces, no revision needed
		{"_id": deleted, "pvt_type": "user", "pvt_deleted": true},
		{"_id": deletedString, "pvt_type": "user", "pvt_deleted": "true"},
	} {
		if err := s.PutUser(ctx, account, u); err != nil {
			t.Fatalf("PutUser %v: %v", u, err)
		}
	}
	if doc, err := s.User(ctx, account, user); err != nil || doc.ID() != user || doc.String("first_name") != "Bea" {
		t.Fatalf("User: %v, %v", doc, err)
	}
	_, err = s.User(ctx, account, deleted)
	wantCode(t, "User pvt_deleted true", err, recording.ENotFound)
	_, err = s.User(ctx, account, deletedString)
	wantCode(t, `User pvt_deleted "true"`, err, recording.ENotFound)
	_, err = s.User(ctx, account, randomHex(16))
	wantCode(t, "User missing", err, recording.ENotFound)
	_, err = s.User(ctx, account, "")
	wantCode(t, "User with an empty id", err, recording.ENotFound)
	_, err = s.User(ctx, account, "_design/recordingsd")
	wantCode(t, "User that is a design document", err, recording.ENotFound)
	_, err = s.User(ctx, NewAccountID(), user)
	wantCode(t, "User of a missing account", err, recording.ENotFound)
	_, err = s.User(ctx, "nope", user)
	wantCode(t, "User of a malformed account id", err, recording.ENotFound)

	err = s.PutUser(ctx, NewAccountID(), recording.Doc{"_id": user})
	wantCode(t, "PutUser into a missing account", err, recording.ENotFound)
	err = s.PutUser(ctx, account, recording.Doc{"first_name": "Nobody"})
	wantCode(t, "PutUser without _id", err, recording.EInvalid)
}

func testMonthExists(t *testing.T, s Backend) {
	ctx := testContext(t)
	account := NewAccountID()
	exists, err := s.MonthExists(ctx, account, testMonth)
	if err != nil || exists {
		t.Fatalf("MonthExists before any recording: %v, %v; want false", exists, err)
	}
	// An account database alone makes no month.
	if err := s.PutAccount(ctx, recording.Doc{"_id": account}); err != nil {
		t.Fatal(err)
	}
	exists, err = s.MonthExists(ctx, account, testMonth)
	if err != nil || exists {
		t.Fatalf("MonthExists after PutAccount: %v, %v; want false", exists, err)
	}
	mustPutRecording(t, s, account, recordingDoc(newRecordingID(testMonth), created(testMonth, 5), nil))
	exists, err = s.MonthExists(ctx, account, testMonth)
	if err != nil || !exists {
		t.Fatalf("MonthExists after PutRecording: %v, %v; want true", exists, err)
	}
	for _, other := range []recording.Month{testMonth.Prev(), testMonth.Next(), {Year: testMonth.Year + 1, Month: testMonth.Month}} {
		exists, err = s.MonthExists(ctx, account, other)
		if err != nil || exists {
			t.Fatalf("MonthExists %s: %v, %v; want false", other, exists, err)
		}
	}
	exists, err = s.MonthExists(ctx, "nope", testMonth)
	if err != nil || exists {
		t.Fatalf("MonthExists of a malformed account id: %v, %v; want false, nil", exists, err)
	}
}

func testPing(t *testing.T, s Backend) {
	if err := s.Ping(testContext(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}
