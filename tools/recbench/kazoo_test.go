package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/couchviews"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
)

// The list cases' windows: a whole calendar month before the anchor's, and one as long from
// the 16th of that month; both within the service's default listing.max_range_s.
func TestListWindows(t *testing.T) {
	const maxRange = 2682000
	for month := 1; month <= 12; month++ {
		anchor := time.Date(2026, time.Month(month), 3, 12, 0, 0, 0, time.UTC)
		b := &bench{anchor: anchor}
		w, mid := b.monthWindow(), b.midMonthWindow()
		prev := recording.MonthOf(anchor).Prev()
		if got := recording.FromGregorian(w.from); !got.Equal(prev.Start()) {
			t.Errorf("anchor %s: window from %s, want %s", anchor, got, prev.Start())
		}
		if got := recording.FromGregorian(w.to + 1); !got.Equal(prev.Next().Start()) {
			t.Errorf("anchor %s: window to %s, want the last second before %s", anchor, got, prev.Next().Start())
		}
		if w.to-w.from > maxRange || mid.to-mid.from != w.to-w.from {
			t.Errorf("anchor %s: windows of %d and %d s", anchor, w.to-w.from, mid.to-mid.from)
		}
		if m := recording.MonthOf(recording.FromGregorian(mid.from)); m != prev || recording.FromGregorian(mid.from).Day() != 16 {
			t.Errorf("anchor %s: middle window from %s", anchor, recording.FromGregorian(mid.from))
		}
	}
}

// Kazoo's _design/recordings as recbench installs it: crossbar_listing keeps every
// call_recording that is not pvt_deleted (soft-deleted ones included), listing_by_user those
// with an owner too; and a build from scratch gets an index of its own, then is removed.
func TestKazooDesignOnCouchDB(t *testing.T) {
	ctx := context.Background()
	c, err := newCouchClient(couchtest.URL(t), http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	if name := c.welcome(ctx); !strings.HasPrefix(name, "Apache CouchDB ") && !strings.HasPrefix(name, "pouchdb-server") {
		t.Errorf("welcome = %q", name)
	}
	db := recording.MonthDBName(couchtest.NewAccountID(), recording.Month{Year: 2026, Month: 11})
	if _, err := c.doJSON(ctx, http.MethodPut, []string{db}, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = c.doJSON(ctx, http.MethodDelete, []string{db}, nil, nil, nil) }()
	rec := func(id string, extra map[string]any) map[string]any {
		d := map[string]any{"_id": id, "pvt_type": "call_recording", "pvt_created": 63960710400, "owner_id": "u1"}
		for k, v := range extra {
			d[k] = v
		}
		return d
	}
	docs := []map[string]any{
		rec("a-live", nil),
		rec("b-soft-deleted", map[string]any{"soft_delete": map[string]any{"deleted_at": 1}}),
		rec("c-deleted", map[string]any{"pvt_deleted": true}),
		rec("d-deleted-string", map[string]any{"pvt_deleted": "true"}),
		rec("e-no-owner", map[string]any{"owner_id": ""}),
		rec("f-not-deleted", map[string]any{"pvt_deleted": false}),
		{"_id": "g-user", "pvt_type": "user", "pvt_created": 63960710400},
	}
	if _, err := c.doJSON(ctx, http.MethodPost, []string{db, "_bulk_docs"}, nil, map[string]any{"docs": docs}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.putDesign(ctx, db, kazooRecordingsDesign()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.putDesign(ctx, db, kazooRecordingsDesign()); err != nil { // over itself
		t.Fatal(err)
	}
	keys := func(view string) []string {
		rows, err := c.readDesignView(ctx, db, kazooDesignName, view, url.Values{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rows {
			out = append(out, string(r.Key))
		}
		return out
	}
	wantListing := []string{`[63960710400,"a-live"]`, `[63960710400,"b-soft-deleted"]`, `[63960710400,"e-no-owner"]`, `[63960710400,"f-not-deleted"]`}
	if got := keys(kazooViewListing); !reflect.DeepEqual(got, wantListing) {
		t.Errorf("%s keys %v, want %v", kazooViewListing, got, wantListing)
	}
	wantByUser := []string{`["u1",63960710400,"a-live"]`, `["u1",63960710400,"b-soft-deleted"]`, `["u1",63960710400,"f-not-deleted"]`}
	if got := keys(kazooViewByUser); !reflect.DeepEqual(got, wantByUser) {
		t.Errorf("%s keys %v, want %v", kazooViewByUser, got, wantByUser)
	}

	b := &bench{couch: c, logw: io.Discard, started: time.Now()}
	_, ours := couchviews.RecordingsDesign()
	if _, err := c.putDesign(ctx, db, ours); err != nil {
		t.Fatal(err)
	}
	if _, err := c.waitView(ctx, db, couchviews.DesignName, couchviews.ViewListing); err != nil {
		t.Fatal(err)
	}
	took, err := b.buildFromScratch(ctx, db, couchviews.Recordings.Doc(), couchviews.ViewListing, 0)
	if err != nil {
		t.Fatal(err)
	}
	if took <= 0 {
		t.Errorf("build took %v", took)
	}
	var all struct {
		Rows []struct {
			ID string `json:"id"`
		} `json:"rows"`
	}
	q := url.Values{"startkey": {`"_design/"`}, "endkey": {`"_design0"`}}
	if _, err := c.doJSON(ctx, http.MethodGet, []string{db, "_all_docs"}, q, nil, &all); err != nil {
		t.Fatal(err)
	}
	var designs []string
	for _, r := range all.Rows {
		designs = append(designs, r.ID)
	}
	if want := []string{"_design/" + kazooDesignName, couchviews.DesignID}; !reflect.DeepEqual(designs, want) {
		t.Errorf("design documents after the build %v, want %v (the copy removed)", designs, want)
	}
	if info, err := c.designInfo(ctx, db, couchviews.DesignName); err == nil && info.ok {
		if info.file <= 0 || info.active <= 0 {
			t.Errorf("index sizes file %d active %d", info.file, info.active)
		}
	}
}
