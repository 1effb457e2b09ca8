package crossbar

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// filterDoc is a call_recording as CouchDB returns it, numbers as json.Number.
func filterDoc(t *testing.T) recording.Doc {
	t.Helper()
	d, err := recording.DecodeDoc([]byte(`{
		"_id": "202005-0123456789abcdef0123456789abcdef",
		"pvt_type": "call_recording",
		"pvt_created": 63757000000,
		"pvt_modified": 63757000100,
		"caller_id_number": "+15551234",
		"direction": "inbound",
		"duration": 5,
		"duration_ms": 5230,
		"ratio": 1.5,
		"verified": true,
		"description": "",
		"owner_id": null,
		"tags": ["vip", 7],
		"empty_list": [],
		"empty_object": {},
		"custom_channel_vars": {"Owner-ID": "u1", "Nested": {"Depth": 2}},
		"soft_delete": {"deleted_at": 63757000200}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestFilterMatch(t *testing.T) {
	doc := filterDoc(t)
	tests := []struct {
		query string
		want  bool
	}{
		{"", true},
		{"page_size=5&paginate=false&has_keyboard=x", true}, // not filters

		// filter_<path>: the value as text
		{"filter_direction=inbound", true},
		{"filter_direction=outbound", false},
		{"filter_direction=Inbound", false}, // case matters
		{"filter_duration=5", true},
		{"filter_duration=5.0", true}, // V as JSON: equal numbers
		{"filter_duration=6", false},
		{"filter_ratio=1.5", true},
		{"filter_verified=true", true},
		{"filter_verified=false", false},
		{"filter_pvt_type=call_recording", true}, // private fields count
		{"filter_pvt_created=63757000000", true},
		{"filter_description=", true},        // ""
		{"filter_missing=", true},            // missing is ""
		{"filter_missing=null", false},       // missing is not null
		{"filter_owner_id=null", true},       // null is null
		{"filter_owner_id=", false},          // but not ""
		{`filter_direction="inbound"`, true}, // V as JSON: the same string
		{"filter_custom_channel_vars.Owner-ID=u1", true},
		{"filter_custom_channel_vars.Owner-ID=u2", false},
		{"filter_custom_channel_vars.Nested.Depth=2", true},
		{"filter_custom_channel_vars.Missing.Depth=", true},
		{"filter_direction.deeper=", true}, // a path through a string finds nothing

		// filter_<path>=[…]: one of a list
		{`filter_direction=["outbound","inbound"]`, true},
		{`filter_direction=["outbound"]`, false},
		{`filter_duration=[4,5]`, true},
		{`filter_duration=["5","6"]`, true}, // strings against the value's text, as Kazoo
		{`filter_duration=[4,6]`, false},
		{`filter_missing=[""]`, true},

		// objects and arrays: only as JSON
		{`filter_tags=["vip",7]`, true},
		{`filter_tags=["vip"]`, false},
		{`filter_tags=vip`, false},
		{`filter_custom_channel_vars.Nested={"Depth":2.0}`, true},
		{`filter_custom_channel_vars.Nested={"Depth":3}`, false},
		{`filter_empty_object={}`, true},
		{`filter_empty_list=[]`, true},

		// filter_not_<path>
		{"filter_not_direction=outbound", true},
		{"filter_not_direction=inbound", false},
		{`filter_not_direction=["inbound","outbound"]`, false},
		{"filter_not_missing=", false},
		{"filter_not_custom_channel_vars.Owner-ID=u2", true},

		// has_key / key_missing
		{"has_key=direction", true},
		{"has_key=owner_id", true}, // null counts as present
		{"has_key=missing", false},
		{"has_key=custom_channel_vars.Owner-ID", true},
		{"has_key=custom_channel_vars.Owner-ID.deeper", false},
		{"key_missing=soft_delete", false}, // how listings hide soft-deleted recordings
		{"key_missing=missing", true},
		{"key_missing=owner_id", false},

		// has_value / value_missing
		{"has_value=direction", true},
		{"has_value=duration", true},
		{"has_value=verified", true},
		{"has_value=tags", true},
		{"has_value=custom_channel_vars.Nested", true},
		{"has_value=description", false}, // ""
		{"has_value=owner_id", false},    // null
		{"has_value=empty_list", false},
		{"has_value=empty_object", false},
		{"has_value=missing", false},
		{"value_missing=description", true},
		{"value_missing=direction", false},

		// inclusive bounds on pvt_created / pvt_modified
		{"created_from=63757000000", true},
		{"created_from=63757000001", false},
		{"created_to=63757000000", true},
		{"created_to=63756999999", false},
		{"created_from=63756000000&created_to=63758000000", true},
		{"modified_from=63757000100", true},
		{"modified_from=63757000101", false},
		{"modified_to=63757000100", true},
		{"modified_to=63757000099", false},

		// every test must pass, repeated keys included
		{"filter_direction=inbound&filter_duration=5&has_key=tags", true},
		{"filter_direction=inbound&filter_duration=6", false},
		{"has_key=direction&has_key=missing", false},
		{"filter_direction=inbound&filter_direction=outbound", false},
		{"has_value=direction&has_value=tags", true},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			f, err := NewFilter(q)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Match(doc); got != tt.want {
				t.Errorf("Match(%s) = %v, want %v", tt.query, got, tt.want)
			}
		})
	}
}

func TestFilterBoundsNeedTheField(t *testing.T) {
	for _, query := range []string{"created_from=1", "created_to=99999999999", "modified_from=1", "modified_to=99999999999"} {
		q, _ := url.ParseQuery(query)
		f, err := NewFilter(q)
		if err != nil {
			t.Fatal(err)
		}
		if f.Match(recording.Doc{"_id": "x"}) {
			t.Errorf("%s matched a document without the field", query)
		}
		if !f.Match(recording.Doc{"pvt_created": json.Number("5000"), "pvt_modified": 5000.0}) {
			t.Errorf("%s did not match a document with it", query)
		}
	}
}

func TestNewFilterRejectsBadBounds(t *testing.T) {
	tests := []struct {
		query string
		want  string // JSON of the error data
	}{
		{"created_from=yesterday", `{"created_from":{"type":{"message":"created_from must be an integer","value":"yesterday"}}}`},
		{"created_to=1.5", `{"created_to":{"type":{"message":"created_to must be an integer","value":"1.5"}}}`},
		{"modified_from=", `{"modified_from":{"type":{"message":"modified_from must be an integer","value":""}}}`},
		{"modified_to=1&modified_to=x", `{"modified_to":{"type":{"message":"modified_to must be an integer","value":"x"}}}`},
		{"modified_to=x&created_from=y", `{"created_from":{"type":{"message":"created_from must be an integer","value":"y"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, _ := url.ParseQuery(tt.query)
			f, err := NewFilter(q)
			apiErr, ok := err.(*APIError)
			if f != nil || !ok || apiErr.Status != 400 {
				t.Fatalf("NewFilter(%s) = %v, %v; want a 400 *APIError", tt.query, f, err)
			}
			if got, _ := json.Marshal(apiErr.Data); string(got) != tt.want {
				t.Errorf("data = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestFilterEmpty(t *testing.T) {
	tests := []struct {
		query string
		want  bool
	}{
		{"", true},
		{"page_size=10&descending=true", true},
		{"filter_direction=inbound", false},
		{"has_key=x", false},
		{"created_from=1", false},
	}
	for _, tt := range tests {
		q, _ := url.ParseQuery(tt.query)
		f, err := NewFilter(q)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Empty(); got != tt.want {
			t.Errorf("NewFilter(%q).Empty() = %v, want %v", tt.query, got, tt.want)
		}
	}
	var none *Filter
	if !none.Empty() || !none.Match(recording.Doc{}) {
		t.Error("a nil filter must be empty and pass everything")
	}
}
