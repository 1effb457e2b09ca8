package couch

import (
	"context"
	"net/http"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// SaveSystemDoc writes a system document only at its current revision: a plain PUT, which
// CouchDB refuses (409) when _rev is stale, or missing while the document exists, and which
// a cluster's 202 does not let through unchecked (putDoc). Unlike PutSystemDoc it never reads
// first, so two writers cannot both win.
func (s *Store) SaveSystemDoc(ctx context.Context, db string, doc recording.Doc) (string, error) {
	id := doc.ID()
	what := systemWhat(db, id)
	if err := checkSystemWrite(db, id, what); err != nil {
		return "", err
	}
	if rev, ok := doc["_rev"]; ok && (rev == nil || rev == "") {
		doc = doc.Clone() // an empty _rev means none; CouchDB would call it a bad revision
		delete(doc, "_rev")
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	// putDoc, not kivik's Put: the write quorum, and a 202 settled (a cluster copy that had
	// not seen the current revision may take a write without _rev, or with a stale one).
	rev, err := s.putDoc(ctx, db, id, doc, what)
	if isStatus(err, http.StatusNotFound) {
		// Writing a document is 404 only when its database is missing: create it, once.
		if err := s.createDB(ctx, db); err != nil {
			return "", err
		}
		rev, err = s.putDoc(ctx, db, id, doc, what)
	}
	if err != nil {
		return "", couchError(err, what, db)
	}
	return rev, nil
}
