package recording

import "context"

// The retention sweeper hard-deletes recordings a policy no longer keeps. It finds them
// through a purge index in each month database (a view of _design/recordingsd_retention on
// CouchDB, a bucket on the embedded store), both following PurgeKeyOf.

// PurgeReason says which mark makes a recording a purge candidate.
type PurgeReason string

const (
	// PurgeDeleted: Kazoo's own soft delete, pvt_deleted true (or "true"). Its time is
	// pvt_modified, which Kazoo's DELETE stamps.
	PurgeDeleted PurgeReason = "deleted"
	// PurgeSoftDeleted: a non-null soft_delete (the PATCH soft delete), not pvt_deleted. Its
	// time is soft_delete.deleted_at, else pvt_modified.
	PurgeSoftDeleted PurgeReason = "soft_deleted"
)

// PurgeKey is a recording's entry in the purge index. Keys order by Reason (deleted before
// soft_deleted), then At, then ID.
type PurgeKey struct {
	Reason PurgeReason `json:"reason"`
	At     int64       `json:"at"` // gregorian seconds; 0 when the document carries no time
	ID     string      `json:"id"`
}

// Less orders keys the way the purge index does.
func (k PurgeKey) Less(o PurgeKey) bool {
	if k.Reason != o.Reason {
		return k.Reason < o.Reason
	}
	if k.At != o.At {
		return k.At < o.At
	}
	return k.ID < o.ID
}

// PurgeKeyOf is doc's entry in the purge index, if it has one: only call recordings
// (pvt_type call_recording) that are pvt_deleted or soft-deleted. A document with both marks
// has one entry, as deleted. The view's map function in couchviews mirrors this rule.
func PurgeKeyOf(doc Doc) (PurgeKey, bool) {
	if doc == nil || doc["pvt_type"] != "call_recording" {
		return PurgeKey{}, false
	}
	modified, hasModified := doc.Int("pvt_modified")
	if !hasModified {
		modified = 0
	}
	if doc.IsDeleted() {
		return PurgeKey{Reason: PurgeDeleted, At: modified, ID: doc.ID()}, true
	}
	sd, present := doc["soft_delete"]
	if !present || sd == nil {
		return PurgeKey{}, false
	}
	at := modified
	if obj, ok := sd.(map[string]any); ok {
		if t, ok := AsInt(obj["deleted_at"]); ok {
			at = t
		}
	}
	return PurgeKey{Reason: PurgeSoftDeleted, At: at, ID: doc.ID()}, true
}

// Cutoff selects the entries of one reason whose time is at or before Before.
type Cutoff struct {
	On     bool
	Before int64 // gregorian seconds, inclusive
}

// Covers reports whether the cutoff takes a recording marked at time at.
func (c Cutoff) Covers(at int64) bool { return c.On && at <= c.Before }

// PurgeQuery reads one month database's purge index.
type PurgeQuery struct {
	Deleted     Cutoff    // pvt_deleted recordings to take
	SoftDeleted Cutoff    // soft-deleted recordings to take
	After       *PurgeKey // continue strictly after this key (nil: from the start)
	Limit       int       // maximum candidates, > 0
}

// Takes reports whether the query's cutoffs select key.
func (q PurgeQuery) Takes(key PurgeKey) bool {
	switch key.Reason {
	case PurgeDeleted:
		return q.Deleted.Covers(key.At)
	case PurgeSoftDeleted:
		return q.SoftDeleted.Covers(key.At)
	}
	return false
}

// PurgeCandidate is one recording a query selected, with the document as stored (its _rev is
// what the purge deletes; its pvt_attachments say where external media is).
type PurgeCandidate struct {
	Key PurgeKey
	Doc Doc
}

// DocRef is one document revision to delete.
type DocRef struct {
	ID  string
	Rev string
}

// DeletedBy is the field a deletion of the service's leaves in the document's tombstone (its
// only body: CouchDB keeps what a deletion writes), saying why it went.
const (
	DeletedBy          = "pvt_deleted_by"
	DeletedByRetention = "retention" // the retention sweeper purged it
)

// Purger is what the retention sweeper needs from a backend, next to Store: the month
// databases, their purge indexes, bulk hard deletes, and a conditional write for the
// sweeper's own bookkeeping document. Every backend implements it with the same behaviour,
// checked by the contract suite. Any method may return EUnavailable.
type Purger interface {
	// MonthDatabases lists up to limit (> 0) month databases that come strictly after after
	// (the zero MonthDB: from the first), in order. Fewer than limit means there are no more.
	MonthDatabases(ctx context.Context, after MonthDB, limit int) ([]MonthDB, error)

	// PurgeCandidates reads up to q.Limit entries of the month database's purge index that
	// q's cutoffs take, in key order, strictly after q.After, with their documents. Fewer
	// than q.Limit means there are no more. A missing month database yields none.
	PurgeCandidates(ctx context.Context, db MonthDB, q PurgeQuery) ([]PurgeCandidate, error)

	// DeleteMany hard-deletes documents of one month database, each at the revision given,
	// inline attachments included, in one round trip (CouchDB takes a second one only to
	// tell a stale revision from a document already gone). The results follow refs: each
	// ok or its own error (EConflict when the revision is stale, ENotFound when gone). Each
	// tombstone says DeletedBy: DeletedByRetention, so the events it makes can say why.
	DeleteMany(ctx context.Context, db MonthDB, refs []DocRef) ([]DocResult, error)

	// SystemDoc loads a document of a system database (see AuthStore).
	SystemDoc(ctx context.Context, db, id string) (Doc, error)

	// SaveSystemDoc writes a document of a system database (ValidSystemDB), creating the
	// database if needed, only if doc's _rev is the current revision (no _rev: only if the
	// document does not exist). Returns the new revision; EConflict otherwise.
	SaveSystemDoc(ctx context.Context, db string, doc Doc) (string, error)
}
