package couch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	kivik "github.com/go-kivik/kivik/v4"
	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/couchviews"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// What the retention sweeper reads and deletes in month databases: the purge view of
// _design/recordingsd_retention, installed the first time the sweeper reads a database,
// and hard deletes through _bulk_docs.

// PurgeCandidates reads the purge view, one key range per reason whose cutoff is on
// (deleted before soft_deleted, as the keys sort), with the documents.
func (s *Store) PurgeCandidates(ctx context.Context, db recording.MonthDB, q recording.PurgeQuery) ([]recording.PurgeCandidate, error) {
	if q.Limit <= 0 {
		return nil, recording.Errorf(recording.EInvalid, "purge limit must be positive, got %d", q.Limit)
	}
	dbName, err := recording.MonthDatabase(db.AccountID, db.Month)
	if err != nil || (!q.Deleted.On && !q.SoftDeleted.On) {
		return nil, nil
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()

	var candidates []recording.PurgeCandidate
	err = s.readMonthView(ctx, dbName, couchviews.Retention, &s.retentionDesigns, "purge index", func() (err error) {
		candidates, err = s.queryPurge(ctx, dbName, q)
		return err
	})
	if err != nil {
		return nil, err
	}
	return candidates, nil
}

func (s *Store) queryPurge(ctx context.Context, dbName string, q recording.PurgeQuery) ([]recording.PurgeCandidate, error) {
	out := []recording.PurgeCandidate{}
	for _, r := range []struct {
		reason recording.PurgeReason
		cutoff recording.Cutoff
	}{
		{recording.PurgeDeleted, q.Deleted},
		{recording.PurgeSoftDeleted, q.SoftDeleted},
	} {
		if len(out) == q.Limit {
			break
		}
		var err error
		if out, err = s.queryPurgeReason(ctx, dbName, r.reason, r.cutoff, q.After, q.Limit, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// queryPurgeReason appends to out the candidates of one reason, strictly after after, until
// out holds limit. A row whose document is gone by the time it is read is skipped, and the
// range read on from there, so a short answer always means the range is exhausted.
func (s *Store) queryPurgeReason(ctx context.Context, dbName string, reason recording.PurgeReason, cutoff recording.Cutoff,
	after *recording.PurgeKey, limit int, out []recording.PurgeCandidate) ([]recording.PurgeCandidate, error) {
	if !cutoff.On {
		return out, nil
	}
	startKey := []any{reason} // sorts before every [reason, …] key
	if after != nil {
		switch {
		case after.Reason > reason:
			return out, nil
		case after.Reason == reason:
			if after.At > cutoff.Before {
				return out, nil // CouchDB refuses a start key past the end key
			}
			startKey = purgeKeyAfter(*after)
		}
	}
	endKey := []any{reason, cutoff.Before, map[string]any{}} // after every [reason, Before, id]
	for {
		want := limit - len(out)
		rows, err := s.queryPurgeRange(ctx, dbName, startKey, endKey, want)
		if err != nil {
			return nil, err
		}
		for _, row := range rows {
			if after != nil && row.Key == *after {
				continue // only if a server compares [r, at, id, null] equal to [r, at, id]
			}
			if row.Doc != nil {
				out = append(out, row)
			}
		}
		if len(rows) < want || len(out) == limit {
			return out, nil
		}
		startKey = purgeKeyAfter(rows[len(rows)-1].Key)
	}
}

// purgeKeyAfter is a start key just past k: no emitted key has four parts, and [r, at, id]
// sorts before [r, at, id, null], which sorts before every later three-part key. (An id
// suffix such as "\u0000" would not do: ICU collation may ignore it.)
func purgeKeyAfter(k recording.PurgeKey) []any {
	return []any{k.Reason, k.At, k.ID, nil}
}

// queryPurgeRange reads up to limit rows of the purge view; a row whose document is gone
// has a nil Doc.
func (s *Store) queryPurgeRange(ctx context.Context, dbName string, startKey, endKey []any, limit int) ([]recording.PurgeCandidate, error) {
	params, err := viewParams(map[string]any{
		"include_docs": true,
		"limit":        limit,
		"startkey":     startKey,
		"endkey":       endKey,
	})
	if err != nil {
		return nil, err
	}
	rows := make([]recording.PurgeCandidate, 0, min(limit, 256))
	err = s.queryView(ctx, dbName, couchviews.RetentionDesignName, couchviews.ViewPurge, params, func(row viewRow) error {
		key, err := parsePurgeKey(row.Key)
		if err != nil {
			return err
		}
		rows = append(rows, recording.PurgeCandidate{Key: key, Doc: row.Doc})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// parsePurgeKey reads [reason, at, id], keeping at exact.
func parsePurgeKey(raw json.RawMessage) (recording.PurgeKey, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var parts []any
	if err := dec.Decode(&parts); err != nil {
		return recording.PurgeKey{}, fmt.Errorf("view key %s: %w", raw, err)
	}
	if len(parts) != 3 {
		return recording.PurgeKey{}, fmt.Errorf("view key %s: want 3 parts", raw)
	}
	reason, isReason := parts[0].(string)
	at, isInt := recording.AsInt(parts[1])
	id, isID := parts[2].(string)
	if !isReason || !isInt || !isID {
		return recording.PurgeKey{}, fmt.Errorf("view key %s: want string reason, integer time and string id", raw)
	}
	return recording.PurgeKey{Reason: recording.PurgeReason(reason), At: at, ID: id}, nil
}

// DeleteMany writes a deletion stub ({_id, _rev, _deleted, pvt_deleted_by}) per ref with one
// _bulk_docs request: CouchDB then keeps neither the body nor the inline attachments. A ref without an
// id or revision is refused on its own, as Delete refuses one.
func (s *Store) DeleteMany(ctx context.Context, db recording.MonthDB, refs []recording.DocRef) ([]recording.DocResult, error) {
	dbName, err := recording.MonthDatabase(db.AccountID, db.Month)
	if err != nil {
		return nil, err
	}
	results := make([]recording.DocResult, len(refs))
	var send []any
	var sendIDs []string
	var sendIdx []int
	for i, ref := range refs {
		results[i].ID = ref.ID
		switch {
		case ref.ID == "":
			results[i].Err = recording.Errorf(recording.EInvalid, "cannot delete a document without _id")
			continue
		case ref.Rev == "":
			results[i].Err = recording.Errorf(recording.EConflict, "recording %s: document update conflict (no revision given)", ref.ID)
			continue
		}
		send = append(send, map[string]any{"_id": ref.ID, "_rev": ref.Rev, "_deleted": true,
			recording.DeletedBy: recording.DeletedByRetention})
		sendIDs = append(sendIDs, ref.ID)
		sendIdx = append(sendIdx, i)
	}
	if len(send) == 0 {
		return results, nil
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	written, err := s.bulkDocs(ctx, dbName, sendIDs, send)
	if err != nil {
		return nil, err
	}
	s.markGone(ctx, dbName, written)
	for k, w := range written {
		results[sendIdx[k]] = w
	}
	return results, nil
}

// markGone turns the failures of documents that no longer exist into ENotFound. CouchDB
// and pouchdb-server answer a stale revision, a document that never was and one already
// deleted alike (conflict), so one _all_docs request over the failed ids tells them apart.
// Should it fail, the failures stay as they were: the deletes themselves are done.
func (s *Store) markGone(ctx context.Context, dbName string, results []recording.DocResult) {
	var failed []string
	for _, r := range results {
		if r.Err != nil && !recording.IsNotFound(r.Err) {
			failed = append(failed, r.ID)
		}
	}
	if len(failed) == 0 {
		return
	}
	live, err := s.liveDocs(ctx, dbName, failed)
	if err != nil {
		s.logger.Warn("cannot tell deleted documents from conflicts", zap.String("db", dbName), zap.Error(err))
		return
	}
	for i, r := range results {
		if r.Err != nil && !live[r.ID] {
			results[i].Err = recording.Wrap(recording.ENotFound, r.Err, "recording %s not found", r.ID)
		}
	}
}

// liveDocs reports which of ids name a document that exists and is not deleted.
func (s *Store) liveDocs(ctx context.Context, dbName string, ids []string) (map[string]bool, error) {
	rs := s.client.DB(dbName).AllDocs(ctx, kivik.Params(map[string]any{"keys": ids}))
	defer rs.Close()
	live := make(map[string]bool, len(ids))
	for rs.Next() {
		// Missing ids are rows with "error":"not_found", deleted ones have value.deleted.
		var value struct {
			Rev     string `json:"rev"`
			Deleted bool   `json:"deleted"`
		}
		if err := rs.ScanValue(&value); err != nil {
			continue
		}
		if id, _ := rs.ID(); id != "" && value.Rev != "" && !value.Deleted {
			live[id] = true
		}
	}
	if err := rs.Err(); err != nil && !isStatus(err, http.StatusNotFound) {
		return nil, err
	}
	return live, nil
}
