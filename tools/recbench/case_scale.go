package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// couchInstance is one more private pouchdb-server, holding the data set at one size of
// the scale case, so that every size can be measured back to back in each run.
type couchInstance struct {
	pouch *pouchServer
	c     *couchClient
	seed  time.Duration
}

// seedScaleCouch starts and seeds a server per CouchDB size of the scale case (only when
// recbench runs its own servers: the sizes would overwrite each other in one server).
func (b *bench) seedScaleCouch(ctx context.Context) error {
	b.scaleCouch = map[int]*couchInstance{}
	for _, n := range b.cfg.scaleCouch {
		if n == b.cfg.recordings {
			continue
		}
		t0 := time.Now()
		p, err := startPouch(ctx, b.cfg.pouchDir, b.cfg.pouchHeap)
		if err != nil {
			return err
		}
		inst := &couchInstance{pouch: p}
		b.scaleCouch[n] = inst
		if inst.c, err = newCouchClient(p.url, b.hc); err != nil {
			return err
		}
		set, err := seedCouch(ctx, inst.c, seedOptions(n, b.cfg.months, b.cfg.audioEvery, b.anchor))
		if err != nil {
			return fmt.Errorf("seed %d recordings in CouchDB: %w", n, err)
		}
		if _, _, err := warmViews(ctx, inst.c, set); err != nil {
			return err
		}
		inst.seed = time.Since(t0)
	}
	return nil
}

// scalePoint is one size on one backend.
type scalePoint struct {
	size        int
	couch       bool
	svc, direct call // direct: CouchDB only
	svcRes      []loadResult
	dirRes      []loadResult
	seeded      time.Duration
}

// caseScale: the latency of one page of the listing of case 1 with 1k, 10k, 100k… recordings
// in the account. Every size has its own store (an embedded file, a pouchdb-server) and its
// own service, all running at once, and each run measures every size back to back (in a
// rotating order), so that the growth from the smallest to the largest size is a ratio of
// figures taken seconds apart.
func (b *bench) caseScale(ctx context.Context) error {
	if b.scaleFiles == nil {
		if err := b.seedScaleFiles(ctx); err != nil {
			return err
		}
	}
	if b.scaleCouch == nil && b.pouch != nil {
		if err := b.seedScaleCouch(ctx); err != nil {
			return err
		}
	}
	// CouchDB direct: Kazoo's query for the same page, as in case 1, on each server.
	w := b.monthWindow()
	kazooOn := func(c *couchClient) (call, error) {
		plan, err := b.viewPlan(ctx, c, kazooDesignName, kazooViewListing, w)
		if err != nil {
			return nil, fmt.Errorf("the query of Kazoo's crossbar: %w", err)
		}
		return b.planCall(plan), nil
	}
	mainDirect, err := kazooOn(b.couch)
	if err != nil {
		return err
	}
	var points []*scalePoint
	var extra []*service
	defer func() {
		for _, s := range extra {
			s.stop()
		}
		for _, path := range b.scaleFiles {
			_ = os.Remove(path)
		}
	}()
	main := len(b.set.recordings)
	points = append(points,
		&scalePoint{size: main, couch: true, svc: b.svcGet(b.svcCouch, b.listPath(), nil, 200), direct: mainDirect},
		&scalePoint{size: main, svc: b.svcGet(b.svcEmb, b.listPath(), nil, 200)})
	for _, n := range b.cfg.scaleEmb {
		if n == main {
			continue
		}
		svc, err := startService(ctx, b.bin, serviceEnv("", b.scaleFiles[n], 0), b.set.accountID, b.hc)
		if err != nil {
			return err
		}
		extra = append(extra, svc)
		points = append(points, &scalePoint{size: n, svc: b.svcGet(svc, b.listPath(), nil, 200), seeded: b.scaleSeed[n]})
	}
	for n, inst := range b.scaleCouch {
		svc, err := startService(ctx, b.bin, serviceEnv(inst.c.withCredentials(), "", 0), b.set.accountID, b.hc)
		if err != nil {
			return err
		}
		extra = append(extra, svc)
		direct, err := kazooOn(inst.c)
		if err != nil {
			return err
		}
		points = append(points, &scalePoint{size: n, couch: true, svc: b.svcGet(svc, b.listPath(), nil, 200), direct: direct, seeded: inst.seed})
	}
	sort.Slice(points, func(i, j int) bool {
		if points[i].size != points[j].size {
			return points[i].size < points[j].size
		}
		return points[i].couch
	})
	for _, p := range points { // warm
		for _, c := range []call{p.svc, p.direct} {
			if c != nil {
				if r := runLoad(ctx, 1, 500*time.Millisecond, b.cfg.maxReq, c); r.err != nil {
					return r.err
				}
			}
		}
	}
	dur := b.cfg.scaleDur
	for run := 0; run < b.cfg.runs; run++ {
		for k := range points {
			p := points[(k+run)%len(points)]
			sides := []*[]loadResult{&p.svcRes, &p.dirRes}
			calls := []call{p.svc, p.direct}
			if run%2 == 1 {
				sides[0], sides[1], calls[0], calls[1] = sides[1], sides[0], calls[1], calls[0]
			}
			for i, c := range calls {
				if c == nil {
					continue
				}
				r := runLoad(ctx, 1, dur, b.cfg.maxReq, c)
				if r.err != nil {
					return fmt.Errorf("%d recordings: %w", p.size, r.err)
				}
				*sides[i] = append(*sides[i], r)
			}
		}
	}

	sec := fmt.Sprintf("5. Scale: one page of the listing (page_size=%d over a calendar month, concurrency 1) by account size", listPageSize)
	p50 := func(r loadResult) float64 { return ms(r.pct(50)) }
	p99 := func(r loadResult) float64 { return ms(r.pct(99)) }
	sizes := []int{}
	byKey := map[[2]int]*scalePoint{}
	for _, p := range points {
		k := [2]int{p.size, 0}
		if p.couch {
			k[1] = 1
		}
		byKey[k] = p
		if len(sizes) == 0 || sizes[len(sizes)-1] != p.size {
			sizes = append(sizes, p.size)
		}
	}
	for _, n := range sizes {
		c, e := byKey[[2]int{n, 1}], byKey[[2]int{n, 0}]
		r50 := result{section: sec, name: fmt.Sprintf("%s recordings: p50", human(n)), unit: "ms"}
		r99 := result{section: sec, name: fmt.Sprintf("%s recordings: p99", human(n)), unit: "ms"}
		var seeded []string
		if c != nil {
			r50.svc, r50.direct = collect(c.svcRes, p50), collect(c.dirRes, p50)
			r99.svc, r99.direct = collect(c.svcRes, p99), collect(c.dirRes, p99)
			if c.seeded > 0 {
				seeded = append(seeded, fmt.Sprintf("CouchDB %v (its own pouchdb-server, with the index build)", c.seeded.Round(100*time.Millisecond)))
			}
		}
		if e != nil {
			r50.emb, r99.emb = collect(e.svcRes, p50), collect(e.svcRes, p99)
			if e.seeded > 0 {
				seeded = append(seeded, fmt.Sprintf("embedded %v", e.seeded.Round(100*time.Millisecond)))
			}
		}
		b.add(r50)
		b.add(r99)
		if len(seeded) > 0 {
			b.note(fmt.Sprintf("Seeding %s recordings (scale, during setup)", human(n)), "%s", strings.Join(seeded, ", "))
		}
	}
	// Flatness: p50 at the largest size over p50 at the smallest, run by run.
	growth := func(couch bool, get func(*scalePoint) []loadResult) (series, string) {
		var small, large *scalePoint
		for _, p := range points {
			if p.couch != couch {
				continue
			}
			if small == nil {
				small = p
			}
			large = p
		}
		if small == nil || small == large {
			return nil, "–"
		}
		return ratios(collect(get(large), p50), collect(get(small), p50)), human(large.size) + " ÷ " + human(small.size)
	}
	gc, lc := growth(true, func(p *scalePoint) []loadResult { return p.svcRes })
	gd, _ := growth(true, func(p *scalePoint) []loadResult { return p.dirRes })
	ge, le := growth(false, func(p *scalePoint) []loadResult { return p.svcRes })
	b.add(result{section: sec, name: fmt.Sprintf("p50 growth (CouchDB %s; embedded %s)", lc, le), unit: "×",
		svc: gc, direct: gd, emb: ge, noRatio: true,
		target: &target{kind: medianAtMost, bound: 1.5, text: "flat: ≤ 1.5× from smallest to largest"}})
	return nil
}
