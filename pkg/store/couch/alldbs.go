package couch

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"

	kivik "github.com/go-kivik/kivik/v4"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Month database names all lie in ["account/", "account0"): '0' is the byte after '/'.
// Account databases (account/xx/yy/rest) sort among them, each just before its months.
const (
	monthDBsFirst = "account/"
	monthDBsEnd   = "account0"
)

// _all_dbs page sizes: a page also holds one account database per account, so ask for
// more names than month databases are wanted, within bounds.
const (
	minAllDBsPage = 100
	maxAllDBsPage = 1000
)

// MonthDatabases walks _all_dbs, the only listing of databases CouchDB has; it needs a
// server admin. CouchDB pages it by name, and names sort as month databases do; pouchdb-server
// ignores startkey, endkey and limit and lists every database, slashes stripped, which
// recording.ParseMonthDB reads too. Either way, what comes back is filtered, sorted and cut.
func (s *Store) MonthDatabases(ctx context.Context, after recording.MonthDB, limit int) ([]recording.MonthDB, error) {
	if limit <= 0 {
		return nil, recording.Errorf(recording.EInvalid, "month database limit must be positive, got %d", limit)
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()

	pageSize := min(max(2*limit, minAllDBsPage), maxAllDBsPage)
	start := monthDBsFirst
	if recording.ValidAccountID(after.AccountID) {
		start = after.Name() // inclusive: after itself is dropped below
	}
	found := map[recording.MonthDB]bool{}
	last := "" // the greatest name seen
	for {
		names, err := s.client.AllDBs(ctx, kivik.Params(map[string]any{
			"startkey": jsonString(start),
			"endkey":   jsonString(monthDBsEnd),
			"limit":    pageSize,
		}))
		if err != nil {
			return nil, allDBsError(err)
		}
		progressed := false
		for _, name := range names {
			if name > last {
				last, progressed = name, true
			}
			if db, ok := recording.ParseMonthDB(name); ok && after.Less(db) {
				found[db] = true
			}
		}
		// A server that ignores startkey answers the same page again: nothing past last.
		if len(found) >= limit || len(names) < pageSize || !progressed {
			break
		}
		start = last
	}

	dbs := make([]recording.MonthDB, 0, len(found))
	for db := range found {
		dbs = append(dbs, db)
	}
	sort.Slice(dbs, func(i, j int) bool { return dbs[i].Less(dbs[j]) })
	if len(dbs) > limit {
		dbs = dbs[:limit]
	}
	return dbs, nil
}

// allDBsError says what to fix when CouchDB refuses _all_dbs: it is for server admins only
// (CouchDB 3's default), so the sweeper's user must be one.
func allDBsError(err error) error {
	switch kivik.HTTPStatus(err) {
	case http.StatusUnauthorized, http.StatusForbidden:
		return recording.Wrap(recording.EUnavailable, fmt.Errorf("_all_dbs: %w", err),
			"listing month databases needs a CouchDB server admin: the retention sweeper's CouchDB user must be an admin")
	}
	return couchError(err, "database list", "/_all_dbs")
}

// jsonString encodes s as _all_dbs expects its keys (kivik passes them through as is).
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
