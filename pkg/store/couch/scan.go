package couch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/recordingsd/recordingsd/couchviews"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Scan reads one month's listing view of _design/recordingsd. The view's values are the
// documents, so a page is one index read, without a document lookup per row.
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
	err = s.readMonthView(ctx, dbName, couchviews.Recordings, &s.designs, "listing index", func() error {
		lo, hi := scanWindow(q)
		mayHold, err := s.monthMayHold(ctx, dbName, m, lo, hi)
		if err != nil || !mayHold {
			return err
		}
		rows, err = s.queryListing(ctx, dbName, q)
		return err
	})
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// minRefill is the least a follow-up read asks for after soft-deleted rows were left out.
const minRefill = 20

// firstRead is how many rows the first read of a scan asks for. Without soft-deleted
// recordings it asks a quarter more than the page: a few soft-deleted rows (Kazoo accounts
// often have some) then cost a little more JSON instead of a second round trip.
func firstRead(q recording.ScanQuery) int {
	if q.IncludeSoftDeleted {
		return q.Limit
	}
	return q.Limit + q.Limit/4
}

// queryListing reads up to q.Limit listed rows. The views hold soft-deleted recordings too:
// unless q asks for them they are left out here, and when that leaves the page short the
// read goes on after the last row seen.
func (s *Store) queryListing(ctx context.Context, dbName string, q recording.ScanQuery) ([]recording.Row, error) {
	byOwner := q.Owner != ""
	startKey, endKey := listingKeys(q)
	rows := make([]recording.Row, 0, min(q.Limit, 256))
	skipFirst := false // a follow-up read starts at the last row seen, already handled
	for {
		want := firstRead(q)
		if skipFirst {
			want = max(2*(q.Limit-len(rows)), minRefill) + 1
		}
		params, err := viewParams(map[string]any{
			"limit":      want,
			"descending": q.Descending,
			"startkey":   startKey,
			"endkey":     endKey,
		})
		if err != nil {
			return nil, err
		}
		seen := 0
		var last json.RawMessage
		err = s.queryView(ctx, dbName, couchviews.DesignName, couchviews.ListingView(byOwner), params,
			func(row viewRow) error {
				seen++
				if skipFirst && seen == 1 {
					return nil
				}
				last = row.Key
				if !row.Value.IsListed(q.IncludeSoftDeleted) {
					return nil
				}
				key, err := parseListKey(row.Key, byOwner)
				if err != nil {
					return err
				}
				rows = append(rows, recording.Row{Key: key, Doc: row.Value})
				return nil
			})
		if err != nil {
			return nil, err
		}
		if len(rows) >= q.Limit {
			return rows[:q.Limit], nil
		}
		if seen < want || last == nil {
			return rows, nil // the view has nothing more in the window
		}
		var next []any
		if err := json.Unmarshal(last, &next); err != nil {
			return nil, fmt.Errorf("view key %s: %w", last, err)
		}
		startKey, skipFirst = next, true
	}
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
