package events

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Config is the watcher's: where it keeps its documents, how long events are kept, and its
// lease. The configuration layer (cmd/recordingsd) owns the defaults.
type Config struct {
	// DB is the system database of the log, what is known of each recording, the change
	// feed's checkpoints and the lease.
	DB string
	// Retention is how long the log keeps an event (a stream resumes within it).
	Retention time.Duration
	// Lease is how long a watcher's claim holds without renewal; another instance takes over
	// within it when the holder dies.
	Lease time.Duration
	// Instance names this process in the lease.
	Instance string
	// Now is the clock; nil is the real one.
	Now func() time.Time

	// WhileLeading, when set, runs while this instance holds the lease, with a context that
	// ends when it loses it (webhook delivery: one deliverer per deployment).
	WhileLeading func(ctx context.Context)
	// KeepFrom, when set, is the oldest log document a reader still needs (0: none): the
	// retention spares it and what follows, for at most MaxBacklog (webhooks that fail for a
	// day or more must still find their events).
	KeepFrom   func(ctx context.Context) (int64, error)
	MaxBacklog time.Duration
}

// Validate reports settings the watcher cannot run with.
func (c Config) Validate() error {
	switch {
	case !recording.ValidSystemDB(c.DB):
		return fmt.Errorf("events database %q is not a valid database name", c.DB)
	case c.Retention <= 0:
		return fmt.Errorf("events retention must be positive, not %v", c.Retention)
	case c.Lease < time.Second:
		return fmt.Errorf("events lease must be at least 1s, not %v", c.Lease)
	case c.Instance == "":
		return fmt.Errorf("events instance name is empty")
	case c.KeepFrom != nil && c.MaxBacklog < c.Retention:
		return fmt.Errorf("events max backlog (%v) must be at least the retention (%v)", c.MaxBacklog, c.Retention)
	}
	return nil
}

// Observer is told what the watcher does (metrics); every method must be cheap.
type Observer interface {
	ChangeSeen(c recording.Change, at time.Time)
	EventLogged(t Type)
	Leading(on bool)
	FeedError()
}

type nopObserver struct{}

func (nopObserver) ChangeSeen(recording.Change, time.Time) {}
func (nopObserver) EventLogged(Type)                       {}
func (nopObserver) Leading(bool)                           {}
func (nopObserver) FeedError()                             {}

// ErrLeaseLost means another instance took the watcher over.
var ErrLeaseLost = errors.New("events: the watcher's lease was taken over")

// Watcher follows the change feed and logs events, one per deployment at a time: instances
// sharing a database take turns through a lease.
type Watcher struct {
	store   Store
	cfg     Config
	log     *zap.Logger
	obs     Observer
	journal *journal
}

// NewWatcher returns a watcher over store; obs may be nil.
func NewWatcher(store Store, cfg Config, log *zap.Logger, obs Observer) (*Watcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if obs == nil {
		obs = nopObserver{}
	}
	return &Watcher{store: store, cfg: cfg, log: log, obs: obs,
		journal: &journal{store: store, db: cfg.DB, now: cfg.Now, obs: obs}}, nil
}

// Run claims the lease and follows the feed while it holds it, until ctx ends. Failures (the
// database down, the lease lost) are logged and retried; it returns only when ctx ends.
func (w *Watcher) Run(ctx context.Context) {
	wait := w.cfg.Lease / 3
	for ctx.Err() == nil {
		lease, err := w.claim(ctx)
		switch {
		case errors.Is(err, errBusy):
			// another instance leads; try again before its lease could run out
		case err != nil && ctx.Err() == nil:
			w.log.Warn("events watcher cannot claim its lease", zap.Error(err))
		case err == nil:
			w.lead(ctx, lease)
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

// lead follows the feed while renewing the lease; it returns when either fails or ctx ends,
// and gives the lease back when ctx ended (a shutdown), so another instance need not wait.
func (w *Watcher) lead(parent context.Context, l *lease) {
	w.obs.Leading(true)
	defer w.obs.Leading(false)
	w.log.Info("events watcher leads", zap.String("instance", w.cfg.Instance))
	if err := w.journal.resume(parent, l.LogSeq, l.WatchingSince); err != nil {
		w.log.Warn("events watcher cannot find the log's end; it claims its lease again", zap.Error(err))
		return
	}
	ctx, cancel := context.WithCancelCause(parent)
	var helpers sync.WaitGroup
	helpers.Add(2)
	go func() { defer helpers.Done(); w.keepLease(ctx, l, cancel) }()
	go func() { defer helpers.Done(); w.prune(ctx) }()
	if w.cfg.WhileLeading != nil {
		helpers.Add(1)
		go func() { defer helpers.Done(); w.cfg.WhileLeading(ctx) }()
	}
	err := w.store.FollowChanges(ctx, w.cfg.DB, feedName, w.journal.handle)
	if cause := context.Cause(ctx); cause != nil && parent.Err() == nil {
		err = cause // the lease was lost
	}
	cancel(nil)
	helpers.Wait()
	if parent.Err() != nil {
		w.release(l)
		return
	}
	w.obs.FeedError()
	w.log.Warn("events watcher stopped; it claims its lease again", zap.Error(err))
}

// keepLease renews the lease every third of its time; losing it stops the leader.
func (w *Watcher) keepLease(ctx context.Context, l *lease, stop context.CancelCauseFunc) {
	t := time.NewTicker(w.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// a renewal that cannot land before the lease runs out is a lost lease: another
			// instance may take it from then on
			rctx, cancel := context.WithDeadline(ctx, time.UnixMilli(l.LeaseUntil))
			err := w.renew(rctx, l)
			cancel()
			if err != nil {
				stop(fmt.Errorf("%w: %w", ErrLeaseLost, err))
				return
			}
		}
	}
}

// pruneEvery is how often the leader drops events older than the retention.
const pruneEvery = time.Minute

// prune drops log entries older than the retention, a page at a time.
func (w *Watcher) prune(ctx context.Context) {
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	for {
		if err := w.pruneOnce(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("events: pruning the log failed", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *Watcher) pruneOnce(ctx context.Context) error {
	cutoff := w.cfg.Now().Add(-w.cfg.Retention).UnixMilli()
	var keepFrom int64 // log documents from this one on stay until the backlog limit
	if w.cfg.KeepFrom != nil {
		var err error
		if keepFrom, err = w.cfg.KeepFrom(ctx); err != nil {
			return fmt.Errorf("what the log's readers still need: %w", err)
		}
	}
	hardCutoff := w.cfg.Now().Add(-w.cfg.MaxBacklog).UnixMilli()
	for {
		docs, err := w.store.SystemDocRange(ctx, w.cfg.DB, logPrefix, logEnd, 100)
		if err != nil || len(docs) == 0 {
			return err
		}
		var gone []recording.Doc
		for _, d := range docs {
			at, ok := d.Int("logged_at")
			if !ok || at >= cutoff {
				break
			}
			if seq, _ := strconv.ParseInt(strings.TrimPrefix(d.ID(), logPrefix), 10, 64); keepFrom > 0 && seq >= keepFrom && at >= hardCutoff {
				break
			}
			gone = append(gone, recording.Doc{"_id": d.ID(), "_rev": d.Rev(), "_deleted": true})
		}
		if len(gone) == 0 {
			return nil
		}
		if _, err := w.store.SaveSystemDocs(ctx, w.cfg.DB, gone); err != nil {
			return err
		}
		if len(gone) < len(docs) {
			return nil
		}
	}
}
