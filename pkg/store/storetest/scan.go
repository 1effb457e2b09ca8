package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// testScanIndexRule checks that the four indexes list exactly what recording.Doc.IsListed
// (and, for the owner indexes, a non-empty string owner_id) says.
func testScanIndexRule(t *testing.T, s Backend) {
	ctx := testContext(t)
	account := NewAccountID()
	owner, other := randomHex(16), randomHex(16)

	cases := []struct {
		name  string
		extra map[string]any
	}{
		{"plain", nil},
		{"owned", map[string]any{"owner_id": owner}},
		{"other owner", map[string]any{"owner_id": other}},
		{"empty owner", map[string]any{"owner_id": ""}},
		{"numeric owner", map[string]any{"owner_id": 42}},
		{"null owner", map[string]any{"owner_id": nil}},
		{"pvt_deleted true", map[string]any{"owner_id": owner, "pvt_deleted": true}},
		{"pvt_deleted string", map[string]any{"owner_id": owner, "pvt_deleted": "true"}},
		{"pvt_deleted false", map[string]any{"owner_id": owner, "pvt_deleted": false}},
		{"pvt_deleted other string", map[string]any{"owner_id": owner, "pvt_deleted": "yes"}},
		{"soft_delete object", map[string]any{"owner_id": owner, "soft_delete": map[string]any{"by": "x"}}},
		{"soft_delete null", map[string]any{"owner_id": owner, "soft_delete": nil}},
		{"soft_delete false", map[string]any{"owner_id": owner, "soft_delete": false}},
		{"soft_delete no owner", map[string]any{"soft_delete": "yes"}},
		{"wrong type", map[string]any{"owner_id": owner, "pvt_type": "cdr"}},
		{"no type", map[string]any{"owner_id": owner, "pvt_type": nil}},
		{"negative created", map[string]any{"owner_id": owner, "pvt_created": jsonInt(-5)}},
	}
	var docs []recording.Doc
	for i, c := range cases {
		d := recordingDoc(newRecordingID(testMonth), created(testMonth, int64(100+i)), c.extra)
		if v, ok := c.extra["pvt_type"]; ok && v == nil {
			delete(d, "pvt_type")
		}
		d["case"] = c.name
		mustPutRecording(t, s, account, d)
		docs = append(docs, d)
	}
	// Documents without an integer pvt_created have no place in a time-ordered index.
	for i, bad := range []any{nil, fmt.Sprint(created(testMonth, 200)), float64(created(testMonth, 200)) + 0.5, true} {
		d := recordingDoc(newRecordingID(testMonth), 0, map[string]any{"owner_id": owner})
		if bad == nil {
			delete(d, "pvt_created")
		} else {
			d["pvt_created"] = bad
		}
		d["case"] = fmt.Sprintf("bad pvt_created %d", i)
		mustPutRecording(t, s, account, d)
		docs = append(docs, d)
	}

	for _, byOwner := range []bool{false, true} {
		for _, all := range []bool{false, true} {
			t.Run(fmt.Sprintf("owner=%v/all=%v", byOwner, all), func(t *testing.T) {
				q := recording.ScanQuery{From: -10, To: created(testMonth, 1000), Limit: 100, IncludeSoftDeleted: all}
				if byOwner {
					q.Owner = owner
				}
				rows, err := s.Scan(ctx, account, testMonth, q)
				if err != nil {
					t.Fatalf("Scan: %v", err)
				}
				var want, got []string
				for _, d := range docs {
					if d.IsListed(all) && (!byOwner || d.String("owner_id") == owner) {
						want = append(want, d.String("case"))
					}
				}
				for _, r := range rows {
					got = append(got, r.Doc.String("case"))
				}
				slices.Sort(want)
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Fatalf("listed %q, want %q", got, want)
				}
			})
		}
	}
}

func testScanOrderAndPaging(t *testing.T, s Backend) {
	ctx := testContext(t)
	account := NewAccountID()
	owner := randomHex(16)

	// Two recordings share a second, so the id breaks the tie; ids are lower-case hex
	// so that CouchDB's ICU collation and byte order agree.
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
	// Neighbours outside the range, and in the next month's database.
	mustPutRecording(t, s, account, mk(-1, "00000000000000000000000000000000", true))
	mustPutRecording(t, s, account, mk(31, "ffffffffffffffffffffffffffffffff", true))
	mustPutRecording(t, s, account, recordingDoc(newRecordingID(testMonth.Next()), base+15, map[string]any{"owner_id": owner}))
	// A cluster reads each view from one copy of each shard, which may lag the writes by a
	// few milliseconds: wait until the copies list them all, ten reads in a row.
	if onCluster(s) {
		deadline := time.Now().Add(settleTime)
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

	var all []string
	for _, d := range docs {
		all = append(all, d.ID())
	}
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
		q = recording.ScanQuery{From: base + 10, To: base + 10, Limit: 100}
		if got, want := ids(scan(q)), all[1:3]; !slices.Equal(got, want) {
			t.Fatalf("From = To: got %v, want %v", got, want)
		}
		q = recording.ScanQuery{From: base + 11, To: base + 19, Limit: 100}
		if got := ids(scan(q)); len(got) != 0 {
			t.Fatalf("empty range: got %v", got)
		}
	})
	t.Run("limit", func(t *testing.T) {
		q := full
		q.Limit = 2
		if got := ids(scan(q)); !slices.Equal(got, all[:2]) {
			t.Fatalf("got %v, want %v", got, all[:2])
		}
		q.Descending = true
		if got := ids(scan(q)); !slices.Equal(got, reversed[:2]) {
			t.Fatalf("descending: got %v, want %v", got, reversed[:2])
		}
	})
	t.Run("rows", func(t *testing.T) {
		rows := scan(full)
		want := recording.ListKey{Created: base + 10, ID: all[2]}
		if rows[2].Key != want {
			t.Fatalf("key %+v, want %+v", rows[2].Key, want)
		}
		stored := mustGet(t, s, account, all[2])
		if rows[2].Doc.Rev() != stored.Rev() || rows[2].Doc.String("name") != stored.String("name") {
			t.Fatalf("row document %v, want %v", rows[2].Doc, stored)
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
	t.Run("start between keys", func(t *testing.T) {
		// A start key that names no row resumes at the next one in the scan's direction.
		q := full
		q.Start = &recording.ListKey{Created: base + 10, ID: testMonth.String() + "-b05"}
		if got := ids(scan(q)); !slices.Equal(got, all[2:]) {
			t.Fatalf("ascending: got %v, want %v", got, all[2:])
		}
		q.Descending = true
		if got, want := ids(scan(q)), []string{all[1], all[0]}; !slices.Equal(got, want) {
			t.Fatalf("descending: got %v, want %v", got, want)
		}
	})
	t.Run("owner index", func(t *testing.T) {
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
		// Owner ids that extend or prefix this one are other owners.
		for _, o := range []string{randomHex(16), owner[:10], owner + "0"} {
			q.Owner = o
			if got := scan(q); len(got) != 0 {
				t.Fatalf("owner %q: got %v", o, ids(got))
			}
		}
	})
}

// testScanFollowsEveryWrite changes documents in every way that moves them in or out of
// the indexes, or within them, and after each step compares all four indexes with the rule.
func testScanFollowsEveryWrite(t *testing.T, s Backend) {
	ctx := testContext(t)
	account := NewAccountID()
	owner1, owner2 := "o1-"+randomHex(8), "o2-"+randomHex(8)
	base := created(testMonth, 5000)
	a := testMonth.String() + "-a" + randomHex(15)
	b := testMonth.String() + "-b" + randomHex(15)
	c := testMonth.String() + "-c" + randomHex(15)

	current := map[string]recording.Doc{} // what the store should hold, _rev included
	put := func(doc recording.Doc) {
		t.Helper()
		rev := mustPutRecording(t, s, account, doc)
		doc = doc.Clone()
		doc["_rev"] = rev
		current[doc.ID()] = doc
	}
	save := func(id string, change func(recording.Doc)) {
		t.Helper()
		doc := current[id].Clone()
		change(doc)
		rev, err := s.Save(ctx, account, doc)
		if err != nil {
			t.Fatalf("Save %s: %v", id, err)
		}
		doc["_rev"] = rev
		if doc["_deleted"] == true {
			delete(current, id)
		} else {
			current[id] = doc
		}
	}
	check := func(step string) {
		t.Helper()
		settle(t, s, func() error { return scanAgrees(ctx, s, account, step, current, base, owner1, owner2) })
	}

	put(recordingDoc(a, base+1, map[string]any{"owner_id": owner1}))
	put(recordingDoc(b, base+2, map[string]any{"owner_id": owner1}))
	put(recordingDoc(c, base+3, nil))
	check("created")
	save(a, func(d recording.Doc) { d["soft_delete"] = map[string]any{"at": 1} })
	check("soft_delete added")
	save(a, func(d recording.Doc) { d["soft_delete"] = nil })
	check("soft_delete null")
	save(a, func(d recording.Doc) { d["soft_delete"] = map[string]any{"at": 2} })
	save(a, func(d recording.Doc) { delete(d, "soft_delete") })
	check("soft_delete removed")
	save(b, func(d recording.Doc) { d["pvt_deleted"] = true })
	check("pvt_deleted set")
	save(b, func(d recording.Doc) { d["pvt_deleted"] = false })
	check("pvt_deleted cleared")
	save(c, func(d recording.Doc) { d["owner_id"] = owner1 })
	check("owner given")
	save(a, func(d recording.Doc) { d["owner_id"] = owner2 })
	check("owner changed")
	save(c, func(d recording.Doc) { d["owner_id"] = "" })
	check("owner emptied")
	save(a, func(d recording.Doc) { d["pvt_created"] = jsonInt(base + 50) })
	check("pvt_created moved later")
	save(a, func(d recording.Doc) { d["pvt_created"] = jsonInt(base - 50) })
	check("pvt_created moved earlier")
	save(b, func(d recording.Doc) { d["pvt_created"] = "not a number" })
	check("pvt_created no longer a number")
	save(b, func(d recording.Doc) { d["pvt_created"] = jsonInt(base + 2) })
	check("pvt_created a number again")
	save(c, func(d recording.Doc) { d["pvt_type"] = "cdr" })
	check("pvt_type changed")
	save(c, func(d recording.Doc) { d["pvt_type"] = recording.TypeCallRecording })
	check("pvt_type restored")

	// Loader writes replace the document, whatever it held.
	put(recordingDoc(a, base+7, map[string]any{"owner_id": owner1, "soft_delete": "yes"}))
	check("replaced by PutRecording")

	// SaveMany moves entries too, and a refused document moves nothing.
	stale := current[b].Clone()
	save(b, func(d recording.Doc) { d["duration"] = jsonInt(3) }) // stale keeps the old revision
	stale["pvt_created"] = jsonInt(base + 90)
	moved := current[c].Clone()
	moved["pvt_created"] = jsonInt(base + 9)
	moved["owner_id"] = owner2
	saved, err := s.SaveMany(ctx, account, testMonth, []recording.Doc{moved, stale})
	if err != nil || len(saved) != 2 || saved[0].Err != nil {
		t.Fatalf("SaveMany: %+v, %v", saved, err)
	}
	wantCode(t, "SaveMany with a stale revision", saved[1].Err, recording.EConflict)
	moved["_rev"] = saved[0].Rev
	current[c] = moved
	check("SaveMany")

	if err := s.Delete(ctx, account, c, current[c].Rev()); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	delete(current, c)
	check("deleted")
	save(b, func(d recording.Doc) { d["_deleted"] = true })
	check("deleted through Save")
	put(recordingDoc(c, base+4, map[string]any{"owner_id": owner2}))
	check("recreated after deletion")
}

// testScanPastManySoftDeleted: a page is full even when many soft-deleted recordings sit
// between the listed ones, in both directions and on the owner index.
func testScanPastManySoftDeleted(t *testing.T, s Backend) {
	ctx := testContext(t)
	account := NewAccountID()
	owner := randomHex(16)
	base := created(testMonth, 5000)
	var listed []string
	for i := range 60 {
		id := fmt.Sprintf("%s-%032x", testMonth, i)
		extra := map[string]any{"owner_id": owner}
		if i%15 != 14 { // 56 soft-deleted, 4 listed: ids 14, 29, 44, 59
			extra["soft_delete"] = map[string]any{"deleted_at": 1}
		} else {
			listed = append(listed, id)
		}
		mustPutRecording(t, s, account, recordingDoc(id, base+int64(i), extra))
	}
	for _, o := range []string{"", owner} {
		for _, descending := range []bool{false, true} {
			want := slices.Clone(listed[:3])
			if descending {
				want = slices.Clone(listed[1:])
				slices.Reverse(want)
			}
			q := recording.ScanQuery{Owner: o, From: base, To: base + 100, Limit: 3, Descending: descending}
			settle(t, s, func() error {
				rows, err := s.Scan(ctx, account, testMonth, q)
				if err != nil {
					return fmt.Errorf("scan %+v: %v", q, err)
				}
				if got := ids(rows); !slices.Equal(got, want) {
					return fmt.Errorf("scan %+v listed %v, want %v", q, got, want)
				}
				return nil
			})
		}
	}
}

func testScanMissingMonthAndBadLimit(t *testing.T, s Backend) {
	ctx := testContext(t)
	account := NewAccountID()
	q := recording.ScanQuery{From: 0, To: created(testMonth, 1e6), Limit: 10}
	rows, err := s.Scan(ctx, account, testMonth, q)
	if err != nil || len(rows) != 0 {
		t.Fatalf("Scan of a missing month: rows %v, err %v", rows, err)
	}
	rows, err = s.Scan(ctx, "nope", testMonth, q)
	if err != nil || len(rows) != 0 {
		t.Fatalf("Scan of a malformed account id: rows %v, err %v", rows, err)
	}
	mustPutRecording(t, s, account, recordingDoc(newRecordingID(testMonth), created(testMonth, 5), nil))
	rows, err = s.Scan(ctx, account, testMonth.Next(), q)
	if err != nil || len(rows) != 0 {
		t.Fatalf("Scan of the month after: rows %v, err %v", rows, err)
	}
	for _, limit := range []int{0, -1} {
		q.Limit = limit
		_, err = s.Scan(ctx, account, testMonth, q)
		wantCode(t, fmt.Sprintf("Scan with limit %d", limit), err, recording.EInvalid)
	}
}

// scanAgrees compares every listing Scan of the month with what current says it must hold.
func scanAgrees(ctx context.Context, s Backend, account, step string, current map[string]recording.Doc, base int64, owner1, owner2 string) error {
	for _, owner := range []string{"", owner1, owner2} {
		for _, all := range []bool{false, true} {
			var want []recording.Row
			for _, d := range current {
				if !d.IsListed(all) || owner != "" && d.String("owner_id") != owner {
					continue
				}
				at, _ := d.Int("pvt_created")
				want = append(want, recording.Row{Key: recording.ListKey{Owner: owner, Created: at, ID: d.ID()}, Doc: d})
			}
			slices.SortFunc(want, func(x, y recording.Row) int {
				if x.Key.Less(y.Key) {
					return -1
				}
				return 1
			})
			for _, descending := range []bool{false, true} {
				q := recording.ScanQuery{Owner: owner, From: base - 100, To: base + 100, Limit: 10, IncludeSoftDeleted: all, Descending: descending}
				rows, err := s.Scan(ctx, account, testMonth, q)
				if err != nil {
					return fmt.Errorf("%s: Scan %+v: %v", step, q, err)
				}
				w := slices.Clone(want)
				if descending {
					slices.Reverse(w)
				}
				if len(rows) != len(w) {
					return fmt.Errorf("%s: Scan %+v listed %v, want %v", step, q, ids(rows), ids(w))
				}
				for i := range rows {
					if rows[i].Key != w[i].Key || rows[i].Doc.Rev() != w[i].Doc.Rev() {
						return fmt.Errorf("%s: Scan %+v row %d: key %+v rev %s, want key %+v rev %s",
							step, q, i, rows[i].Key, rows[i].Doc.Rev(), w[i].Key, w[i].Doc.Rev())
					}
				}
			}
		}
	}
	return nil
}
