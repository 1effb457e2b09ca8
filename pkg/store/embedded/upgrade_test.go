package embedded

import (
	"bytes"
	"encoding/json"
	"maps"
	"reflect"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// TestUpgradeFromFormat1: a file written before the purge index existed gets it on Open,
// built from the documents, identical to the index kept write by write, and the file is
// then marked with the new format.
func TestUpgradeFromFormat1(t *testing.T) {
	s, path := openTemp(t)
	ctx := testContext(t)
	accounts := []string{randomHex(16), randomHex(16)}
	var dbs []recording.MonthDB
	for _, account := range accounts {
		if err := s.PutAccount(ctx, recording.Doc{"_id": account}); err != nil {
			t.Fatal(err)
		}
		for _, m := range []recording.Month{testMonth, testMonth.Next()} {
			dbs = append(dbs, recording.MonthDB{AccountID: account, Month: m})
			for i, extra := range []map[string]any{
				nil,
				{"pvt_deleted": true, "pvt_modified": json.Number("10")},
				{"soft_delete": map[string]any{"deleted_at": json.Number("20")}},
				{"pvt_deleted": true}, // hard-deleted below: a tombstone
			} {
				id := newRecordingID(m)
				rev := mustPutRecording(t, s, account, recordingDoc(id, created(m, int64(i)), extra))
				if i == 3 {
					if err := s.Delete(ctx, account, id, rev); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}
	if _, err := s.SaveSystemDoc(ctx, "system_config", recording.Doc{"_id": "x"}); err != nil {
		t.Fatal(err)
	}
	want := purgeEntries(t, s.db)
	if n := countEntries(want); n != 2*len(dbs) {
		t.Fatalf("%d purge entries before the downgrade, want %d", n, 2*len(dbs))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	downgrade(t, path)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open a format 1 file: %v", err)
	}
	if got := purgeEntries(t, s.db); !reflect.DeepEqual(got, want) {
		t.Fatalf("purge indexes after the upgrade:\n got  %q\n want %q", got, want)
	}
	if v := fileFormat(t, s.db); v != formatVersion {
		t.Fatalf("format after the upgrade %q, want %q", v, formatVersion)
	}
	if entries, last := changeLogOf(t, s); len(entries) != 0 || last != 0 {
		t.Fatalf("change log after the upgrade: %d entries up to %d, want an empty one", len(entries), last)
	}
	everything := recording.PurgeQuery{Deleted: recording.Cutoff{On: true, Before: 1 << 40}, SoftDeleted: recording.Cutoff{On: true, Before: 1 << 40}, Limit: 10}
	for _, db := range dbs {
		cs, err := s.PurgeCandidates(ctx, db, everything)
		if err != nil || len(cs) != 2 || cs[0].Key.Reason != recording.PurgeDeleted || cs[1].Key.Reason != recording.PurgeSoftDeleted {
			t.Fatalf("PurgeCandidates in %s after the upgrade: %+v, %v", db, cs, err)
		}
		// The index follows writes again.
		results, err := s.DeleteMany(ctx, db, []recording.DocRef{{ID: cs[0].Key.ID, Rev: cs[0].Doc.Rev()}})
		if err != nil || results[0].Err != nil {
			t.Fatalf("DeleteMany: %v, %+v", err, results)
		}
		if cs, _ = s.PurgeCandidates(ctx, db, everything); len(cs) != 1 {
			t.Fatalf("PurgeCandidates in %s after a deletion: %+v", db, cs)
		}
	}
	want = purgeEntries(t, s.db)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// In batches of one database, as a file of many databases is upgraded.
	downgrade(t, path)
	raw, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := buildMissingIndexes(raw, 1); err != nil {
		t.Fatalf("build in batches of 1: %v", err)
	}
	if got := purgeEntries(t, raw); !reflect.DeepEqual(got, want) {
		t.Fatalf("purge indexes built in batches of 1:\n got  %q\n want %q", got, want)
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestUpgradeFromFormat2: a file written before the change log existed opens with an empty
// log; a feed, with or without a checkpoint, starts at the present: what was written before
// is not delivered, what is written after is; the data is as it was.
func TestUpgradeFromFormat2(t *testing.T) {
	s, path := openTemp(t)
	ctx := testContext(t)
	account := randomHex(16)
	var before []string
	for i := range 3 {
		doc := recordingDoc(newRecordingID(testMonth), created(testMonth, int64(i)), nil)
		mustPutRecording(t, s, account, doc)
		before = append(before, doc.ID())
	}
	if _, err := s.SaveSystemDocs(ctx, "feeds", []recording.Doc{{"_id": "state", "n": 1}}); err != nil {
		t.Fatal(err)
	}
	// A checkpoint as the file of another log (or a hand) may hold one.
	if _, err := s.PutSystemDoc(ctx, "feeds", recording.Doc{"_id": "upgraded", "seq": 1, "change_log": "x"}); err != nil {
		t.Fatal(err)
	}
	snap := snapshot(t, s, account, "", "", before)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	downgradeTo2(t, path)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open a format 2 file: %v", err)
	}
	defer s.Close()
	if v := fileFormat(t, s.db); v != formatVersion {
		t.Fatalf("format after the upgrade %q, want %q", v, formatVersion)
	}
	if entries, last := changeLogOf(t, s); len(entries) != 0 || last != 0 {
		t.Fatalf("change log after the upgrade: %d entries up to %d, want an empty one", len(entries), last)
	}
	if got := snapshot(t, s, account, "", "", before); !reflect.DeepEqual(got, snap) {
		t.Fatal("the upgraded store differs")
	}
	if res, err := s.GetSystemDocs(ctx, "feeds", []string{"state"}); err != nil || res[0].Err != nil {
		t.Fatalf("GetSystemDocs after the upgrade: %+v, %v", res, err)
	}

	for _, name := range []string{"upgraded", "new"} {
		f := startFeed(t, s, "feeds", name, nil)
		waitCheckpoint(t, s, "feeds", name, logSequence(t, s)) // at the present
		// A document written before the upgrade, written again.
		doc := recordingDoc(before[0], created(testMonth, 0), nil)
		rev := mustPutRecording(t, s, account, doc)
		f.waitFor(t, doc.ID(), rev)
		f.stop(t)
		if got := f.changes(); len(got) != 1 {
			t.Fatalf("%s: %d changes, want only the write after the start: %+v", name, len(got), got)
		}
	}
}

// TestNewerFormatRefused: a file of a format this build does not know is not opened, as
// a build before the change log refuses files of format 3.
func TestNewerFormatRefused(t *testing.T) {
	s, path := openTemp(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	setFormat(t, path, "4")
	if _, err := Open(path, Options{}); err == nil || !strings.Contains(err.Error(), `file format "4"`) {
		t.Fatalf("Open a format 4 file: %v", err)
	}
}

// TestPartialIndexesRefused: a month database missing one of its indexes is not written
// to, as a write would leave that index behind.
func TestPartialIndexesRefused(t *testing.T) {
	s, _ := openTemp(t)
	ctx := testContext(t)
	account := randomHex(16)
	doc := recordingDoc(newRecordingID(testMonth), created(testMonth, 1), nil)
	mustPutRecording(t, s, account, doc)
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(recording.MonthDBName(account, testMonth))).DeleteBucket([]byte("purge"))
	}); err != nil {
		t.Fatal(err)
	}
	_, err := s.PutRecording(ctx, account, doc)
	wantCode(t, "PutRecording into a database lacking its purge index", err, recording.EInternal)
}

// downgrade turns the closed store file at path into format 1: no purge indexes, no
// change log.
func downgrade(t *testing.T, path string) {
	t.Helper()
	downgradeTo2(t, path)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(metaBucket).Put(formatKey, []byte("1")); err != nil {
			return err
		}
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if b.Bucket([]byte("purge")) == nil {
				return nil
			}
			return b.DeleteBucket([]byte("purge"))
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(purgeEntries(t, db)); n != 0 {
		t.Fatalf("%d purge indexes left after the downgrade", n)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// downgradeTo2 turns the closed store file at path into format 2: no change log.
func downgradeTo2(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(metaBucket)
		if err := meta.Put(formatKey, []byte("2")); err != nil {
			return err
		}
		if err := meta.Delete(changeLogIDKey); err != nil {
			return err
		}
		return meta.DeleteBucket(changesBucket)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func setFormat(t *testing.T, path, v string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(metaBucket).Put(formatKey, []byte(v)) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func fileFormat(t *testing.T, db *bolt.DB) string {
	t.Helper()
	var v string
	if err := db.View(func(tx *bolt.Tx) error { v = string(tx.Bucket(metaBucket).Get(formatKey)); return nil }); err != nil {
		t.Fatal(err)
	}
	return v
}

// purgeEntries is every database's purge index: database → its keys in order.
func purgeEntries(t *testing.T, db *bolt.DB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			index := b.Bucket([]byte("purge"))
			if index == nil {
				return nil
			}
			keys := []string{}
			err := index.ForEach(func(k, v []byte) error {
				if !bytes.Equal(v, []byte{}) {
					t.Errorf("purge entry %q of %s has value %q", k, name, v)
				}
				keys = append(keys, string(k))
				return nil
			})
			out[string(name)] = keys
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func countEntries(entries map[string][]string) int {
	n := 0
	for keys := range maps.Values(entries) {
		n += len(keys)
	}
	return n
}
