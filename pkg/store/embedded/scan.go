package embedded

import (
	"bytes"
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Scan reads one month's listing index with the documents, as the CouchDB backend reads
// its views with the keys of listingKeys: From and To inclusive, Start resuming inclusively
// at a key, Descending walking backwards. It touches only the rows it returns.
func (s *Store) Scan(ctx context.Context, accountID string, m recording.Month, q recording.ScanQuery) ([]recording.Row, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	if q.Limit <= 0 {
		return nil, invalid("scan limit must be positive, got %d", q.Limit)
	}
	dbName, err := recording.MonthDatabase(accountID, m)
	if err != nil {
		return nil, nil
	}
	var rows []recording.Row
	err = s.view(ctx, "listing", func(tx *bolt.Tx) error {
		db, err := openDatabase(tx, dbName)
		if err != nil || db == nil {
			return err
		}
		index := db.indexes[listingIndexFor(q.Owner != "", q.IncludeSoftDeleted)]
		if index == nil {
			return fmt.Errorf("database %s has no listing index", dbName)
		}
		rows = make([]recording.Row, 0, min(q.Limit, 256))
		return scanIndex(index.Cursor(), q, func(key recording.ListKey) error {
			cur, err := loadDoc(db, key.ID)
			if err != nil {
				return err
			}
			if !cur.live() {
				return fmt.Errorf("listing of %s names %s, which is not there", dbName, key.ID)
			}
			rows = append(rows, recording.Row{Key: key, Doc: cur.doc})
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// scanIndex walks an index cursor from the query's first key to its last, passing up to
// q.Limit keys to row.
func scanIndex(c *bolt.Cursor, q recording.ScanQuery, row func(recording.ListKey) error) error {
	var prefix []byte
	if q.Owner != "" {
		prefix = ownerPrefix(q.Owner)
	}
	at := func(created int64, id string) []byte {
		return append(appendCreated(bytes.Clone(prefix), created), id...)
	}
	low := at(q.From, "")              // below every key created at From
	high := append(at(q.To, ""), 0xFF) // above every key created at To: no id holds 0xFF (JSON is UTF-8)
	decode := func(k []byte) recording.ListKey {
		rest := k[len(prefix):]
		return recording.ListKey{Owner: q.Owner, Created: decodeCreated(rest[:8]), ID: string(rest[8:])}
	}

	var k []byte
	if !q.Descending {
		start := low
		if q.Start != nil {
			start = at(q.Start.Created, q.Start.ID)
		}
		for k, _ = c.Seek(start); k != nil && bytes.Compare(k, high) < 0 && q.Limit > 0; k, _ = c.Next() {
			if err := row(decode(k)); err != nil {
				return err
			}
			q.Limit--
		}
		return nil
	}

	// Backwards: from the last key at or below the start, down to the first key at From.
	start, inclusive := high, false
	if q.Start != nil {
		start, inclusive = at(q.Start.Created, q.Start.ID), true
	}
	switch k, _ = c.Seek(start); {
	case k == nil:
		k, _ = c.Last()
	case !inclusive || !bytes.Equal(k, start):
		k, _ = c.Prev()
	}
	for ; k != nil && bytes.Compare(k, low) >= 0 && q.Limit > 0; k, _ = c.Prev() {
		if err := row(decode(k)); err != nil {
			return err
		}
		q.Limit--
	}
	return nil
}
