package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/couchviews"
	"github.com/recordingsd/recordingsd/pkg/demo"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch"
	"github.com/recordingsd/recordingsd/pkg/store/embedded"
)

// bench holds one run of the benchmark: the servers, the data set, the results.
type bench struct {
	cfg     *config
	out     io.Writer
	logw    io.Writer
	started time.Time

	work  string
	bin   string
	pouch *pouchServer
	couch *couchClient
	hc    *http.Client

	anchor   time.Time
	set      *dataSet // the main data set, the same in both stores
	embPath  string
	bigID    string
	bigName  string
	bigSize  int64
	svcCouch *service // on CouchDB, direct connection
	svcEmb   *service // on the embedded store
	proxy    *countingProxy
	svcProxy *service // on CouchDB through the counting proxy

	// scaleFiles are the embedded store files of the scale case, by size, seeded during setup.
	scaleFiles map[int]string
	scaleSeed  map[int]time.Duration
	scaleCouch map[int]*couchInstance

	loadStart string // load average when the run began

	indexRows []indexRow // case index: the table of view indexes (its last row: all months)
	indexNote string

	facts    []fact // setup figures and observations for the report
	results  []result
	profiles []profileNote
	goBench  string
	couchVer string
}

// fact is one line of the report's "setup" list.
type fact struct{ name, value string }

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.logw, "[%6.1fs] %s\n", time.Since(b.started).Seconds(), fmt.Sprintf(format, args...))
}

func (b *bench) note(name, format string, args ...any) {
	b.facts = append(b.facts, fact{name, fmt.Sprintf(format, args...)})
	b.logf("%s: %s", name, fmt.Sprintf(format, args...))
}

func (b *bench) cleanup() {
	for _, s := range []*service{b.svcCouch, b.svcEmb, b.svcProxy} {
		if s != nil {
			s.stop()
		}
	}
	if b.proxy != nil {
		b.proxy.close()
	}
	if b.pouch != nil {
		b.pouch.stop()
	}
	for _, inst := range b.scaleCouch {
		if inst.pouch != nil {
			inst.pouch.stop()
		}
	}
	if b.work != "" && !b.cfg.keep {
		_ = os.RemoveAll(b.work)
	}
}

func (b *bench) setup(ctx context.Context) error {
	var err error
	b.loadStart = loadAvg()
	if b.work, err = os.MkdirTemp("", "recbench-"); err != nil {
		return err
	}
	b.hc = newHTTPClient()
	b.logf("building cmd/recordingsd")
	if b.bin, err = buildService(ctx, b.work); err != nil {
		return err
	}
	couchURL := b.cfg.couchURL
	if couchURL == "" {
		t0 := time.Now()
		if b.pouch, err = startPouch(ctx, b.cfg.pouchDir, b.cfg.pouchHeap); err != nil {
			return err
		}
		couchURL = b.pouch.url
		b.logf("pouchdb-server ready in %v", time.Since(t0).Round(time.Millisecond))
	}
	if b.couch, err = newCouchClient(couchURL, b.hc); err != nil {
		return err
	}
	b.couchVer = b.couch.welcome(ctx)
	b.anchor = time.Now().UTC().Truncate(time.Second)
	o := seedOptions(b.cfg.recordings, b.cfg.months, b.cfg.audioEvery, b.anchor)
	b.embPath = filepath.Join(b.work, "main.db")

	// Both stores at once: pouchdb-server is single-threaded, the embedded seeding is Go.
	// CouchDB: seed, build the view index, attach the big file; embedded: seed, attach.
	b.logf("seeding %d recordings over %d months (audio on 1 in %d) into CouchDB and the embedded store (%s)",
		o.RecordingsPerAccount, o.Months, o.AudioEvery, b.cfg.seedMode)
	var big []byte
	if b.cfg.enabled("download") {
		big = bigAudio(int64(b.cfg.bigMB) << 20)
	}
	var wg sync.WaitGroup
	var couchSet, embSet *dataSet
	var couchErr, embErr, scaleErr error
	var couchTook, embTook, indexOurs, indexKazoo time.Duration
	if b.cfg.enabled("scale") && b.pouch != nil {
		// The scale case's other CouchDB sizes, each in a server of its own.
		wg.Add(1)
		go func() {
			defer wg.Done()
			scaleErr = b.seedScaleCouch(ctx)
		}()
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		t0 := time.Now()
		if couchSet, couchErr = b.seedCouch(ctx, o); couchErr != nil {
			return
		}
		couchTook = time.Since(t0)
		if indexOurs, indexKazoo, couchErr = warmViews(ctx, b.couch, couchSet); couchErr != nil {
			return
		}
		if big != nil {
			couchErr = b.attachBigCouch(ctx, couchSet, big)
		}
	}()
	go func() {
		defer wg.Done()
		t0 := time.Now()
		if embSet, embErr = b.seedEmbedded(ctx, b.embPath, o); embErr != nil {
			return
		}
		embTook = time.Since(t0)
		if big != nil {
			if embErr = b.attachBigEmbedded(ctx, embSet, big); embErr != nil {
				return
			}
		}
		// The scale case's embedded files, while pouchdb-server builds its index.
		if b.cfg.enabled("scale") {
			embErr = b.seedScaleFiles(ctx)
		}
	}()
	wg.Wait()
	if couchErr != nil {
		return fmt.Errorf("seed CouchDB: %w", couchErr)
	}
	if embErr != nil {
		return fmt.Errorf("seed the embedded store: %w", embErr)
	}
	if scaleErr != nil {
		return fmt.Errorf("seed the CouchDB servers of the scale case: %w", scaleErr)
	}
	if len(couchSet.recordings) != len(embSet.recordings) || couchSet.recordings[0] != embSet.recordings[0] {
		return fmt.Errorf("the two stores got different data sets")
	}
	b.set = couchSet
	if big != nil {
		b.bigID, b.bigName, b.bigSize = bigTarget(b.set), bigName(b.set), int64(len(big))
	}
	b.note("Seeding (main data set)", "CouchDB %v, embedded %v (%s)", couchTook.Round(100*time.Millisecond), embTook.Round(100*time.Millisecond), b.seedHow())
	b.note("View indexes (main data set)", "first queries of _design/%s %v and of Kazoo's _design/%s %v, for %d recordings in %d month databases (never inside a measurement; the database may have begun indexing during the seeding: case 7 times builds from scratch)",
		couchviews.DesignName, indexOurs.Round(100*time.Millisecond), kazooDesignName, indexKazoo.Round(100*time.Millisecond), len(b.set.recordings), len(b.set.months()))
	return b.startServices(ctx)
}

func (b *bench) seedHow() string {
	if b.cfg.seedMode == "cli" {
		return "`recordingsd seed`"
	}
	return "demo.Seed, as `recordingsd seed`; CouchDB through _bulk_docs, embedded without fsync"
}

func (b *bench) seedCouch(ctx context.Context, o demo.Options) (*dataSet, error) {
	if b.cfg.seedMode == "fast" {
		return seedCouch(ctx, b.couch, o)
	}
	if err := dropMonths(ctx, b.couch, demo.AccountID(0), o); err != nil {
		return nil, err
	}
	s, err := couch.New(couch.Config{URL: b.couch.withCredentials()}, zap.NewNop())
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return seedWithCLI(ctx, b.bin, serviceEnv(b.couch.withCredentials(), "", 0), o, s.PutAccount)
}

func (b *bench) seedEmbedded(ctx context.Context, path string, o demo.Options) (*dataSet, error) {
	if b.cfg.seedMode == "fast" {
		return seedEmbedded(ctx, path, o)
	}
	s, err := embedded.Open(path, embedded.Options{})
	if err != nil {
		return nil, err
	}
	err = s.PutAccount(ctx, recording.Doc{"_id": demo.ResellerID, "pvt_type": "account", "pvt_demo_anchor": recording.ToGregorian(o.Anchor)})
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return seedWithCLI(ctx, b.bin, serviceEnv("", path, 0), o, func(context.Context, recording.Doc) error { return nil })
}

// bigTarget is the recording that gets the download case's big file: the data set's
// sample recording (live, with audio).
func bigTarget(set *dataSet) string { return set.result.SampleRecording }

// bigName is the name of that recording's audio attachment, which the big file replaces.
func bigName(set *dataSet) string {
	for _, r := range set.recordings {
		if r.id == set.result.SampleRecording {
			return r.name
		}
	}
	return ""
}

func (b *bench) attachBigCouch(ctx context.Context, set *dataSet, data []byte) error {
	t0 := time.Now()
	cs, err := couch.New(couch.Config{URL: b.couch.withCredentials(), RequestTimeout: 5 * time.Minute}, zap.NewNop())
	if err != nil {
		return err
	}
	defer cs.Close()
	if err := attachBig(ctx, cs, set.accountID, bigTarget(set), bigName(set), data); err != nil {
		return fmt.Errorf("attach %d MB in CouchDB: %w", len(data)>>20, err)
	}
	b.logf("attached %d MB to %s in CouchDB in %v", len(data)>>20, bigTarget(set), time.Since(t0).Round(time.Millisecond))
	return nil
}

func (b *bench) attachBigEmbedded(ctx context.Context, set *dataSet, data []byte) error {
	es, err := embedded.Open(b.embPath, embedded.Options{NoSync: true})
	if err != nil {
		return err
	}
	err = attachBig(ctx, es, set.accountID, bigTarget(set), bigName(set), data)
	if cerr := es.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("attach %d MB in the embedded store: %w", len(data)>>20, err)
	}
	return nil
}

// warmViews installs Kazoo's _design/recordings in every month database of the data set
// (as a Kazoo deployment has it), then builds the listing indexes, ours and Kazoo's, with a
// first query of each. It returns the time each design's first queries took.
func warmViews(ctx context.Context, c *couchClient, set *dataSet) (ours, kazoo time.Duration, err error) {
	for _, m := range set.months() {
		db := recording.MonthDBName(set.accountID, m)
		if _, err := c.putDesign(ctx, db, kazooRecordingsDesign()); err != nil {
			return 0, 0, fmt.Errorf("install Kazoo's design document in %s: %w", db, err)
		}
	}
	for _, m := range set.months() {
		db := recording.MonthDBName(set.accountID, m)
		took, err := c.waitView(ctx, db, couchviews.DesignName, couchviews.ViewListing)
		if err != nil {
			return 0, 0, fmt.Errorf("build the %s view of %s: %w", couchviews.ViewListing, db, err)
		}
		ours += took
		if took, err = c.waitView(ctx, db, kazooDesignName, kazooViewListing); err != nil {
			return 0, 0, fmt.Errorf("build Kazoo's %s view of %s: %w", kazooViewListing, db, err)
		}
		kazoo += took
	}
	return ours, kazoo, nil
}

func (b *bench) startServices(ctx context.Context) error {
	var err error
	if b.svcCouch, err = startService(ctx, b.bin, serviceEnv(b.couch.withCredentials(), "", 0), b.set.accountID, b.hc); err != nil {
		return fmt.Errorf("service on CouchDB: %w", err)
	}
	if b.svcEmb, err = startService(ctx, b.bin, serviceEnv("", b.embPath, 0), b.set.accountID, b.hc); err != nil {
		return fmt.Errorf("service on the embedded store: %w", err)
	}
	return nil
}

// proxied starts (once) a second service on CouchDB that goes through a counting proxy.
func (b *bench) proxied(ctx context.Context) (*service, *countingProxy, error) {
	if b.svcProxy != nil {
		return b.svcProxy, b.proxy, nil
	}
	var err error
	if b.proxy == nil {
		if b.proxy, err = startProxy(b.couch.base); err != nil {
			return nil, nil, err
		}
	}
	if b.svcProxy, err = startService(ctx, b.bin, serviceEnv(b.proxy.url(b.couch.user, b.couch.pass), "", 0), b.set.accountID, b.hc); err != nil {
		return nil, nil, fmt.Errorf("service through the counting proxy: %w", err)
	}
	return b.svcProxy, b.proxy, nil
}

func (b *bench) runCases(ctx context.Context) error {
	cases := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"list", b.caseList},
		{"paging", b.casePaging},
		{"download", b.caseDownload},
		{"bulk", b.caseBulk},
		{"scale", b.caseScale},
		{"index", b.caseIndex},
		{"retention", b.caseRetention},
		{"events", b.caseEvents},
		{"webhooks", b.caseWebhooks},
		{"gobench", b.caseGoBench},
	}
	for _, c := range cases {
		if !b.cfg.enabled(c.name) {
			continue
		}
		t0 := time.Now()
		b.logf("case %s", c.name)
		if err := c.fn(ctx); err != nil {
			return fmt.Errorf("case %s: %w", c.name, err)
		}
		if b.pouch != nil && !b.pouch.alive() {
			return fmt.Errorf("case %s: pouchdb-server died:\n%s", c.name, b.pouch.logTail())
		}
		b.note("Case "+c.name, "took %v", time.Since(t0).Round(100*time.Millisecond))
		if err := b.profileAfter(ctx, c.name); err != nil {
			b.logf("profiling after case %s failed: %v", c.name, err)
		}
	}
	return nil
}

// svcGet is a call to the service with the bench token.
func (b *bench) svcGet(s *service, path string, header http.Header, want int) call {
	h := http.Header{"X-Auth-Token": {benchToken}}
	for k, v := range header {
		h[k] = v
	}
	return getter(b.hc, s.base+path, h, want, "", "")
}

// directGet is a call to CouchDB with the admin credentials.
func (b *bench) directGet(rawPathQuery string, header http.Header, want int) call {
	u := *b.couch.base
	return getter(b.hc, u.Scheme+"://"+u.Host+rawPathQuery, header, want, b.couch.user, b.couch.pass)
}

// holdForProbing prints where everything runs and waits for ^C.
func (b *bench) holdForProbing(ctx context.Context) error {
	fmt.Fprintf(b.out, "CouchDB:              %s\n", b.couch.withCredentials())
	fmt.Fprintf(b.out, "service on CouchDB:   %s (pid %d)\n", b.svcCouch.base, b.svcCouch.pid())
	fmt.Fprintf(b.out, "service on embedded:  %s (pid %d)\n", b.svcEmb.base, b.svcEmb.pid())
	fmt.Fprintf(b.out, "token %q, account %s, big file on %s\nlisting: %s\nwaiting for ^C\n", benchToken, b.set.accountID, b.bigID, b.listPath())
	<-ctx.Done()
	return nil
}

// dbPID is the database's process id when recbench started it (its CPU time is then
// counted), else 0.
func (b *bench) dbPID() int {
	if b.pouch == nil {
		return 0
	}
	return b.pouch.pid()
}

// seedScaleFiles writes one embedded store file per size of the scale case.
func (b *bench) seedScaleFiles(ctx context.Context) error {
	b.scaleFiles, b.scaleSeed = map[int]string{}, map[int]time.Duration{}
	for _, n := range b.cfg.scaleEmb {
		path := filepath.Join(b.work, fmt.Sprintf("scale-%d.db", n))
		t0 := time.Now()
		if _, err := seedEmbedded(ctx, path, seedOptions(n, b.cfg.months, b.cfg.audioEvery, b.anchor)); err != nil {
			return fmt.Errorf("seed %d recordings: %w", n, err)
		}
		b.scaleFiles[n], b.scaleSeed[n] = path, time.Since(t0)
	}
	return nil
}

// loadAvg is the 1-minute load average: how busy the machine was besides us.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(data))[0]
}
