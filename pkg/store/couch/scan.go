package couch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

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

	var rows []recording.Row
	err = s.readMonthView(ctx, dbName, couchviews.Recordings, &s.designs, "listing index", func() (err error) {
		rows, err = s.queryListing(ctx, dbName, q)
		return err
	})
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func (s *Store) queryListing(ctx context.Context, dbName string, q recording.ScanQuery) ([]recording.Row, error) {
	startKey, endKey := listingKeys(q)
	params, err := viewParams(map[string]any{
		"include_docs": true,
		"limit":        q.Limit,
		"descending":   q.Descending,
		"startkey":     startKey,
		"endkey":       endKey,
	})
	if err != nil {
		return nil, err
	}
	rows := make([]recording.Row, 0, min(q.Limit, 256))
	err = s.queryView(ctx, dbName, couchviews.DesignName, couchviews.ListingView(q.Owner != "", q.IncludeSoftDeleted), params,
		func(row viewRow) error {
			key, err := parseListKey(row.Key, q.Owner != "")
			if err != nil {
				return err
			}
			if row.Doc != nil { // nil: deleted between indexing and reading
				rows = append(rows, recording.Row{Key: key, Doc: row.Doc})
			}
			return nil
		})
	if err != nil {
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
