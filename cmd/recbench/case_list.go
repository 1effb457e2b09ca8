package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// discover sends path to the service behind the counting proxy and returns the CouchDB
// requests of one warm call. It also splits the service's time (median of 20 calls, one at a
// time) into the time its CouchDB requests took, as the proxy saw them, and the rest.
func (b *bench) discover(ctx context.Context, path string) (reqs []proxiedRequest, total, inCouch time.Duration, err error) {
	svc, proxy, err := b.proxied(ctx)
	if err != nil {
		return nil, 0, 0, err
	}
	c := b.svcGet(svc, path, nil, 200)
	if _, err := c(ctx); err != nil {
		return nil, 0, 0, err
	}
	proxy.take()
	var totals, waits []time.Duration
	var each [][]time.Duration // by position in the sequence of requests
	for i := 0; i < 20; i++ {
		t0 := time.Now()
		if _, err := c(ctx); err != nil {
			return nil, 0, 0, err
		}
		totals = append(totals, time.Since(t0))
		got := proxy.take()
		var w time.Duration
		for k, r := range got {
			w += r.Took
			if k >= len(each) {
				each = append(each, nil)
			}
			each[k] = append(each[k], r.Took)
		}
		waits = append(waits, w)
		if i == 0 {
			reqs = got
		}
	}
	for k := range reqs {
		reqs[k].Took = medianDur(each[k])
	}
	return reqs, medianDur(totals), medianDur(waits), nil
}

// describeRequests summarises CouchDB requests for the report: "GET listing limit=52, …".
func describeRequests(reqs []proxiedRequest) string {
	var parts []string
	for _, r := range reqs {
		q, _ := url.ParseQuery(r.Query)
		what := r.Method + " " + r.Path
		switch {
		case strings.Contains(r.Path, "/_view/"):
			what = fmt.Sprintf("%s view %s of %s (limit=%s, include_docs=%s)", r.Method,
				r.Path[strings.LastIndex(r.Path, "/")+1:], monthOfDB(r.db()), q.Get("limit"), q.Get("include_docs"))
		case strings.HasSuffix(r.Path, "/_all_docs"), strings.HasSuffix(r.Path, "/_bulk_docs"):
			what = fmt.Sprintf("%s %s of %s", r.Method, r.Path[strings.LastIndex(r.Path, "/")+1:], monthOfDB(r.db()))
		case !strings.Contains(r.db(), "-"):
			what = r.Method + " account document"
		}
		if r.Took > 0 {
			what += fmt.Sprintf(" %.1f ms", ms(r.Took))
		}
		parts = append(parts, what)
	}
	return strings.Join(parts, "; ")
}

func monthOfDB(db string) string {
	if i := strings.LastIndex(db, "-"); i >= 0 {
		return "month " + db[i+1:]
	}
	return db
}

// mainViewRead is the biggest listing view read among reqs: the page itself.
func mainViewRead(reqs []proxiedRequest) (proxiedRequest, bool) {
	var best proxiedRequest
	bestLimit := -1
	for _, r := range reqs {
		if !strings.Contains(r.Path, "/_view/") {
			continue
		}
		q, _ := url.ParseQuery(r.Query)
		if n, _ := strconv.Atoi(q.Get("limit")); n > bestLimit {
			best, bestLimit = r, n
		}
	}
	return best, bestLimit >= 0
}

// listSides are the three sides of a comparison: the service on CouchDB, CouchDB direct,
// the service on the embedded store (any may be nil), with the services' process ids for
// CPU accounting.
type listSides struct {
	svc, direct, emb call
	svcPID, embPID   int
}

func (b *bench) listPath() string {
	return "/v2/accounts/" + b.set.accountID + "/recordings?page_size=50"
}

// listCalls finds the CouchDB view read of one page and builds the three calls.
func (b *bench) listCalls(ctx context.Context, embSvc *service) (listSides, error) {
	reqs, total, inCouch, err := b.discover(ctx, b.listPath())
	if err != nil {
		return listSides{}, err
	}
	main, ok := mainViewRead(reqs)
	if !ok {
		return listSides{}, fmt.Errorf("a page made no view read: %s", describeRequests(reqs))
	}
	b.note("CouchDB requests of one page (warm caches)", "%d — %s", len(reqs), describeRequests(reqs))
	b.note("Where a page's time goes (the service through the counting proxy, median of 20, concurrency 1)",
		"%.1f ms in all, of which %.1f ms waiting for CouchDB's answers and %.1f ms in the service",
		ms(total), ms(inCouch), ms(total-inCouch))
	if main.Gzip {
		plain, gz, err := b.gzipCost(ctx, main.Path+"?"+main.Query)
		if err != nil {
			return listSides{}, err
		}
		b.note("Compression", "the service's CouchDB client asks for gzip (Go's default); the page's view read direct, median of 20: %.1f ms plain, %.1f ms with Accept-Encoding: gzip (the direct side of the comparison asks for none, as the service answers its own clients)",
			ms(plain), ms(gz))
	}
	b.listDirect = main.Path + "?" + main.Query
	s := listSides{
		svc:    b.svcGet(b.svcCouch, b.listPath(), nil, 200),
		direct: b.directGet(b.listDirect, nil, 200),
		svcPID: b.svcCouch.pid(),
	}
	if embSvc != nil {
		s.emb = b.svcGet(embSvc, b.listPath(), nil, 200)
		s.embPID = embSvc.pid()
	}
	return s, nil
}

// compare runs the sides of one comparison runs times, alternating which of service and
// direct goes first; the embedded side (if any) runs after them. CPU time of the database
// (when recbench started it) and of the service is counted for each side.
func (b *bench) compare(ctx context.Context, runs, conc int, dur time.Duration, maxReq int, s listSides) (svc, direct, emb []loadResult, err error) {
	for _, c := range []call{s.svc, s.direct, s.emb} { // warm connections and caches
		if c != nil {
			if r := runLoad(ctx, conc, 500*time.Millisecond, maxReq, c); r.err != nil {
				return nil, nil, nil, r.err
			}
		}
	}
	type side struct {
		dst *[]loadResult
		c   call
		pid int
	}
	for run := 0; run < runs; run++ {
		order := []side{{&svc, s.svc, s.svcPID}, {&direct, s.direct, 0}}
		if run%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, sd := range append(order, side{&emb, s.emb, s.embPID}) {
			if sd.c == nil {
				continue
			}
			r := measured(ctx, conc, dur, maxReq, sd.c, b.dbPID(), sd.pid)
			if r.err != nil {
				return nil, nil, nil, r.err
			}
			*sd.dst = append(*sd.dst, r)
		}
	}
	return svc, direct, emb, nil
}

func collect(rs []loadResult, f func(loadResult) float64) series {
	out := make(series, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// caseList: one page of the default listing, service against the CouchDB view read it
// makes, at each concurrency.
func (b *bench) caseList(ctx context.Context) error {
	sides, err := b.listCalls(ctx, b.svcEmb)
	if err != nil {
		return err
	}
	for _, conc := range b.cfg.conc {
		svc, direct, emb, err := b.compare(ctx, b.cfg.runs, conc, b.cfg.listDur, b.cfg.maxReq, sides)
		if err != nil {
			return err
		}
		sec := fmt.Sprintf("1. List, page_size=50, concurrency %d", conc)
		b.add(result{section: sec, name: "throughput", unit: "req/s",
			svc: collect(svc, loadResult.rps), direct: collect(direct, loadResult.rps), emb: collect(emb, loadResult.rps),
			target: &target{ratioAtLeast, 0.8, "service ≥ 0.8× direct"}})
		p := func(q float64) func(loadResult) float64 { return func(r loadResult) float64 { return ms(r.pct(q)) } }
		b.add(result{section: sec, name: "p50 latency", unit: "ms",
			svc: collect(svc, p(50)), direct: collect(direct, p(50)), emb: collect(emb, p(50))})
		b.add(result{section: sec, name: "p99 latency", unit: "ms",
			svc: collect(svc, p(99)), direct: collect(direct, p(99)), emb: collect(emb, p(99)),
			target: &target{ratioAtMost, 1.25, "service ≤ 1.25× direct"}})
		b.addCPU(sec, "page", svc, direct, emb)
	}
	return nil
}

// addCPU adds the CPU cost per request of the database and of the service, when known.
func (b *bench) addCPU(sec, per string, svc, direct, emb []loadResult) {
	if b.dbPID() != 0 {
		b.add(result{section: sec, name: "CouchDB CPU per " + per, unit: "ms",
			svc:    collect(svc, func(r loadResult) float64 { return cpuPerReq(r.cpuDB, r) }),
			direct: collect(direct, func(r loadResult) float64 { return cpuPerReq(r.cpuDB, r) })})
	}
	b.add(result{section: sec, name: "service CPU per " + per, unit: "ms",
		svc: collect(svc, func(r loadResult) float64 { return cpuPerReq(r.cpuSvc, r) }),
		emb: collect(emb, func(r loadResult) float64 { return cpuPerReq(r.cpuSvc, r) }), noRatio: true})
}

// gzipCost times a direct CouchDB read plain and with Accept-Encoding: gzip (20 each,
// alternating; medians).
func (b *bench) gzipCost(ctx context.Context, pathQuery string) (plain, gz time.Duration, err error) {
	calls := []call{b.directGet(pathQuery, nil, 200), b.directGet(pathQuery, http.Header{"Accept-Encoding": {"gzip"}}, 200)}
	var t [2][]time.Duration
	for i := 0; i < 40; i++ {
		t0 := time.Now()
		if _, err := calls[i%2](ctx); err != nil {
			return 0, 0, err
		}
		t[i%2] = append(t[i%2], time.Since(t0))
	}
	return medianDur(t[0]), medianDur(t[1]), nil
}
