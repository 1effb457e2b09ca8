package events

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Tail reads the log as it grows, in every instance (the watcher writes it in one), and serves
// it to subscribers: the most recent events from memory, older ones from the log itself, so a
// subscriber costs the same memory however far behind it is.
type Tail struct {
	store Store
	db    string
	poll  time.Duration
	now   func() time.Time
	log   *zap.Logger

	mu        sync.Mutex
	recent    []Event       // the newest events, in log order, at most recentSize
	cursor    string        // the last log id read
	changed   chan struct{} // closed (and replaced) when events arrive
	closing   chan struct{} // closed by Close or when Run returns: subscribers end
	closeOnce sync.Once
}

// recentSize bounds the events kept in memory for subscribers that keep up.
const recentSize = 4096

// NewTail returns a tail of the log in db, read every poll.
func NewTail(store Store, db string, poll time.Duration, log *zap.Logger) *Tail {
	// It starts a few seconds back, so that events logged while the service started are not
	// missed by subscribers that connect at once.
	start := logPrefix + fmt.Sprintf("%013d", time.Now().Add(-5*time.Second).UnixMilli())
	return &Tail{store: store, db: db, poll: poll, now: time.Now, log: log, cursor: start,
		changed: make(chan struct{}), closing: make(chan struct{})}
}

// Run reads the log until ctx ends.
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

// readNew reads what the log gained since the cursor.
func (t *Tail) readNew(ctx context.Context) error {
	for {
		t.mu.Lock()
		cursor := t.cursor
		t.mu.Unlock()
		docs, err := t.store.SystemDocRange(ctx, t.db, cursor, logEnd, 500)
		if err != nil || len(docs) == 0 {
			return err
		}
		events := make([]Event, 0, len(docs))
		for _, d := range docs {
			e, err := entryEvent(d)
			if err != nil {
				t.log.Warn("events: a log entry is unreadable; skipped", zap.String("id", d.ID()), zap.Error(err))
				continue
			}
			events = append(events, e)
		}
		t.mu.Lock()
		t.cursor = docs[len(docs)-1].ID()
		t.recent = append(t.recent, events...)
		if over := len(t.recent) - recentSize; over > 0 {
			t.recent = append(t.recent[:0:0], t.recent[over:]...)
		}
		close(t.changed)
		t.changed = make(chan struct{})
		t.mu.Unlock()
		if len(docs) < 500 {
			return nil
		}
	}
}

// entryEvent reads a log entry.
func entryEvent(d recording.Doc) (Event, error) {
	var entry logEntry
	if err := decode(d, &entry); err != nil {
		return Event{}, err
	}
	entry.Event.Owner = entry.Owner
	if entry.Event.ID == "" || logPrefix+entry.Event.ID != entry.ID {
		return Event{}, fmt.Errorf("entry %s holds event %q", entry.ID, entry.Event.ID)
	}
	return entry.Event, nil
}

// Subscription is one reader of the tail, with its own position.
type Subscription struct {
	tail    *Tail
	after   string  // the last event id given out
	history []Event // read from the log for a subscriber behind the recent events
}

// Subscribe starts a reader after event id after, or at the present when after is "".
func (t *Tail) Subscribe(after string) *Subscription {
	s := &Subscription{tail: t, after: after}
	if after == "" {
		t.mu.Lock()
		if len(t.recent) > 0 {
			s.after = t.recent[len(t.recent)-1].ID
		} else {
			s.after = t.cursor[len(logPrefix):]
		}
		t.mu.Unlock()
	}
	return s
}

// Next returns the next event, waiting for one until ctx ends (ctx's error).
func (s *Subscription) Next(ctx context.Context) (Event, error) {
	for {
		if len(s.history) > 0 {
			e := s.history[0]
			s.history = s.history[1:]
			s.after = e.ID
			return e, nil
		}
		e, ok, oldest, changed := s.fromRecent("")
		if ok {
			s.after = e.ID
			return e, nil
		}
		if oldest != "" && s.after < oldest {
			// behind what memory keeps: read the gap from the log itself
			if err := s.readHistory(ctx, oldest); err != nil {
				return Event{}, err
			}
			if len(s.history) > 0 {
				continue
			}
			// nothing in between: the oldest event in memory is next, if it still is
			if e, ok, _, _ := s.fromRecent(oldest); ok {
				s.after = e.ID
				return e, nil
			}
			continue
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

// fromRecent finds the first recent event after the subscriber's position. With
// gapReadUpTo set, a subscriber behind the recent events gets the oldest one, provided it is
// still gapReadUpTo (the log held nothing between them).
func (s *Subscription) fromRecent(gapReadUpTo string) (e Event, ok bool, oldest string, changed <-chan struct{}) {
	t := s.tail
	t.mu.Lock()
	defer t.mu.Unlock()
	changed = t.changed
	if len(t.recent) == 0 {
		return Event{}, false, "", changed
	}
	oldest = t.recent[0].ID
	if s.after < oldest {
		if gapReadUpTo == oldest {
			return t.recent[0], true, oldest, changed
		}
		return Event{}, false, oldest, changed
	}
	// binary search: ids sort in log order
	lo, hi := 0, len(t.recent)
	for lo < hi {
		mid := (lo + hi) / 2
		if t.recent[mid].ID <= s.after {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(t.recent) {
		return t.recent[lo], true, oldest, changed
	}
	return Event{}, false, oldest, changed
}

// readHistory reads up to a page of the events between the subscriber's position and before.
func (s *Subscription) readHistory(ctx context.Context, before string) error {
	docs, err := s.tail.store.SystemDocRange(ctx, s.tail.db, logPrefix+s.after, logPrefix+before, 100)
	if err != nil {
		return err
	}
	for _, d := range docs {
		if e, err := entryEvent(d); err == nil {
			s.history = append(s.history, e)
		}
	}
	return nil
}

// Close ends every subscription now (a shutdown), before Run has returned.
func (t *Tail) Close() {
	t.closeOnce.Do(func() { close(t.closing) })
}

// ErrClosed means the tail stopped (the service is shutting down).
var ErrClosed = errors.New("events: the stream is closing")
