package webhooks

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/authz"
	"github.com/recordingsd/recordingsd/pkg/events"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Config is the deliverer's; the configuration layer (cmd/recordingsd) owns the defaults.
type Config struct {
	DB string // the events database: the log and the webhooks' state
	// Scan is how often the list of webhooks is read again (a webhook created on another
	// instance starts within it; its events wait in the log meanwhile).
	Scan time.Duration
	// RetryBase is the first wait after a failed delivery; each failure doubles it, up to
	// RetryMax, with ±25% jitter.
	RetryBase, RetryMax time.Duration
	// DisableAfterFailures consecutive failures over at least DisableAfter turn a webhook off.
	DisableAfterFailures int
	DisableAfter         time.Duration
	// AccountCacheTTL is how long an account's place in the tree is trusted (subaccounts).
	AccountCacheTTL time.Duration
	Now             func() time.Time
}

// Validate reports settings the deliverer cannot run with.
func (c Config) Validate() error {
	switch {
	case !recording.ValidSystemDB(c.DB):
		return fmt.Errorf("webhooks: events database %q is not a valid database name", c.DB)
	case c.Scan <= 0:
		return fmt.Errorf("webhooks: scan interval must be positive, not %v", c.Scan)
	case c.RetryBase <= 0 || c.RetryMax < c.RetryBase:
		return fmt.Errorf("webhooks: need 0 < retry base (%v) <= retry max (%v)", c.RetryBase, c.RetryMax)
	case c.DisableAfterFailures < 1:
		return fmt.Errorf("webhooks: disable after failures must be at least 1, not %d", c.DisableAfterFailures)
	case c.DisableAfter < 0:
		return fmt.Errorf("webhooks: disable after must not be negative, not %v", c.DisableAfter)
	}
	return nil
}

// Poster sends one delivery (Sender).
type Poster interface {
	Post(ctx context.Context, d Delivery) Result
}

// Observer is told what the deliverer does (metrics); every method must be cheap.
type Observer interface {
	Attempted(r Result)
	// Backlog: log documents not yet handled, summed over webhooks, and the age of the
	// oldest event still being retried (zero when none is).
	Backlog(batches int64, oldest time.Duration)
}

type nopObserver struct{}

func (nopObserver) Attempted(Result)             {}
func (nopObserver) Backlog(int64, time.Duration) {}

// Dispatcher runs one worker per webhook while its instance leads (events.Config.WhileLeading).
type Dispatcher struct {
	store  Store
	tail   *events.Tail
	poster Poster
	cfg    Config
	log    *zap.Logger
	obs    Observer
	trees  *accountTrees
	nudge  chan struct{}

	mu      sync.Mutex
	workers map[string]*worker // by state id
}

// NewDispatcher returns a deliverer reading the log through tail; obs may be nil.
func NewDispatcher(store Store, tail *events.Tail, poster Poster, cfg Config, log *zap.Logger, obs Observer) (*Dispatcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if obs == nil {
		obs = nopObserver{}
	}
	return &Dispatcher{store: store, tail: tail, poster: poster, cfg: cfg, log: log, obs: obs,
		trees: newAccountTrees(store, cfg.AccountCacheTTL, cfg.Now), nudge: make(chan struct{}, 1),
		workers: map[string]*worker{}}, nil
}

// Nudge makes a leading dispatcher read the list of webhooks now (one was created or
// changed on this instance).
func (d *Dispatcher) Nudge() {
	select {
	case d.nudge <- struct{}{}:
	default:
	}
}

// Run keeps a worker for every registered webhook until ctx ends, then waits for them.
func (d *Dispatcher) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer func() {
		d.mu.Lock()
		for _, w := range d.workers {
			w.stop()
		}
		d.workers = map[string]*worker{}
		d.mu.Unlock()
		wg.Wait()
	}()
	t := time.NewTicker(d.cfg.Scan)
	defer t.Stop()
	failing := false
	for {
		err := d.scan(ctx, &wg)
		if err != nil && ctx.Err() == nil && !failing {
			d.log.Warn("webhooks: cannot read the list of webhooks; deliveries go on for those known", zap.Error(err))
		}
		failing = err != nil
		d.report()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.nudge:
		}
	}
}

// scan starts workers for new state documents and stops those whose document is gone.
func (d *Dispatcher) scan(ctx context.Context, wg *sync.WaitGroup) error {
	seen := map[string]bool{}
	err := d.eachState(ctx, func(s *state) {
		seen[s.ID] = true
		d.mu.Lock()
		defer d.mu.Unlock()
		if _, running := d.workers[s.ID]; running {
			return
		}
		wctx, cancel := context.WithCancel(ctx)
		w := newWorker(d, s.AccountID, s.WebhookID, cancel)
		d.workers[s.ID] = w
		wg.Add(1)
		go func() { defer wg.Done(); w.run(wctx) }()
	})
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, w := range d.workers {
		if !seen[id] || w.finished() {
			w.stop()
			delete(d.workers, id)
		}
	}
	return nil
}

// statePage is how many state documents one read lists.
const statePage = 500

// eachState calls f with every webhook's state document, in id order.
func (d *Dispatcher) eachState(ctx context.Context, f func(*state)) error {
	after := statePrefix
	for {
		docs, err := d.store.SystemDocRange(ctx, d.cfg.DB, after, stateEnd, statePage)
		if err != nil {
			return err
		}
		for _, doc := range docs {
			if _, _, ok := splitStateID(doc.ID()); !ok {
				continue
			}
			s, err := stateOf(doc)
			if err != nil {
				d.log.Warn("webhooks: unreadable state document", zap.String("id", doc.ID()), zap.Error(err))
				continue
			}
			f(s)
		}
		if len(docs) < statePage {
			return nil
		}
		after = docs[len(docs)-1].ID()
	}
}

// KeepFrom is the oldest log document a webhook still needs, as their saved states say (0:
// none), for the log's retention (events.Config.KeepFrom).
func (d *Dispatcher) KeepFrom(ctx context.Context) (int64, error) {
	var oldest int64
	err := d.eachState(ctx, func(s *state) {
		if seq := s.seq(); seq > 0 && (oldest == 0 || seq < oldest) {
			oldest = seq
		}
	})
	return oldest, err
}

// report sums the workers' backlogs for the metrics.
func (d *Dispatcher) report() {
	end, ok := d.tail.End()
	if !ok {
		return
	}
	now := d.cfg.Now()
	var batches int64
	var oldest time.Duration
	d.mu.Lock()
	for _, w := range d.workers {
		next, since := w.progress()
		if next > 0 && next < end {
			batches += end - next
		}
		if !since.IsZero() && now.Sub(since) > oldest {
			oldest = now.Sub(since)
		}
	}
	d.mu.Unlock()
	d.obs.Backlog(batches, oldest)
}

// accountTrees caches where accounts sit in the tree, for include_subaccounts.
type accountTrees struct {
	store Store
	ttl   time.Duration
	now   func() time.Time

	mu sync.Mutex
	m  map[string]treeEntry
}

type treeEntry struct {
	account authz.Account
	at      time.Time
}

func newAccountTrees(store Store, ttl time.Duration, now func() time.Time) *accountTrees {
	return &accountTrees{store: store, ttl: ttl, now: now, m: map[string]treeEntry{}}
}

// below reports whether account sits below ancestor. An account that no longer exists is
// below nothing; a datastore failure is an error (the event waits, it is not skipped).
func (a *accountTrees) below(ctx context.Context, account, ancestor string) (bool, error) {
	a.mu.Lock()
	e, ok := a.m[account]
	a.mu.Unlock()
	if !ok || a.now().Sub(e.at) > a.ttl {
		doc, err := a.store.AccountDoc(ctx, account, account)
		if recording.IsNotFound(err) {
			doc, err = nil, nil
		}
		if err != nil {
			return false, err
		}
		e = treeEntry{account: authz.AccountOf(account, doc), at: a.now()}
		a.mu.Lock()
		if len(a.m) > 10000 { // bounded: a deployment's active accounts, not every one ever
			a.m = map[string]treeEntry{}
		}
		a.m[account] = e
		a.mu.Unlock()
	}
	return e.account.Below(ancestor), nil
}
