package couchviews

import (
	"strings"
	"testing"
)

func TestRetentionDesign(t *testing.T) {
	if Retention.ID() != RetentionDesignID || Retention.Name() != RetentionDesignName {
		t.Fatalf("id %q name %q", Retention.ID(), Retention.Name())
	}
	doc := Retention.Doc()
	if doc["_id"] != RetentionDesignID {
		t.Fatalf("doc _id %v", doc["_id"])
	}
	views, _ := doc["views"].(map[string]any)
	if len(views) != 1 {
		t.Errorf("%d views, want 1", len(views))
	}
	view, _ := views[ViewPurge].(map[string]any)
	m, _ := view["map"].(string)
	for _, rule := range []string{
		"doc.pvt_type !== 'call_recording'",
		"doc.pvt_deleted === true || doc.pvt_deleted === 'true'",
		"emit(['deleted', modified, doc._id], null)",
		"sd === undefined || sd === null",
		"sd.deleted_at",
		"emit(['soft_deleted', at, doc._id], null)",
	} {
		if !strings.Contains(m, rule) {
			t.Errorf("view %s lacks %q", ViewPurge, rule)
		}
	}
	if _, hasReduce := view["reduce"]; hasReduce {
		t.Errorf("view %s must be map-only", ViewPurge)
	}
	if !Retention.IsCurrent(doc) {
		t.Fatal("our own retention design document is not current")
	}
	// Each design is stamped on its own: none passes for another.
	for _, other := range []*Design{Recordings, Auth} {
		if other.IsCurrent(doc) || Retention.IsCurrent(other.Doc()) {
			t.Fatalf("%s and %s pass for each other", Retention.ID(), other.ID())
		}
	}
	doc["views"] = nil
	if again := Retention.Doc(); again["views"] == nil {
		t.Fatal("Retention.Doc returned shared state")
	}
}
