package recording

import (
	"context"
	"io"
)

// ListKey is a position in a listing index: the account index orders by (Created, ID),
// the owner index by (Owner, Created, ID). Keys are unique within one month database.
type ListKey struct {
	Owner   string `json:"o,omitempty"`
	Created int64  `json:"c"`
	ID      string `json:"i"`
}

// Less orders keys the way the index does (Owner is equal within one scan).
func (k ListKey) Less(o ListKey) bool {
	if k.Created != o.Created {
		return k.Created < o.Created
	}
	return k.ID < o.ID
}

// ScanQuery reads one month database's listing index.
type ScanQuery struct {
	Owner              string   // non-empty: the owner index, only recordings with this owner_id
	From, To           int64    // inclusive bounds on pvt_created (gregorian seconds), From <= To
	Start              *ListKey // resume here (inclusive) instead of at the range's first end
	Descending         bool
	Limit              int  // maximum rows, > 0
	IncludeSoftDeleted bool // also rows of documents carrying soft_delete
}

// Row is one index entry with its document.
type Row struct {
	Key ListKey
	Doc Doc
}

// DocResult is the outcome for one id of a multi-document read or write.
type DocResult struct {
	ID  string
	Doc Doc    // the loaded document (reads)
	Rev string // the new revision (writes)
	Err error  // ENotFound, EConflict, or another failure for this id only
}

// Range is a byte range of an attachment, both ends inclusive, already checked against its length.
type Range struct {
	Start, End int64
}

// Len is the number of bytes in the range.
func (r Range) Len() int64 { return r.End - r.Start + 1 }

// Store is where accounts and recordings live. Every backend (CouchDB, embedded) implements
// it with the same behaviour, checked by one contract suite. Any method may return
// EUnavailable when the datastore cannot be reached.
type Store interface {
	// Account loads the account document from the account database.
	// ENotFound when the account database or document does not exist.
	Account(ctx context.Context, accountID string) (Doc, error)

	// User loads a user document from the account database.
	// ENotFound when it does not exist or is pvt_deleted.
	User(ctx context.Context, accountID, userID string) (Doc, error)

	// MonthExists reports whether the account's database for month m exists.
	MonthExists(ctx context.Context, accountID string, m Month) (bool, error)

	// Scan reads up to q.Limit rows of one month's listing index, in index order,
	// with their documents. A missing month database yields no rows.
	Scan(ctx context.Context, accountID string, m Month, q ScanQuery) ([]Row, error)

	// Get loads one document from the month database its id names.
	// ENotFound when the database or the document does not exist.
	Get(ctx context.Context, accountID, id string) (Doc, error)

	// GetMany loads documents of one month database in one round trip; the results follow ids.
	// A missing document is a per-id ENotFound; a missing database makes every id ENotFound.
	GetMany(ctx context.Context, accountID string, m Month, ids []string) ([]DocResult, error)

	// Save writes doc (its _id names the month database, its _rev the revision it replaces)
	// and returns the new revision. EConflict when _rev is stale.
	Save(ctx context.Context, accountID string, doc Doc) (string, error)

	// SaveMany writes documents of one month database in one round trip; the results follow
	// docs, each with its new revision or its own error (EConflict when its _rev is stale).
	SaveMany(ctx context.Context, accountID string, m Month, docs []Doc) ([]DocResult, error)

	// Delete removes a document and its inline attachments.
	// ENotFound when missing; EConflict when rev is stale.
	Delete(ctx context.Context, accountID, id, rev string) error

	// OpenAttachment streams an inline attachment, or only the bytes of r when r is non-nil.
	// The caller closes the reader. ENotFound when the document or attachment is missing.
	OpenAttachment(ctx context.Context, accountID, id, name string, r *Range) (io.ReadCloser, error)

	// Ping checks that the datastore answers.
	Ping(ctx context.Context) error
}

// Loader writes data the way Kazoo writes it: account and user documents, recordings in
// their month databases, audio as attachments. The seed command and the tests use it; the
// API never does. Every backend implements it next to Store.
type Loader interface {
	// PutAccount creates the account database if needed and writes the account document
	// (its _id is the account id), replacing any existing one.
	PutAccount(ctx context.Context, doc Doc) error

	// PutUser writes a user document into the account database, replacing any existing one.
	PutUser(ctx context.Context, accountID string, doc Doc) error

	// PutRecording creates the month database its _id names if needed (with the listing
	// index) and writes the document, replacing any existing one. Returns the new revision.
	PutRecording(ctx context.Context, accountID string, doc Doc) (string, error)

	// PutAttachment streams body into an attachment of the document at revision rev and
	// returns the new revision. The body is stored byte for byte, never re-encoded.
	PutAttachment(ctx context.Context, accountID, id, rev, name, contentType string, body io.Reader) (string, error)
}
