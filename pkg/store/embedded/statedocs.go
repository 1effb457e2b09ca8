package embedded

import (
	"bytes"
	"context"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// recording.StateDocs: the service's own documents in system databases, many per
// transaction, with the revisions and conflict rules of single documents (SaveSystemDoc).

// GetSystemDocs loads documents of a system database in one read transaction; a database
// that is missing or not a system database's name makes every id not found.
func (s *Store) GetSystemDocs(ctx context.Context, db string, ids []string) ([]recording.DocResult, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	results := make([]recording.DocResult, len(ids))
	for i, id := range ids {
		results[i].ID = id
		if !recording.ValidSystemDB(db) || !recording.ReadableDocID(id) {
			results[i].Err = notFound(systemWhat(db, id))
		}
	}
	if !recording.ValidSystemDB(db) || len(ids) == 0 {
		return results, nil
	}
	err := s.view(ctx, "documents of "+db, func(tx *bolt.Tx) error {
		d, err := openDatabase(tx, db)
		if err != nil {
			return err
		}
		for i, id := range ids {
			if results[i].Err != nil {
				continue
			}
			// Each result decodes its own copy: ids may repeat and callers may modify docs.
			cur, err := loadLive(d, id, systemWhat(db, id))
			if recording.ErrorCode(err) == recording.ENotFound {
				results[i].Err = err
				continue
			}
			if err != nil {
				return err
			}
			results[i].Doc = cur.doc
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// SaveSystemDocs writes documents of a system database, created if missing, in one
// transaction, each with its own outcome as _bulk_docs gives them: a stale or missing _rev
// conflicts, "_deleted": true at the current revision removes, an id that is missing or
// starts with "_" is refused.
func (s *Store) SaveSystemDocs(ctx context.Context, db string, docs []recording.Doc) ([]recording.DocResult, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	if !recording.ValidSystemDB(db) {
		return nil, invalid("%q is not a system database name", db)
	}
	results := make([]recording.DocResult, len(docs))
	pending := 0
	for i, doc := range docs {
		id := doc.ID()
		results[i].ID = id
		if results[i].Err = checkSystemWrite(db, id, systemWhat(db, id)); results[i].Err == nil {
			pending++
		}
	}
	if pending == 0 {
		return results, nil
	}
	err := s.update(ctx, "documents of "+db, func(tx *bolt.Tx) error {
		d, err := createDatabase(tx, db, false)
		if err != nil {
			return err
		}
		return writeEach(results, func(i int) (string, error) {
			return saveDoc(d, results[i].ID, docs[i], systemWhat(db, results[i].ID))
		})
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// SystemDocRange walks the system database's documents after after, up to before
// (liveDocsFrom). A missing database lists none; a name that is not a system database's is
// not found.
func (s *Store) SystemDocRange(ctx context.Context, db, after, before string, limit int) ([]recording.Doc, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, invalid("system documents limit must be positive, got %d", limit)
	}
	if !recording.ValidSystemDB(db) {
		return nil, notFound("database " + db)
	}
	var docs []recording.Doc
	err := s.view(ctx, "documents of "+db, func(tx *bolt.Tx) error {
		d, err := openDatabase(tx, db)
		if err != nil {
			return err
		}
		docs, err = liveDocsFrom(d, "", after, func(id []byte) bool {
			return before == "" || bytes.Compare(id, []byte(before)) < 0
		}, limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	return docs, nil
}

// liveDocsFrom walks d's documents (nil: a missing database) in byte order from the first id
// at or after from and after after, while within holds, up to limit, skipping tombstones and
// ids starting with "_" (CouchDB's own).
func liveDocsFrom(d *database, from, after string, within func(id []byte) bool, limit int) ([]recording.Doc, error) {
	docs := []recording.Doc{}
	if d == nil {
		return docs, nil
	}
	c := d.docs.Cursor()
	for k, _ := c.Seek([]byte(max(from, after))); k != nil && len(docs) < limit; k, _ = c.Next() {
		if !within(k) {
			break
		}
		if string(k) == after || strings.HasPrefix(string(k), "_") {
			continue
		}
		cur, err := loadDoc(d, string(k))
		if err != nil {
			return nil, err
		}
		if cur.live() {
			docs = append(docs, cur.doc)
		}
	}
	return docs, nil
}
