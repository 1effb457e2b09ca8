package couch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"time"

	kivik "github.com/go-kivik/kivik/v4"

	"github.com/recordingsd/recordingsd/couchviews"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// What verifying Kazoo's tokens and Basic credentials reads: system_auth and system_config
// documents, account database documents, and users by credential hash through our own
// _design/recordingsd_auth (Kazoo's _design/users may be missing). Nothing is cached here
// but the knowledge that a design document is installed; the auth layer caches the rest.

// SystemDoc loads a document of a system database (system_auth, system_config).
func (s *Store) SystemDoc(ctx context.Context, db, id string) (recording.Doc, error) {
	what := systemWhat(db, id)
	if !recording.ValidSystemDB(db) || !recording.ReadableDocID(id) {
		return nil, recording.Errorf(recording.ENotFound, "%s not found", what)
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	doc, err := s.readDoc(ctx, db, id)
	if err != nil {
		return nil, couchError(err, what, db)
	}
	return doc, nil
}

// SystemAttachment reads a system document's attachment whole, at most max bytes: it asks
// for the bytes as stored (Accept-Encoding: identity, as OpenAttachment does) and reads no
// more than max+1 of them.
func (s *Store) SystemAttachment(ctx context.Context, db, id, name string, max int64) ([]byte, error) {
	what := fmt.Sprintf("attachment %s of %s", name, systemWhat(db, id))
	if !recording.ValidSystemDB(db) || !recording.ReadableDocID(id) || name == "" {
		return nil, recording.Errorf(recording.ENotFound, "%s not found", what)
	}
	if max < 0 {
		return nil, recording.Errorf(recording.EInvalid, "%s: negative size limit %d", what, max)
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	header := http.Header{"Accept-Encoding": {"identity"}}
	resp, err := s.do(ctx, http.MethodGet, []string{db, id, name}, nil, header, nil)
	if err != nil {
		return nil, couchError(err, what, db)
	}
	defer drainClose(resp.Body)
	if err := statusErr(resp); err != nil {
		return nil, couchError(err, what, db)
	}
	if enc := resp.Header.Get("Content-Encoding"); enc != "" && enc != "identity" {
		return nil, couchError(fmt.Errorf("attachment sent with Content-Encoding %q despite Accept-Encoding: identity", enc), what, db)
	}
	tooLarge := recording.Errorf(recording.EInvalid, "%s is larger than %d bytes", what, max)
	if resp.ContentLength > max {
		return nil, tooLarge
	}
	limit := max
	if limit < math.MaxInt64 {
		limit++
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return nil, couchError(fmt.Errorf("read body: %w", err), what, db)
	}
	if int64(len(body)) > max {
		return nil, tooLarge
	}
	return body, nil
}

// AccountDoc loads any document of the account database, pvt_deleted or not.
func (s *Store) AccountDoc(ctx context.Context, accountID, id string) (recording.Doc, error) {
	dbName, err := recording.AccountDatabase(accountID)
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("document %s of account %s", id, accountID)
	if !recording.ReadableDocID(id) {
		return nil, recording.Errorf(recording.ENotFound, "%s not found", what)
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	doc, err := s.readDoc(ctx, dbName, id)
	if err != nil {
		return nil, couchError(err, what, dbName)
	}
	return doc, nil
}

// UsersByCredentials queries _design/recordingsd_auth, which it installs in the account
// database the first time, by key with the documents, and keeps the rows whose documents
// pass recording.HasCredentials: the view is the index, the Go rule the final word, so
// this store and the embedded one answer the same. Users come sorted by _id.
func (s *Store) UsersByCredentials(ctx context.Context, accountID, field, hash string) ([]recording.Doc, error) {
	view, ok := couchviews.CredsView(field)
	if !ok {
		return nil, recording.Errorf(recording.EInvalid, "no credentials index on field %q", field)
	}
	users := []recording.Doc{}
	if !recording.ValidAccountID(accountID) || hash == "" {
		return users, nil // names no database, matches no user
	}
	dbName := recording.AccountDBName(accountID)
	ctx, cancel := s.bounded(ctx)
	defer cancel()

	// The view may be missing because the database was deleted and re-created, or someone
	// removed our design document: forget what we knew and install it once more.
	for attempt := 0; ; attempt++ {
		err := s.ensureDesignDoc(ctx, dbName, couchviews.Auth, &s.authDesigns, "credentials index")
		if recording.IsNotFound(err) {
			return users, nil // no account database
		}
		if err != nil {
			return nil, err
		}
		found, err := s.queryCreds(ctx, dbName, view, field, hash)
		if isStatus(err, http.StatusNotFound) {
			s.authDesigns.set(dbName, false)
			if attempt == 0 {
				continue
			}
			return users, nil // the database went away in between
		}
		if attempt > 0 && attempt < 4 && httpStatus(err) >= 500 {
			// Right after a reinstall CouchDB may still be stopping the removed design's
			// indexer and answer 500 ({gen_server,call,…get_state…}): give it a moment.
			select {
			case <-ctx.Done():
				return nil, couchError(ctx.Err(), "users", dbName)
			case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
			}
			continue
		}
		if err != nil {
			return nil, couchError(err, "users", dbName)
		}
		return append(users, found...), nil
	}
}

func (s *Store) queryCreds(ctx context.Context, dbName, view, field, hash string) ([]recording.Doc, error) {
	rs := s.client.DB(dbName).Query(ctx, couchviews.AuthDesignName, view, kivik.Params(map[string]any{
		"key":          hash,
		"include_docs": true,
	}))
	defer rs.Close()
	var users []recording.Doc
	for rs.Next() {
		var raw json.RawMessage
		if err := rs.ScanDoc(&raw); err != nil {
			return nil, err
		}
		if isNull(raw) {
			continue // deleted between indexing and reading
		}
		doc, err := recording.DecodeDoc(raw)
		if err != nil {
			return nil, fmt.Errorf("decode user: %w", err)
		}
		if recording.HasCredentials(doc, field, hash) {
			users = append(users, doc)
		}
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	sort.Slice(users, func(i, j int) bool { return users[i].ID() < users[j].ID() })
	return users, nil
}

// PutSystemDoc creates the system database if needed and writes the document over
// whatever is there.
func (s *Store) PutSystemDoc(ctx context.Context, db string, doc recording.Doc) (string, error) {
	what := systemWhat(db, doc.ID())
	if err := checkSystemWrite(db, doc.ID(), what); err != nil {
		return "", err
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	if err := s.createDB(ctx, db); err != nil {
		return "", err
	}
	return s.upsert(ctx, db, doc, what)
}

// PutSystemAttachment stores body as an attachment of a system document at revision rev,
// byte for byte (see putAttachment).
func (s *Store) PutSystemAttachment(ctx context.Context, db, id, rev, name, contentType string, body []byte) (string, error) {
	what := fmt.Sprintf("attachment %s of %s", name, systemWhat(db, id))
	if err := checkSystemWrite(db, id, what); err != nil {
		return "", err
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	return s.putAttachment(ctx, db, id, rev, name, contentType, bytes.NewReader(body), what)
}

// PutAccountDoc creates the account database if needed and writes the document over
// whatever is there.
func (s *Store) PutAccountDoc(ctx context.Context, accountID string, doc recording.Doc) error {
	if !recording.ValidAccountID(accountID) {
		return recording.Errorf(recording.EInvalid, "%q is not an account id", accountID)
	}
	id := doc.ID()
	what := fmt.Sprintf("document %s of account %s", id, accountID)
	if !recording.ReadableDocID(id) {
		return recording.Errorf(recording.EInvalid, "%s: cannot write a document with _id %q", what, id)
	}
	dbName := recording.AccountDBName(accountID)
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	if err := s.createDB(ctx, dbName); err != nil {
		return err
	}
	_, err := s.upsert(ctx, dbName, doc, what)
	return err
}

func systemWhat(db, id string) string { return fmt.Sprintf("document %s of %s", id, db) }

// checkSystemWrite refuses what no system document write may name.
func checkSystemWrite(db, id, what string) error {
	if !recording.ValidSystemDB(db) {
		return recording.Errorf(recording.EInvalid, "%q is not a system database name", db)
	}
	if !recording.ReadableDocID(id) {
		return recording.Errorf(recording.EInvalid, "%s: cannot write a document with _id %q", what, id)
	}
	return nil
}
