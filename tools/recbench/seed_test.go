package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/demo"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
)

var testAnchor = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// The fast CouchDB seeding (_bulk_docs) writes the very documents `recordingsd seed` writes
// (demo.Seed through the CouchDB backend): same ids, fields and audio; only revisions differ.
func TestBulkSeedWritesWhatSeedWrites(t *testing.T) {
	dir := filepath.Join("..", "..", "testenv", "pouchdb")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", ".bin", "pouchdb-server")); err != nil {
		if os.Getenv(couchtest.EnvRequire) == "1" {
			t.Fatalf("pouchdb-server is not installed: %v", err)
		}
		t.Skip("pouchdb-server is not installed (make testdeps)")
	}
	ctx := context.Background()
	// A server of our own: the demo account ids are fixed, and other tests seed them too.
	p, err := startPouch(ctx, dir, 512)
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop()
	c, err := newCouchClient(p.url, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	o := seedOptions(40, 3, 3, testAnchor)

	fast, err := seedCouch(ctx, c, o)
	if err != nil {
		t.Fatal(err)
	}
	fastDocs := readMonths(t, c, fast)

	if err := dropMonths(ctx, c, fast.accountID, o); err != nil {
		t.Fatal(err)
	}
	s, err := couch.New(couch.Config{URL: p.url}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := demo.Seed(ctx, s, o); err != nil {
		t.Fatal(err)
	}
	slowDocs := readMonths(t, c, fast)

	if len(fastDocs) != 40 || len(slowDocs) != 40 {
		t.Fatalf("read %d documents after the fast seeding and %d after demo.Seed, want 40", len(fastDocs), len(slowDocs))
	}
	for id, want := range slowDocs {
		if got := fastDocs[id]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n fast %v\n seed %v", id, got, want)
		}
	}
}

// readMonths reads every recording of the data set's month databases, without revisions.
func readMonths(t *testing.T, c *couchClient, set *dataSet) map[string]recording.Doc {
	t.Helper()
	out := map[string]recording.Doc{}
	for _, m := range set.months() {
		var all struct {
			Rows []struct {
				ID  string          `json:"id"`
				Doc json.RawMessage `json:"doc"`
			} `json:"rows"`
		}
		q := map[string][]string{"include_docs": {"true"}}
		if _, err := c.doJSON(context.Background(), http.MethodGet, []string{recording.MonthDBName(set.accountID, m), "_all_docs"}, q, nil, &all); err != nil {
			t.Fatal(err)
		}
		for _, r := range all.Rows {
			if r.ID[0] == '_' {
				continue
			}
			d, err := recording.DecodeDoc(r.Doc)
			if err != nil {
				t.Fatal(err)
			}
			delete(d, "_rev")
			if atts, ok := d["_attachments"].(map[string]any); ok {
				for _, a := range atts {
					delete(a.(map[string]any), "revpos") // 1 in one _bulk_docs, 2 after PUT doc + PUT attachment
				}
			}
			out[r.ID] = d
		}
	}
	return out
}

// describe knows, without a store, the recordings a seeding writes.
func TestDescribeKnowsWhatSeedingWrites(t *testing.T) {
	ctx := context.Background()
	o := seedOptions(300, 3, 10, testAnchor)
	seeded, err := seedEmbedded(ctx, filepath.Join(t.TempDir(), "s.db"), o)
	if err != nil {
		t.Fatal(err)
	}
	described, err := describe(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(seeded.recordings, described.recordings) || len(seeded.recordings) != 300 {
		t.Fatalf("seeded %d recordings, described %d, or they differ", len(seeded.recordings), len(described.recordings))
	}
	if got, want := seeded.listed(), 300-30-1; got != want {
		t.Errorf("listed = %d, want %d (one in ten soft-deleted, one pvt_deleted)", got, want)
	}
	if len(seeded.months()) < 3 || len(seeded.live(seeded.months()[1], 1000)) == 0 {
		t.Errorf("months %v", seeded.months())
	}
}

func TestSeriesFigures(t *testing.T) {
	s := series{3, 1, 2, 10, 4}
	if s.median() != 3 || s.min() != 1 || s.max() != 10 {
		t.Errorf("median/min/max of %v = %v %v %v", s, s.median(), s.min(), s.max())
	}
	r := ratios(series{2, 4, 9}, series{1, 2, 3})
	if !reflect.DeepEqual(r, series{2, 2, 3}) {
		t.Errorf("ratios = %v", r)
	}
	lr := loadResult{lat: []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}
	if lr.pct(50) != 5 || lr.pct(99) != 10 || lr.pct(10) != 1 {
		t.Errorf("pct = %v %v %v", lr.pct(50), lr.pct(99), lr.pct(10))
	}
}
