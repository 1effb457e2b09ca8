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
// database and process. Other processes may race us: a 409 means someone else wrote it,
// so we read again and only write if what they wrote is still not current.
func (s *Store) ensureDesign(ctx context.Context, dbName string) error {
	if s.designs.ok(dbName) {
		return nil
	}
	const attempts = 5
	var err error
	for range attempts {
		var installed recording.Doc
		installed, err = s.readDoc(ctx, dbName, couchviews.DesignID)
		if err != nil && !isStatus(err, http.StatusNotFound) {
			return couchError(err, "listing index", dbName)
		}
		if couchviews.IsCurrent(installed) {
			s.designs.set(dbName, true)
			return nil
		}
		id, doc := couchviews.RecordingsDesign()
		if installed != nil {
			doc["_rev"] = installed.Rev()
		}
		if _, err = s.client.DB(dbName).Put(ctx, id, doc); err == nil {
			version, _ := couchviews.RecordingsDesignVersion()
			s.logger.Info("installed design document",
				zap.String("db", dbName), zap.String("design", id), zap.Int64("version", version))
			s.designs.set(dbName, true)
			return nil
		}
		if !isStatus(err, http.StatusConflict) {
			break
		}
		s.logger.Debug("design document written concurrently, reading again", zap.String("db", dbName))
	}
	if isStatus(err, http.StatusConflict) {
		err = errors.Join(errors.New("design document kept changing under us"), err)
		return recording.Wrap(recording.EInternal, err, "datastore error")
	}
	return couchError(err, "listing index", dbName)
}
