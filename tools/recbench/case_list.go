package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/recordingsd/recordingsd/couchviews"
	"github.com/recordingsd/recordingsd/pkg/recording"
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

// listSides are the sides of a comparison: the service on CouchDB, CouchDB direct, CouchDB
// direct on our own view (list cases only), the service on the embedded store (any may be
// nil), with the services' process ids for CPU accounting.
type listSides struct {
	svc, direct, own, emb call
	svcPID, embPID        int
}

// listPageSize is the page of the list cases: Kazoo's default page_size.
const listPageSize = 50

// listWindow is a created_from..created_to window of the list cases, gregorian seconds.
type listWindow struct{ from, to int64 }

// monthWindow is the window of the list cases: the whole calendar month before the anchor's,
// from its first second to its last. Kazoo's crossbar serves its first page from that month's
// database alone; the service also looks into the month before (recording.BoundaryMargin).
func (b *bench) monthWindow() listWindow {
	m := recording.MonthOf(b.anchor).Prev()
	return listWindow{recording.ToGregorian(m.Start()), recording.ToGregorian(m.Next().Start()) - 1}
}

// midMonthWindow is as long as monthWindow and starts 15 days later, in the middle of the
// same month: its first page comes from the same month database.
func (b *bench) midMonthWindow() listWindow {
	w := b.monthWindow()
	const days15 = 15 * 24 * 3600
	return listWindow{w.from + days15, w.to + days15}
}

func (w listWindow) String() string {
	f := func(g int64) string { return recording.FromGregorian(g).UTC().Format("2006-01-02 15:04:05") }
	return fmt.Sprintf("%s – %s UTC (created_from=%d, created_to=%d)", f(w.from), f(w.to), w.from, w.to)
}

func (b *bench) listPathFor(w listWindow) string {
	return fmt.Sprintf("/v2/accounts/%s/recordings?page_size=%d&created_from=%d&created_to=%d", b.set.accountID, listPageSize, w.from, w.to)
}

// listPath is the request of the list cases: one page over monthWindow.
func (b *bench) listPath() string { return b.listPathFor(b.monthWindow()) }

// viewPlan is what a client paging like Kazoo's crossbar (crossbar_view:load_modb) reads
// from c for the first page of w: the view of each existing month database from the window's
// month on, with limit = what the page still lacks plus one, startkey [from] and endkey
// [to, {}], until a read comes back full. The rows are decoded here, once, so that the
// measured calls only fetch (the data does not change while they run).
func (b *bench) viewPlan(ctx context.Context, c *couchClient, design, view string, w listWindow) (viewPlan, error) {
	exists := map[recording.Month]bool{}
	for _, m := range b.set.months() {
		exists[m] = true
	}
	plan := viewPlan{c: c, design: design, view: view}
	got := 0
	last := recording.MonthOf(recording.FromGregorian(w.to))
	for m := recording.MonthOf(recording.FromGregorian(w.from)); !last.Before(m); m = m.Next() {
		if !exists[m] {
			continue
		}
		db := recording.MonthDBName(b.set.accountID, m)
		limit := listPageSize + 1 - got
		q := viewParams([]any{w.from}, []any{w.to, map[string]any{}}, limit, false)
		rows, err := c.readDesignView(ctx, db, design, view, q)
		if err != nil {
			return plan, err
		}
		plan.reads = append(plan.reads, planRead{month: m, limit: limit, url: c.urlFor(viewSegments(db, design, view), q)})
		if len(rows) == limit {
			return plan, nil
		}
		got += len(rows)
	}
	if len(plan.reads) == 0 {
		return plan, fmt.Errorf("no month database in the window %s", w)
	}
	return plan, nil
}

// viewPlan is the view reads of one page, on one server.
type viewPlan struct {
	c            *couchClient
	design, view string
	reads        []planRead
}

type planRead struct {
	month recording.Month
	limit int
	url   string
}

// String renders the reads: "1 — GET _design/recordings/_view/crossbar_listing of month
// 202611 (limit=51, include_docs=true)".
func (p viewPlan) String() string {
	var parts []string
	for _, r := range p.reads {
		parts = append(parts, fmt.Sprintf("GET _design/%s/_view/%s of month %s (limit=%d, include_docs=true)", p.design, p.view, r.month, r.limit))
	}
	return fmt.Sprintf("%d — %s", len(p.reads), strings.Join(parts, "; "))
}

// planCall GETs the reads of a plan one after the other: one page.
func (b *bench) planCall(p viewPlan) call {
	calls := make([]call, len(p.reads))
	for i, r := range p.reads {
		calls[i] = getter(b.hc, r.url, nil, 200, p.c.user, p.c.pass)
	}
	if len(calls) == 1 {
		return calls[0]
	}
	return func(ctx context.Context) (int64, error) {
		var n int64
		for _, c := range calls {
			k, err := c(ctx)
			n += k
			if err != nil {
				return n, err
			}
		}
		return n, nil
	}
}

// listCalls builds the calls of one page over w: the service's request; CouchDB direct,
// Kazoo's crossbar query (crossbar_listing of _design/recordings); with own, the same query
// of our own listing view; the service on embSvc. It notes what the service asks of CouchDB
// for the page, and what the direct side reads.
func (b *bench) listCalls(ctx context.Context, embSvc *service, w listWindow, label string, own bool) (listSides, error) {
	path := b.listPathFor(w)
	reqs, total, inCouch, err := b.discover(ctx, path)
	if err != nil {
		return listSides{}, err
	}
	b.note("CouchDB requests of one page, "+label+" (warm caches)", "%d — %s", len(reqs), describeRequests(reqs))
	b.note("Where a page's time goes, "+label+" (the service through the counting proxy, median of 20, concurrency 1)",
		"%.1f ms in all, of which %.1f ms waiting for CouchDB's answers and %.1f ms in the service",
		ms(total), ms(inCouch), ms(total-inCouch))
	if main, ok := mainViewRead(reqs); ok && main.Gzip {
		plain, gz, err := b.gzipCost(ctx, main.Path+"?"+main.Query)
		if err != nil {
			return listSides{}, err
		}
		b.note("Compression", "the service's CouchDB client asks for gzip (Go's default); the page's view read direct, median of 20: %.1f ms plain, %.1f ms with Accept-Encoding: gzip (the direct side of the comparison asks for none, as the service answers its own clients)",
			ms(plain), ms(gz))
	}
	kazoo, err := b.viewPlan(ctx, b.couch, kazooDesignName, kazooViewListing, w)
	if err != nil {
		return listSides{}, fmt.Errorf("the query of Kazoo's crossbar: %w", err)
	}
	b.note("CouchDB direct, "+label+": Kazoo's crossbar query", "%s", kazoo)
	s := listSides{
		svc:    b.svcGet(b.svcCouch, path, nil, 200),
		direct: b.planCall(kazoo),
		svcPID: b.svcCouch.pid(),
	}
	if own {
		ours, err := b.viewPlan(ctx, b.couch, couchviews.DesignName, couchviews.ViewListing, w)
		if err != nil {
			return listSides{}, fmt.Errorf("our view: %w", err)
		}
		b.note("CouchDB direct on our view, "+label, "%s", ours)
		s.own = b.planCall(ours)
	}
	if embSvc != nil {
		s.emb = b.svcGet(embSvc, path, nil, 200)
		s.embPID = embSvc.pid()
	}
	return s, nil
}

// listRuns are the results of a comparison, run by run, side by side.
type listRuns struct{ svc, direct, own, emb []loadResult }

// warm runs every side once, briefly: connections, caches.
func (b *bench) warm(ctx context.Context, conc, maxReq int, s listSides) error {
	for _, c := range []call{s.svc, s.direct, s.own, s.emb} {
		if c != nil {
			if r := runLoad(ctx, conc, 500*time.Millisecond, maxReq, c); r.err != nil {
				return r.err
			}
		}
	}
	return nil
}

// compare runs the sides of one comparison runs times (compareRun), after warming them.
func (b *bench) compare(ctx context.Context, runs, conc int, dur time.Duration, maxReq int, s listSides) (listRuns, error) {
	var out listRuns
	if err := b.warm(ctx, conc, maxReq, s); err != nil {
		return out, err
	}
	for run := 0; run < runs; run++ {
		if err := b.compareRun(ctx, run, conc, dur, maxReq, s, &out); err != nil {
			return out, err
		}
	}
	return out, nil
}

// compareRun measures each side once and appends the results to out: service, direct, our
// view in even runs and the other way round in odd ones (direct stays next to both), then the
// embedded store. CPU time of the database (when recbench started it) and of the service is
// counted for each side.
func (b *bench) compareRun(ctx context.Context, run, conc int, dur time.Duration, maxReq int, s listSides, out *listRuns) error {
	type side struct {
		dst *[]loadResult
		c   call
		pid int
	}
	order := []side{{&out.svc, s.svc, s.svcPID}, {&out.direct, s.direct, 0}, {&out.own, s.own, 0}}
	if run%2 == 1 {
		order[0], order[2] = order[2], order[0]
	}
	for _, sd := range append(order, side{&out.emb, s.emb, s.embPID}) {
		if sd.c == nil {
			continue
		}
		r := measured(ctx, conc, dur, maxReq, sd.c, b.dbPID(), sd.pid)
		if r.err != nil {
			return r.err
		}
		*sd.dst = append(*sd.dst, r)
	}
	return nil
}

func collect(rs []loadResult, f func(loadResult) float64) series {
	out := make(series, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// listNote explains the direct side of the list sections.
const listNote = "CouchDB direct is the query Kazoo's crossbar makes for the same page: " +
	"`GET /<month db>/_design/recordings/_view/crossbar_listing?include_docs=true&limit=51&startkey=[from]&endkey=[to,{}]` " +
	"on Kazoo's own design document, which recbench installs in the month databases (soft-deleted recordings are rows " +
	"of that view, as in Kazoo; the service leaves them out). \"CouchDB direct, our view\" is the same query of our " +
	"`_design/recordingsd` listing view."

// caseList: one page of the listing over a calendar month, the service against Kazoo's
// crossbar query for the same page, at each concurrency; then the same page over a window
// that starts in the middle of the month.
func (b *bench) caseList(ctx context.Context) error {
	w := b.monthWindow()
	sides, err := b.listCalls(ctx, b.svcEmb, w, "window of a calendar month", true)
	if err != nil {
		return err
	}
	for _, conc := range b.cfg.conc {
		runs, err := b.compare(ctx, b.cfg.runs, conc, b.cfg.listDur, b.cfg.maxReq, sides)
		if err != nil {
			return err
		}
		sec := fmt.Sprintf("1. List, page_size=%d over a calendar month, concurrency %d", listPageSize, conc)
		var tput, p50t, p99t *target
		switch conc {
		case 1:
			p50t = &target{kind: ratioAtMost, bound: 1.0, text: "service ≤ 1.0× direct"}
			p99t = &target{kind: ratioAtMost, bound: 1.2, text: "service ≤ 1.2× direct"}
		case 16:
			tput = &target{kind: ratioAtLeast, bound: 1.0, text: "service ≥ 1.0× direct"}
		}
		p := func(q float64) func(loadResult) float64 { return func(r loadResult) float64 { return ms(r.pct(q)) } }
		figure := func(name, unit string, f func(loadResult) float64, t *target) result {
			return result{section: sec, name: name, unit: unit, target: t,
				svc: collect(runs.svc, f), direct: collect(runs.direct, f), own: collect(runs.own, f), emb: collect(runs.emb, f)}
		}
		r := figure("throughput", "req/s", loadResult.rps, tput)
		if conc == b.cfg.conc[0] {
			r.note = listNote
		}
		b.add(r)
		b.add(figure("p50 latency", "ms", p(50), p50t))
		b.add(figure("p99 latency", "ms", p(99), p99t))
		b.addCPU(sec, "page", runs.svc, runs.direct, runs.emb)
	}
	sides.own = nil
	return b.caseBoundary(ctx, w, sides)
}

// caseBoundary: the page of a window that starts on a month's first second (first: the calls
// of case 1) against the page of a window as long that starts in the middle of the month, at concurrency 1, paired run
// by run (the two windows alternate). The first costs the service a look into the previous
// month's database (recording.BoundaryMargin); Kazoo reads one month database for either.
func (b *bench) caseBoundary(ctx context.Context, atStart listWindow, first listSides) error {
	mid := b.midMonthWindow()
	b.note("List windows", "from a month's first second: %s; from its middle: %s", atStart, mid)
	middle, err := b.listCalls(ctx, b.svcEmb, mid, "window from the middle of a month", false)
	if err != nil {
		return err
	}
	for _, s := range []listSides{first, middle} {
		if err := b.warm(ctx, 1, b.cfg.maxReq, s); err != nil {
			return err
		}
	}
	var atFirst, atMiddle listRuns
	for run := 0; run < b.cfg.runs; run++ {
		order := []struct {
			s   listSides
			out *listRuns
		}{{first, &atFirst}, {middle, &atMiddle}}
		if run%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, o := range order {
			if err := b.compareRun(ctx, run, 1, b.cfg.listDur, b.cfg.maxReq, o.s, o.out); err != nil {
				return err
			}
		}
	}
	m := recording.MonthOf(recording.FromGregorian(atStart.from))
	sec := fmt.Sprintf("1. List, page_size=%d, concurrency 1: a window from a month's first second against one from its middle", listPageSize)
	p50 := func(r loadResult) float64 { return ms(r.pct(50)) }
	b.add(result{section: sec, name: fmt.Sprintf("p50, window from %s-01 00:00:00", m.Start().Format("2006-01")), unit: "ms",
		svc: collect(atFirst.svc, p50), direct: collect(atFirst.direct, p50), emb: collect(atFirst.emb, p50)})
	b.add(result{section: sec, name: fmt.Sprintf("p50, window from %s 00:00:00, as long", recording.FromGregorian(mid.from).UTC().Format("2006-01-02")), unit: "ms",
		svc: collect(atMiddle.svc, p50), direct: collect(atMiddle.direct, p50), emb: collect(atMiddle.emb, p50)})
	ratio := func(a, b []loadResult) series { return ratios(collect(a, p50), collect(b, p50)) }
	b.add(result{section: sec, name: "p50, first second ÷ middle", unit: "×", noRatio: true,
		svc: ratio(atFirst.svc, atMiddle.svc), direct: ratio(atFirst.direct, atMiddle.direct), emb: ratio(atFirst.emb, atMiddle.emb),
		target: &target{kind: medianAtMost, bound: 1.05, svcOnly: true, text: "service ≤ 1.0, with 5% for noise (≤ 1.05)"},
		note: "Both windows are as long (one month), and both first pages come from the same month database; the ratios are paired run by run. " +
			"Kazoo reads that month database alone for either window; a window that starts within recording.BoundaryMargin of a month's start " +
			"also makes the service look into the month before."})
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
