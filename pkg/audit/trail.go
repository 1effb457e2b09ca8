package audit

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Observer is told what the writer does (Prometheus: metrics.Audit).
type Observer interface {
	Written(n int)             // entries stored
	Lost(reason string, n int) // entries dropped: LostBufferFull, LostWriteFailed, …
	Flushed(took time.Duration)
	Buffered(n int) // entries waiting
}

// Why entries are lost.
const (
	LostBufferFull  = "buffer_full"  // Record found the buffer full
	LostWriteFailed = "write_failed" // a batch failed every attempt
	LostShutdown    = "shutdown"     // Close's context ended before they were written
	LostInvalid     = "invalid"      // no valid account id or action, or detail not JSON
	LostClosed      = "closed"       // recorded after Close
)

type nopObserver struct{}

func (nopObserver) Written(int)           {}
func (nopObserver) Lost(string, int)      {}
func (nopObserver) Flushed(time.Duration) {}
func (nopObserver) Buffered(int)          {}

// chainsAtOnce bounds the chains one flush writes concurrently.
const chainsAtOnce = 4

// Trail records entries: Record buffers them, a flusher appends them to their chains.
type Trail struct {
	store recording.StateDocs
	cfg   Config
	log   *zap.Logger
	obs   Observer

	mu     sync.Mutex
	queue  []queued
	closed bool

	knownMu sync.Mutex
	known   map[chainKey]bool // months known to be in the catalogue

	failing    atomic.Bool  // the last write or probe failed
	bufferFull atomic.Int64 // dropped since the flusher last said so
	saidClosed atomic.Bool  // the first entry recorded after Close was logged

	wake  chan struct{}
	stop  chan struct{}
	done  chan struct{}
	ctx   context.Context // the flusher's writes; cancelled when Close gives up
	abort context.CancelFunc
	lost  atomic.Int64 // during Close
}

type queued struct {
	key chainKey
	doc recording.Doc
}

// New starts a trail writing to store; Close stops it. A nil obs observes nothing; cfg's
// zero values take the defaults.
func New(store recording.StateDocs, cfg Config, log *zap.Logger, obs Observer) *Trail {
	if obs == nil {
		obs = nopObserver{}
	}
	ctx, abort := context.WithCancel(context.Background())
	t := &Trail{store: store, cfg: cfg.withDefaults(), log: log, obs: obs, known: map[chainKey]bool{},
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}), ctx: ctx, abort: abort}
	go t.run()
	return t
}

// Record queues an entry and returns at once: it never waits for the store. An entry
// without a time is stamped now. When the buffer is full the entry is lost (counted, and
// logged by the flusher).
func (t *Trail) Record(e Entry) {
	if e.At.IsZero() {
		e.At = t.cfg.Now()
	}
	e.At = e.At.UTC().Truncate(time.Millisecond)
	doc, err := unchainedDoc(e)
	if err == nil && (!recording.ValidAccountID(e.AccountID) || e.Action == "") {
		err = fmt.Errorf("audit: entry needs an account id and an action, got %q, %q", e.AccountID, e.Action)
	}
	if err != nil {
		t.obs.Lost(LostInvalid, 1)
		t.log.Error("audit entry lost: invalid", zap.Error(err), zap.String("action", e.Action), zap.String("request_id", e.RequestID))
		return
	}
	t.mu.Lock()
	switch {
	case t.closed:
		t.mu.Unlock()
		t.obs.Lost(LostClosed, 1)
		if !t.saidClosed.Swap(true) {
			t.log.Error("audit entries recorded after the trail closed are lost (counted, not logged each)",
				zap.String("action", e.Action), zap.String("request_id", e.RequestID))
		}
		return
	case len(t.queue) >= t.cfg.Buffer:
		t.mu.Unlock()
		t.obs.Lost(LostBufferFull, 1)
		t.bufferFull.Add(1)
		return
	}
	t.queue = append(t.queue, queued{key: chainKey{e.AccountID, recording.MonthOf(e.At)}, doc: doc})
	n := len(t.queue)
	t.mu.Unlock()
	t.obs.Buffered(n)
	if n >= t.cfg.BatchSize {
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
}

// Healthy reports whether entries are being written: false from a failed write (or a
// failed probe of the store while nothing waits) until one succeeds again. With
// audit.on_failure: refuse the API refuses what it cannot record while it is false.
func (t *Trail) Healthy() bool { return !t.failing.Load() }

// Close writes every entry still buffered, then stops the flusher. When ctx ends first,
// what is not written yet is lost (counted) and ctx's error returned. Entries recorded after
// Close are lost.
func (t *Trail) Close(ctx context.Context) error {
	t.mu.Lock()
	already := t.closed
	t.closed = true
	t.mu.Unlock()
	if !already {
		close(t.stop)
	}
	select {
	case <-t.done:
	case <-ctx.Done():
		t.abort()
		<-t.done
		return fmt.Errorf("audit: %d entries not written before shutdown: %w", t.lost.Load(), ctx.Err())
	}
	t.abort()
	if n := t.lost.Load(); n > 0 {
		return fmt.Errorf("audit: %d entries could not be written before shutdown", n)
	}
	return nil
}

// run flushes every FlushInterval, when BatchSize entries wait, and, after Close, until
// nothing is left.
func (t *Trail) run() {
	defer close(t.done)
	tick := time.NewTicker(t.cfg.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			t.flush(true)
			return
		case <-tick.C:
		case <-t.wake:
		}
		t.flush(false)
	}
}

// flush writes what waits, batch after batch, until the queue is empty. With nothing to
// write while failing, it probes the store so Healthy recovers without traffic.
func (t *Trail) flush(final bool) {
	if n := t.bufferFull.Swap(0); n > 0 {
		t.log.Error("audit entries lost: buffer full", zap.Int64("entries", n), zap.Int("buffer", t.cfg.Buffer))
	}
	wrote := false
	for {
		batch := t.take()
		if len(batch) == 0 {
			break
		}
		wrote = true
		t.writeBatch(batch)
	}
	if !wrote && !final && t.failing.Load() {
		t.probe()
	}
}

// take removes up to BatchSize entries from the queue.
func (t *Trail) take() []queued {
	t.mu.Lock()
	n := min(len(t.queue), t.cfg.BatchSize)
	batch := t.queue[:n:n]
	t.queue = t.queue[n:]
	if len(t.queue) == 0 {
		t.queue = nil // let the backing array go
	}
	left := len(t.queue)
	t.mu.Unlock()
	t.obs.Buffered(left)
	return batch
}

// writeBatch appends a batch to its chains, trying each chain's part up to Attempts times;
// what is still unwritten then is lost.
func (t *Trail) writeBatch(batch []queued) {
	pending := groupByChain(batch)
	wait := t.cfg.RetryWait
	for attempt := 1; ; attempt++ {
		started := time.Now()
		failed, err := t.writeChains(pending)
		t.obs.Flushed(time.Since(started))
		if len(failed) == 0 {
			t.failing.Store(false)
			return
		}
		t.failing.Store(true)
		if attempt >= t.cfg.Attempts || t.ctx.Err() != nil {
			reason := LostWriteFailed
			if t.ctx.Err() != nil {
				reason = LostShutdown
			}
			t.abandon(failed, reason, err)
			return
		}
		t.log.Warn("audit flush failed; retrying", zap.Error(err), zap.Int("attempt", attempt), zap.Duration("wait", wait))
		select {
		case <-time.After(wait):
		case <-t.ctx.Done():
		}
		wait *= 2
		pending = failed
	}
}

// writeChains writes each chain's part, a few chains at a time, and returns the parts that
// failed (with one of their errors).
func (t *Trail) writeChains(batches []*chainBatch) ([]*chainBatch, error) {
	var mu sync.Mutex
	var failed []*chainBatch
	var firstErr error
	var wg sync.WaitGroup
	slots := make(chan struct{}, chainsAtOnce)
	for _, b := range batches {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			err := t.appendChain(t.ctx, b)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed = append(failed, b)
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			t.obs.Written(len(b.items))
		}()
	}
	wg.Wait()
	return failed, firstErr
}

// abandon counts and logs the entries of failed batches as lost. Entries whose seqs were
// claimed leave a gap that Verify reports as missing entries.
func (t *Trail) abandon(failed []*chainBatch, reason string, err error) {
	for _, b := range failed {
		n := unwritten([]*chainBatch{b})
		written := len(b.items) - n
		if written > 0 {
			t.obs.Written(written)
		}
		t.obs.Lost(reason, n)
		if t.closing() {
			t.lost.Add(int64(n))
		}
		t.log.Error("audit entries lost", zap.String("reason", reason), zap.Int("entries", n),
			zap.String("account_id", b.key.accountID), zap.String("month", b.key.month.String()), zap.Error(err))
	}
}

func unwritten(batches []*chainBatch) int {
	n := 0
	for _, b := range batches {
		for _, it := range b.items {
			if !it.entryDone {
				n++
			}
		}
	}
	return n
}

// probe reads the catalogue database to learn whether the store answers again.
func (t *Trail) probe() {
	ctx, cancel := context.WithTimeout(t.ctx, 5*time.Second)
	defer cancel()
	if _, err := t.store.GetSystemDocs(ctx, CatalogueDB, []string{"probe"}); err == nil {
		t.failing.Store(false)
		t.log.Info("audit store answers again")
	}
}

// groupByChain splits a batch by chain, keeping the order of entries within each.
func groupByChain(batch []queued) []*chainBatch {
	var out []*chainBatch
	byKey := map[chainKey]*chainBatch{}
	for _, q := range batch {
		b := byKey[q.key]
		if b == nil {
			b = &chainBatch{key: q.key}
			byKey[q.key] = b
			out = append(out, b)
		}
		b.items = append(b.items, &chainItem{doc: q.doc})
	}
	return out
}

func (t *Trail) closing() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

func (t *Trail) isCatalogued(k chainKey) bool {
	t.knownMu.Lock()
	defer t.knownMu.Unlock()
	return t.known[k]
}

func (t *Trail) markCatalogued(k chainKey) {
	t.knownMu.Lock()
	defer t.knownMu.Unlock()
	t.known[k] = true
}
