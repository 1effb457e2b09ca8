package events

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Store is what the events need of a backend: the change feed, and documents of their own in
// a system database.
type Store interface {
	recording.ChangeFeed
	recording.StateDocs
	SystemDoc(ctx context.Context, db, id string) (recording.Doc, error)
	SaveSystemDoc(ctx context.Context, db string, doc recording.Doc) (string, error)
}

// Document ids in the events database (the log's are in log.go).
const (
	knownPrefix = "known:" // known:<account>:<recording id>: what the journal knows of a recording
	leaseID     = "lease"  // the watcher's lease
	feedName    = "recordings"
)

// record is a known document as stored: what is known of a recording, and the events of its
// last revision, kept so that a change handled again after a crash logs the same events.
type record struct {
	ID      string  `json:"_id"`
	Rev     string  `json:"_rev,omitempty"`
	Known   known   `json:"known"`
	Pending []Event `json:"pending,omitempty"`
}

// journal turns batches of changes into logged events.
type journal struct {
	store Store
	db    string
	now   func() time.Time
	obs   Observer

	mu    sync.Mutex
	seq   int64 // the newest log document's number
	since int64 // when the watcher began (gregorian seconds), kept in the lease
}

// handle classifies a batch against what is known, saves what is known after it (with the
// events it made), then logs those events. A crash between the two saves logs the same events
// when the batch comes again; a log entry already there is kept.
func (j *journal) handle(ctx context.Context, batch []recording.Change) error {
	records, err := j.load(ctx, batch)
	if err != nil {
		return err
	}
	var logged []Event
	dirty := map[string]*record{}
	next := position{seq: j.lastSeq() + 1}
	for _, c := range batch {
		key := knownKey(c.AccountID, c.ID)
		rec := records[key]
		switch {
		case rec.Known.DocRev == c.Rev:
			logged = append(logged, rec.Pending...) // handled before: the same events again
			continue
		case olderRev(c.Rev, rec.Known.DocRev):
			continue // a revision already superseded, replayed by a cluster
		}
		var prev *known
		if rec.Known.DocRev != "" {
			prev = &rec.Known
		}
		haps, known := classify(prev, c, j.since)
		rec.Pending = j.events(c, haps, prev, known, &next)
		rec.Known = known
		dirty[key] = rec
		logged = append(logged, rec.Pending...)
		j.obs.ChangeSeen(c, j.now())
	}
	if err := j.saveRecords(ctx, dirty); err != nil {
		return err
	}
	if err := j.appendLog(ctx, logged); err != nil {
		return err
	}
	for _, e := range logged {
		j.obs.EventLogged(e.Type)
	}
	return nil
}

// load reads what is known of the batch's recordings.
func (j *journal) load(ctx context.Context, batch []recording.Change) (map[string]*record, error) {
	records := map[string]*record{}
	var keys []string
	for _, c := range batch {
		key := knownKey(c.AccountID, c.ID)
		if _, ok := records[key]; !ok {
			records[key] = &record{ID: key}
			keys = append(keys, key)
		}
	}
	for start := 0; start < len(keys); start += 500 {
		chunk := keys[start:min(start+500, len(keys))]
		res, err := j.store.GetSystemDocs(ctx, j.db, chunk)
		if err != nil {
			return nil, err
		}
		for _, r := range res {
			if recording.IsNotFound(r.Err) {
				continue
			}
			if r.Err != nil {
				return nil, fmt.Errorf("events: read %s: %w", r.ID, r.Err)
			}
			rec := records[r.ID]
			if rec == nil {
				continue
			}
			if err := r.Doc.DecodeInto(rec); err != nil {
				return nil, fmt.Errorf("events: %s: %w", r.ID, err)
			}
		}
	}
	return records, nil
}

// events gives each happening its place in the log (from at on) and its payload.
func (j *journal) events(c recording.Change, haps []happening, prev *known, next known, at *position) []Event {
	if len(haps) == 0 {
		return nil
	}
	occurred := recording.ToGregorian(j.now())
	if c.Doc != nil {
		if m, ok := c.Doc.Int("pvt_modified"); ok && m > 0 {
			occurred = m
		}
	}
	out := make([]Event, 0, len(haps))
	for _, h := range haps {
		data := next.Data
		if h.Type == Deleted {
			data = map[string]any{}
			src := next.Data
			if src == nil && prev != nil {
				src = prev.Data
			}
			for k, v := range src {
				data[k] = v
			}
			data["reason"] = h.Reason
		}
		out = append(out, Event{
			ID:          eventID(*at, c.AccountID, c.ID, c.Rev, h.Type),
			Type:        h.Type,
			AccountID:   c.AccountID,
			RecordingID: c.ID,
			OccurredAt:  occurred,
			Data:        data,
			Owner:       next.Owner,
		})
		at.index++
	}
	return out
}

// lastSeq is the newest log document's number.
func (j *journal) lastSeq() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.seq
}

// resume sets the log's end, from a number known to exist (the lease's hint) onwards, and
// when the watcher began.
func (j *journal) resume(ctx context.Context, hint, since int64) error {
	last, err := lastBatch(ctx, j.store, j.db, hint)
	if err != nil {
		return err
	}
	j.mu.Lock()
	j.seq, j.since = last, since
	j.mu.Unlock()
	return nil
}

// saveRecords writes what is known after the batch. A conflict means another watcher wrote
// them: this one has lost its lease and must stop.
func (j *journal) saveRecords(ctx context.Context, dirty map[string]*record) error {
	if len(dirty) == 0 {
		return nil
	}
	docs := make([]recording.Doc, 0, len(dirty))
	order := make([]*record, 0, len(dirty))
	for _, rec := range dirty {
		doc, err := recording.DocOf(rec)
		if err != nil {
			return err
		}
		docs = append(docs, doc)
		order = append(order, rec)
	}
	res, err := j.store.SaveSystemDocs(ctx, j.db, docs)
	if err != nil {
		return err
	}
	for i, r := range res {
		if recording.IsConflict(r.Err) {
			return fmt.Errorf("%w: %s changed under this watcher", ErrLeaseLost, r.ID)
		}
		if r.Err != nil {
			return fmt.Errorf("events: save %s: %w", r.ID, r.Err)
		}
		order[i].Rev = r.Rev
	}
	return nil
}

// appendLog writes the batch's events as the next log document. Another document under
// that number means another watcher is writing the log: this one has lost its lease.
func (j *journal) appendLog(ctx context.Context, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	seq := j.lastSeq() + 1
	batch := logBatch{ID: logID(seq), LoggedAt: j.now().UnixMilli(), Events: make([]logEvent, len(events))}
	for i, e := range events {
		batch.Events[i] = logEvent{Event: e, Owner: e.Owner}
	}
	doc, err := recording.DocOf(batch)
	if err != nil {
		return err
	}
	res, err := j.store.SaveSystemDocs(ctx, j.db, []recording.Doc{doc})
	if err != nil {
		return err
	}
	if recording.IsConflict(res[0].Err) {
		return fmt.Errorf("%w: %s was written by another watcher", ErrLeaseLost, batch.ID)
	}
	if res[0].Err != nil {
		return fmt.Errorf("events: log %s: %w", batch.ID, res[0].Err)
	}
	j.mu.Lock()
	j.seq = seq
	j.mu.Unlock()
	return nil
}

func knownKey(accountID, recordingID string) string {
	return knownPrefix + accountID + ":" + recordingID
}

// olderRev reports whether rev is of an earlier generation than than (a cluster may replay).
func olderRev(rev, than string) bool {
	g, ok1 := generation(rev)
	h, ok2 := generation(than)
	return ok1 && ok2 && g < h
}

func generation(rev string) (int, bool) {
	n, _, ok := strings.Cut(rev, "-")
	if !ok {
		return 0, false
	}
	g, err := strconv.Atoi(n)
	return g, err == nil
}
