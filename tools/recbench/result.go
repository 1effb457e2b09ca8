package main

import (
	"fmt"
	"math"
)

// result is one figure of the report: the service on CouchDB against CouchDB direct
// (paired run by run), and the service on the embedded store beside them.
type result struct {
	section string
	name    string
	unit    string
	svc     series // service on CouchDB
	direct  series // CouchDB direct
	own     series // CouchDB direct, our own view (list cases only; a column of its own)
	emb     series // service on the embedded store
	target  *target
	note    string
	noRatio bool // the svc/direct ratio means nothing here
}

type targetKind int

const (
	ratioAtLeast   targetKind = iota // median of svc/direct ≥ bound
	ratioAtMost                      // median of svc/direct ≤ bound
	absAtMost                        // every run of svc and emb ≤ bound (same unit as the figure)
	embRatioAtMost                   // emb ratio (computed by the case into emb) ≤ bound
	medianAtMost                     // the median of svc and the median of emb ≤ bound
)

type target struct {
	kind  targetKind
	bound float64
	text  string
	// svcOnly judges the service on CouchDB alone (absAtMost, medianAtMost): the embedded
	// store's figures are shown beside it, not held to the bound.
	svcOnly bool
}

// ratio is the paired svc/direct series.
func (r result) ratio() series {
	if r.noRatio {
		return nil
	}
	return ratios(r.svc, r.direct)
}

// verdict says whether the target is met: "met", "MISSED", or "" without a target.
func (r result) verdict() string {
	if r.target == nil || (len(r.svc) == 0 && (len(r.emb) == 0 || r.target.svcOnly)) || (r.target.kind <= ratioAtMost && len(r.ratio()) == 0) {
		return ""
	}
	ok := false
	switch r.target.kind {
	case ratioAtLeast:
		ok = r.ratio().median() >= r.target.bound
	case ratioAtMost:
		ok = r.ratio().median() <= r.target.bound
	case absAtMost:
		worst := math.Max(r.svc.max(), r.emb.max())
		if len(r.svc) == 0 {
			worst = r.emb.max()
		}
		if len(r.emb) == 0 || r.target.svcOnly {
			worst = r.svc.max()
		}
		ok = worst <= r.target.bound
	case embRatioAtMost:
		ok = r.emb.median() <= r.target.bound
	case medianAtMost:
		ok = (len(r.svc) == 0 || r.svc.median() <= r.target.bound) && (len(r.emb) == 0 || r.target.svcOnly || r.emb.median() <= r.target.bound)
	}
	if ok {
		return "met"
	}
	return "MISSED"
}

func (r result) missed() bool { return r.verdict() == "MISSED" }

func (b *bench) add(r result) {
	b.results = append(b.results, r)
	line := fmt.Sprintf("%s / %s [%s]: service(couch) %s, direct %s, ratio %s, service(embedded) %s",
		r.section, r.name, r.unit, r.svc.spread(), r.direct.spread(), r.ratio().ratioSpread(), r.emb.spread())
	if len(r.own) > 0 {
		line += ", direct on our view " + r.own.spread()
	}
	if v := r.verdict(); v != "" {
		line += " — target " + r.target.text + ": " + v
	}
	b.logf("%s", line)
}
