package main

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/recordingsd/recordingsd/couchviews"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// indexRow is one month database (or, with total, all of them) in the report's table of view
// indexes: sizes in bytes (-1: the server does not tell) and build times in seconds, run by run.
type indexRow struct {
	name                   string
	recordings             int
	oursFile, oursActive   int64
	kazooFile, kazooActive int64
	oursBuild, kazooBuild  series
	total                  bool
}

// indexSection is the title of the report's table of view indexes.
func (b *bench) indexSection() string {
	return fmt.Sprintf("7. View indexes of the main data set (%s recordings): size and build from scratch", human(len(b.set.recordings)))
}

// indexTable is the table of view indexes, header first, for the terminal and the report.
func (b *bench) indexTable() [][]string {
	mbOf := func(n int64) string {
		if n < 0 {
			return "–"
		}
		return num(mb(n))
	}
	rows := [][]string{{"Month database", "Recordings",
		"`_design/" + couchviews.DesignName + "` file (MB)", "active (MB)",
		"Kazoo's `_design/" + kazooDesignName + "` file (MB)", "active (MB)", "ours ÷ Kazoo's (active)",
		"build of ours (s)", "build of Kazoo's (s)"}}
	for _, r := range b.indexRows {
		ratio := "–"
		if r.oursActive >= 0 && r.kazooActive > 0 {
			ratio = fmt.Sprintf("%.2f×", float64(r.oursActive)/float64(r.kazooActive))
		}
		name := "…-" + r.name
		if r.total {
			name = "all " + fmt.Sprint(len(b.indexRows)-1)
		}
		rows = append(rows, []string{name, fmt.Sprint(r.recordings), mbOf(r.oursFile), mbOf(r.oursActive),
			mbOf(r.kazooFile), mbOf(r.kazooActive), ratio, r.oursBuild.spread(), r.kazooBuild.spread()})
	}
	return rows
}

// caseIndex: what the listing indexes weigh per month database of the main data set, ours
// (_design/recordingsd) and Kazoo's (_design/recordings), as GET /db/_design/name/_info
// reports them, and how long each takes to build from nothing (buildFromScratch), once per
// run and month database, the two designs alternating.
func (b *bench) caseIndex(ctx context.Context) error {
	months := b.set.months()
	perMonth := map[recording.Month]int{}
	for _, r := range b.set.recordings {
		perMonth[r.month]++
	}
	rows := make([]indexRow, len(months))
	total := indexRow{name: "all", total: true}
	_, ourDoc := couchviews.RecordingsDesign()
	kazooDoc := kazooRecordingsDesign()
	for i, m := range months {
		db := recording.MonthDBName(b.set.accountID, m)
		ours, err := b.couch.designInfo(ctx, db, couchviews.DesignName)
		if err != nil {
			return err
		}
		kazoo, err := b.couch.designInfo(ctx, db, kazooDesignName)
		if err != nil {
			return err
		}
		rows[i] = indexRow{name: m.String(), recordings: perMonth[m],
			oursFile: sizeOf(ours, ours.file), oursActive: sizeOf(ours, ours.active),
			kazooFile: sizeOf(kazoo, kazoo.file), kazooActive: sizeOf(kazoo, kazoo.active)}
		total.recordings += perMonth[m]
		total.oursFile, total.oursActive = addSize(total.oursFile, rows[i].oursFile), addSize(total.oursActive, rows[i].oursActive)
		total.kazooFile, total.kazooActive = addSize(total.kazooFile, rows[i].kazooFile), addSize(total.kazooActive, rows[i].kazooActive)
	}
	for run := 0; run < b.cfg.runs; run++ {
		designs := []struct {
			doc  map[string]any
			view string
			dst  func(*indexRow) *series
		}{
			{ourDoc, couchviews.ViewListing, func(r *indexRow) *series { return &r.oursBuild }},
			{kazooDoc, kazooViewListing, func(r *indexRow) *series { return &r.kazooBuild }},
		}
		if run%2 == 1 {
			designs[0], designs[1] = designs[1], designs[0]
		}
		for _, d := range designs {
			var sum float64
			for i, m := range months {
				took, err := b.buildFromScratch(ctx, recording.MonthDBName(b.set.accountID, m), d.doc, d.view, run)
				if err != nil {
					return err
				}
				s := d.dst(&rows[i])
				*s = append(*s, took.Seconds())
				sum += took.Seconds()
			}
			s := d.dst(&total)
			*s = append(*s, sum)
		}
		b.logf("index run %d: our listing index built in %.1f s, Kazoo's in %.1f s (all month databases)", run+1,
			total.oursBuild[len(total.oursBuild)-1], total.kazooBuild[len(total.kazooBuild)-1])
	}
	views := func(doc map[string]any) []string {
		v, _ := doc["views"].(map[string]any)
		var names []string
		for name := range v {
			names = append(names, name)
		}
		sort.Strings(names)
		return names
	}
	b.indexRows = append(rows, total)
	b.indexNote = fmt.Sprintf("Sizes from `GET /<month db>/_design/<name>/_info` (`view_index.sizes.file`: the index file on disk; "+
		"`active`: its live data), for the indexes the cases above used: `_design/%s` (views %s, all built together, one file) and "+
		"Kazoo's `_design/%s` (views %s). Build: a copy of the design document under another name, each map function marked with a "+
		"comment so that the database gives it an index of its own (design documents with the same views share one), timed from its "+
		"PUT to the end of the first query of its listing view (`%s`, Kazoo's `%s`; limit=1), which waits for the whole index; then the copy is deleted and "+
		"`_view_cleanup` drops its file. One build per run, month database and design, the two designs alternating; \"all\" is the sum "+
		"over the month databases, run by run.",
		couchviews.DesignName, strings.Join(views(ourDoc), ", "), kazooDesignName, strings.Join(views(kazooDoc), ", "), couchviews.ViewListing, kazooViewListing)
	return nil
}

func sizeOf(info designInfo, n int64) int64 {
	if !info.ok {
		return -1
	}
	return n
}

func addSize(a, b int64) int64 {
	if a < 0 || b < 0 {
		return -1
	}
	return a + b
}

// buildFromScratch times the build of a new index of design's views in db: a copy of the
// design document under a name of its own, whose map functions carry a comment naming the
// copy, so that the database cannot reuse the index of the original (CouchDB shares an index
// among design documents whose views are the same). The time runs from the copy's PUT (a
// background indexer may start on it at once) to the end of the first query of view. On
// CouchDB the copy's signature is checked against the original's. The copy is deleted after.
func (b *bench) buildFromScratch(ctx context.Context, db string, design map[string]any, view string, run int) (time.Duration, error) {
	name := strings.TrimPrefix(design["_id"].(string), "_design/")
	copyName := fmt.Sprintf("recbench_build_%s_%d_%d", name, time.Now().UnixNano(), run)
	doc := map[string]any{"_id": "_design/" + copyName}
	for k, v := range design {
		if k != "_id" && k != "_rev" && k != "views" {
			doc[k] = v
		}
	}
	views := map[string]any{}
	src, _ := design["views"].(map[string]any)
	for vn, v := range src {
		def, _ := v.(map[string]any)
		marked := map[string]any{}
		for k, x := range def {
			marked[k] = x
		}
		if m, ok := def["map"].(string); ok {
			i := strings.Index(m, "{")
			if i < 0 {
				return 0, fmt.Errorf("view %s of %s: no function body to mark", vn, name)
			}
			marked["map"] = m[:i+1] + " /* " + copyName + " */" + m[i+1:]
		}
		views[vn] = marked
	}
	doc["views"] = views

	t0 := time.Now()
	rev, err := b.couch.putDesign(ctx, db, doc)
	if err != nil {
		return 0, fmt.Errorf("install a copy of %s in %s: %w", name, db, err)
	}
	if _, err := b.couch.waitView(ctx, db, copyName, view); err != nil {
		return 0, fmt.Errorf("build a copy of %s in %s: %w", name, db, err)
	}
	took := time.Since(t0)

	orig, errOrig := b.couch.designInfo(ctx, db, name)
	fresh, errFresh := b.couch.designInfo(ctx, db, copyName)
	if errOrig == nil && errFresh == nil && orig.signature != "" && orig.signature == fresh.signature {
		return 0, fmt.Errorf("the copy of %s in %s shares the original's index (signature %s): its build time would mean nothing", name, db, orig.signature)
	}
	q := map[string][]string{"rev": {rev}}
	if _, err := b.couch.doJSON(ctx, http.MethodDelete, []string{db, "_design", copyName}, q, nil, nil); err != nil {
		return 0, fmt.Errorf("delete the copy of %s in %s: %w", name, db, err)
	}
	if _, err := b.couch.doJSON(ctx, http.MethodPost, []string{db, "_view_cleanup"}, nil, map[string]any{}, nil); err != nil {
		b.logf("_view_cleanup of %s: %v", db, err)
	}
	return took, nil
}
