package embedded

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// What verifying Kazoo's tokens and Basic credentials reads. System databases are buckets
// named as CouchDB names them (system_auth, system_config), like account databases; users
// by credentials are found by scanning the account database's documents with
// recording.HasCredentials, the rule the CouchDB backend's views mirror. Account databases
// hold users, devices and the like, a few hundred documents at most, and the auth layer
// caches what it finds, so an index kept on every write would cost more than it saves.

// SystemDoc loads a document of a system database (system_auth, system_config).
func (s *Store) SystemDoc(ctx context.Context, db, id string) (recording.Doc, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	what := systemWhat(db, id)
	if !recording.ValidSystemDB(db) || !recording.ReadableDocID(id) {
		return nil, notFound(what)
	}
	return s.readLive(ctx, db, id, what)
}

// SystemAttachment reads a system document's attachment whole, refusing one larger than
// max bytes before reading any of it.
func (s *Store) SystemAttachment(ctx context.Context, db, id, name string, max int64) ([]byte, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	what := fmt.Sprintf("attachment %s of %s", name, systemWhat(db, id))
	if !recording.ValidSystemDB(db) || !recording.ReadableDocID(id) || name == "" {
		return nil, notFound(what)
	}
	if max < 0 {
		return nil, invalid("%s: negative size limit %d", what, max)
	}
	var body []byte
	err := s.view(ctx, what, func(tx *bolt.Tx) error {
		d, err := openDatabase(tx, db)
		if err != nil {
			return err
		}
		cur, err := loadLive(d, id, what)
		if err != nil {
			return err
		}
		if stubs, _ := asObject(cur.doc["_attachments"]); stubs[name] == nil {
			return notFound(what)
		}
		ref, found, err := d.attachmentRef(id, name)
		if err != nil || !found {
			return orNotFound(err, what)
		}
		if ref.length > max {
			return invalid("%s is larger than %d bytes", what, max)
		}
		body, err = readBlob(d.chunks, ref)
		return err
	})
	if err != nil {
		return nil, err
	}
	return body, nil
}

// readBlob copies a whole attachment out of the memory map.
func readBlob(chunks *bolt.Bucket, ref blobRef) ([]byte, error) {
	body := make([]byte, 0, ref.length)
	for n := int64(0); int64(len(body)) < ref.length; n++ {
		chunk := chunks.Get(chunkKey(ref.blob, n))
		if len(chunk) == 0 {
			return nil, fmt.Errorf("chunk %d of blob %d is missing", n, ref.blob)
		}
		body = append(body, chunk...)
	}
	if int64(len(body)) != ref.length {
		return nil, fmt.Errorf("blob %d holds %d bytes, want %d", ref.blob, len(body), ref.length)
	}
	return body, nil
}

// AccountDoc loads any document of the account database, pvt_deleted or not.
func (s *Store) AccountDoc(ctx context.Context, accountID, id string) (recording.Doc, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	dbName, err := recording.AccountDatabase(accountID)
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("document %s of account %s", id, accountID)
	if !recording.ReadableDocID(id) {
		return nil, notFound(what)
	}
	return s.readLive(ctx, dbName, id, what)
}

// UsersByCredentials scans the account database's documents in one read transaction and
// keeps those recording.HasCredentials accepts, sorted by _id as the view's rows are.
// Documents whose stored JSON cannot contain the hash are skipped without decoding them.
func (s *Store) UsersByCredentials(ctx context.Context, accountID, field, hash string) ([]recording.Doc, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	if !recording.ValidCredentialField(field) {
		return nil, invalid("no credentials index on field %q", field)
	}
	users := []recording.Doc{}
	if !recording.ValidAccountID(accountID) || hash == "" {
		return users, nil // names no database, matches no user
	}
	dbName := recording.AccountDBName(accountID)
	// writeDoc stores a plain string as is (encodeJSON), so a document holding the hash
	// contains its bytes; other strings may be escaped: then every document is decoded.
	var needle []byte
	if plainJSONString(hash) {
		needle = []byte(hash)
	}
	err := s.view(ctx, "users", func(tx *bolt.Tx) error {
		db, err := openDatabase(tx, dbName)
		if err != nil || db == nil {
			return err
		}
		return db.docs.ForEach(func(k, raw []byte) error {
			if needle != nil && !bytes.Contains(raw, needle) {
				return nil
			}
			doc, err := recording.DecodeDoc(raw)
			if err != nil {
				return fmt.Errorf("decode %s: %w", k, err)
			}
			if doc["_deleted"] != true && recording.HasCredentials(doc, field, hash) {
				users = append(users, doc)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return users, nil
}

// plainJSONString reports whether s is printable ASCII that no JSON encoder escapes
// (some escape '/' or, as Go's json.Marshal, '<', '>' and '&').
func plainJSONString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || strings.IndexByte(`"\/<>&`, c) >= 0 {
			return false
		}
	}
	return true
}

// PutSystemDoc creates the system database if needed and writes the document over
// whatever is there.
func (s *Store) PutSystemDoc(ctx context.Context, db string, doc recording.Doc) (string, error) {
	return s.writeSystemDoc(ctx, db, doc, upsert)
}

// SaveSystemDoc creates the system database if needed and writes the document only over
// the revision its _rev names (none: only if there is no live document), as CouchDB does.
func (s *Store) SaveSystemDoc(ctx context.Context, db string, doc recording.Doc) (string, error) {
	return s.writeSystemDoc(ctx, db, doc, func(d *database, doc recording.Doc, what string) (string, error) {
		return saveDoc(d, doc.ID(), doc, what)
	})
}

// writeSystemDoc writes doc into the system database db, created if needed, with write.
func (s *Store) writeSystemDoc(ctx context.Context, db string, doc recording.Doc, write func(*database, recording.Doc, string) (string, error)) (string, error) {
	if err := s.usable(ctx); err != nil {
		return "", err
	}
	what := systemWhat(db, doc.ID())
	if err := checkSystemWrite(db, doc.ID(), what); err != nil {
		return "", err
	}
	var rev string
	err := s.update(ctx, what, func(tx *bolt.Tx) error {
		d, err := createDatabase(tx, db, false)
		if err != nil {
			return err
		}
		rev, err = write(d, doc, what)
		return err
	})
	return rev, err
}

// PutSystemAttachment stores body as an attachment of a system document at revision rev,
// as PutAttachment does; the system database must exist.
func (s *Store) PutSystemAttachment(ctx context.Context, db, id, rev, name, contentType string, body []byte) (string, error) {
	if err := s.usable(ctx); err != nil {
		return "", err
	}
	what := fmt.Sprintf("attachment %s of %s", name, systemWhat(db, id))
	if err := checkSystemWrite(db, id, what); err != nil {
		return "", err
	}
	return s.putAttachment(ctx, db, id, rev, name, contentType, bytes.NewReader(body), what)
}

// PutAccountDoc creates the account database if needed and writes the document over
// whatever is there.
func (s *Store) PutAccountDoc(ctx context.Context, accountID string, doc recording.Doc) error {
	if err := s.usable(ctx); err != nil {
		return err
	}
	if !recording.ValidAccountID(accountID) {
		return invalid("%q is not an account id", accountID)
	}
	id := doc.ID()
	what := fmt.Sprintf("document %s of account %s", id, accountID)
	if !recording.ReadableDocID(id) {
		return invalid("%s: cannot write a document with _id %q", what, id)
	}
	dbName := recording.AccountDBName(accountID)
	return s.update(ctx, what, func(tx *bolt.Tx) error {
		db, err := createDatabase(tx, dbName, false)
		if err != nil {
			return err
		}
		_, err = upsert(db, doc, what)
		return err
	})
}

func systemWhat(db, id string) string { return fmt.Sprintf("document %s of %s", id, db) }

// checkSystemWrite refuses what no system document write may name.
func checkSystemWrite(db, id, what string) error {
	if !recording.ValidSystemDB(db) {
		return invalid("%q is not a system database name", db)
	}
	if !recording.ReadableDocID(id) {
		return invalid("%s: cannot write a document with _id %q", what, id)
	}
	return nil
}
