package crossbar

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// FuzzFilter: no query string makes NewFilter or Match panic; a refusal is a 400 naming the
// key; a filter is the conjunction of its key=value tests; and each test and its opposite
// (filter_ / filter_not_, has_key / key_missing, has_value / value_missing) disagree on
// every document.
func FuzzFilter(f *testing.F) {
	doc := `{"_id":"202611-abc","pvt_created":63900000000,"pvt_modified":63900000100,"duration":5,"ratio":0.5,` +
		`"name":"call.mp3","tags":["a","b"],"empty":"","nothing":null,"obj":{},"list":[],"flag":false,` +
		`"custom_channel_vars":{"Owner-ID":"u1","Media-Recording-ID":"202611-abc","n":{"deep":[1,{"x":2}]}}}`
	for _, q := range []string{
		"filter_duration=5", "filter_duration=5.0", `filter_duration=["5","6"]`, "filter_not_name=call.mp3",
		"filter_custom_channel_vars.Owner-ID=u1", "has_key=nothing", "key_missing=missing", "has_value=obj",
		"value_missing=empty", "created_from=63900000000&created_to=63900000000", "created_from=x", "modified_to=-1",
		"filter_tags=[\"a\",\"b\"]", "filter_missing=", "filter_nothing=null", "filter_=1", "filter_not_=1",
		"filter_custom_channel_vars.n.deep.1.x=2", "has_key=custom_channel_vars..n", "filter_flag=false&filter_flag=true",
		"filter_ratio=5e-1", "filter_duration=99999999999999999999", "page_size=5&filter_obj={}", "%zz=1&has_key=%",
		"filter_name=%00", "created_from=99999999999999999999",
	} {
		f.Add(q, []byte(doc))
	}
	f.Add("filter_a=1", []byte(`{"a":"1"}`))
	f.Add("filter_a={\"b\":1}", []byte(`{"a":{"b":1.0}}`))
	f.Fuzz(func(t *testing.T, query string, rawDoc []byte) {
		q, _ := url.ParseQuery(query) // what parsed; a server would have done the same
		filter, err := NewFilter(q)
		if err != nil {
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || apiErr.Message != "validation error" {
				t.Fatalf("NewFilter(%q) refused with %v", query, err)
			}
			return
		}
		doc, err := recording.DecodeDoc(rawDoc)
		if err != nil || doc == nil {
			return
		}
		match := filter.Match(doc)
		if match != filter.Match(doc) {
			t.Fatalf("Match is not deterministic for %q", query)
		}
		if filter.Empty() && !match {
			t.Fatalf("the empty filter of %q refused a document", query)
		}
		all := true
		for key, values := range q {
			for _, value := range values {
				one, err := NewFilter(url.Values{key: {value}})
				if err != nil {
					t.Fatalf("%s=%s alone is refused, but not with the rest of %q: %v", key, value, query, err)
				}
				all = all && one.Match(doc)
				checkOpposite(t, key, value, doc)
			}
		}
		if match != all {
			t.Fatalf("%q matches %v, but the conjunction of its tests is %v", query, match, all)
		}
	})
}

// checkOpposite checks that the test key=value and its opposite never agree on doc.
func checkOpposite(t *testing.T, key, value string, doc recording.Doc) {
	t.Helper()
	opposites := map[string]string{keyHasKey: keyKeyMissing, keyHasValue: keyValueMissing}
	for a, b := range opposites {
		opposites[b] = a
	}
	var other url.Values
	switch path, isFilter := strings.CutPrefix(key, filterPrefix); {
	case opposites[key] != "":
		other = url.Values{opposites[key]: {value}}
	case strings.HasPrefix(key, filterNotPrefix):
		other = url.Values{filterPrefix + strings.TrimPrefix(key, filterNotPrefix): {value}}
		if strings.HasPrefix(strings.TrimPrefix(key, filterNotPrefix), "not_") {
			return // filter_ + not_x reads as filter_not_x
		}
	case isFilter:
		other = url.Values{filterNotPrefix + path: {value}}
	default:
		return
	}
	this, _ := NewFilter(url.Values{key: {value}})
	that, err := NewFilter(other)
	if err != nil {
		t.Fatalf("%v refused: %v", other, err)
	}
	if this.Match(doc) == that.Match(doc) {
		t.Fatalf("%s=%q and its opposite %v both say %v", key, value, other, this.Match(doc))
	}
}
