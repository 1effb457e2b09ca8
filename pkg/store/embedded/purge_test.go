package embedded

import (
	"bytes"
	"math"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// TestPurgeKeyOrder: byte order of the encoded purge keys is recording.PurgeKey order, and
// every key decodes to itself.
func TestPurgeKeyOrder(t *testing.T) {
	var keys []recording.PurgeKey
	for _, reason := range []recording.PurgeReason{recording.PurgeDeleted, recording.PurgeSoftDeleted} {
		for _, at := range []int64{math.MinInt64, -1, 0, 1, 255, 256, 63871545600, math.MaxInt64} {
			for _, id := range []string{"", "2", "202403-", "202403-0", "202403-00", "202403-a", "202403-A", "202403-~", "202403-\x00", "202403-\xff"} {
				keys = append(keys, recording.PurgeKey{Reason: reason, At: at, ID: id})
			}
		}
	}
	byKey := slices.Clone(keys)
	slices.SortFunc(byKey, func(a, b recording.PurgeKey) int {
		if a.Less(b) {
			return -1
		}
		if b.Less(a) {
			return 1
		}
		return 0
	})
	byBytes := slices.Clone(keys)
	slices.SortFunc(byBytes, func(a, b recording.PurgeKey) int {
		return bytes.Compare(encodePurgeKey(a), encodePurgeKey(b))
	})
	for i := range byKey {
		if byKey[i] != byBytes[i] {
			t.Fatalf("position %d is %+v by key, %+v by bytes", i, byKey[i], byBytes[i])
		}
	}
	for _, k := range keys {
		got, err := decodePurgeKey(encodePurgeKey(k))
		if err != nil || got != k {
			t.Fatalf("%+v decoded as %+v, %v", k, got, err)
		}
	}
}

// TestMonthDatabasesSkipsLookalikes: a month database's name without its slashes (as
// pouchdb-server lists them) is refused as a system database name; a bucket of that name
// (written by hand, or by an older build) is no month database, and nothing but month
// databases is listed.
func TestMonthDatabasesSkipsLookalikes(t *testing.T) {
	s, _ := openTemp(t)
	ctx := testContext(t)
	account := randomHex(16)
	lookalike := "account" + account + "-" + testMonth.String()
	if _, err := s.SaveSystemDoc(ctx, lookalike, recording.Doc{"_id": "x"}); recording.ErrorCode(err) != recording.EInvalid {
		t.Fatalf("SaveSystemDoc into %s: %v, want invalid", lookalike, err)
	}
	if err := s.db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket([]byte(lookalike))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutAccount(ctx, recording.Doc{"_id": account}); err != nil {
		t.Fatal(err)
	}
	mustPutRecording(t, s, account, recordingDoc(newRecordingID(testMonth.Next()), created(testMonth.Next(), 1), nil))
	dbs, err := s.MonthDatabases(ctx, recording.MonthDB{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []recording.MonthDB{{AccountID: account, Month: testMonth.Next()}}
	if !slices.Equal(dbs, want) {
		t.Fatalf("MonthDatabases: %v, want %v", dbs, want)
	}
}

// TestPurgeSkipsMissingDocument: an index entry whose document is not there (which the
// index's maintenance never leaves) is skipped, not an error.
func TestPurgeSkipsMissingDocument(t *testing.T) {
	s, _ := openTemp(t)
	ctx := testContext(t)
	account := randomHex(16)
	m := recording.MonthDB{AccountID: account, Month: testMonth}
	id := newRecordingID(testMonth)
	mustPutRecording(t, s, account, recordingDoc(id, created(testMonth, 1), map[string]any{"pvt_deleted": true}))
	stray := recording.PurgeKey{Reason: recording.PurgeDeleted, At: 0, ID: newRecordingID(testMonth)}
	if err := s.db.Update(func(tx *bolt.Tx) error {
		db, err := openDatabase(tx, m.Name())
		if err != nil {
			return err
		}
		return db.indexes[purgeIndex].Put(encodePurgeKey(stray), []byte{})
	}); err != nil {
		t.Fatal(err)
	}
	cs, err := s.PurgeCandidates(ctx, m, recording.PurgeQuery{Deleted: recording.Cutoff{On: true, Before: 1}, Limit: 10})
	if err != nil || len(cs) != 1 || cs[0].Key.ID != id {
		t.Fatalf("PurgeCandidates: %+v, %v; want only %s", cs, err, id)
	}
}
