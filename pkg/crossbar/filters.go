package crossbar

import (
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Filter is the query-string document filter of Kazoo's crossbar_filter: a list of tests
// a document must all pass. The zero value and nil pass every document.
type Filter struct {
	tests []func(recording.Doc) bool
}

// Query-string keys of the filter (Kazoo's crossbar_filter).
const (
	filterPrefix    = "filter_"
	filterNotPrefix = "filter_not_"
	keyHasKey       = "has_key"
	keyKeyMissing   = "key_missing"
	keyHasValue     = "has_value"
	keyValueMissing = "value_missing"
)

// Inclusive bounds on private integer fields; these keys also set a listing's range.
var boundKeys = map[string]struct {
	field string
	lower bool
}{
	"created_from":  {"pvt_created", true},
	"created_to":    {"pvt_created", false},
	"modified_from": {"pvt_modified", true},
	"modified_to":   {"pvt_modified", false},
}

// NewFilter builds the filter a query string asks for; keys that are not filters are
// ignored. Every value of a repeated key is a test of its own. A path is dotted
// ("custom_channel_vars.Owner-ID") and looks into nested objects, private fields included.
//
//	filter_<path>=V      the value at path, as text, is V (a missing value is ""), or V is
//	                     JSON equal to the value, or a JSON array holding it
//	filter_not_<path>=V  the opposite
//	has_key=<path>       the key exists, even with null
//	key_missing=<path>   the key does not exist
//	has_value=<path>     the value is not missing, null, "", {} or []
//	value_missing=<path> the opposite
//	created_from=N, created_to=N, modified_from=N, modified_to=N
//	                     inclusive bounds on pvt_created / pvt_modified
//
// A bound that is not an integer is an error; it is always an *APIError (400) naming the key.
func NewFilter(q url.Values) (*Filter, error) {
	keys := make([]string, 0, len(q))
	for key := range q {
		keys = append(keys, key)
	}
	sort.Strings(keys) // the first bad key reported is the same on every run
	f := &Filter{}
	for _, key := range keys {
		for _, value := range q[key] {
			test, err := filterTest(key, value)
			if err != nil {
				return nil, err
			}
			if test != nil {
				f.tests = append(f.tests, test)
			}
		}
	}
	return f, nil
}

// filterTest is the test for one key=value pair, or nil when key is not a filter.
func filterTest(key, value string) (func(recording.Doc) bool, *APIError) {
	if bound, ok := boundKeys[key]; ok {
		limit, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return nil, ValidationError(key, "type", key+" must be an integer", map[string]any{"value": value})
		}
		return func(d recording.Doc) bool {
			n, ok := d.Int(bound.field)
			if bound.lower {
				return ok && n >= limit
			}
			return ok && n <= limit
		}, nil
	}
	switch {
	case strings.HasPrefix(key, filterNotPrefix):
		m := newValueMatcher(strings.TrimPrefix(key, filterNotPrefix), value)
		return func(d recording.Doc) bool { return !m.matches(d) }, nil
	case strings.HasPrefix(key, filterPrefix):
		m := newValueMatcher(strings.TrimPrefix(key, filterPrefix), value)
		return m.matches, nil
	}
	path := splitPath(value)
	switch key {
	case keyHasKey:
		return func(d recording.Doc) bool { _, found := lookupPath(d, path); return found }, nil
	case keyKeyMissing:
		return func(d recording.Doc) bool { _, found := lookupPath(d, path); return !found }, nil
	case keyHasValue:
		return func(d recording.Doc) bool { return hasValue(lookupPath(d, path)) }, nil
	case keyValueMissing:
		return func(d recording.Doc) bool { return !hasValue(lookupPath(d, path)) }, nil
	}
	return nil, nil
}

// Empty reports whether the filter passes every document without looking at it.
func (f *Filter) Empty() bool { return f == nil || len(f.tests) == 0 }

// Match reports whether doc passes every test.
func (f *Filter) Match(doc recording.Doc) bool {
	if f == nil {
		return true
	}
	for _, test := range f.tests {
		if !test(doc) {
			return false
		}
	}
	return true
}

// valueMatcher is one filter_<path>=V test, with V decoded once rather than per document.
type valueMatcher struct {
	path   []string
	text   string
	parsed any  // V decoded as JSON, when it is JSON
	isJSON bool // parsed holds a value (which may be null)
}

func newValueMatcher(path, value string) valueMatcher {
	m := valueMatcher{path: splitPath(path), text: value}
	if parsed, err := decodeJSON([]byte(value)); err == nil {
		m.parsed, m.isJSON = parsed, true
	}
	return m
}

// matches follows Kazoo's should_filter: the text comparison first, then V as JSON. A
// string in V also matches the value's text, so ["5","6"] finds a duration of 5 as in Kazoo.
func (m valueMatcher) matches(d recording.Doc) bool {
	value, found := lookupPath(d, m.path)
	text, scalar := valueText(value, found)
	if scalar && text == m.text {
		return true
	}
	if !m.isJSON {
		return false
	}
	same := func(candidate any) bool {
		if s, ok := candidate.(string); ok && scalar && s == text {
			return true
		}
		return found && jsonEqual(candidate, value)
	}
	if same(m.parsed) {
		return true
	}
	if list, ok := m.parsed.([]any); ok {
		for _, candidate := range list {
			if same(candidate) {
				return true
			}
		}
	}
	return false
}

// splitPath turns a dotted path into keys; like Kazoo, a key cannot contain a dot.
func splitPath(path string) []string { return strings.Split(path, ".") }

// lookupPath walks nested objects; found is false when a key is missing or a step is not an object.
func lookupPath(d recording.Doc, path []string) (value any, found bool) {
	value = map[string]any(d)
	for _, key := range path {
		var object map[string]any
		switch o := value.(type) {
		case map[string]any:
			object = o
		case recording.Doc:
			object = o
		default:
			return nil, false
		}
		if value, found = object[key]; !found {
			return nil, false
		}
	}
	return value, true
}

// valueText is a value as Kazoo's filters compare it, as text: a missing value is "",
// null is "null". Objects and arrays have no text form (scalar is false).
func valueText(value any, found bool) (text string, scalar bool) {
	if !found {
		return "", true
	}
	switch v := value.(type) {
	case nil:
		return "null", true
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	}
	if n, ok := asNumber(value); ok {
		return n.String(), true
	}
	return "", false
}

// hasValue reports whether a looked-up value is there and not empty: missing, null,
// "", {} and [] are empty. (Kazoo also counts 0, false and "0"; we do not.)
func hasValue(value any, found bool) bool {
	switch v := value.(type) {
	case nil:
		return false
	case string:
		return v != ""
	case map[string]any:
		return len(v) > 0
	case recording.Doc:
		return len(v) > 0
	case []any:
		return len(v) > 0
	}
	return found
}

// jsonEqual compares two decoded JSON values; numbers compare by value, so 5 equals 5.0.
func jsonEqual(a, b any) bool {
	if an, ok := asNumber(a); ok {
		bn, ok := asNumber(b)
		return ok && numbersEqual(an, bn)
	}
	switch av := a.(type) {
	case nil:
		return b == nil
	case string:
		bv, ok := b.(string)
		return ok && av == bv
	case bool:
		bv, ok := b.(bool)
		return ok && av == bv
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range av {
			if !jsonEqual(av[i], bv[i]) {
				return false
			}
		}
		return true
	}
	ao, aok := asObject(a)
	bo, bok := asObject(b)
	if !aok || !bok || len(ao) != len(bo) {
		return false
	}
	for k, av := range ao {
		bv, found := bo[k]
		if !found || !jsonEqual(av, bv) {
			return false
		}
	}
	return true
}

func asObject(v any) (map[string]any, bool) {
	switch o := v.(type) {
	case map[string]any:
		return o, true
	case recording.Doc:
		return o, true
	}
	return nil, false
}

// asNumber accepts json.Number (how documents decode) and Go numbers (how tests build them).
func asNumber(v any) (json.Number, bool) {
	switch n := v.(type) {
	case json.Number:
		return n, true
	case float64:
		return json.Number(strconv.FormatFloat(n, 'g', -1, 64)), true
	case int:
		return json.Number(strconv.Itoa(n)), true
	case int64:
		return json.Number(strconv.FormatInt(n, 10)), true
	}
	return "", false
}

// numbersEqual compares exactly when both are integers (gregorian seconds exceed what a
// float64 holds exactly only far in the future, but ids and counters need not), else as floats.
func numbersEqual(a, b json.Number) bool {
	if a == b {
		return true
	}
	ai, aErr := a.Int64()
	bi, bErr := b.Int64()
	if aErr == nil && bErr == nil {
		return ai == bi
	}
	af, aErr := a.Float64()
	bf, bErr := b.Float64()
	return aErr == nil && bErr == nil && af == bf
}
