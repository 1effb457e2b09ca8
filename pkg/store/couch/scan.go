package couch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	kivik "github.com/go-kivik/kivik/v4"

	"github.com/recordingsd/recordingsd/couchviews"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Scan reads one month's listing view of _design/recordingsd with the documents.
func (s *Store) Scan(ctx context.Context, accountID string, m recording.Month, q recording.ScanQuery) ([]recording.Row, error) {
	if q.Limit <= 0 {
		return nil, recording.Errorf(recording.EInvalid, "scan limit must be positive, got %d", q.Limit)
	}
	dbName, err := recording.MonthDatabase(accountID, m)
	if err != nil {
		return nil, nil
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()

	// The view may be missing because the database was deleted and re-created, or someone
	// removed our design document: forget what we knew and go through the checks once more.
	for attempt := 0; ; attempt++ {
		exists, err := s.monthExists(ctx, dbName)
		if err != nil || !exists {
			return nil, err
		}
		if err := s.ensureDesign(ctx, dbName); err != nil {
			if recording.IsNotFound(err) && attempt == 0 {
				s.months.forget(dbName)
				continue
			}
			return nil, err
		}
		rows, err := s.queryListing(ctx, dbName, q)
		if isStatus(err, http.StatusNotFound) && attempt == 0 {
			s.months.forget(dbName)
			s.designs.set(dbName, false)
			continue
		}
		if err != nil {
			return nil, couchError(err, "listing", dbName)
		}
		return rows, nil
	}
}

func (s *Store) queryListing(ctx context.Context, dbName string, q recording.ScanQuery) ([]recording.Row, error) {
	startKey, endKey := listingKeys(q)
	view := couchviews.ListingView(q.Owner != "", q.IncludeSoftDeleted)
	rs := s.client.DB(dbName).Query(ctx, couchviews.DesignName, view, kivik.Params(map[string]any{
		"include_docs": true,
		"limit":        q.Limit,
		"descending":   q.Descending,
		"startkey":     startKey,
		"endkey":       endKey,
	}))
	defer rs.Close()

	rows := make([]recording.Row, 0, min(q.Limit, 256))
	for rs.Next() {
		var rawKey json.RawMessage
		if err := rs.ScanKey(&rawKey); err != nil {
			return nil, err
		}
		key, err := parseListKey(rawKey, q.Owner != "")
		if err != nil {
			return nil, err
		}
		var rawDoc json.RawMessage
		if err := rs.ScanDoc(&rawDoc); err != nil {
			return nil, fmt.Errorf("row %s: %w", key.ID, err)
		}
		if isNull(rawDoc) {
			continue // deleted between indexing and reading
		}
		doc, err := recording.DecodeDoc(rawDoc)
		if err != nil {
			return nil, fmt.Errorf("decode %s: %w", key.ID, err)
		}
		rows = append(rows, recording.Row{Key: key, Doc: doc})
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	return rows, nil
}

// listingKeys turns a query into view keys, as Kazoo's cb_recordings does: [From] sorts
// before every [From, …] key and [To, {}] after every [To, …] key, so both ends are inclusive.
// The owner view prefixes every key with the owner id.
func listingKeys(q recording.ScanQuery) (startKey, endKey []any) {
	var prefix []any
	if q.Owner != "" {
		prefix = []any{q.Owner}
	}
	key := func(parts ...any) []any { return append(append([]any{}, prefix...), parts...) }
	low := key(q.From)
	high := key(q.To, map[string]any{})
	if q.Descending {
		startKey, endKey = high, low
	} else {
		startKey, endKey = low, high
	}
	if q.Start != nil {
		startKey = key(q.Start.Created, q.Start.ID)
	}
	return startKey, endKey
}

// parseListKey reads [created, id] or [owner, created, id], keeping created exact.
func parseListKey(raw json.RawMessage, byOwner bool) (recording.ListKey, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var parts []any
	if err := dec.Decode(&parts); err != nil {
		return recording.ListKey{}, fmt.Errorf("view key %s: %w", raw, err)
	}
	var key recording.ListKey
	want := 2
	if byOwner {
		want = 3
	}
	if len(parts) != want {
		return recording.ListKey{}, fmt.Errorf("view key %s: want %d parts", raw, want)
	}
	if byOwner {
		key.Owner, _ = parts[0].(string)
		parts = parts[1:]
	}
	created, ok := recording.AsInt(parts[0])
	id, isString := parts[1].(string)
	if !ok || !isString {
		return recording.ListKey{}, fmt.Errorf("view key %s: want integer created and string id", raw)
	}
	key.Created, key.ID = created, id
	return key, nil
}
