package events

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// The log is a run of numbered documents, one per batch of changes that made events:
// log:0000000000000001, log:0000000000000002, … Only the watcher writes it, one batch after
// another, each number once (a second writer of a number conflicts: it is not the leader).
// Readers fetch the next number by id. A read by id is a quorum read on a CouchDB cluster, so
// a batch is never skipped because one copy lags, which a range read over the ids could do.
const (
	logPrefix = "log:"
	logEnd    = "log;" // sorts after every log id
)

// logBatch is one log document.
type logBatch struct {
	ID       string     `json:"_id"`
	Rev      string     `json:"_rev,omitempty"`
	LoggedAt int64      `json:"logged_at"` // unix milliseconds
	Events   []logEvent `json:"events"`
}

// logEvent is an event as the log keeps it: the payload and what the stream filters on.
type logEvent struct {
	Event Event  `json:"event"`
	Owner string `json:"owner,omitempty"`
}

func logID(seq int64) string { return fmt.Sprintf("%s%016d", logPrefix, seq) }

// position is where an event sits in the log: its batch and its index there.
type position struct{ seq, index int64 }

func (p position) before(o position) bool {
	return p.seq < o.seq || (p.seq == o.seq && p.index < o.index)
}

// eventID is the event's position and a digest of what happened to which revision: stable
// for a change (kept with what the journal knows, a change handled again gets the same id),
// and sortable in log order.
func eventID(p position, accountID, recordingID, rev string, t Type) string {
	sum := sha256.Sum256([]byte(accountID + "\x00" + recordingID + "\x00" + rev + "\x00" + string(t)))
	return fmt.Sprintf("%016d-%04d-%s", p.seq, p.index, hex.EncodeToString(sum[:8]))
}

// positionOf reads the position out of an event id; ok is false for anything else.
func positionOf(id string) (position, bool) {
	parts := strings.Split(id, "-")
	if len(parts) != 3 || len(parts[0]) != 16 || len(parts[1]) != 4 || len(parts[2]) != 16 {
		return position{}, false
	}
	seq, err1 := strconv.ParseInt(parts[0], 10, 64)
	idx, err2 := strconv.ParseInt(parts[1], 10, 64)
	if _, err3 := hex.DecodeString(parts[2]); err1 != nil || err2 != nil || err3 != nil || seq < 1 || idx < 0 {
		return position{}, false
	}
	return position{seq, idx}, true
}

// ValidEventID reports whether id has the shape of the ids this service gives events.
func ValidEventID(id string) bool {
	_, ok := positionOf(id)
	return ok
}

// LogSeq is the number of the log document an event id (ValidEventID) sits in.
func LogSeq(id string) (int64, bool) {
	p, ok := positionOf(id)
	return p.seq, ok
}

// readBatches reads the log documents from seq on, up to n, stopping at the first missing.
func readBatches(ctx context.Context, store Store, db string, seq int64, n int) ([]logBatch, error) {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = logID(seq + int64(i))
	}
	res, err := store.GetSystemDocs(ctx, db, ids)
	if err != nil {
		return nil, err
	}
	var out []logBatch
	for _, r := range res {
		if recording.IsNotFound(r.Err) {
			break
		}
		if r.Err != nil {
			return out, fmt.Errorf("events: read %s: %w", r.ID, r.Err)
		}
		var b logBatch
		if err := r.Doc.DecodeInto(&b); err != nil {
			return out, fmt.Errorf("events: %s: %w", r.ID, err)
		}
		out = append(out, b)
	}
	return out, nil
}

// events gives the batch's events, each with its owner.
func (b logBatch) events() []Event {
	seq, _ := strconv.ParseInt(strings.TrimPrefix(b.ID, logPrefix), 10, 64)
	out := make([]Event, len(b.Events))
	for i, le := range b.Events {
		out[i] = le.Event
		out[i].Owner = le.Owner
		out[i].pos = position{seq, int64(i)}
	}
	return out
}

// lastBatch finds the number of the newest log document, starting from hint (a number known
// to have existed, or 0): it reads ahead by id until one is missing.
func lastBatch(ctx context.Context, store Store, db string, hint int64) (int64, error) {
	first, err := firstBatch(ctx, store, db)
	if err != nil {
		return 0, err
	}
	last := max(hint, first-1) // the retention may have removed the hint's successors
	for {
		batches, err := readBatches(ctx, store, db, last+1, 16)
		if err != nil {
			return 0, err
		}
		last += int64(len(batches))
		if len(batches) < 16 {
			return last, nil
		}
	}
}

// firstBatch is the number of the oldest log document kept (0: none).
func firstBatch(ctx context.Context, store Store, db string) (int64, error) {
	docs, err := store.SystemDocRange(ctx, db, logPrefix, logEnd, 1)
	if err != nil || len(docs) == 0 {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimPrefix(docs[0].ID(), logPrefix), 10, 64)
}
