package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/events"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Timings of a worker.
const (
	reloadEvery  = 2 * time.Second        // the webhook is read again this often (edits, disabling)
	idleFlush    = 50 * time.Millisecond  // the state is saved once no event came for this long…
	busyFlush    = 250 * time.Millisecond // …or this long after the last save while busy
	orphanGrace  = time.Minute            // a state without its webhook is dropped after this
	failureSleep = time.Second            // after a datastore failure
)

// errRestart: the state changed under the worker (another deliverer wrote it during a
// handover); it reads it again and goes on from there.
var errRestart = errors.New("webhooks: the delivery state changed elsewhere")

// worker delivers one webhook's events, one at a time, in log order.
type worker struct {
	d                 *Dispatcher
	accountID, id     string
	cancel            context.CancelFunc
	done              chan struct{}
	st                *state
	hook              Webhook
	loadedAt, savedAt time.Time
	dirty             bool
	sub               *events.Subscription
	mu                sync.Mutex
	unhandled         int64     // the first log document not yet handled, for the metrics
	pendingSince      time.Time // when the event being retried was first tried
	hookGone          bool
}

func newWorker(d *Dispatcher, accountID, id string, cancel context.CancelFunc) *worker {
	return &worker{d: d, accountID: accountID, id: id, cancel: cancel, done: make(chan struct{})}
}

func (w *worker) stop() { w.cancel() }

// finished reports whether run returned (the webhook was removed).
func (w *worker) finished() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

// progress is the first log document the worker has not handled and, while it retries an
// event, since when.
func (w *worker) progress() (int64, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.unhandled, w.pendingSince
}

// run delivers until ctx ends or the webhook is gone; datastore failures are waited out.
func (w *worker) run(ctx context.Context) {
	defer close(w.done)
	defer w.cancel()
	for ctx.Err() == nil {
		err := w.session(ctx)
		if err == nil || ctx.Err() != nil {
			w.flush(context.WithoutCancel(ctx))
			return
		}
		if !errors.Is(err, errRestart) {
			w.d.log.Warn("webhooks: delivery paused", zap.String("account_id", w.accountID),
				zap.String("webhook_id", w.id), zap.Error(err))
			sleep(ctx, failureSleep)
		}
		w.sub, w.st = nil, nil
	}
}

// session loads the state and delivers from it; nil means the webhook is gone.
func (w *worker) session(ctx context.Context) error {
	if w.st == nil {
		st, err := loadState(ctx, w.d.store, w.d.cfg.DB, w.accountID, w.id)
		if recording.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		w.st, w.dirty = st, false
		w.mu.Lock()
		w.unhandled = st.seq()
		if st.After != "" {
			w.unhandled++ // what After's document may hold past it is not counted: the gauge may read one low
		}
		w.mu.Unlock()
	}
	for {
		if err := w.refresh(ctx, false); err != nil {
			return err
		}
		if w.hookGone {
			if w.d.cfg.Now().Sub(time.UnixMilli(w.st.Registered)) < orphanGrace {
				sleep(ctx, reloadEvery) // the API writes the state first: its webhook may come
				continue
			}
			w.d.log.Info("webhooks: dropping the delivery state of a removed webhook",
				zap.String("account_id", w.accountID), zap.String("webhook_id", w.id))
			return removeState(ctx, w.d.store, w.d.cfg.DB, w.accountID, w.id)
		}
		if !w.hook.Enabled {
			w.sub = nil // a disabled webhook reads nothing; its place in the log stays
			if err := w.flush(ctx); err != nil {
				return err
			}
			sleep(ctx, reloadEvery)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue
		}
		if err := w.next(ctx); err != nil {
			return err
		}
	}
}

// refresh reads the webhook again when it is stale (or when forced).
func (w *worker) refresh(ctx context.Context, force bool) error {
	if !force && !w.loadedAt.IsZero() && w.d.cfg.Now().Sub(w.loadedAt) < reloadEvery {
		return nil
	}
	d, err := w.d.store.AccountDoc(ctx, w.accountID, docID(w.id))
	w.hookGone = recording.IsNotFound(err)
	if err != nil && !w.hookGone {
		return err
	}
	if !w.hookGone {
		hook, err := webhookOf(d)
		if err != nil {
			return fmt.Errorf("webhook %s: %w", w.id, err)
		}
		if hook.EnabledAt > w.st.FailingSince && w.st.FailingSince > 0 {
			w.st.Failures, w.st.FailingSince, w.dirty = 0, 0, true // enabled again since: counted anew
		}
		w.hook = hook
	}
	w.loadedAt = w.d.cfg.Now()
	return nil
}

// next waits for the next event (saving the state when idle) and handles it.
func (w *worker) next(ctx context.Context) error {
	if w.sub == nil {
		if w.st.After != "" {
			w.sub = w.d.tail.Subscribe(w.st.After)
		} else {
			w.sub = w.d.tail.SubscribeFrom(w.st.StartSeq)
		}
	}
	wait := reloadEvery
	if w.dirty {
		wait = idleFlush
	}
	nctx, cancel := context.WithTimeout(ctx, wait)
	e, err := w.sub.Next(nctx)
	cancel()
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, events.ErrClosed):
		sleep(ctx, reloadEvery) // the service is stopping: ctx ends soon
		return nil
	case errors.Is(err, context.DeadlineExceeded):
		return w.flush(ctx)
	case err != nil:
		w.sub = nil // a log read failed: start again from the state's place
		return err
	}
	if err := w.handle(ctx, e); err != nil {
		w.sub = nil
		return err
	}
	if w.dirty && w.d.cfg.Now().Sub(w.savedAt) >= busyFlush {
		return w.flush(ctx)
	}
	return nil
}

// handle delivers e if the webhook wants it, retrying until it is delivered, the webhook is
// disabled or removed, or ctx ends; then the worker moves past it.
func (w *worker) handle(ctx context.Context, e events.Event) error {
	wants, err := w.wants(ctx, e)
	if err != nil {
		return err
	}
	if wants {
		handled, err := w.deliver(ctx, e)
		if err != nil || !handled {
			w.sub = nil // read again from the state's place once the webhook is back
			return err
		}
	}
	w.st.After, w.dirty = e.ID, true
	seq, _ := events.LogSeq(e.ID)
	w.mu.Lock()
	w.unhandled, w.pendingSince = seq+1, time.Time{}
	w.mu.Unlock()
	return nil
}

// wants: the event's type is subscribed to, and it is the account's own recording or, with
// include_subaccounts, a descendant's.
func (w *worker) wants(ctx context.Context, e events.Event) (bool, error) {
	if !w.hook.wants(e.Type) {
		return false, nil
	}
	if e.AccountID == w.accountID {
		return true, nil
	}
	if !w.hook.IncludeSubaccounts || !recording.ValidAccountID(e.AccountID) {
		return false, nil
	}
	return w.d.trees.below(ctx, e.AccountID, w.accountID)
}

// payload is what a webhook receives: the event and the webhook's custom_data.
type payload struct {
	events.Event
	CustomData map[string]any `json:"custom_data,omitempty"`
}

// deliver posts e until a 2xx. handled is false when the webhook was disabled or removed
// meanwhile: the event stays where it is in the log, for when it is enabled again.
func (w *worker) deliver(ctx context.Context, e events.Event) (handled bool, err error) {
	w.mu.Lock()
	w.pendingSince = w.d.cfg.Now()
	w.mu.Unlock()
	for {
		body, err := json.Marshal(payload{Event: e, CustomData: w.hook.CustomData})
		if err != nil {
			return false, err
		}
		res := w.d.poster.Post(ctx, Delivery{URI: w.hook.URI, Secret: w.hook.Secret, Event: string(e.Type), EventID: e.ID, Body: body})
		if res.Err == causeCanceled {
			return false, context.Cause(ctx) // cut short by a shutdown: not an attempt
		}
		// An answer that came is one, even if a shutdown begins as it does: a 2xx counts as
		// delivered, or the next leader would send it again.
		w.d.obs.Attempted(res)
		now := w.d.cfg.Now()
		w.st.record(Attempt{At: recording.ToGregorian(now), EventID: e.ID, Event: string(e.Type), Status: res.Status,
			LatencyMS: res.Latency.Milliseconds(), Error: res.Err, Detail: res.Detail})
		w.dirty = true
		if res.OK() {
			w.st.Failures, w.st.FailingSince = 0, 0
			w.st.Delivered++
			w.st.LastSuccess = recording.ToGregorian(now)
			return true, nil
		}
		w.st.Failures++
		if w.st.FailingSince == 0 {
			w.st.FailingSince = now.UnixMilli()
		}
		if err := w.flush(ctx); err != nil {
			return false, err
		}
		if w.shouldDisable(now) {
			reason := fmt.Sprintf("disabled after %d consecutive failed deliveries since %s; last: %s",
				w.st.Failures, time.UnixMilli(w.st.FailingSince).UTC().Format(time.RFC3339), describe(res))
			w.d.log.Warn("webhooks: disabling a failing webhook", zap.String("account_id", w.accountID),
				zap.String("webhook_id", w.id), zap.String("reason", reason))
			if err := disable(ctx, w.d.store, w.hook, reason, now); err != nil {
				return false, err
			}
			return false, w.refresh(ctx, true)
		}
		if err := w.backoff(ctx); err != nil {
			return false, err
		}
		if w.hookGone || !w.hook.Enabled {
			return false, nil
		}
		if ok, err := w.wants(ctx, e); err != nil || !ok {
			return err == nil, err // the webhook no longer wants it: move on without delivering
		}
	}
}

func (w *worker) shouldDisable(now time.Time) bool {
	return w.st.Failures >= w.d.cfg.DisableAfterFailures &&
		now.Sub(time.UnixMilli(w.st.FailingSince)) >= w.d.cfg.DisableAfter
}

// backoff waits before the next try, reading the webhook again meanwhile: an edit (a new URI,
// disabling) takes effect at once.
func (w *worker) backoff(ctx context.Context) error {
	d := w.d.cfg.RetryBase << min(w.st.Failures-1, 30)
	if d <= 0 || d > w.d.cfg.RetryMax {
		d = w.d.cfg.RetryMax
	}
	d = time.Duration(float64(d) * (0.75 + rand.Float64()/2))
	until := w.d.cfg.Now().Add(d)
	seen := w.hook.Modified
	for {
		left := until.Sub(w.d.cfg.Now())
		if left <= 0 {
			return nil
		}
		sleep(ctx, min(left, reloadEvery))
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := w.refresh(ctx, false); err != nil {
			return err
		}
		if w.hookGone || !w.hook.Enabled || w.hook.Modified != seen {
			return nil
		}
	}
}

// flush saves the state if it changed.
func (w *worker) flush(ctx context.Context) error {
	if !w.dirty || w.st == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := saveState(ctx, w.d.store, w.d.cfg.DB, w.st)
	switch {
	case recording.ErrorCode(err) == recording.EConflict:
		return errRestart
	case recording.IsNotFound(err):
		return nil
	case err != nil:
		return err
	}
	w.dirty, w.savedAt = false, w.d.cfg.Now()
	return nil
}

// describe is a failed result in a few words.
func describe(r Result) string {
	if r.Detail != "" {
		return r.Err + " (" + r.Detail + ")"
	}
	return r.Err
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
