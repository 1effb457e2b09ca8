package events

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Tail reads the log as it grows, in every instance (the watcher writes it in one), and serves
// it to subscribers: the most recent events from memory, older ones from the log itself, so a
// subscriber costs the same memory however far behind it is.
type Tail struct {
	store Store
	db    string
	poll  time.Duration
	log   *zap.Logger

	keep int // events kept in memory (recentSize)
	idle int // reads that found nothing (Run's goroutine only)

	mu      sync.Mutex
	started bool
	first   int64         // the first log document read: where subscribers from before the start begin
	next    int64         // the next log document to read
	recent  []Event       // the newest events, in log order, at most recentSize
	changed chan struct{} // closed (and replaced) when events arrive

	closing   chan struct{} // closed by Close or when Run returns: subscribers end
	closeOnce sync.Once
	ready     chan struct{} // closed once the tail knows where the log ends
}

// recentSize bounds the events kept in memory for subscribers that keep up.
const recentSize = 4096

// readAhead is how many log documents one read asks for.
const readAhead = 32

// NewTail returns a tail of the log in db, read every poll.
func NewTail(store Store, db string, poll time.Duration, log *zap.Logger) *Tail {
	return &Tail{store: store, db: db, poll: poll, log: log, keep: recentSize,
		changed: make(chan struct{}), closing: make(chan struct{}), ready: make(chan struct{})}
}

// Run reads the log until ctx ends, from its end when Run starts.
func (t *Tail) Run(ctx context.Context) {
	defer t.Close()
	tick := time.NewTicker(t.poll)
	defer tick.Stop()
	failing := false
	for {
		err := t.readNew(ctx)
		if err != nil && ctx.Err() == nil && !failing {
			t.log.Warn("events: reading the log failed; the stream waits", zap.Error(err))
		}
		failing = err != nil
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// start finds the log's end (the lease remembers it roughly; reading ahead by id finds it).
func (t *Tail) start(ctx context.Context) error {
	var hint int64
	if doc, err := t.store.SystemDoc(ctx, t.db, leaseID); err == nil {
		var l lease
		if doc.DecodeInto(&l) == nil {
			hint = l.LogSeq
		}
	}
	last, err := lastBatch(ctx, t.store, t.db, hint)
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.next, t.first, t.started = last+1, last+1, true
	close(t.changed) // subscribers that came before the start take their position now
	t.changed = make(chan struct{})
	t.mu.Unlock()
	close(t.ready)
	return nil
}

// Ready is closed once the tail knows where the log ends: a subscriber from the present
// counts from there.
func (t *Tail) Ready() <-chan struct{} { return t.ready }

// readNew reads the log documents written since the last read.
func (t *Tail) readNew(ctx context.Context) error {
	t.mu.Lock()
	started := t.started
	t.mu.Unlock()
	if !started {
		if err := t.start(ctx); err != nil {
			return err
		}
	}
	for {
		t.mu.Lock()
		next := t.next
		t.mu.Unlock()
		batches, err := readBatches(ctx, t.store, t.db, next, readAhead)
		if len(batches) > 0 {
			var events []Event
			for _, b := range batches {
				events = append(events, b.events()...)
			}
			t.mu.Lock()
			t.next = next + int64(len(batches))
			t.recent = append(t.recent, events...)
			if over := len(t.recent) - t.keep; over > 0 {
				t.recent = append(t.recent[:0:0], t.recent[over:]...)
			}
			close(t.changed)
			t.changed = make(chan struct{})
			t.mu.Unlock()
		}
		if err == nil && len(batches) == 0 {
			err = t.skipPruned(ctx, next)
		}
		if err != nil || len(batches) < readAhead {
			return err
		}
	}
}

// skipPruned moves a tail that fell behind the retention (it could not read for a day) to the
// oldest log document kept; it looks now and then, not on every idle read.
func (t *Tail) skipPruned(ctx context.Context, next int64) error {
	t.idle++
	if t.idle%20 != 0 {
		return nil
	}
	first, err := firstBatch(ctx, t.store, t.db)
	if err != nil || first <= next {
		return err
	}
	t.log.Warn("events: the log was pruned past the stream's position; going on from the oldest kept",
		zap.Int64("position", next), zap.Int64("oldest", first))
	t.mu.Lock()
	t.next = first
	t.mu.Unlock()
	return nil
}

// Close ends every subscription now (a shutdown), before Run has returned.
func (t *Tail) Close() {
	t.closeOnce.Do(func() { close(t.closing) })
}

// ErrClosed means the tail stopped (the service is shutting down).
var ErrClosed = errors.New("events: the stream is closing")

// Subscription is one reader of the tail, with its own position.
type Subscription struct {
	tail *Tail
	// after is the position of the last event given out; {seq, -1} is before batch seq.
	after position
	// resume names the event to resume after, in batch after.seq: the events of that batch
	// up to it are skipped (all of them are given when it is not there).
	resume    string
	resumeSeq int64
	fresh     bool    // from the present: the position is taken once the tail knows the log's end
	early     bool    // subscribed before the tail knew it
	history   []Event // read from the log for a subscriber behind the recent events
}

// Subscribe starts a reader after the event with id after (ValidEventID), or at the present
// when after is "".
func (t *Tail) Subscribe(after string) *Subscription {
	s := &Subscription{tail: t}
	if after == "" {
		s.fresh = true
		s.takePresent()
		return s
	}
	p, _ := positionOf(after)
	s.after, s.resume, s.resumeSeq = position{seq: p.seq, index: -1}, after, p.seq
	return s
}

// SubscribeFrom starts a reader at the log document numbered seq (a position End gave):
// every event of that document and after it.
func (t *Tail) SubscribeFrom(seq int64) *Subscription {
	return &Subscription{tail: t, after: position{seq: max(seq, 1), index: -1}}
}

// End is the number of the next log document this tail will read: a subscriber from it
// (SubscribeFrom) gets everything logged after the tail's last read. ok is false until the
// tail knows where the log ends (Ready).
func (t *Tail) End() (seq int64, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.next, t.started
}

// takePresent puts a fresh subscriber after everything the tail has read, or, for one that
// came before the tail knew the log's end, at that end.
func (s *Subscription) takePresent() {
	t := s.tail
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.started {
		s.early = true
		return
	}
	s.fresh = false
	if s.early {
		s.after = position{seq: t.first, index: -1}
		return
	}
	if n := len(t.recent); n > 0 {
		s.after = t.recent[n-1].pos
		return
	}
	s.after = position{seq: t.next, index: -1}
}

// Next returns the next event, waiting for one until ctx ends (ctx's error).
func (s *Subscription) Next(ctx context.Context) (Event, error) {
	for {
		s.tail.mu.Lock()
		changed := s.tail.changed
		s.tail.mu.Unlock()
		if s.fresh {
			s.takePresent()
		}
		if !s.fresh {
			e, ok, err := s.step(ctx)
			if err != nil || ok {
				return e, err
			}
		}
		select {
		case <-ctx.Done():
			return Event{}, ctx.Err()
		case <-s.tail.closing:
			return Event{}, ErrClosed
		case <-changed:
		}
	}
}

// step gives the next event if there is one: from history, from memory, or read from the log.
func (s *Subscription) step(ctx context.Context) (Event, bool, error) {
	for {
		for len(s.history) > 0 {
			e := s.history[0]
			s.history = s.history[1:]
			if s.give(e) {
				return e, true, nil
			}
		}
		e, found, limit := s.fromRecent()
		if found {
			if s.give(e) {
				return e, true, nil
			}
			continue
		}
		if !s.after.before(position{limit.seq, limit.index - 1}) {
			return Event{}, false, nil // caught up: wait for more
		}
		// behind what memory keeps: read the log itself up to it
		reached, err := s.readHistory(ctx, limit)
		if err != nil {
			return Event{}, false, err
		}
		if len(s.history) == 0 && reached {
			s.after = position{limit.seq, limit.index - 1} // nothing between
		}
	}
}

// give moves the subscriber past e and says whether e is for it (not skipped by a resume).
func (s *Subscription) give(e Event) bool {
	if s.resume != "" && e.pos.seq == s.resumeSeq {
		s.after = e.pos
		if e.ID == s.resume {
			s.resume = ""
		}
		return false
	}
	s.resume = ""
	s.after = e.pos
	return true
}

// fromRecent finds the first event in memory after the subscriber's position. limit is where
// memory starts (the oldest event in it, or the next log document when it holds none): a
// subscriber before it reads the log.
func (s *Subscription) fromRecent() (e Event, found bool, limit position) {
	t := s.tail
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.recent) == 0 {
		return Event{}, false, position{seq: t.next, index: 0}
	}
	limit = t.recent[0].pos
	if s.after.before(position{limit.seq, limit.index - 1}) {
		return Event{}, false, limit
	}
	s.checkResume(t.recent)
	lo, hi := 0, len(t.recent)
	for lo < hi {
		mid := (lo + hi) / 2
		if !s.after.before(t.recent[mid].pos) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(t.recent) {
		return t.recent[lo], true, limit
	}
	return Event{}, false, limit
}

// checkResume forgets a resume whose event is not in its batch (all of the batch is given).
func (s *Subscription) checkResume(events []Event) {
	if s.resume == "" {
		return
	}
	inBatch := false
	for _, e := range events {
		if e.pos.seq == s.resumeSeq {
			inBatch = true
			if e.ID == s.resume {
				return
			}
		}
	}
	if inBatch {
		s.resume = "" // the batch is there without the event: all of it is given
	}
}

// readHistory reads the events between the subscriber's position and limit from the log, a
// page of documents at a time; reached says the page went up to limit (or the log's end).
// Documents the retention removed are skipped over.
func (s *Subscription) readHistory(ctx context.Context, limit position) (reached bool, err error) {
	seq := max(s.after.seq, 1)
	batches, err := readBatches(ctx, s.tail.store, s.tail.db, seq, readAhead)
	if err != nil {
		return false, err
	}
	if len(batches) == 0 {
		first, err := firstBatch(ctx, s.tail.store, s.tail.db)
		if err != nil || first <= seq {
			return err == nil, err
		}
		// pruned: the subscriber goes on from the oldest document kept
		s.after, s.resume = position{seq: first, index: -1}, ""
		seq = first
		if batches, err = readBatches(ctx, s.tail.store, s.tail.db, first, readAhead); err != nil {
			return false, err
		}
	}
	reached = len(batches) < readAhead || seq+int64(len(batches)) > limit.seq
	var events []Event
	for _, b := range batches {
		events = append(events, b.events()...)
	}
	s.checkResume(events)
	for _, e := range events {
		if s.after.before(e.pos) && e.pos.before(limit) {
			s.history = append(s.history, e)
		}
	}
	if len(s.history) == 0 && len(events) > 0 {
		if last := events[len(events)-1].pos; last.before(limit) && s.after.before(last) {
			s.after = last // the page held only what was given: read on from its end
		}
	}
	return reached, nil
}
