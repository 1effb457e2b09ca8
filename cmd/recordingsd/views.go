package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/recordingsd/recordingsd/couchviews"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch"
)

const viewsUsage = "usage: recordingsd views build --config FILE [--account ID] [--months N] [--retention] [--parallel N]"

// views dispatches `recordingsd views …`; build is its only subcommand.
func views(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "build" {
		return errors.New(viewsUsage)
	}
	return viewsBuild(ctx, args[1:], getenv, stdout, stderr)
}

// viewsBuild installs our design documents in month databases and builds their indexes
// ahead of time, newest month first, so that no listing waits for a build. Safe to stop
// (CouchDB goes on with the index under way) and to run again (built indexes answer at once).
func viewsBuild(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("recordingsd views build", flag.ContinueOnError)
	flags.SetOutput(stderr)
	configPath := flags.String("config", "", "configuration file (YAML); RECORDINGS_* variables override it")
	account := flags.String("account", "", "only this account's month databases")
	months := flags.Int("months", 0, "only the newest N calendar months, the current one included (0: every month)")
	retentionFlag := flags.Bool("retention", false, "also build the retention sweeper's purge index (default: recordings.retention.enabled)")
	parallel := flags.Int("parallel", 1, "month databases built at once")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v; %s", flags.Args(), viewsUsage)
	}
	if *account != "" && !recording.ValidAccountID(*account) {
		return fmt.Errorf("--account %q is not an account id (32 lowercase hex digits)", *account)
	}
	if *months < 0 || *parallel < 1 {
		return fmt.Errorf("--months must be 0 or more and --parallel 1 or more")
	}
	cfg, err := loadConfig(*configPath, getenv)
	if err != nil {
		return err
	}
	if cfg.Store.Backend != "couchdb" {
		// Checked before opening the store: the embedded file may be locked by a running service.
		fmt.Fprintf(stdout, "the %s has no CouchDB views: nothing to build\n", describeBackend(cfg))
		return nil
	}
	withRetention := cfg.Recordings.Retention.Enabled
	flags.Visit(func(f *flag.Flag) {
		if f.Name == "retention" {
			withRetention = *retentionFlag
		}
	})

	c, err := openConfigured(*configPath, quietInfoLogs(getenv), stderr)
	if err != nil {
		return err
	}
	defer func() { _ = c.close() }()
	store, ok := c.store.(*couch.Store)
	if !ok {
		return fmt.Errorf("store.backend couchdb opened a %T", c.store)
	}
	designs := []*couchviews.Design{couchviews.Recordings}
	if withRetention {
		designs = append(designs, couchviews.Retention)
	}
	builder := couch.NewIndexBuilder(store, designs...)
	defer builder.Close()

	dbs, err := monthDatabasesToBuild(ctx, store, *account, *months, time.Now())
	if err != nil {
		return err
	}
	if len(dbs) == 0 {
		fmt.Fprintln(stdout, "no month databases to build")
		return nil
	}
	progress := newBuildProgress(stdout, isTerminal(stdout), builder.Designs())
	targets := planBuild(ctx, builder, dbs, max(*parallel, 4), progress)
	if ctx.Err() != nil {
		return interrupted(progress)
	}
	stopTicker := progress.follow(ctx, store.IndexesBuilding)
	forEachConcurrently(ctx, targets, *parallel, func(t buildTarget) {
		progress.start(t)
		progress.finish(t, builder.Build(ctx, t.db), ctx.Err() != nil)
	})
	stopTicker()
	if ctx.Err() != nil {
		return interrupted(progress)
	}
	return progress.summary()
}

// monthLister is what finding month databases needs of the store.
type monthLister interface {
	MonthDatabases(ctx context.Context, after recording.MonthDB, limit int) ([]recording.MonthDB, error)
}

// monthDatabasesPage is how many month databases are asked for at once.
const monthDatabasesPage = 500

// monthDatabasesToBuild walks the server's month databases (all, or one account's), keeps
// those of the newest months calendar months when months > 0, and orders them newest month
// first: listings read recent months most, so those indexes are ready first.
func monthDatabasesToBuild(ctx context.Context, lister monthLister, account string, months int, now time.Time) ([]recording.MonthDB, error) {
	oldest := recording.MonthOf(now)
	for range months - 1 {
		oldest = oldest.Prev()
	}
	var out []recording.MonthDB
	after := recording.MonthDB{AccountID: account} // month zero: before all of the account's
walk:
	for {
		page, err := lister.MonthDatabases(ctx, after, monthDatabasesPage)
		if err != nil {
			return nil, fmt.Errorf("list month databases: %w", err)
		}
		for _, db := range page {
			if account != "" && db.AccountID != account {
				break walk
			}
			if months == 0 || !db.Month.Before(oldest) {
				out = append(out, db)
			}
		}
		if len(page) < monthDatabasesPage {
			break
		}
		after = page[len(page)-1]
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Month != out[j].Month {
			return out[j].Month.Before(out[i].Month)
		}
		return out[i].AccountID < out[j].AccountID
	})
	return out, nil
}

// buildTarget is one month database to build, with what that involves.
type buildTarget struct {
	db   recording.MonthDB
	name string
	work couch.IndexWork
}

// upToDate reports whether the database's indexes are known to be built already.
func (t buildTarget) upToDate() bool { return t.work.Current && t.work.Known && t.work.Changes == 0 }

// planBuild asks how much each database's indexes have to read, for the ETA; a database
// gone meanwhile is dropped.
func planBuild(ctx context.Context, builder *couch.IndexBuilder, dbs []recording.MonthDB, workers int, progress *buildProgress) []buildTarget {
	targets := make([]buildTarget, len(dbs))
	gone := make([]bool, len(dbs))
	indexes := make([]int, len(dbs))
	for i := range dbs {
		indexes[i] = i
	}
	forEachConcurrently(ctx, indexes, workers, func(i int) {
		work, err := builder.Pending(ctx, dbs[i])
		gone[i] = recording.IsNotFound(err)
		targets[i] = buildTarget{db: dbs[i], name: dbs[i].Name(), work: work} // on error: unknown work
		progress.planned(len(dbs))
	})
	kept := targets[:0]
	for i, t := range targets {
		if !gone[i] {
			kept = append(kept, t)
		}
	}
	progress.plan(kept)
	return kept
}

// forEachConcurrently calls fn for each item on n goroutines, handing out no more items once
// ctx has ended, and returns when every call has.
func forEachConcurrently[T any](ctx context.Context, items []T, n int, fn func(T)) {
	queue := make(chan T)
	var wg sync.WaitGroup
	for range min(n, len(items)) {
		wg.Go(func() {
			for item := range queue {
				fn(item)
			}
		})
	}
feed:
	for _, item := range items {
		select {
		case queue <- item:
		case <-ctx.Done():
			break feed
		}
	}
	close(queue)
	wg.Wait()
}

// interrupted ends a build stopped by the operator: what got done, and that running again
// picks up from there.
func interrupted(progress *buildProgress) error {
	progress.stopped()
	return errors.New("interrupted: CouchDB goes on building the indexes it had started; run the command again to finish")
}

// quietInfoLogs keeps the store's info logs (a line per design document installed) off the
// terminal the progress line is drawn on: the command prints that itself. An explicit
// RECORDINGS_LOG_LEVEL still wins.
func quietInfoLogs(getenv func(string) string) func(string) string {
	return func(key string) string {
		if v := getenv(key); v != "" || key != envName("log.level") {
			return v
		}
		return "warn"
	}
}
