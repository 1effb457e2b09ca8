package embedded

import (
	"context"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Account loads the account document (its _id is the account id) from the account database.
func (s *Store) Account(ctx context.Context, accountID string) (recording.Doc, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	dbName, err := recording.AccountDatabase(accountID)
	if err != nil {
		return nil, err
	}
	return s.readLive(ctx, dbName, accountID, "account "+accountID)
}

// User loads a user document from the account database; a pvt_deleted user is gone.
func (s *Store) User(ctx context.Context, accountID, userID string) (recording.Doc, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	dbName, err := recording.AccountDatabase(accountID)
	if err != nil {
		return nil, err
	}
	what := "user " + userID
	// "_design/…" and "_local/…" are CouchDB's own documents, never users.
	if userID == "" || strings.HasPrefix(userID, "_") {
		return nil, notFound(what)
	}
	doc, err := s.readLive(ctx, dbName, userID, what)
	if err != nil {
		return nil, err
	}
	if doc.IsDeleted() {
		return nil, notFound(what)
	}
	return doc, nil
}

// MonthExists reports whether the account's database for month m exists: PutRecording
// creates it.
func (s *Store) MonthExists(ctx context.Context, accountID string, m recording.Month) (bool, error) {
	if err := s.usable(ctx); err != nil {
		return false, err
	}
	dbName, err := recording.MonthDatabase(accountID, m)
	if err != nil {
		return false, nil
	}
	exists := false
	err = s.view(ctx, "month database", func(tx *bolt.Tx) error {
		exists = tx.Bucket([]byte(dbName)) != nil
		return nil
	})
	return exists, err
}

// PutAccount creates the account database if needed and writes the account document.
func (s *Store) PutAccount(ctx context.Context, doc recording.Doc) error {
	if err := s.usable(ctx); err != nil {
		return err
	}
	accountID := doc.ID()
	if !recording.ValidAccountID(accountID) {
		return invalid("account document _id %q is not an account id", accountID)
	}
	dbName := recording.AccountDBName(accountID)
	what := "account " + accountID
	return s.update(ctx, what, func(tx *bolt.Tx) error {
		db, err := createDatabase(tx, dbName, false)
		if err != nil {
			return err
		}
		_, err = upsert(db, doc, what)
		return err
	})
}

// PutUser writes a user document into the existing account database.
func (s *Store) PutUser(ctx context.Context, accountID string, doc recording.Doc) error {
	if err := s.usable(ctx); err != nil {
		return err
	}
	dbName, err := recording.AccountDatabase(accountID)
	if err != nil {
		return err
	}
	what := "user " + doc.ID()
	if doc.ID() == "" {
		return invalid("%s has no _id", what)
	}
	return s.update(ctx, what, func(tx *bolt.Tx) error {
		db, err := openDatabase(tx, dbName)
		if err != nil || db == nil {
			return orNotFound(err, what)
		}
		_, err = upsert(db, doc, what)
		return err
	})
}

// readLive loads one live document; ENotFound when the database or the document is missing.
func (s *Store) readLive(ctx context.Context, dbName, id, what string) (recording.Doc, error) {
	var doc recording.Doc
	err := s.view(ctx, what, func(tx *bolt.Tx) error {
		db, err := openDatabase(tx, dbName)
		if err != nil {
			return err
		}
		cur, err := loadLive(db, id, what)
		if err != nil {
			return err
		}
		doc = cur.doc
		return nil
	})
	return doc, err
}

// upsert writes doc over the current revision, whatever it is: the Loader's "replace".
func upsert(db *database, doc recording.Doc, what string) (string, error) {
	id := doc.ID()
	if id == "" {
		return "", invalid("%s has no _id", what)
	}
	cur, err := loadDoc(db, id)
	if err != nil {
		return "", err
	}
	return writeDoc(db, id, cur, doc, nil, what)
}
