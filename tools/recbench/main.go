// Command recbench measures what putting recordingsd in front of CouchDB costs, and how it
// scales: the service and the database it fronts, side by side, on the same data, from the
// same Go load generator, alternating the two sides run after run so that a noisy machine
// moves both alike. It prints a table and writes docs/BENCHMARKS.md. `make bench` runs it.
//
//	make bench BENCHFLAGS='[flags]'
//
// It is a Go module of its own (tools/recbench/go.mod, the service's module replaced by ../..),
// so that `go test ./...` at the repository's root leaves it out. It runs from the repository's
// root (`make bench` builds it into bin/recbench and runs it there): it builds ./cmd/recordingsd,
// runs `go test` on the -gobench packages, and its -out and -pouchdb paths are relative to it.
//
// By default it starts its own pouchdb-server (the CouchDB-compatible server of `make test`,
// from testenv/pouchdb) with a bigger heap; -couch URL uses another server instead (the demo
// account's databases there are dropped and rewritten). Both stores get the data set of
// `recordingsd seed` (pkg/demo) at the chosen size; the service runs as its own process,
// built from cmd/recordingsd and configured with RECORDINGS_* variables, so that its memory
// is its own (VmRSS, VmHWM from /proc).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// config is every knob of a run; the defaults are `make bench`.
type config struct {
	couchURL    string
	pouchDir    string
	pouchHeap   int
	seedMode    string
	recordings  int
	months      int
	audioEvery  int
	bigMB       int
	runs        int
	listDur     time.Duration
	maxReq      int
	conc        []int
	pagingSize  int
	bulkIDs     int
	scaleEmb    []int
	scaleCouch  []int
	scaleDur    time.Duration
	retentionN  int
	retBatches  []int
	only        map[string]bool
	out         string
	rawDir      string
	goBench     string
	goBenchCnt  int
	goBenchTime string
	profile     bool
	keep        bool
	hold        bool
	eventsDur   time.Duration
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "recbench:", err)
		os.Exit(1)
	}
}

func parseConfig(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("recbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.couchURL, "couch", "", "CouchDB-compatible server URL with admin credentials (default: start pouchdb-server from -pouchdb)")
	fs.StringVar(&c.pouchDir, "pouchdb", "testenv/pouchdb", "directory whose node_modules holds pouchdb-server (make testdeps installs it)")
	fs.IntVar(&c.pouchHeap, "pouchdb-heap-mb", 4096, "pouchdb-server's --max-old-space-size")
	fs.StringVar(&c.seedMode, "seed", "fast", "how the main data set is seeded: fast (demo.Seed, as recordingsd seed; _bulk_docs for CouchDB, no fsync for the embedded store) or cli (run recordingsd seed itself: slow)")
	fs.IntVar(&c.recordings, "recordings", 30000, "recordings in the benchmarked account (recordingsd seed --recordings-per-account)")
	fs.IntVar(&c.months, "months", 3, "months the recordings spread over (recordingsd seed --months)")
	fs.IntVar(&c.audioEvery, "audio-every", 100, "demo audio on one recording in N (recordingsd seed --audio-every)")
	fs.IntVar(&c.bigMB, "download-mb", 50, "size of the attachment of the download case, MB")
	fs.IntVar(&c.runs, "runs", 5, "runs of each comparison (each figure is the median, with min–max)")
	fs.DurationVar(&c.listDur, "duration", 1200*time.Millisecond, "time bound of one side of one listing run")
	fs.IntVar(&c.maxReq, "max-requests", 20000, "request bound of one side of one listing run")
	concs := fs.String("concurrency", "1,16", "concurrencies of the listing case")
	fs.IntVar(&c.pagingSize, "paging-page-size", 100, "page_size of the paging-through-everything case")
	fs.IntVar(&c.bulkIDs, "bulk-ids", 500, "recordings in the bulk soft delete (half in each of two month databases)")
	scaleEmb := fs.String("scale-embedded", "1000,10000,100000", "account sizes of the scale case on the embedded store")
	scaleCouch := fs.String("scale-couch", "1000,10000", "account sizes of the scale case on CouchDB (the main data set is one more point)")
	fs.DurationVar(&c.scaleDur, "scale-duration", time.Second, "time bound of one side of one scale run")
	fs.IntVar(&c.retentionN, "retention-recordings", 10000, "recordings of the retention case's account, half of them pvt_deleted: what every sweep purges")
	retBatches := fs.String("retention-batch", "100", "sweeper BatchSizes of the retention case, at most 1000 (each one adds about a minute: \"100,1000\")")
	only := fs.String("only", "", "comma-separated cases to run: list,paging,download,bulk,scale,index,retention,events,webhooks,gobench (default: all)")
	fs.StringVar(&c.out, "out", "docs/BENCHMARKS.md", "report to write (\"\": none)")
	fs.StringVar(&c.rawDir, "profile-dir", filepath.Join(os.TempDir(), "recbench-profiles"), "where the CPU and allocation profiles of missed targets go")
	fs.StringVar(&c.goBench, "gobench", "./pkg/crossbar/ ./pkg/recording/", "packages whose Go benchmarks run too (\"\": none)")
	fs.IntVar(&c.goBenchCnt, "gobench-count", 5, "go test -count for the Go benchmarks")
	fs.StringVar(&c.goBenchTime, "gobench-time", "100ms", "go test -benchtime for the Go benchmarks")
	fs.BoolVar(&c.profile, "profile", true, "profile the service in-process for every missed target")
	fs.BoolVar(&c.keep, "keep", false, "keep the work directory (store files, binary)")
	fs.DurationVar(&c.eventsDur, "events-duration", time.Minute, "how long the events and webhooks cases write 100 recordings a second")
	fs.BoolVar(&c.hold, "hold", false, "after setup, print the servers' addresses and wait for ^C instead of measuring (to probe by hand)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	var err error
	if c.conc, err = intList(*concs); err != nil {
		return nil, fmt.Errorf("-concurrency: %w", err)
	}
	if c.scaleEmb, err = intList(*scaleEmb); err != nil {
		return nil, fmt.Errorf("-scale-embedded: %w", err)
	}
	if c.scaleCouch, err = intList(*scaleCouch); err != nil {
		return nil, fmt.Errorf("-scale-couch: %w", err)
	}
	if c.retBatches, err = intList(*retBatches); err != nil || len(c.retBatches) == 0 {
		return nil, fmt.Errorf("-retention-batch: want batch sizes, got %q (%v)", *retBatches, err)
	}
	for _, n := range c.retBatches {
		if n > 1000 {
			return nil, fmt.Errorf("-retention-batch: %d is over the sweeper's maximum of 1000", n)
		}
	}
	if *only != "" {
		c.only = map[string]bool{}
		for _, s := range strings.Split(*only, ",") {
			c.only[strings.TrimSpace(s)] = true
		}
	}
	if c.runs < 1 || c.recordings < 100 || c.months < 1 || c.bigMB < 2 || c.bulkIDs < 2 || c.retentionN < 4 {
		return nil, errors.New("sizes too small: -runs ≥ 1, -recordings ≥ 100, -months ≥ 1, -download-mb ≥ 2, -bulk-ids ≥ 2, -retention-recordings ≥ 4")
	}
	if c.seedMode != "fast" && c.seedMode != "cli" {
		return nil, fmt.Errorf("-seed must be fast or cli, not %q", c.seedMode)
	}
	return c, nil
}

func (c *config) enabled(name string) bool { return c.only == nil || c.only[name] }

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(strings.ReplaceAll(f, "_", ""))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad number %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		return err
	}
	b := &bench{cfg: cfg, out: stdout, logw: stderr, started: time.Now()}
	defer b.cleanup()
	if err := b.setup(ctx); err != nil {
		return err
	}
	if cfg.hold {
		return b.holdForProbing(ctx)
	}
	if err := b.runCases(ctx); err != nil {
		return err
	}
	return b.report(ctx)
}
