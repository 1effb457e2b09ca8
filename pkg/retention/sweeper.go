package retention

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/recordingsd/recordingsd/pkg/media"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Observer is told what the sweeper does; the Prometheus metrics implement it.
type Observer interface {
	// Purged counts one recording hard-deleted for reason.
	Purged(reason recording.PurgeReason)
	// PurgeFailed counts one candidate left in place: cause is "conflict" (changed since it
	// was read), "media" (its provider refused the delete) or "store".
	PurgeFailed(reason recording.PurgeReason, cause string)
	// Held counts one candidate kept because it is on legal hold.
	Held(reason recording.PurgeReason)
	// MediaDeleted counts one object deleted from a storage provider.
	MediaDeleted(handler string)
	// SweepEnded reports a sweep's end: result is "completed", "failed" or "busy".
	SweepEnded(result string, at time.Time, took time.Duration)
}

// Sweeper applies a retention policy to every month database of a store.
type Sweeper struct {
	store   recording.Purger
	media   media.Sources
	log     *zap.Logger
	obs     Observer
	cfg     Config
	limiter *rate.Limiter // nil: no bound

	running atomic.Bool // single flight within the process; the lease covers other processes
}

// New returns a Sweeper. media reads (and deletes) external audio; it may be nil when the
// policy keeps external media. obs may be nil.
func New(store recording.Purger, sources media.Sources, cfg Config, log *zap.Logger, obs Observer) (*Sweeper, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = zap.NewNop()
	}
	if obs == nil {
		obs = nopObserver{}
	}
	s := &Sweeper{store: store, media: sources, log: log, obs: obs, cfg: cfg}
	if cfg.Rate > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(cfg.Rate), max(cfg.BatchSize, int(cfg.Rate)))
	}
	return s, nil
}

// Report sums up a sweep.
type Report struct {
	Resumed      bool           `json:"resumed,omitempty"`
	StartedAt    time.Time      `json:"started_at"`
	Took         time.Duration  `json:"took_ns"`
	Databases    int            `json:"databases"` // month databases visited
	Candidates   int            `json:"candidates"`
	Purged       map[string]int `json:"purged"` // by reason
	Failed       int            `json:"failed"`
	Held         int            `json:"held"` // candidates kept on legal hold
	MediaDeleted int            `json:"media_deleted"`
	MediaKept    int            `json:"media_kept"` // external objects left on their provider
}

func newReport(started time.Time) *Report {
	return &Report{StartedAt: started, Purged: map[string]int{}}
}

// Total is the number of recordings purged.
func (r *Report) Total() int {
	n := 0
	for _, v := range r.Purged {
		n += v
	}
	return n
}

// Sweep runs one sweep now: it resumes the sweep a stopped process left half done, or starts
// one with the policy's cutoffs as of now. ErrBusy when another sweep holds the lease.
// Progress is saved as it goes, so an interrupted sweep (ctx cancelled, crash, store down)
// is resumed by the next call, here or in another instance.
func (s *Sweeper) Sweep(ctx context.Context) (*Report, error) {
	if !s.running.CompareAndSwap(false, true) {
		return nil, fmt.Errorf("%w in this process", ErrBusy)
	}
	defer s.running.Store(false)
	started := s.cfg.Now()
	st, err := s.claim(ctx)
	if err != nil {
		result := "failed" // the store could not be read or written
		if errors.Is(err, ErrBusy) {
			result = "busy"
		}
		s.obs.SweepEnded(result, started, 0)
		return nil, err
	}
	report := newReport(started)
	cutoffs := s.cfg.Policy.Cutoffs(started)
	if st.Sweep != nil {
		report.Resumed = true
		cutoffs = st.Sweep.Cutoffs.Narrow(cutoffs)
		s.log.Info("retention sweep resumed", zap.String("sweep", st.Sweep.ID),
			zap.String("after", st.Sweep.After.AccountID+"-"+st.Sweep.After.Month))
	} else {
		st.Sweep = &progress{ID: strconv.FormatInt(started.UnixNano(), 36), StartedAt: started.Unix()}
		s.log.Info("retention sweep started", zap.String("sweep", st.Sweep.ID),
			zap.String("purge_deleted_after", FormatAge(s.cfg.DeletedAfter)),
			zap.String("purge_soft_deleted_after", FormatAge(s.cfg.SoftDeletedAfter)),
			zap.Bool("delete_external_media", s.cfg.DeleteExternalMedia))
	}
	st.Sweep.Cutoffs = cutoffs

	err = s.walk(ctx, st, report)
	report.Took = s.cfg.Now().Sub(started)
	if err != nil {
		s.obs.SweepEnded("failed", s.cfg.Now(), report.Took)
		s.log.Warn("retention sweep stopped; the next one resumes it", zap.String("sweep", st.Sweep.ID),
			zap.Int("purged", report.Total()), zap.Error(err))
		if !errors.Is(err, errLeaseLost) {
			// Keep the progress and let the lease go, so a restart need not wait for it.
			// The context may be what failed: the write gets its own moment.
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			st.LeaseUntil = 0
			if serr := s.saveState(wctx, st); serr != nil {
				s.log.Warn("retention: could not save the sweep's progress", zap.Error(serr))
			}
			cancel()
		}
		return report, err
	}
	st.Sweep, st.Owner, st.LeaseUntil = nil, "", 0
	st.LastFinishedAt, st.LastReport = s.cfg.Now().Unix(), report
	if err := s.saveState(ctx, st); err != nil {
		return report, err
	}
	s.obs.SweepEnded("completed", s.cfg.Now(), report.Took)
	s.log.Info("retention sweep completed", zap.Int("databases", report.Databases),
		zap.Int("purged", report.Total()), zap.Int("failed", report.Failed),
		zap.Int("media_deleted", report.MediaDeleted), zap.Int("media_kept", report.MediaKept),
		zap.Duration("took", report.Took))
	return report, nil
}

// dbPage is how many month database names are read at a time.
const dbPage = 200

// walk visits the month databases after the saved position, saving progress after every
// database that had candidates, and otherwise at least every checkpointEvery.
func (s *Sweeper) walk(ctx context.Context, st *state, report *Report) error {
	after, err := st.Sweep.After.monthDB()
	if err != nil {
		return err
	}
	for {
		dbs, err := s.store.MonthDatabases(ctx, after, dbPage)
		if err != nil {
			return err
		}
		for _, db := range dbs {
			// A backend may not notice a cancelled context by itself (the embedded store
			// does not): stop between databases and batches.
			if err := ctx.Err(); err != nil {
				return err
			}
			touched, err := s.sweepDB(ctx, db, st, report)
			if err != nil {
				return err
			}
			report.Databases++
			st.Sweep.After = refOf(db)
			save := s.renewIfDue
			if touched {
				save = s.renew
			}
			if err := save(ctx, st); err != nil {
				return err
			}
			after = db
		}
		if len(dbs) < dbPage {
			return nil
		}
	}
}

// sweepDB purges one month database's candidates, batch by batch. A candidate that cannot
// go stays behind the read position: the next sweep sees it again.
func (s *Sweeper) sweepDB(ctx context.Context, db recording.MonthDB, st *state, report *Report) (touched bool, err error) {
	q := recording.PurgeQuery{Deleted: st.Sweep.Cutoffs.Deleted, SoftDeleted: st.Sweep.Cutoffs.SoftDeleted, Limit: s.cfg.BatchSize}
	if !q.Deleted.On && !q.SoftDeleted.On {
		return false, nil
	}
	for {
		batch, err := s.store.PurgeCandidates(ctx, db, q)
		if err != nil {
			return touched, err
		}
		if len(batch) == 0 {
			return touched, nil
		}
		touched = true
		report.Candidates += len(batch)
		if s.limiter != nil {
			if err := s.limiter.WaitN(ctx, len(batch)); err != nil {
				return touched, err
			}
		}
		purged, failed, err := s.purge(ctx, db, batch, report)
		st.Sweep.Purged += purged
		st.Sweep.Failed += failed
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			return touched, err
		}
		if err := s.renewIfDue(ctx, st); err != nil {
			return touched, err
		}
		if len(batch) < q.Limit {
			return touched, nil
		}
		last := batch[len(batch)-1].Key
		q.After = &last
	}
}

// DryRun walks every month database with the policy's cutoffs as of now and calls visit for
// each candidate: the recordings a sweep would purge, and those it would keep because they
// are on legal hold (counted as Held, not Purged). It writes nothing and takes no lease.
func (s *Sweeper) DryRun(ctx context.Context, visit func(recording.MonthDB, recording.PurgeCandidate)) (*Report, error) {
	started := s.cfg.Now()
	report := newReport(started)
	cutoffs := s.cfg.Policy.Cutoffs(started)
	q := recording.PurgeQuery{Deleted: cutoffs.Deleted, SoftDeleted: cutoffs.SoftDeleted, Limit: s.cfg.BatchSize}
	var after recording.MonthDB
	for {
		dbs, err := s.store.MonthDatabases(ctx, after, dbPage)
		if err != nil {
			return report, err
		}
		for _, db := range dbs {
			report.Databases++
			page := q
			for {
				batch, err := s.store.PurgeCandidates(ctx, db, page)
				if err != nil {
					return report, err
				}
				for _, c := range batch {
					visit(db, c)
					report.Candidates++
					if _, held := recording.HoldOf(c.Doc); held {
						report.Held++
					} else {
						report.Purged[string(c.Key.Reason)]++
					}
				}
				if len(batch) < page.Limit {
					break
				}
				last := batch[len(batch)-1].Key
				page.After = &last
			}
			after = db
		}
		if len(dbs) < dbPage {
			report.Took = s.cfg.Now().Sub(started)
			return report, nil
		}
	}
}

// Run sweeps every Interval (counted from the end of the last sweep, as the state document
// says, so restarts do not shift the schedule) until ctx ends. A sweep left half done runs
// at once.
func (s *Sweeper) Run(ctx context.Context) {
	s.log.Info("retention sweeper running", zap.Duration("interval", s.cfg.Interval),
		zap.String("purge_deleted_after", FormatAge(s.cfg.DeletedAfter)),
		zap.String("purge_soft_deleted_after", FormatAge(s.cfg.SoftDeletedAfter)),
		zap.Bool("delete_external_media", s.cfg.DeleteExternalMedia),
		zap.Int("batch_size", s.cfg.BatchSize), zap.Float64("rate", s.cfg.Rate))
	for {
		wait, err := s.untilDue(ctx)
		if err != nil {
			s.log.Warn("retention: cannot read the sweeper's state; trying again later", zap.Error(err))
			wait = min(s.cfg.Interval, time.Minute)
		}
		if !sleep(ctx, wait) {
			return
		}
		if _, err := s.Sweep(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			if !errors.Is(err, ErrBusy) {
				s.log.Warn("retention sweep failed", zap.Error(err))
			}
			if !sleep(ctx, min(s.cfg.Interval, s.cfg.Lease)) {
				return
			}
		}
	}
}

// untilDue is how long until the next sweep is due.
func (s *Sweeper) untilDue(ctx context.Context) (time.Duration, error) {
	st, err := s.loadState(ctx)
	if err != nil {
		return 0, err
	}
	now := s.cfg.Now()
	if st.Sweep != nil {
		if st.Owner != "" && st.Owner != s.cfg.Instance && now.Unix() < st.LeaseUntil {
			return time.Unix(st.LeaseUntil, 0).Sub(now) + time.Second, nil
		}
		return 0, nil
	}
	if st.LastFinishedAt == 0 {
		return 0, nil
	}
	return max(0, time.Unix(st.LastFinishedAt, 0).Add(s.cfg.Interval).Sub(now)), nil
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

type nopObserver struct{}

func (nopObserver) Purged(recording.PurgeReason)                {}
func (nopObserver) PurgeFailed(recording.PurgeReason, string)   {}
func (nopObserver) Held(recording.PurgeReason)                  {}
func (nopObserver) MediaDeleted(string)                         {}
func (nopObserver) SweepEnded(string, time.Time, time.Duration) {}
