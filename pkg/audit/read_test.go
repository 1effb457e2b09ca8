package audit_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/audit"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
)

// An account's entries come in pages, month after month, filtered by time, user and
// action; each page's Next starts the following one.
func TestAccountEntriesFiltersAndPages(t *testing.T) {
	forEachStore(t, func(t *testing.T, s recording.StateDocs, _ func() recording.StateDocs) {
		acct := couchtest.NewAccountID()
		trail, _ := startTrail(t, s, fastConfig)
		// Thirty entries: Jan 10..24 and Feb 1..15, users alternating, every third a listing.
		var all []audit.Entry
		for n := range 30 {
			e := audit.Entry{AccountID: acct, Actor: audit.Actor{UserID: []string{"u1", "u2"}[n%2], Credential: "kazoo_jwt"},
				Action: audit.AudioRead, RequestID: fmt.Sprintf("r%02d", n)}
			if n < 15 {
				e.At = at(jan, 10+n, 12, 0)
			} else {
				e.At = at(feb, n-14, 12, 0)
			}
			if n%3 == 0 {
				e.Action = audit.RecordingsList
			}
			all = append(all, e)
			trail.Record(e)
		}
		// Someone else's entries never show.
		trail.Record(audit.Entry{At: at(jan, 15, 0, 0), AccountID: couchtest.NewAccountID(), Action: audit.AudioRead, RequestID: "other"})
		closeTrail(t, trail)

		want := func(keep func(n int, e audit.Entry) bool) []string {
			var ids []string
			for n, e := range all {
				if keep(n, e) {
					ids = append(ids, e.RequestID)
				}
			}
			return ids
		}
		tests := []struct {
			name  string
			q     audit.Query
			want  []string
			pages int
		}{
			{"everything, 7 a page", audit.Query{Limit: 7}, want(func(int, audit.Entry) bool { return true }), 5},
			{"one page holds all", audit.Query{Limit: 30}, want(func(int, audit.Entry) bool { return true }), 1},
			{"one user", audit.Query{UserID: "u2", Limit: 4}, want(func(n int, _ audit.Entry) bool { return n%2 == 1 }), 4},
			{"one action", audit.Query{Action: audit.RecordingsList, Limit: 3}, want(func(n int, _ audit.Entry) bool { return n%3 == 0 }), 4},
			{"a window across the months' end", audit.Query{From: at(jan, 20, 0, 0), To: at(feb, 5, 0, 0), Limit: 4},
				want(func(_ int, e audit.Entry) bool {
					return !e.At.Before(at(jan, 20, 0, 0)) && e.At.Before(at(feb, 5, 0, 0))
				}), 3},
			{"To excluded", audit.Query{From: at(jan, 10, 12, 0), To: at(jan, 11, 12, 0), Limit: 5}, []string{"r00"}, 1},
			{"a window within February, one user and action", audit.Query{From: at(feb, 1, 0, 0), To: at(feb, 28, 0, 0), UserID: "u1", Action: audit.AudioRead, Limit: 2},
				want(func(n int, e audit.Entry) bool { return n >= 15 && n%2 == 0 && n%3 != 0 }), 3},
			{"nothing matches", audit.Query{UserID: "nobody", Limit: 5}, nil, 1},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				q := tt.q
				q.AccountID = acct
				var got []string
				pages := 0
				for {
					page, err := audit.AccountEntries(context.Background(), s, q)
					if err != nil {
						t.Fatal(err)
					}
					pages++
					if len(page.Entries) > q.Limit {
						t.Fatalf("page of %d entries, limit %d", len(page.Entries), q.Limit)
					}
					got = append(got, requestIDs(page.Entries)...)
					if page.Next == "" {
						break
					}
					q.Start = page.Next
				}
				if !slices.Equal(got, tt.want) || pages != tt.pages {
					t.Fatalf("%d pages of %v; want %d pages of %v", pages, got, tt.pages, tt.want)
				}
			})
		}
	})
}

// A page's Next names the first entry of the next page as "<yyyymm>:<seq>".
func TestPageKeys(t *testing.T) {
	k, err := audit.ParsePageKey("202402:17")
	if err != nil || k != (audit.PageKey{Month: feb, Seq: 17}) || k.String() != "202402:17" {
		t.Fatalf("ParsePageKey(202402:17) = %v, %v", k, err)
	}
	for _, bad := range []string{"", "202402", "202413:1", "202402:0", "202402:-1", "2024-2:1", "+20242:1", "202402:x"} {
		if _, err := audit.ParsePageKey(bad); recording.ErrorCode(err) != recording.EInvalid {
			t.Errorf("ParsePageKey(%q): %v, want invalid", bad, err)
		}
	}
	if _, err := audit.AccountEntries(context.Background(), nil, audit.Query{AccountID: couchtest.NewAccountID(), Limit: 0}); recording.ErrorCode(err) != recording.EInvalid {
		t.Errorf("limit 0: %v, want invalid", err)
	}
}

// A month's chain has a database of our own, which the store accepts as a system database
// and which no month database name can be confused with.
func TestChainDatabaseName(t *testing.T) {
	acct := "0123456789abcdef0123456789abcdef"
	db := audit.ChainDB(acct, recording.MonthOf(time.Date(2024, 3, 31, 23, 59, 0, 0, time.UTC)))
	if db != "recordingsd_audit_0123456789abcdef0123456789abcdef_202403" {
		t.Fatalf("ChainDB = %s", db)
	}
	if !recording.ValidSystemDB(db) || !recording.ValidSystemDB(audit.CatalogueDB) {
		t.Fatalf("%s or %s is not a valid system database name", db, audit.CatalogueDB)
	}
	if _, ok := recording.ParseMonthDB(db); ok {
		t.Fatalf("%s reads as a month database", db)
	}
}
