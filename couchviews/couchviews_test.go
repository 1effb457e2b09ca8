package couchviews

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRecordingsDesign(t *testing.T) {
	id, doc := RecordingsDesign()
	if id != DesignID || doc["_id"] != DesignID {
		t.Fatalf("id %q, doc _id %v", id, doc["_id"])
	}
	views, _ := doc["views"].(map[string]any)
	for _, byOwner := range []bool{false, true} {
		name := ListingView(byOwner)
		view, _ := views[name].(map[string]any)
		m, _ := view["map"].(string)
		if !strings.Contains(m, "emit(") || !strings.HasSuffix(m, ", doc); }") {
			t.Errorf("view %s does not emit the document as its value: %s", name, m)
		}
		if _, hasReduce := view["reduce"]; hasReduce {
			t.Errorf("view %s must be map-only", name)
		}
		if strings.Contains(m, "soft_delete") {
			t.Errorf("view %s must keep soft-deleted recordings (the reader filters them)", name)
		}
		if strings.Contains(m, "owner_id") != byOwner {
			t.Errorf("view %s: owner filtering should be %v", name, byOwner)
		}
	}
	rng, _ := views[ViewCreatedRange].(map[string]any)
	if rng["reduce"] != "_stats" {
		t.Errorf("view %s: reduce %v, want _stats", ViewCreatedRange, rng["reduce"])
	}
	if len(views) != 3 {
		t.Errorf("%d views, want 3", len(views))
	}
	if !IsCurrent(doc) {
		t.Fatal("our own design document is not current")
	}
	// Fresh copies: changing one must not change the next.
	doc["views"] = nil
	if _, again := RecordingsDesign(); again["views"] == nil {
		t.Fatal("RecordingsDesign returned shared state")
	}
}

func TestIsCurrent(t *testing.T) {
	version, hash := RecordingsDesignVersion()
	meta := func(v any, h string) map[string]any {
		return map[string]any{"recordingsd": map[string]any{"version": v, "hash": h}}
	}
	num := func(n int64) json.Number { b, _ := json.Marshal(n); return json.Number(b) }
	cases := []struct {
		name      string
		installed map[string]any
		want      bool
	}{
		{"missing", nil, false},
		{"no stamp", map[string]any{"views": map[string]any{}}, false},
		{"same", meta(num(version), hash), true},
		{"same as float64", meta(float64(version), hash), true},
		{"same version, other content", meta(num(version), "other"), false},
		{"older", meta(num(version-1), hash), false},
		{"newer", meta(num(version+1), "whatever"), true},
		{"version not a number", meta("1", hash), false},
	}
	for _, c := range cases {
		if got := IsCurrent(c.installed); got != c.want {
			t.Errorf("%s: IsCurrent = %v, want %v", c.name, got, c.want)
		}
	}
}
