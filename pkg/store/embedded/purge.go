package embedded

import (
	"bytes"
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// What the retention sweeper reads and deletes (recording.Purger): month databases are the
// top-level buckets with canonical month database names, and each holds a purge index.

// purgeReasons are the purge index's reasons in key order.
var purgeReasons = [...]recording.PurgeReason{recording.PurgeDeleted, recording.PurgeSoftDeleted}

// PurgeCandidates reads the month database's purge index, reason by reason, from the first
// key after q.After up to the reason's cutoff, and loads each document.
func (s *Store) PurgeCandidates(ctx context.Context, m recording.MonthDB, q recording.PurgeQuery) ([]recording.PurgeCandidate, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	if q.Limit <= 0 {
		return nil, invalid("purge candidates limit must be positive, got %d", q.Limit)
	}
	dbName, err := recording.MonthDatabase(m.AccountID, m.Month)
	if err != nil {
		return nil, nil // names no database
	}
	var out []recording.PurgeCandidate
	err = s.view(ctx, "purge index", func(tx *bolt.Tx) error {
		db, err := openDatabase(tx, dbName)
		if err != nil || db == nil {
			return err
		}
		index := db.indexes[purgeIndex]
		if index == nil {
			return fmt.Errorf("database %s has no purge index", dbName)
		}
		c := index.Cursor()
		for _, reason := range purgeReasons {
			cutoff := q.Deleted
			if reason == recording.PurgeSoftDeleted {
				cutoff = q.SoftDeleted
			}
			if !cutoff.On || q.After != nil && reason < q.After.Reason {
				continue
			}
			prefix := purgeReasonStart(reason)
			start, after := prefix, []byte(nil)
			if q.After != nil && q.After.Reason == reason {
				after = encodePurgeKey(*q.After)
				start = after // q.After itself may be gone: Seek finds the next key
			}
			for k, _ := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
				if len(out) == q.Limit {
					return nil
				}
				if bytes.Equal(k, after) {
					continue
				}
				key, err := decodePurgeKey(k)
				if err != nil {
					return err
				}
				if !cutoff.Covers(key.At) {
					break
				}
				cur, err := loadDoc(db, key.ID)
				if err != nil {
					return err
				}
				// Cannot happen, the index following every write; skipped without counting,
				// so a page short of the limit still means there are no more.
				if !cur.live() {
					continue
				}
				out = append(out, recording.PurgeCandidate{Key: key, Doc: cur.doc})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// retentionTombstone is what a purge leaves of a recording: why it went.
var retentionTombstone = recording.Doc{recording.DeletedBy: recording.DeletedByRetention}

// DeleteMany deletes the documents in one transaction, each as Delete would; a missing
// database fails every one with ENotFound.
func (s *Store) DeleteMany(ctx context.Context, m recording.MonthDB, refs []recording.DocRef) ([]recording.DocResult, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	results := make([]recording.DocResult, len(refs))
	pending := 0
	for i, ref := range refs {
		results[i].ID = ref.ID
		if results[i].Err = checkDeleteRev(ref.Rev, "recording "+ref.ID); results[i].Err == nil {
			pending++
		}
	}
	if pending == 0 {
		return results, nil
	}
	dbName, err := recording.MonthDatabase(m.AccountID, m.Month)
	if err != nil { // names no database
		for i := range results {
			if results[i].Err == nil {
				results[i].Err = notFound("recording " + refs[i].ID)
			}
		}
		return results, nil
	}
	err = s.update(ctx, "recordings", func(tx *bolt.Tx) error {
		db, err := openDatabase(tx, dbName)
		if err != nil {
			return err
		}
		return writeEach(results, func(i int) (string, error) {
			return deleteDoc(db, refs[i].ID, refs[i].Rev, retentionTombstone, "recording "+refs[i].ID)
		})
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// MonthDatabases walks the top-level buckets from after's account on: names are
// account/xx/yy/rest-YYYYMM, so byte order is (account, month) order.
func (s *Store) MonthDatabases(ctx context.Context, after recording.MonthDB, limit int) ([]recording.MonthDB, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, invalid("month databases limit must be positive, got %d", limit)
	}
	const prefix = "account/"
	start := []byte(prefix)
	if recording.ValidAccountID(after.AccountID) {
		// The account database's name sorts before its months, whatever after's month is.
		start = []byte(recording.AccountDBName(after.AccountID))
	}
	var out []recording.MonthDB
	err := s.view(ctx, "month databases", func(tx *bolt.Tx) error {
		c := tx.Cursor()
		for k, _ := c.Seek(start); k != nil && bytes.HasPrefix(k, []byte(prefix)) && len(out) < limit; k, _ = c.Next() {
			if d, ok := monthDBNamed(k); ok && after.Less(d) {
				out = append(out, d)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// monthDBNamed reads a bucket name that is a month database's own; not the other
// spellings recording.ParseMonthDB accepts, which a system database may be named.
func monthDBNamed(name []byte) (recording.MonthDB, bool) {
	d, ok := recording.ParseMonthDB(string(name))
	return d, ok && d.Name() == string(name)
}
