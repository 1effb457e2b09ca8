package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/recordingsd/recordingsd/pkg/demo"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/retention"
	"github.com/recordingsd/recordingsd/pkg/store/couch"
	"github.com/recordingsd/recordingsd/pkg/store/embedded"
)

// The retention case: one sweep of pkg/retention over an account whose recordings are half
// pvt_deleted (two days ago) and half live, with the policy "pvt_deleted recordings go after
// a day, soft-deleted ones never", and no rate bound: the sweeper's own ceiling. Every sweep
// finds the whole data set in place: on a pouchdb-server of its own (a sweep walks every month
// database of its server, so it must not see the main data set), seeded once and given back
// what each sweep purged; on the embedded store, a new file per sweep.

// retentionPolicy is the policy the case sweeps with.
var retentionPolicy = retention.Policy{DeletedAfter: 24 * time.Hour, SoftDeletedAfter: retention.Never}

// retentionStore is what the case needs of a backend: the sweeper's interface, and GetMany
// to check what the sweep left.
type retentionStore interface {
	recording.Purger
	GetMany(ctx context.Context, accountID string, m recording.Month, ids []string) ([]recording.DocResult, error)
}

// retentionData is the case's data set: the documents of demo.Seed (no audio), in two month
// databases, every other one marked pvt_deleted two days before the seeding.
type retentionData struct {
	accountID string
	months    []recording.Month // oldest first
	docs      []recording.Doc   // in seeding order, without _rev
	deleted   map[recording.Month][]string
	live      map[recording.Month][]string
	nDeleted  int
	nLive     int
}

// capture is a backend that keeps the recordings demo.Seed builds and stores nothing.
type capture struct {
	dryRun
	docs []recording.Doc
}

func (c *capture) PutRecording(_ context.Context, _ string, doc recording.Doc) (string, error) {
	c.docs = append(c.docs, doc.Clone())
	return "1-capture", nil
}

// newRetentionData builds n recordings spread over exactly two month databases: demo.Seed
// spreads them over the 30 days before its anchor, and the anchor is the 16th of last month,
// so they fall between the middle of the month before and the middle of last month.
func newRetentionData(ctx context.Context, n int, now time.Time) (*retentionData, error) {
	anchor := recording.MonthOf(now).Prev().Start().Add(15 * 24 * time.Hour)
	c := &capture{}
	o := demo.Options{Accounts: 1, RecordingsPerAccount: n, Months: 1, AudioEvery: n + 1, Anchor: anchor}
	if _, err := demo.Seed(ctx, c, o); err != nil {
		return nil, err
	}
	d := &retentionData{accountID: demo.AccountID(0), docs: c.docs,
		deleted: map[recording.Month][]string{}, live: map[recording.Month][]string{}}
	for i, doc := range d.docs {
		// Only the case's own marks: none of demo.Seed's soft deletes or its pvt_deleted one.
		delete(doc, "soft_delete")
		delete(doc, "pvt_deleted")
		m, ok := recording.ParseRecordingID(doc.ID())
		if !ok {
			return nil, fmt.Errorf("demo.Seed wrote recording id %q", doc.ID())
		}
		if _, seen := d.deleted[m]; !seen {
			d.months = append(d.months, m)
			d.deleted[m], d.live[m] = []string{}, []string{}
		}
		if i%2 == 1 {
			doc["pvt_deleted"] = true
			doc["pvt_modified"] = recording.ToGregorian(now.Add(-48 * time.Hour))
			d.deleted[m] = append(d.deleted[m], doc.ID())
			d.nDeleted++
		} else {
			d.live[m] = append(d.live[m], doc.ID())
			d.nLive++
		}
	}
	if len(d.months) != 2 {
		return nil, fmt.Errorf("the retention data set spans %d month databases, want 2", len(d.months))
	}
	if d.months[1].Before(d.months[0]) {
		d.months[0], d.months[1] = d.months[1], d.months[0]
	}
	return d, nil
}

// spread says how the recordings fall into the month databases.
func (d *retentionData) spread() string {
	var parts []string
	for _, m := range d.months {
		parts = append(parts, fmt.Sprintf("%s: %d pvt_deleted + %d live", m, len(d.deleted[m]), len(d.live[m])))
	}
	return strings.Join(parts, "; ")
}

// byMonth groups the documents by month database, in seeding order.
func (d *retentionData) byMonth() map[recording.Month][]recording.Doc {
	out := map[recording.Month][]recording.Doc{}
	for _, doc := range d.docs {
		m, _ := recording.ParseRecordingID(doc.ID())
		out[m] = append(out[m], doc)
	}
	return out
}

// seedCouch drops the two month databases and writes the data set again through
// _bulk_docs (bulkLoader, 1,000 documents a request).
func (d *retentionData) seedCouch(ctx context.Context, c *couchClient) error {
	for _, m := range d.months {
		code, err := c.doJSON(ctx, http.MethodDelete, []string{recording.MonthDBName(d.accountID, m)}, nil, nil, nil)
		if err != nil && code != http.StatusNotFound {
			return err
		}
	}
	bl := &bulkLoader{c: c, batch: 1000, pending: map[recording.Month][]recording.Doc{},
		byID: map[string]recording.Doc{}, ready: map[recording.Month]bool{}}
	for _, doc := range d.docs {
		if _, err := bl.PutRecording(ctx, d.accountID, doc); err != nil {
			return err
		}
	}
	return bl.flushAll(ctx, d.accountID)
}

// restoreCouch writes the pvt_deleted half again, over the tombstones the last sweep left
// (_bulk_docs without _rev re-creates a deleted document): the database is back to the data
// set, and the purge index has only those documents to take in.
func (d *retentionData) restoreCouch(ctx context.Context, c *couchClient) error {
	bl := &bulkLoader{c: c, batch: 1000, pending: map[recording.Month][]recording.Doc{},
		byID: map[string]recording.Doc{}, ready: map[recording.Month]bool{}}
	for _, m := range d.months {
		bl.ready[m] = true
	}
	for _, doc := range d.docs {
		if doc.IsDeleted() {
			if _, err := bl.PutRecording(ctx, d.accountID, doc); err != nil {
				return err
			}
		}
	}
	return bl.flushAll(ctx, d.accountID)
}

// seedEmbedded writes the data set into a new store file without fsync: PutRecording for
// the first recording of each month (it creates the database), SaveMany for the others.
func (d *retentionData) seedEmbedded(ctx context.Context, path string) error {
	s, err := embedded.Open(path, embedded.Options{NoSync: true})
	if err != nil {
		return err
	}
	err = func() error {
		for m, docs := range d.byMonth() {
			if _, err := s.PutRecording(ctx, d.accountID, docs[0].Clone()); err != nil {
				return err
			}
			for rest := docs[1:]; len(rest) > 0; {
				chunk := rest[:min(1000, len(rest))]
				rest = rest[len(chunk):]
				batch := make([]recording.Doc, len(chunk))
				for i, doc := range chunk {
					batch[i] = doc.Clone()
				}
				results, err := s.SaveMany(ctx, d.accountID, m, batch)
				if err != nil {
					return err
				}
				for _, r := range results {
					if r.Err != nil {
						return fmt.Errorf("seed %s: %w", r.ID, r.Err)
					}
				}
			}
		}
		return nil
	}()
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}

// warm reads one purge candidate of each month database: the store installs
// _design/recordingsd_retention and CouchDB builds the purge index, which a running
// deployment has long had; the sweep then only updates it.
func (d *retentionData) warm(ctx context.Context, s recording.Purger) error {
	q := recording.PurgeQuery{Deleted: recording.Cutoff{On: true, Before: recording.ToGregorian(time.Now())}, Limit: 1}
	for _, m := range d.months {
		got, err := s.PurgeCandidates(ctx, recording.MonthDB{AccountID: d.accountID, Month: m}, q)
		if err != nil {
			return fmt.Errorf("build the purge index of %s: %w", m, err)
		}
		if len(got) != 1 {
			return fmt.Errorf("the purge index of %s has %d candidates before the sweep, want some", m, len(got))
		}
	}
	return nil
}

// verify checks, through the store, that the sweep purged exactly the pvt_deleted
// recordings and left every live one, and that its report says so.
func (d *retentionData) verify(ctx context.Context, s retentionStore, rep *retention.Report) error {
	if rep.Total() != d.nDeleted || rep.Purged[string(recording.PurgeDeleted)] != d.nDeleted || rep.Failed != 0 {
		return fmt.Errorf("the sweep's report says purged %v, failed %d; want %d deleted purged and none failed",
			rep.Purged, rep.Failed, d.nDeleted)
	}
	gone, kept := 0, 0
	var problems []string
	check := func(m recording.Month, ids []string, wantGone bool) error {
		for len(ids) > 0 {
			chunk := ids[:min(1000, len(ids))]
			ids = ids[len(chunk):]
			results, err := s.GetMany(ctx, d.accountID, m, chunk)
			if err != nil {
				return err
			}
			for _, r := range results {
				switch {
				case wantGone && recording.IsNotFound(r.Err):
					gone++
				case !wantGone && r.Err == nil && !r.Doc.IsDeleted() && !r.Doc.IsSoftDeleted():
					kept++
				case len(problems) < 5:
					problems = append(problems, fmt.Sprintf("%s (want gone: %v): err %v", r.ID, wantGone, r.Err))
				}
			}
		}
		return nil
	}
	for _, m := range d.months {
		if err := check(m, d.deleted[m], true); err != nil {
			return err
		}
		if err := check(m, d.live[m], false); err != nil {
			return err
		}
	}
	if gone != d.nDeleted || kept != d.nLive {
		return fmt.Errorf("after the sweep %d of %d pvt_deleted recordings are gone and %d of %d live ones remain; e.g. %s",
			gone, d.nDeleted, kept, d.nLive, strings.Join(problems, "; "))
	}
	return nil
}

// sweepRun is what one timed sweep measured.
type sweepRun struct {
	took      time.Duration
	purged    int
	requests  int   // CouchDB requests through the counting proxy (CouchDB only)
	heapPeak  int64 // peak of the Go heap's live objects over the level before the sweep
	allocated int64 // bytes the Go heap allocated during the sweep
	rssPeak   int64 // peak VmRSS of recbench over the level before the sweep
	heapBase  int64 // the Go heap's live objects before the sweep, after a GC
	breakdown string
}

func (r sweepRun) rate() float64 { return float64(r.purged) / r.took.Seconds() }

// heapWatch samples the Go heap (runtime/metrics: no stop-the-world) every 5 ms.
type heapWatch struct {
	stopped, done chan struct{}
	base, alloc0  uint64
	peak          uint64
	samples       []metrics.Sample
}

const (
	metricHeapObjects = "/memory/classes/heap/objects:bytes"
	metricHeapAllocs  = "/gc/heap/allocs:bytes"
)

func watchHeap() *heapWatch {
	runtime.GC()
	w := &heapWatch{stopped: make(chan struct{}), done: make(chan struct{}),
		samples: []metrics.Sample{{Name: metricHeapObjects}, {Name: metricHeapAllocs}}}
	metrics.Read(w.samples)
	w.base, w.alloc0 = w.samples[0].Value.Uint64(), w.samples[1].Value.Uint64()
	w.peak = w.base
	go func() {
		defer close(w.done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-w.stopped:
				return
			case <-t.C:
				w.sample()
			}
		}
	}()
	return w
}

func (w *heapWatch) sample() {
	metrics.Read(w.samples)
	w.peak = max(w.peak, w.samples[0].Value.Uint64())
}

// stop returns the peak growth of the live heap and the bytes allocated since the start.
func (w *heapWatch) stop() (peakGrowth, allocated int64) {
	close(w.stopped)
	<-w.done
	w.sample()
	return int64(w.peak - w.base), int64(w.samples[1].Value.Uint64() - w.alloc0)
}

// sweepLogger is the service's logger (cmd/recordingsd: JSON, info, unsampled), writing
// nowhere: the sweeper logs a line per purged recording, whose cost belongs to the sweep.
func sweepLogger() *zap.Logger {
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	return zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(io.Discard), zapcore.InfoLevel)).Named("retention")
}

// timeSweep runs one sweep and measures it; proxy (nil for the embedded store) counts the
// CouchDB requests.
func timeSweep(ctx context.Context, s recording.Purger, batch int, proxy *countingProxy) (sweepRun, *retention.Report, error) {
	cfg := retention.Config{Policy: retentionPolicy, BatchSize: batch, Rate: 0, Interval: time.Hour,
		Lease: 5 * time.Minute, StateDB: "recordingsd", Instance: "recbench"}
	sw, err := retention.New(s, nil, cfg, sweepLogger(), nil)
	if err != nil {
		return sweepRun{}, nil, err
	}
	if proxy != nil {
		proxy.take()
	}
	rss0, err := procStatus(os.Getpid())
	if err != nil {
		return sweepRun{}, nil, err
	}
	heap := watchHeap()
	rss := watchRSS(os.Getpid())
	t0 := time.Now()
	rep, err := sw.Sweep(ctx)
	took := time.Since(t0)
	rssPeak := rss.stop()
	heapPeak, allocated := heap.stop()
	if err != nil {
		return sweepRun{}, rep, fmt.Errorf("sweep: %w", err)
	}
	r := sweepRun{took: took, purged: rep.Total(), heapPeak: heapPeak, allocated: allocated,
		rssPeak: max(0, rssPeak.rss-rss0.rss)}
	r.heapBase = int64(heap.base)
	if proxy != nil {
		reqs := proxy.take()
		r.requests, r.breakdown = len(reqs), summarizeSweep(reqs)
	}
	return r, rep, nil
}

// summarizeSweep counts a sweep's CouchDB requests by kind.
func summarizeSweep(reqs []proxiedRequest) string {
	counts := map[string]int{}
	var order []string
	for _, r := range reqs {
		kind := r.Method + " " + r.db()
		switch db := r.db(); {
		case strings.Contains(r.Path, "/_view/"):
			kind = r.Method + " purge view (include_docs)"
		case strings.HasSuffix(r.Path, "/_bulk_docs"):
			kind = r.Method + " _bulk_docs (deletions)"
		case strings.HasSuffix(r.Path, "/_all_docs"):
			kind = r.Method + " _all_docs"
		case db == "_all_dbs":
			kind = r.Method + " _all_dbs"
		case strings.Contains(r.Path, "/_design"):
			kind = r.Method + " design document"
		case db == "recordingsd":
			kind = r.Method + " the sweeper's state document"
		case strings.Contains(db, "-") && !strings.Contains(strings.TrimPrefix(r.Path, "/"), "/"):
			kind = r.Method + " month database"
		}
		if counts[kind] == 0 {
			order = append(order, kind)
		}
		counts[kind]++
	}
	parts := make([]string, len(order))
	for i, k := range order {
		parts[i] = fmt.Sprintf("%d × %s", counts[k], k)
	}
	return fmt.Sprintf("%d: %s", len(reqs), strings.Join(parts, ", "))
}

// retentionCouch is the case's own pouchdb-server, behind a counting proxy.
type retentionCouch struct {
	pouch *pouchServer
	c     *couchClient // direct, for the seeding
	proxy *countingProxy
	// sample is, by batch size, what the requests of one sweep were.
	sample map[int]string
}

func (rc *retentionCouch) close() {
	if rc.proxy != nil {
		rc.proxy.close()
	}
	if rc.pouch != nil {
		rc.pouch.stop()
	}
}

// sweepCouch seeds the data set (the first time) or restores what the last sweep purged,
// brings the purge index up to date, sweeps and checks.
func (b *bench) sweepCouch(ctx context.Context, rc *retentionCouch, d *retentionData, batch int, first bool) (sweepRun, time.Duration, time.Duration, error) {
	t0 := time.Now()
	seed := d.restoreCouch
	if first {
		seed = d.seedCouch
	}
	if err := seed(ctx, rc.c); err != nil {
		return sweepRun{}, 0, 0, fmt.Errorf("seed CouchDB: %w", err)
	}
	seeded := time.Since(t0)
	s, err := couch.New(couch.Config{URL: rc.proxy.url(rc.c.user, rc.c.pass), RequestTimeout: 2 * time.Minute}, zap.NewNop())
	if err != nil {
		return sweepRun{}, 0, 0, err
	}
	defer s.Close()
	t0 = time.Now()
	if err := d.warm(ctx, s); err != nil {
		return sweepRun{}, 0, 0, err
	}
	indexed := time.Since(t0)
	r, rep, err := timeSweep(ctx, s, batch, rc.proxy)
	if err != nil {
		return sweepRun{}, 0, 0, fmt.Errorf("CouchDB, batch %d: %w", batch, err)
	}
	if err := d.verify(ctx, s, rep); err != nil {
		return sweepRun{}, 0, 0, fmt.Errorf("CouchDB, batch %d: %w", batch, err)
	}
	rc.proxy.take()
	if rc.sample == nil {
		rc.sample = map[int]string{}
	}
	if _, ok := rc.sample[batch]; !ok {
		rc.sample[batch] = r.breakdown
	}
	return r, seeded, indexed, nil
}

// sweepEmbedded seeds a new store file, opens it as the service does (fsync on), sweeps
// and checks.
func (b *bench) sweepEmbedded(ctx context.Context, d *retentionData, batch, run int) (sweepRun, time.Duration, error) {
	path := filepath.Join(b.work, fmt.Sprintf("retention-%d-%d.db", batch, run))
	defer os.Remove(path)
	t0 := time.Now()
	if err := d.seedEmbedded(ctx, path); err != nil {
		return sweepRun{}, 0, fmt.Errorf("seed the embedded store: %w", err)
	}
	seeded := time.Since(t0)
	s, err := embedded.Open(path, embedded.Options{})
	if err != nil {
		return sweepRun{}, 0, err
	}
	defer s.Close()
	r, rep, err := timeSweep(ctx, s, batch, nil)
	if err != nil {
		return sweepRun{}, 0, fmt.Errorf("embedded, batch %d: %w", batch, err)
	}
	if err := d.verify(ctx, s, rep); err != nil {
		return sweepRun{}, 0, fmt.Errorf("embedded, batch %d: %w", batch, err)
	}
	return r, seeded, nil
}

// caseRetention: one retention sweep per run and batch size, on CouchDB (a pouchdb-server
// of the case's own, through a counting proxy) and on the embedded store, each on freshly
// seeded data; every sweep is checked against the data set.
func (b *bench) caseRetention(ctx context.Context) error {
	n := b.cfg.retentionN
	var rc *retentionCouch
	if b.pouch != nil {
		rc = &retentionCouch{}
		defer rc.close()
		t0 := time.Now()
		var err error
		if rc.pouch, err = startPouch(ctx, b.cfg.pouchDir, b.cfg.pouchHeap); err != nil {
			return err
		}
		if rc.c, err = newCouchClient(rc.pouch.url, b.hc); err != nil {
			return err
		}
		if rc.proxy, err = startProxy(rc.c.base); err != nil {
			return err
		}
		b.logf("retention: pouchdb-server of its own ready in %v", time.Since(t0).Round(time.Millisecond))
	} else {
		// A sweep walks every month database of the server: on a server we did not start,
		// it would purge whatever the policy takes in every account there.
		b.note("Retention on CouchDB", "not measured: with -couch, a sweep would walk every account of that server")
	}

	// The data set, built once: pvt_modified is two days before the case began.
	d, err := newRetentionData(ctx, n, time.Now())
	if err != nil {
		return err
	}
	type side struct{ rate, reqs, heap, alloc, rss, secs series }
	couchBy, embBy := map[int]*side{}, map[int]*side{}
	for _, batch := range b.cfg.retBatches {
		couchBy[batch], embBy[batch] = &side{}, &side{}
	}
	add := func(s *side, r sweepRun, couch bool) {
		s.rate = append(s.rate, r.rate())
		s.secs = append(s.secs, r.took.Seconds())
		s.heap = append(s.heap, mb(r.heapPeak))
		s.alloc = append(s.alloc, float64(r.allocated)/1024/float64(max(1, r.purged)))
		s.rss = append(s.rss, mb(r.rssPeak))
		if couch {
			s.reqs = append(s.reqs, float64(r.requests)*100/float64(max(1, r.purged)))
		}
	}
	var couchFirstSeed, couchFirstIndex time.Duration
	var couchSeed, couchIndex, embSeed, heapBase series
	first := true
	for run := 0; run < b.cfg.runs; run++ {
		for _, batch := range b.cfg.retBatches {
			if rc != nil {
				r, seeded, indexed, err := b.sweepCouch(ctx, rc, d, batch, first)
				if err != nil {
					return err
				}
				if !rc.pouch.alive() {
					return fmt.Errorf("the retention case's pouchdb-server died:\n%s", rc.pouch.logTail())
				}
				add(couchBy[batch], r, true)
				heapBase = append(heapBase, mb(r.heapBase))
				if first {
					couchFirstSeed, couchFirstIndex = seeded, indexed
				} else {
					couchSeed, couchIndex = append(couchSeed, seeded.Seconds()), append(couchIndex, indexed.Seconds())
				}
				first = false
				b.logf("retention run %d, batch %d: CouchDB purged %d in %v (%.0f/s, %d requests), seeding %v, index %v",
					run+1, batch, r.purged, r.took.Round(time.Millisecond), r.rate(), r.requests,
					seeded.Round(time.Millisecond), indexed.Round(time.Millisecond))
			}
			r, seeded, err := b.sweepEmbedded(ctx, d, batch, run)
			if err != nil {
				return err
			}
			add(embBy[batch], r, false)
			heapBase = append(heapBase, mb(r.heapBase))
			embSeed = append(embSeed, seeded.Seconds())
			b.logf("retention run %d, batch %d: embedded purged %d in %v (%.0f/s), seeding %v",
				run+1, batch, r.purged, r.took.Round(time.Millisecond), r.rate(), seeded.Round(time.Millisecond))
		}
	}

	b.note("Retention data set", "%d recordings of demo.Seed (no audio) in account %s, 2 month databases (%s); every other one pvt_deleted with pvt_modified 2 days before the case began, the rest live",
		n, d.accountID, d.spread())
	if rc != nil {
		b.note("Retention seeding and purge index (CouchDB, untimed)", "first seeding %.1f s (_bulk_docs of 1,000) and purge index build %.1f s (first purge-view query of each month database); before each later sweep, the purged half written again over its tombstones in %s s and the index brought up to date in %s s",
			couchFirstSeed.Seconds(), couchFirstIndex.Seconds(), couchSeed.spread(), couchIndex.spread())
		for _, batch := range b.cfg.retBatches {
			b.note(fmt.Sprintf("Retention sweep, BatchSize %d: CouchDB requests", batch), "%s", rc.sample[batch])
		}
	}
	b.note("Retention seeding (embedded, untimed)", "%s s per sweep into a new file (SaveMany of 1,000, no fsync; the sweep then opens the file with fsync on, as the service does)", embSeed.spread())

	sec := fmt.Sprintf("6. Retention sweep of %s recordings, half pvt_deleted 2 days ago (DeletedAfter 24h, Rate 0)", human(n))
	note := fmt.Sprintf("The sweeper runs inside recbench (`retention.New` + `Sweep`), not in the service: the "+
		"\"service on CouchDB\" column is the sweeper over `pkg/store/couch` on a pouchdb-server of its own, through "+
		"the counting proxy (so every request pays one more loopback hop), and \"service on embedded\" the sweeper "+
		"over the embedded store on a file in %s, opened with fsync on. **Rate 0: no rate bound**, so these figures "+
		"are the sweeper's own ceiling; a deployment's default rate is 50 recordings/s. Policy: DeletedAfter 24h, "+
		"SoftDeletedAfter never, no external media; the sweeper logs a JSON line per purged recording, to io.Discard, "+
		"encoded as the service's logger would. Every sweep has %d pvt_deleted recordings to purge and %d live ones "+
		"to keep, with the purge index up to date (CouchDB: the purged half is written again over its tombstones "+
		"between sweeps; embedded: a new file per sweep), and is checked afterwards: every pvt_deleted recording "+
		"gone and every live one still there (GetMany), and the sweep's report agreeing — otherwise the case fails. "+
		"Memory is recbench's own: the peak of the Go heap's objects (uncollected garbage included, so GC pacing "+
		"over recbench's heap of %s MB before each sweep bounds it) over their level before the sweep, the bytes "+
		"allocated per purged recording, and the peak VmRSS over its level before the sweep (near 0 once an earlier "+
		"sweep has grown the heap; on the embedded store it includes the pages of the store file's mmap the sweep "+
		"touches).", os.TempDir(), d.nDeleted, d.nLive, heapBase.spread())
	for i, batch := range b.cfg.retBatches {
		c, e := couchBy[batch], embBy[batch]
		name := func(s string) string { return fmt.Sprintf("batch %d: %s", batch, s) }
		r := result{section: sec, name: name("purged per second"), unit: "recordings/s", svc: c.rate, emb: e.rate, noRatio: true}
		if i == 0 {
			r.note = note
		}
		b.add(r)
		b.add(result{section: sec, name: name("sweep time"), unit: "s", svc: c.secs, emb: e.secs, noRatio: true})
		if rc != nil {
			b.add(result{section: sec, name: name("CouchDB requests per 100 purged"), unit: "requests", svc: c.reqs, noRatio: true})
		}
		b.add(result{section: sec, name: name("Go heap peak growth"), unit: "MB", svc: c.heap, emb: e.heap, noRatio: true})
		b.add(result{section: sec, name: name("Go allocated per purged"), unit: "KB", svc: c.alloc, emb: e.alloc, noRatio: true})
		b.add(result{section: sec, name: name("VmRSS peak growth"), unit: "MB", svc: c.rss, emb: e.rss, noRatio: true})
	}
	return nil
}
