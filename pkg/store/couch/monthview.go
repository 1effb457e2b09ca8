package couch

import (
	"context"
	"net/http"
	"strings"

	"github.com/recordingsd/recordingsd/couchviews"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// readMonthView runs read, a query of a view of design in the month database, once the
// database is known to exist and the design document to be installed. A missing database
// skips read (no rows). The view may be missing because the database was deleted and
// re-created, or someone removed our design document: then what was cached is forgotten and
// the checks run once more. what names the index in errors. A read that meets the index
// being built answers before ctx's deadline (readWatchingIndex).
func (s *Store) readMonthView(ctx context.Context, dbName string, design *couchviews.Design, cache *designCache, what string, read func() error) error {
	for attempt := 0; ; attempt++ {
		exists, err := s.monthExists(ctx, dbName)
		if err != nil || !exists {
			return err
		}
		if err := s.ensureDesignDoc(ctx, dbName, design, cache, what); err != nil {
			if recording.IsNotFound(err) && attempt == 0 {
				s.months.forget(dbName)
				continue
			}
			return err
		}
		err = s.readWatchingIndex(ctx, dbName, design, what, read)
		if designReplaced(err) && attempt == 0 {
			continue // CouchDB cut a read whose design document changed under it: read anew
		}
		if isStatus(err, http.StatusNotFound) && attempt == 0 {
			s.months.forget(dbName)
			s.ranges.forget(dbName)
			cache.set(dbName, false)
			continue
		}
		if err != nil {
			return couchError(err, what, dbName)
		}
		return nil
	}
}

// designReplaced reports CouchDB's 500 for a view read whose index process stopped because its
// design document was replaced or deleted meanwhile ({shutdown,ddoc_updated}).
func designReplaced(err error) bool {
	return isStatus(err, http.StatusInternalServerError) && strings.Contains(err.Error(), "ddoc_updated")
}
