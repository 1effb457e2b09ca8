package embedded

import (
	"bytes"
	"context"
	"fmt"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

var _ recording.AccountDocs = (*Store)(nil)

// SaveAccountDoc writes doc into the account database with CouchDB's revision rule
// (saveDoc), as SaveSystemDoc does, but never creates the database: that is PutAccount's.
// An account database is no month database, so openDatabase gives it no change log.
func (s *Store) SaveAccountDoc(ctx context.Context, accountID string, doc recording.Doc) (string, error) {
	if err := s.usable(ctx); err != nil {
		return "", err
	}
	id := doc.ID()
	what := fmt.Sprintf("document %s of account %s", id, accountID)
	if !recording.ReadableDocID(id) {
		return "", invalid("%s: cannot write a document with _id %q", what, id)
	}
	dbName, err := recording.AccountDatabase(accountID)
	if err != nil {
		return "", err
	}
	var rev string
	err = s.update(ctx, what, func(tx *bolt.Tx) error {
		db, err := openDatabase(tx, dbName)
		if err != nil || db == nil {
			return orNotFound(err, "account "+accountID)
		}
		rev, err = saveDoc(db, id, doc, what)
		return err
	})
	return rev, err
}

// AccountDocsWithPrefix walks the ids starting with prefix (liveDocsFrom). A prefix that is
// empty, starts with "_" or is not UTF-8 is EInvalid, as on CouchDB; an account id that is
// none names no database, so lists none.
func (s *Store) AccountDocsWithPrefix(ctx context.Context, accountID, prefix, after string, limit int) ([]recording.Doc, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	if !recording.ReadableDocID(prefix) || !utf8.ValidString(prefix) {
		return nil, invalid("%q is no prefix of document ids of ours", prefix)
	}
	if limit <= 0 {
		return nil, invalid("limit must be positive, got %d", limit)
	}
	docs := []recording.Doc{}
	if !recording.ValidAccountID(accountID) {
		return docs, nil
	}
	err := s.view(ctx, "documents of account "+accountID, func(tx *bolt.Tx) error {
		db, err := openDatabase(tx, recording.AccountDBName(accountID))
		if err != nil {
			return err
		}
		docs, err = liveDocsFrom(db, prefix, after, func(id []byte) bool {
			return bytes.HasPrefix(id, []byte(prefix))
		}, limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	return docs, nil
}
