package couch

import (
	"context"
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/couchviews"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// ensureDesign makes sure the month database holds a current _design/recordingsd, once per
// database and process.
func (s *Store) ensureDesign(ctx context.Context, dbName string) error {
	return s.ensureDesignDoc(ctx, dbName, couchviews.Recordings, &s.designs, "listing index")
}

// ensureDesignDoc makes sure the database holds a current copy of design, once per database
// and process (cache remembers where it has seen one). Other processes may race us: a 409
// means someone else wrote it, so we read again and only write if what they wrote is still
// not current. A missing database is ENotFound; what names the index for the client.
func (s *Store) ensureDesignDoc(ctx context.Context, dbName string, design *couchviews.Design, cache *designCache, what string) error {
	if cache.ok(dbName) {
		return nil
	}
	const attempts = 5
	var err error
	for range attempts {
		var installed recording.Doc
		installed, err = s.readDoc(ctx, dbName, design.ID())
		if err != nil && !isStatus(err, http.StatusNotFound) {
			return couchError(err, what, dbName)
		}
		if design.IsCurrent(installed) {
			cache.set(dbName, true)
			return nil
		}
		doc := design.Doc()
		if installed != nil {
			doc["_rev"] = installed.Rev()
		}
		if _, err = s.client.DB(dbName).Put(ctx, design.ID(), doc); err == nil {
			version, _ := design.Version()
			s.logger.Info("installed design document",
				zap.String("db", dbName), zap.String("design", design.ID()), zap.Int64("version", version))
			cache.set(dbName, true)
			return nil
		}
		if !isStatus(err, http.StatusConflict) {
			break
		}
		s.logger.Debug("design document written concurrently, reading again",
			zap.String("db", dbName), zap.String("design", design.ID()))
	}
	if isStatus(err, http.StatusConflict) {
		err = errors.Join(errors.New("design document kept changing under us"), err)
		return recording.Wrap(recording.EInternal, err, "datastore error")
	}
	return couchError(err, what, dbName)
}
