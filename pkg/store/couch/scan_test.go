package couch

import (
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
)

// TestScanViewRule checks that the four views list exactly what recording.Doc.IsListed
// (and the owner filter) says, over the documents that make the rule interesting.
func TestScanViewRule(t *testing.T) {
	s := newTestStore(t)
	ctx := testContext(t)
	account := couchtest.NewAccountID()
	owner := randomHex(16)
	other := randomHex(16)

	cases := []struct {
		name  string
		extra map[string]any
	}{
		{"plain", nil},
		{"owned", map[string]any{"owner_id": owner}},
		{"other owner", map[string]any{"owner_id": other}},
		{"empty owner", map[string]any{"owner_id": ""}},
		{"numeric owner", map[string]any{"owner_id": 42}},
		{"pvt_deleted true", map[string]any{"owner_id": owner, "pvt_deleted": true}},
		{"pvt_deleted string", map[string]any{"owner_id": owner, "pvt_deleted": "true"}},
		{"pvt_deleted false", map[string]any{"owner_id": owner, "pvt_deleted": false}},
		{"soft_delete object", map[string]any{"owner_id": owner, "soft_delete": map[string]any{"by": "x"}}},
		{"soft_delete null", map[string]any{"owner_id": owner, "soft_delete": nil}},
		{"soft_delete false", map[string]any{"owner_id": owner, "soft_delete": false}},
		{"soft_delete no owner", map[string]any{"soft_delete": "yes"}},
		{"wrong type", map[string]any{"owner_id": owner, "pvt_type": "cdr"}},
		{"no type", map[string]any{"owner_id": owner, "pvt_type": nil}},
	}
	var docs []recording.Doc
	for i, c := range cases {
		d := recordingDoc(newRecordingID(testMonth), created(testMonth, int64(100+i)), c.extra)
		if c.extra != nil {
			if v, ok := c.extra["pvt_type"]; ok && v == nil {
				delete(d, "pvt_type")
			}
		}
		d["case"] = c.name
		mustPutRecording(t, s, account, d)
		docs = append(docs, d)
	}
	// Documents without an integer pvt_created have no place in a time-ordered index.
	for _, bad := range []any{nil, jsonInt(created(testMonth, 200)), float64(created(testMonth, 200)) + 0.5} {
		d := recordingDoc(newRecordingID(testMonth), 0, map[string]any{"owner_id": owner})
		if bad == nil {
			delete(d, "pvt_created")
		} else {
			d["pvt_created"] = bad
		}
		mustPutRecording(t, s, account, d)
	}

	for _, byOwner := range []bool{false, true} {
		for _, all := range []bool{false, true} {
			t.Run(fmt.Sprintf("owner=%v/all=%v", byOwner, all), func(t *testing.T) {
				q := recording.ScanQuery{From: created(testMonth, 0), To: created(testMonth, 1000), Limit: 100, IncludeSoftDeleted: all}
				if byOwner {
					q.Owner = owner
				}
				rows, err := s.Scan(ctx, account, testMonth, q)
				if err != nil {
					t.Fatalf("Scan: %v", err)
				}
				var want []string
				for _, d := range docs {
					if d.IsListed(all) && (!byOwner || d.String("owner_id") == owner) {
						want = append(want, d.String("case"))
					}
				}
				var got []string
				for _, r := range rows {
					got = append(got, r.Doc.String("case"))
				}
				sort.Strings(want)
				sort.Strings(got)
				if !slices.Equal(got, want) {
					t.Fatalf("listed %q, want %q", got, want)
				}
			})
		}
	}
}

func TestScanOrderAndPaging(t *testing.T) {
	s := newTestStore(t)
	ctx := testContext(t)
	account := couchtest.NewAccountID()
	owner := randomHex(16)

	// Two recordings share a second, so the id breaks the tie; ids are lower-case hex
	// so CouchDB's ICU collation and pouchdb-server's code-point order agree.
	base := created(testMonth, 1000)
	mk := func(offset int64, hexID string, owned bool) recording.Doc {
		extra := map[string]any{}
		if owned {
			extra["owner_id"] = owner
		}
		return recordingDoc(testMonth.String()+"-"+hexID, base+offset, extra)
	}
	docs := []recording.Doc{
		mk(0, "a0000000000000000000000000000000", true),
		mk(10, "b0000000000000000000000000000000", false),
		mk(10, "b1000000000000000000000000000000", true),
		mk(20, "c0000000000000000000000000000000", true),
		mk(30, "d0000000000000000000000000000000", false),
	}
	for _, d := range slices.Backward(docs) { // insertion order must not matter
		mustPutRecording(t, s, account, d)
	}
	// A cluster reads each view from one copy of each shard, which may lag the writes by a
	// few milliseconds: wait until every copy lists them all.
	if couchtest.IsCluster(t, couchtest.URL(t)) {
		deadline := time.Now().Add(5 * time.Second)
		for n := 0; n < 10 && time.Now().Before(deadline); {
			q := recording.ScanQuery{From: base, To: base + 30, Limit: 100, Descending: n%2 == 1}
			if rows, err := s.Scan(ctx, account, testMonth, q); err == nil && len(rows) == len(docs) {
				n++
			} else {
				n = 0
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	all := ids(func() []recording.Row {
		rows := make([]recording.Row, len(docs))
		for i, d := range docs {
			rows[i].Doc = d
		}
		return rows
	}())
	reversed := slices.Clone(all)
	slices.Reverse(reversed)

	scan := func(q recording.ScanQuery) []recording.Row {
		t.Helper()
		rows, err := s.Scan(ctx, account, testMonth, q)
		if err != nil {
			t.Fatalf("Scan %+v: %v", q, err)
		}
		return rows
	}
	full := recording.ScanQuery{From: base, To: base + 30, Limit: 100}

	t.Run("ascending", func(t *testing.T) {
		if got := ids(scan(full)); !slices.Equal(got, all) {
			t.Fatalf("got %v, want %v", got, all)
		}
	})
	t.Run("descending", func(t *testing.T) {
		q := full
		q.Descending = true
		if got := ids(scan(q)); !slices.Equal(got, reversed) {
			t.Fatalf("got %v, want %v", got, reversed)
		}
	})
	t.Run("bounds are inclusive", func(t *testing.T) {
		q := recording.ScanQuery{From: base + 10, To: base + 20, Limit: 100}
		if got, want := ids(scan(q)), all[1:4]; !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
		q.Descending = true
		want := slices.Clone(all[1:4])
		slices.Reverse(want)
		if got := ids(scan(q)); !slices.Equal(got, want) {
			t.Fatalf("descending: got %v, want %v", got, want)
		}
	})
	t.Run("keys", func(t *testing.T) {
		rows := scan(full)
		want := recording.ListKey{Created: base + 10, ID: all[2]}
		if rows[2].Key != want {
			t.Fatalf("key %+v, want %+v", rows[2].Key, want)
		}
	})
	for _, descending := range []bool{false, true} {
		t.Run(fmt.Sprintf("pages descending=%v", descending), func(t *testing.T) {
			want := all
			if descending {
				want = reversed
			}
			// Kazoo's way: ask for one more row than the page; the extra row's key starts the next page.
			q := full
			q.Descending = descending
			q.Limit = 3
			var got []string
			for range 10 {
				rows := scan(q)
				if len(rows) < q.Limit {
					got = append(got, ids(rows)...)
					break
				}
				got = append(got, ids(rows[:q.Limit-1])...)
				next := rows[q.Limit-1].Key
				q.Start = &next
			}
			if !slices.Equal(got, want) {
				t.Fatalf("paged %v, want %v", got, want)
			}
		})
	}
	t.Run("owner view", func(t *testing.T) {
		owned := []string{all[0], all[2], all[3]}
		q := full
		q.Owner = owner
		rows := scan(q)
		if got := ids(rows); !slices.Equal(got, owned) {
			t.Fatalf("got %v, want %v", got, owned)
		}
		if rows[1].Key != (recording.ListKey{Owner: owner, Created: base + 10, ID: all[2]}) {
			t.Fatalf("owner key %+v", rows[1].Key)
		}
		// Resume from the second owned row, both directions.
		q.Start = &rows[1].Key
		if got := ids(scan(q)); !slices.Equal(got, owned[1:]) {
			t.Fatalf("from start key: got %v, want %v", got, owned[1:])
		}
		q.Descending = true
		if got, want := ids(scan(q)), []string{owned[1], owned[0]}; !slices.Equal(got, want) {
			t.Fatalf("descending from start key: got %v, want %v", got, want)
		}
		q.Start, q.Limit = nil, 1
		if got := ids(scan(q)); !slices.Equal(got, owned[2:]) {
			t.Fatalf("descending limit 1: got %v, want %v", got, owned[2:])
		}
		q.Owner = randomHex(16)
		if got := scan(q); len(got) != 0 {
			t.Fatalf("unknown owner: got %v", ids(got))
		}
	})
}

func TestScanMissingMonth(t *testing.T) {
	s := newTestStore(t)
	ctx := testContext(t)
	account := couchtest.NewAccountID()
	rows, err := s.Scan(ctx, account, testMonth, recording.ScanQuery{From: 0, To: created(testMonth, 1e6), Limit: 10})
	if err != nil || len(rows) != 0 {
		t.Fatalf("Scan of a missing month: rows %v, err %v", rows, err)
	}
	exists, err := s.MonthExists(ctx, account, testMonth)
	if err != nil || exists {
		t.Fatalf("MonthExists: %v, %v; want false", exists, err)
	}
	// PutRecording creates the month; the store's own negative answer must not hide it.
	mustPutRecording(t, s, account, recordingDoc(newRecordingID(testMonth), created(testMonth, 5), nil))
	exists, err = s.MonthExists(ctx, account, testMonth)
	if err != nil || !exists {
		t.Fatalf("MonthExists after PutRecording: %v, %v; want true", exists, err)
	}
	// Another process's view: a fresh store sees it too.
	exists, err = newTestStore(t).MonthExists(ctx, account, testMonth)
	if err != nil || !exists {
		t.Fatalf("MonthExists from a fresh store: %v, %v; want true", exists, err)
	}
}
