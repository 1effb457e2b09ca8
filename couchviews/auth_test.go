package couchviews

import (
	"strings"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

func TestAuthDesign(t *testing.T) {
	if Auth.ID() != AuthDesignID || Auth.Name() != AuthDesignName {
		t.Fatalf("id %q name %q", Auth.ID(), Auth.Name())
	}
	doc := Auth.Doc()
	if doc["_id"] != AuthDesignID {
		t.Fatalf("doc _id %v", doc["_id"])
	}
	views, _ := doc["views"].(map[string]any)
	if len(views) != 2 {
		t.Errorf("%d views, want 2", len(views))
	}
	for _, field := range []string{recording.FieldMD5Auth, recording.FieldSHA1Auth} {
		name, ok := CredsView(field)
		if !ok || !recording.ValidCredentialField(field) {
			t.Fatalf("no view for %s", field)
		}
		view, _ := views[name].(map[string]any)
		m, _ := view["map"].(string)
		if !strings.Contains(m, "emit(") || !strings.Contains(m, "doc."+field) {
			t.Errorf("view %s does not emit %s: %s", name, field, m)
		}
		for _, other := range []string{recording.FieldMD5Auth, recording.FieldSHA1Auth} {
			if other != field && strings.Contains(m, other) {
				t.Errorf("view %s mentions %s", name, other)
			}
		}
		for _, rule := range []string{"doc.pvt_type !== 'user'", "doc.pvt_deleted", "!doc.enabled"} {
			if !strings.Contains(m, rule) {
				t.Errorf("view %s lacks %q", name, rule)
			}
		}
		if _, hasReduce := view["reduce"]; hasReduce {
			t.Errorf("view %s must be map-only", name)
		}
	}
	if _, ok := CredsView("password"); ok {
		t.Error("CredsView accepted an unknown field")
	}
	if !Auth.IsCurrent(doc) {
		t.Fatal("our own auth design document is not current")
	}
	// The two designs are stamped independently: neither passes for the other.
	if Recordings.IsCurrent(doc) || Auth.IsCurrent(Recordings.Doc()) {
		t.Fatal("one design document passes for the other")
	}
	doc["views"] = nil
	if again := Auth.Doc(); again["views"] == nil {
		t.Fatal("Auth.Doc returned shared state")
	}
}
