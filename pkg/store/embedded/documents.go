package embedded

import (
	"context"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Get loads one document from the month database its id names.
func (s *Store) Get(ctx context.Context, accountID, id string) (recording.Doc, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	dbName, err := recording.RecordingDatabase(accountID, id)
	if err != nil {
		return nil, err
	}
	return s.readLive(ctx, dbName, id, "recording "+id)
}

// GetMany loads documents of one month database in one read transaction; a missing
// database makes every id not found.
func (s *Store) GetMany(ctx context.Context, accountID string, m recording.Month, ids []string) ([]recording.DocResult, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	dbName, err := recording.MonthDatabase(accountID, m)
	if err != nil {
		return nil, err
	}
	results := make([]recording.DocResult, len(ids))
	if len(ids) == 0 {
		return results, nil
	}
	err = s.view(ctx, "recordings", func(tx *bolt.Tx) error {
		db, err := openDatabase(tx, dbName)
		if err != nil {
			return err
		}
		for i, id := range ids {
			what := "recording " + id
			results[i] = recording.DocResult{ID: id}
			// Each result decodes its own copy: ids may repeat and callers may modify docs.
			cur, err := loadLive(db, id, what)
			if err != nil && recording.ErrorCode(err) != recording.ENotFound {
				return err
			}
			if err != nil {
				results[i].Err = err
				continue
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

// Save writes doc into the month database its _id names, replacing revision _rev.
func (s *Store) Save(ctx context.Context, accountID string, doc recording.Doc) (string, error) {
	if err := s.usable(ctx); err != nil {
		return "", err
	}
	id := doc.ID()
	if _, ok := recording.ParseRecordingID(id); !ok {
		return "", invalid("cannot save a recording with id %q", id)
	}
	dbName, err := recording.RecordingDatabase(accountID, id)
	if err != nil {
		return "", err
	}
	what := "recording " + id
	var rev string
	err = s.update(ctx, what, func(tx *bolt.Tx) error {
		db, err := openDatabase(tx, dbName)
		if err != nil || db == nil {
			return orNotFound(err, what)
		}
		rev, err = saveDoc(db, id, doc, what)
		return err
	})
	return rev, err
}

// SaveMany writes documents of one month database in one transaction, each with its own
// outcome as _bulk_docs gives them: documents without an _id are refused one by one, a
// missing database fails every document with ENotFound.
func (s *Store) SaveMany(ctx context.Context, accountID string, m recording.Month, docs []recording.Doc) ([]recording.DocResult, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	dbName, err := recording.MonthDatabase(accountID, m)
	if err != nil {
		return nil, err
	}
	results := make([]recording.DocResult, len(docs))
	pending := 0
	for i, doc := range docs {
		id := doc.ID()
		results[i].ID = id
		switch {
		case id == "":
			results[i].Err = invalid("cannot save a document without _id")
		case strings.HasPrefix(id, "_"):
			results[i].Err = invalid("cannot save document %q: only reserved document ids may start with underscore", id)
		default:
			pending++
		}
	}
	if pending == 0 {
		return results, nil
	}
	err = s.update(ctx, "recordings", func(tx *bolt.Tx) error {
		db, err := openDatabase(tx, dbName)
		if err != nil {
			return err
		}
		return writeEach(results, func(i int) (string, error) {
			what := "recording " + results[i].ID
			if db == nil {
				return "", notFound(what)
			}
			return saveDoc(db, results[i].ID, docs[i], what)
		})
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// saveDoc writes doc over id when its _rev is the current revision (CouchDB's rule).
func saveDoc(db *database, id string, doc recording.Doc, what string) (string, error) {
	rev, err := givenRev(doc["_rev"], what)
	if err != nil {
		return "", err
	}
	cur, err := loadDoc(db, id)
	if err != nil {
		return "", err
	}
	if err := checkRev(cur, rev, what); err != nil {
		return "", err
	}
	return writeDoc(db, id, cur, doc, nil, what)
}

// Delete removes a document and its attachments at revision rev, leaving a tombstone.
func (s *Store) Delete(ctx context.Context, accountID, id, rev string) error {
	if err := s.usable(ctx); err != nil {
		return err
	}
	dbName, err := recording.RecordingDatabase(accountID, id)
	if err != nil {
		return err
	}
	what := "recording " + id
	if err := checkDeleteRev(rev, what); err != nil {
		return err
	}
	return s.update(ctx, what, func(tx *bolt.Tx) error {
		db, err := openDatabase(tx, dbName)
		if err != nil {
			return err
		}
		_, err = deleteDoc(db, id, rev, nil, what)
		return err
	})
}

// checkDeleteRev refuses, before any transaction, a revision no deletion can name.
func checkDeleteRev(rev, what string) error {
	if rev == "" {
		return recording.Errorf(recording.EConflict, "%s: document update conflict (no revision given)", what)
	}
	_, err := givenRev(rev, what)
	return err
}

// deleteDoc deletes id from db (nil: missing) at revision rev, as CouchDB does, and
// returns the tombstone's revision; the tombstone keeps the fields of keep. Only a
// *recording.Error comes before anything is written.
func deleteDoc(db *database, id, rev string, keep recording.Doc, what string) (string, error) {
	if db == nil {
		return "", notFound(what)
	}
	cur, err := loadDoc(db, id)
	if err != nil {
		return "", err
	}
	// CouchDB 3 answers not found for a deleted document, whatever the revision.
	if !cur.live() {
		return "", notFound(what)
	}
	if rev != cur.rev() {
		return "", conflict(what)
	}
	tombstone := recording.Doc{"_id": id, "_deleted": true}
	for k, v := range keep {
		tombstone[k] = v
	}
	return writeDoc(db, id, cur, tombstone, nil, what)
}

// PutRecording creates the recording's month database (with its indexes) when
// needed and writes the document over whatever is there.
func (s *Store) PutRecording(ctx context.Context, accountID string, doc recording.Doc) (string, error) {
	if err := s.usable(ctx); err != nil {
		return "", err
	}
	id := doc.ID()
	if _, ok := recording.ParseRecordingID(id); !ok {
		return "", invalid("cannot store a recording with id %q", id)
	}
	dbName, err := recording.RecordingDatabase(accountID, id)
	if err != nil {
		return "", err
	}
	what := "recording " + id
	var rev string
	err = s.update(ctx, what, func(tx *bolt.Tx) error {
		db, err := createDatabase(tx, dbName, true)
		if err != nil {
			return err
		}
		rev, err = upsert(db, doc, what)
		return err
	})
	return rev, err
}
