package crossbar_test

// Benchmarks of the hot functions of a listing: envelope encoding (paged and streamed),
// filter evaluation, paging tokens, content negotiation. Run them with
//
//	go test -run '^$' -bench . -benchmem -count 10 ./pkg/crossbar/ > new.txt
//
// and compare two runs with benchstat. `make bench` runs them too. They are not tests:
// `go test` without -bench skips them.

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/crossbar"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// benchDoc is a call_recording shaped like the ones Kazoo (and `recordingsd seed`) writes,
// decoded the way the stores decode documents (numbers as json.Number).
func benchDoc(b testing.TB, i int) recording.Doc {
	b.Helper()
	id := fmt.Sprintf("202611-%032x", i)
	owner := fmt.Sprintf("%032x", i%3+1)
	raw := fmt.Sprintf(`{"_id":%q,"_rev":"2-%032x","pvt_type":"call_recording",
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
		id, i, 63960000000+int64(i), 63960000000+int64(i), i, i, i, i, i, 63960000000+int64(i)-7, id, owner, owner, i)
	d, err := recording.DecodeDoc([]byte(raw))
	if err != nil {
		b.Fatal(err)
	}
	return d
}

func benchPage(b testing.TB, n int) []any {
	items := make([]any, n)
	for i := range items {
		items[i] = benchDoc(b, i).Public()
	}
	return items
}

// discard is a ResponseWriter that keeps nothing, so only encoding is measured.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header {
	if d.h == nil {
		d.h = http.Header{}
	}
	return d.h
}
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Flush()                      {}

var benchMeta = crossbar.Meta{RequestID: "0123456789abcdef0123456789abcdef", AuthToken: "token", Version: "4.3.0", Node: "recordingsd@bench"}

// A listing page of 50 recordings, as the list handler writes it.
func BenchmarkWriteSuccessPage50(b *testing.B) {
	items := benchPage(b, 50)
	n := len(items)
	e := crossbar.Envelope{Data: items, PageSize: &n, StartKey: "eyJ2IjoxfQ", NextStartKey: "eyJ2IjoxfQ", Revision: "0123456789abcdef"}
	w := &discard{}
	b.ReportAllocs()
	for b.Loop() {
		crossbar.WriteSuccess(w, http.StatusOK, benchMeta, e)
	}
}

// One recording, as GET /recordings/{id} writes it.
func BenchmarkWriteSuccessDoc(b *testing.B) {
	doc := benchDoc(b, 1)
	w := &discard{}
	b.ReportAllocs()
	for b.Loop() {
		crossbar.WriteSuccess(w, http.StatusOK, benchMeta, crossbar.Envelope{Data: doc.Public(), Revision: doc.Rev()})
	}
}

// A paginate=false listing of 1000 recordings, streamed item by item.
func BenchmarkListStream1000(b *testing.B) {
	items := benchPage(b, 1000)
	w := &discard{}
	b.ReportAllocs()
	for b.Loop() {
		s := crossbar.NewListStream(w, benchMeta)
		for _, it := range items {
			if err := s.Item(it); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.Close(crossbar.Envelope{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteError(b *testing.B) {
	w := &discard{}
	b.ReportAllocs()
	for b.Loop() {
		crossbar.WriteError(w, benchMeta, crossbar.BadIdentifier("202611-nope"))
	}
}

var benchFilters = map[string]url.Values{
	"none":        {},
	"owner":       {"filter_owner_id": {fmt.Sprintf("%032x", 2)}},
	"nested":      {"filter_custom_channel_vars.Owner-ID": {fmt.Sprintf("%032x", 2)}},
	"not+has_key": {"filter_not_direction": {"outbound"}, "has_key": {"custom_channel_vars.Media-Recording-ID"}},
	"modified":    {"modified_from": {"63960000100"}, "modified_to": {"63960000900"}},
}

// Filter evaluation over 1000 documents (Kazoo's query filters on a listing).
func BenchmarkFilterMatch1000(b *testing.B) {
	docs := make([]recording.Doc, 1000)
	for i := range docs {
		docs[i] = benchDoc(b, i)
	}
	for _, name := range []string{"none", "owner", "nested", "not+has_key", "modified"} {
		f, err := crossbar.NewFilter(benchFilters[name])
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				n := 0
				for _, d := range docs {
					if f.Match(d) {
						n++
					}
				}
				if n == 0 && name != "modified" {
					b.Fatal("no document matched")
				}
			}
		})
	}
}

func BenchmarkNewFilter(b *testing.B) {
	q := url.Values{"filter_custom_channel_vars.Owner-ID": {"x"}, "filter_not_direction": {"outbound"},
		"has_key": {"media_source"}, "created_from": {"63960000000"}, "page_size": {"50"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := crossbar.NewFilter(q); err != nil {
			b.Fatal(err)
		}
	}
}

var benchKey = recording.ListKey{Owner: fmt.Sprintf("%032x", 2), Created: 63960000123, ID: fmt.Sprintf("202611-%032x", 123)}

func BenchmarkEncodeStartKey(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = crossbar.EncodeStartKey(benchKey)
	}
}

func BenchmarkDecodeStartKey(b *testing.B) {
	token := crossbar.EncodeStartKey(benchKey)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := crossbar.DecodeStartKey(token, benchKey.Owner); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNegotiate(b *testing.B) {
	const accept = "text/html,application/xhtml+xml,application/xml;q=0.9,audio/*;q=0.8,*/*;q=0.5"
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := crossbar.Negotiate(accept, "audio/mpeg"); !ok {
			b.Fatal("not acceptable")
		}
	}
}

func BenchmarkParseRange(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := crossbar.ParseRange("bytes=-1048576", 50<<20); err != nil {
			b.Fatal(err)
		}
	}
}
