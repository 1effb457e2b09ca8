package recording_test

// Benchmarks of the hot functions of the domain: documents (decode, public view, clone),
// patches, and the listing merge across month databases. Run them with
//
//	go test -run '^$' -bench . -benchmem -count 10 ./pkg/recording/ > new.txt
//
// and compare two runs with benchstat. `make bench` runs them too.

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// benchJSON is a call_recording as Kazoo (and `recordingsd seed`) stores it.
func benchJSON(i int, created int64) []byte {
	id := fmt.Sprintf("%s-%032x", recording.MonthOf(recording.FromGregorian(created)), i)
	owner := fmt.Sprintf("%032x", i%3+1)
	return fmt.Appendf(nil, `{"_id":%q,"_rev":"2-%032x","pvt_type":"call_recording",
		"pvt_account_id":"1ce10f31b0f81aa21480280c9a144e2d",
		"pvt_account_db":"account%%2F1c%%2Fe1%%2F0f31b0f81aa21480280c9a144e2d-202611",
		"pvt_created":%d,"pvt_modified":%d,"pvt_node":"ecallmgr@demo.pbx",
		"call_id":"%016x@demo.pbx","cdr_id":"202611-%016x@demo.pbx","content_type":"audio/mpeg",
		"description":"recording %032x.mp3","duration":7,"duration_ms":7412,
		"interaction_id":"1795000000-%08x","media_source":"recorded","media_type":"mp3",
		"name":"%032x.mp3","source_type":"kzc_recording","start":%d,
		"custom_channel_vars":{"Media-Recording-ID":%q,"Account-ID":"1ce10f31b0f81aa21480280c9a144e2d","Owner-ID":%q},
		"owner_id":%q,"direction":"inbound","origin":"inbound from offnet to user",
		"caller_id_name":"Margaret Hamilton","caller_id_number":"+12125550199",
		"callee_id_name":"Ada Lovelace","callee_id_number":"+14155550101",
		"from":"+12125550199@demo.pbx","to":"+14155550101@demo.pbx","request":"+14155550101@demo.pbx",
		"_attachments":{"%032x.mp3":{"content_type":"audio/mpeg","revpos":2,"digest":"md5-2ZlJ0ZC7z0zVw2hnmUQXdA==","length":40960,"stub":true}}}`,
		id, i, created, created, i, i, i, i, i, created-7, id, owner, owner, i)
}

var benchCreated = recording.ToGregorian(time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC))

func benchDoc(b testing.TB) recording.Doc {
	d, err := recording.DecodeDoc(benchJSON(1, benchCreated))
	if err != nil {
		b.Fatal(err)
	}
	return d
}

func BenchmarkDecodeDoc(b *testing.B) {
	raw := benchJSON(1, benchCreated)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := recording.DecodeDoc(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDocPublic(b *testing.B) {
	d := benchDoc(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = d.Public()
	}
}

func BenchmarkDocClone(b *testing.B) {
	d := benchDoc(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = d.Clone()
	}
}

func BenchmarkPatchSoftDelete(b *testing.B) {
	d := benchDoc(b)
	p, err := recording.NewPatch(map[string]any{"soft_delete": map[string]any{}}, "")
	if err != nil {
		b.Fatal(err)
	}
	caller := recording.Caller{AccountID: "1ce10f31b0f81aa21480280c9a144e2d"}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		p.Apply(d.Clone(), caller, now)
	}
}

// memStore serves listings from memory: only what recording.List calls is implemented
// (the embedded interface makes it a Store; anything else would panic).
type memStore struct {
	recording.Store
	months map[recording.Month][]recording.Row // each sorted by key
}

func (s *memStore) MonthExists(_ context.Context, _ string, m recording.Month) (bool, error) {
	_, ok := s.months[m]
	return ok, nil
}

func (s *memStore) Scan(_ context.Context, _ string, m recording.Month, q recording.ScanQuery) ([]recording.Row, error) {
	rows := s.months[m]
	var out []recording.Row
	if !q.Descending {
		i := sort.Search(len(rows), func(i int) bool {
			k := rows[i].Key
			if q.Start != nil {
				return !k.Less(*q.Start)
			}
			return k.Created >= q.From
		})
		for ; i < len(rows) && len(out) < q.Limit && rows[i].Key.Created <= q.To; i++ {
			out = append(out, rows[i])
		}
		return out, nil
	}
	i := sort.Search(len(rows), func(i int) bool {
		k := rows[i].Key
		if q.Start != nil {
			return q.Start.Less(k)
		}
		return k.Created > q.To
	}) - 1
	for ; i >= 0 && len(out) < q.Limit && rows[i].Key.Created >= q.From; i-- {
		out = append(out, rows[i])
	}
	return out, nil
}

var memStores = map[int]*memStore{}

// newMemStore spreads n recordings evenly over the 90 days before benchCreated (built once
// per size and process: -count repeats a benchmark in the same process).
func newMemStore(b testing.TB, n int) *memStore {
	if s, ok := memStores[n]; ok {
		return s
	}
	s := &memStore{months: map[recording.Month][]recording.Row{}}
	memStores[n] = s
	span := int64(90 * 24 * 3600)
	for i := 0; i < n; i++ {
		created := benchCreated - span + int64(i)*span/int64(n)
		d, err := recording.DecodeDoc(benchJSON(i, created))
		if err != nil {
			b.Fatal(err)
		}
		m, _ := recording.ParseRecordingID(d.ID())
		s.months[m] = append(s.months[m], recording.Row{Key: recording.ListKey{Created: created, ID: d.ID()}, Doc: d})
	}
	for m := range s.months {
		rows := s.months[m]
		sort.Slice(rows, func(i, j int) bool { return rows[i].Key.Less(rows[j].Key) })
	}
	return s
}

// One page of 50 of a 31-day window (two month databases merged), as the default listing.
func BenchmarkListPage50(b *testing.B) {
	s := newMemStore(b, 30000)
	req := recording.ListRequest{AccountID: "1ce10f31b0f81aa21480280c9a144e2d",
		From: benchCreated - 2682000, To: benchCreated, PageSize: 50}
	for _, desc := range []bool{false, true} {
		b.Run(fmt.Sprintf("descending=%v", desc), func(b *testing.B) {
			req.Descending = desc
			b.ReportAllocs()
			for b.Loop() {
				n := 0
				if _, err := recording.List(context.Background(), s, req, func(recording.Row) error { n++; return nil }); err != nil || n != 50 {
					b.Fatalf("%d rows, %v", n, err)
				}
			}
		})
	}
}

// Every recording of a 3-month window in one go (paginate=false): 30,000 rows in batches.
func BenchmarkListAll30000(b *testing.B) {
	s := newMemStore(b, 30000)
	req := recording.ListRequest{AccountID: "1ce10f31b0f81aa21480280c9a144e2d",
		From: benchCreated - 91*24*3600, To: benchCreated}
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		if _, err := recording.List(context.Background(), s, req, func(recording.Row) error { n++; return nil }); err != nil || n != 30000 {
			b.Fatalf("%d rows, %v", n, err)
		}
	}
}
