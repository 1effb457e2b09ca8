package couch

import (
	"context"
	"strings"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Account loads the account document (its _id is the account id) from the account database.
func (s *Store) Account(ctx context.Context, accountID string) (recording.Doc, error) {
	dbName, err := recording.AccountDatabase(accountID)
	if err != nil {
		return nil, err
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	doc, err := s.readDoc(ctx, dbName, accountID)
	if err != nil {
		return nil, couchError(err, "account "+accountID, dbName)
	}
	return doc, nil
}

// User loads a user document from the account database; a pvt_deleted user is gone.
func (s *Store) User(ctx context.Context, accountID, userID string) (recording.Doc, error) {
	dbName, err := recording.AccountDatabase(accountID)
	if err != nil {
		return nil, err
	}
	// "_design/…" and "_local/…" are documents of CouchDB's own, never users.
	if userID == "" || strings.HasPrefix(userID, "_") {
		return nil, recording.Errorf(recording.ENotFound, "user %s not found", userID)
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	doc, err := s.readDoc(ctx, dbName, userID)
	if err != nil {
		return nil, couchError(err, "user "+userID, dbName)
	}
	if doc.IsDeleted() {
		return nil, recording.Errorf(recording.ENotFound, "user %s not found", userID)
	}
	return doc, nil
}

// PutAccount creates the account database if needed and writes the account document.
func (s *Store) PutAccount(ctx context.Context, doc recording.Doc) error {
	accountID := doc.ID()
	if !recording.ValidAccountID(accountID) {
		return recording.Errorf(recording.EInvalid, "account document _id %q is not an account id", accountID)
	}
	dbName := recording.AccountDBName(accountID)
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	if err := s.createDB(ctx, dbName); err != nil {
		return err
	}
	_, err := s.upsert(ctx, dbName, doc, "account "+accountID)
	return err
}

// PutUser writes a user document into the existing account database.
func (s *Store) PutUser(ctx context.Context, accountID string, doc recording.Doc) error {
	dbName, err := recording.AccountDatabase(accountID)
	if err != nil {
		return err
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	_, err = s.upsert(ctx, dbName, doc, "user "+doc.ID())
	return err
}
