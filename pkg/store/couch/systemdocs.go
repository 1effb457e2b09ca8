package couch

import (
	"context"
	"net/http"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// SaveSystemDoc writes a system document only at its current revision: a plain PUT, which
// CouchDB refuses (409) when _rev is stale, or missing while the document exists. Unlike
// PutSystemDoc it never reads first, so two writers cannot both win.
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
	rev, err := s.client.DB(db).Put(ctx, id, doc)
	if isStatus(err, http.StatusNotFound) {
		// Writing a document is 404 only when its database is missing: create it, once.
		if err := s.createDB(ctx, db); err != nil {
			return "", err
		}
		rev, err = s.client.DB(db).Put(ctx, id, doc)
	}
	if err != nil {
		return "", couchError(err, what, db)
	}
	return rev, nil
}
