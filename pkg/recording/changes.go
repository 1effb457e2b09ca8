package recording

import "context"

// Change is a recording document as it stands after a write, read from the database's own
// change feed: Kazoo's writes and the service's alike.
type Change struct {
	AccountID string
	ID        string // the recording id (its month database follows from it)
	Rev       string
	// Deleted: the document was removed (a hard delete or a purge). Doc is then its
	// tombstone: nil or {_id, _rev, _deleted}, plus DeletedBy when the service said why.
	Deleted bool
	Doc     Doc
}

// ChangeFeed follows the writes to recordings from the database itself, so that writes made
// around the service (by Kazoo) are seen too.
type ChangeFeed interface {
	// FollowChanges calls handle with batches of changes of every account's month databases:
	// call_recording documents, and removed documents (which no longer say their type). A
	// document's changes come in the order they were written; several writes to one document
	// may arrive as its latest revision only.
	//
	// It resumes from the checkpoint kept as document name in the system database db
	// (ValidSystemDB). Without one it starts at the present: what is written from then on is
	// delivered, what was written before is not. (CouchDB's feed learns of a database only
	// when it changes: a month database created since the first start is read whole; one that
	// existed before is read from its beginning keeping the documents whose pvt_modified is
	// at most a few minutes older than the first start, a margin for clock skew.)
	//
	// The checkpoint advances once handle returns nil, so after a crash a batch is delivered
	// again, never skipped (at least once; a CouchDB cluster may also repeat changes after a
	// node fails). An error from handle stops the feed and is returned, with the batch's
	// checkpoint unsaved. It returns nil when ctx ends, and an error (EUnavailable for the
	// datastore) when it cannot go on; the caller decides whether to start it again.
	FollowChanges(ctx context.Context, db, name string, handle func(ctx context.Context, batch []Change) error) error
}

// StateDocs are batch operations on the service's own documents in system databases (the
// sweeper's state, the event log, checkpoints). A database name ValidSystemDB refuses makes
// reads ENotFound and a write EInvalid as a whole; an id starting with "_" is ENotFound (read)
// or EInvalid (write) for that document only.
type StateDocs interface {
	// GetSystemDocs loads documents by id. The results follow ids: each its Doc, or its Err
	// (ENotFound when missing, deleted, or the database does not exist).
	GetSystemDocs(ctx context.Context, db string, ids []string) ([]DocResult, error)

	// SaveSystemDocs writes each document only over the revision its _rev names (none: only
	// when there is no live document), creating the database if needed. A document with
	// "_deleted": true at its current revision is removed. The results follow docs: each its
	// new Rev, or its Err (EConflict for a stale or missing _rev), independent of the others.
	SaveSystemDocs(ctx context.Context, db string, docs []Doc) ([]DocResult, error)

	// SystemDocRange lists up to limit live documents whose ids sort after after and before
	// before (bytewise; "" leaves that end open), in id order. A missing database lists none.
	SystemDocRange(ctx context.Context, db, after, before string, limit int) ([]Doc, error)
}
