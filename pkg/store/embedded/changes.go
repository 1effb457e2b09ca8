package embedded

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// The change log is this store's change feed: CouchDB's _changes, kept as a sequence in the
// file. Every write of a document of a month database (writeDoc, which every write goes
// through: PutRecording, Save, SaveMany, Delete, DeleteMany, PutAttachment) appends an entry
// in its own transaction, so an entry exists exactly when its write committed, and entries
// are numbered without gaps in commit order (bbolt has one writer at a time; the bucket's
// sequence rolls back with a failed transaction).
//
// An entry names the month database (hence the account), the document id and the revision
// written, whether that revision removed the document, and when it was written; not the
// document: a feed reads the document as it is when it delivers the entry. An entry whose
// revision is no longer the document's current one is skipped, since a later entry names
// the current revision: several writes to a document may arrive as its latest revision only,
// as CouchDB's feed does it.
//
// Retention: entries are pruned from the oldest on, in the transaction of a write, once
// older than Options.ChangeRetention (7 days) or beyond Options.MaxChanges (1,000,000)
// entries, whatever the checkpoints say. Checkpoints are documents in any system database,
// under any name, and a feed name that is no longer used would otherwise hold the log
// forever; with a retention, a feed stopped for less than it resumes without a loss, and
// one stopped for longer resumes at the oldest entry kept (what was pruned is missed). An
// entry takes about 180 bytes of the file while it is kept (a month database's name and a
// recording id are most of it). Pruning runs once every pruneEvery entries, removing up to
// twice what was appended since, so the log never lags its bounds by more than pruneEvery
// entries and most writes touch only its last page. It walks from the oldest entry and stops
// at the first one to keep: a clock set back delays pruning, never loses a recent entry.

const (
	// feedBatch bounds the log entries a feed reads in one transaction, hence the changes
	// of one batch.
	feedBatch = 100
	// checkpointInterval is how often a feed saves its position at most while it runs: a
	// crash delivers again at most that much. It saves it too when it stops.
	checkpointInterval = time.Second
	// defaultFeedTick is how often a waiting feed looks at the log unasked; the signal of
	// each commit wakes it first.
	defaultFeedTick = time.Second
	// pruneEvery is how many entries are appended between two prunings.
	pruneEvery = 64
)

// changeEntry is one entry of the change log.
type changeEntry struct {
	db      string // the month database
	id      string
	rev     string    // the revision written
	removed bool      // rev is a tombstone
	at      time.Time // when it was written
}

// changeKey is a sequence as the log's key: 8 bytes, big-endian, so keys sort as numbers.
func changeKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq) }

func changeSeq(k []byte) (uint64, error) {
	if len(k) != 8 {
		return 0, fmt.Errorf("change log key %x is not a sequence", k)
	}
	return binary.BigEndian.Uint64(k), nil
}

const entryRemoved = 1 // flag of an entry's first byte

// encode is: flags (1 byte), the time in Unix nanoseconds (8 bytes, big-endian), the
// database name and the document id each after its length (uvarint), the revision to the end.
func (e changeEntry) encode() []byte {
	b := make([]byte, 0, 1+8+2*binary.MaxVarintLen64+len(e.db)+len(e.id)+len(e.rev))
	var flags byte
	if e.removed {
		flags |= entryRemoved
	}
	b = binary.BigEndian.AppendUint64(append(b, flags), uint64(e.at.UnixNano()))
	b = append(binary.AppendUvarint(b, uint64(len(e.db))), e.db...)
	b = append(binary.AppendUvarint(b, uint64(len(e.id))), e.id...)
	return append(b, e.rev...)
}

func decodeChangeEntry(v []byte) (changeEntry, error) {
	var e changeEntry
	if len(v) < 9 || v[0]&^entryRemoved != 0 {
		return e, fmt.Errorf("change log entry %x is malformed", v)
	}
	e.removed = v[0]&entryRemoved != 0
	e.at = time.Unix(0, int64(binary.BigEndian.Uint64(v[1:9])))
	rest := v[9:]
	for _, field := range []*string{&e.db, &e.id} {
		n, size := binary.Uvarint(rest)
		if size <= 0 || n > uint64(len(rest)-size) {
			return e, fmt.Errorf("change log entry %x is malformed", v)
		}
		*field, rest = string(rest[size:size+int(n)]), rest[size+int(n):]
	}
	e.rev = string(rest)
	return e, nil
}

// entryTime reads only the time of an encoded entry.
func entryTime(v []byte) (int64, error) {
	if len(v) < 9 {
		return 0, fmt.Errorf("change log entry %x is malformed", v)
	}
	return int64(binary.BigEndian.Uint64(v[1:9])), nil
}

// changeLog is the log's bucket, nil when the file lacks it (Open creates it).
func changeLog(tx *bolt.Tx) *bolt.Bucket {
	meta := tx.Bucket(metaBucket)
	if meta == nil {
		return nil
	}
	log := meta.Bucket(changesBucket)
	if log != nil && tx.Writable() {
		log.FillPercent = 1 // keys are only ever appended: fill the pages
	}
	return log
}

// ensureChangeLog creates the change log if the file lacks it (a new file, or one of an
// earlier format), with a new id: checkpoints of another log do not apply to it.
func ensureChangeLog(meta *bolt.Bucket) error {
	if meta.Bucket(changesBucket) != nil && meta.Get(changeLogIDKey) != nil {
		return nil
	}
	if _, err := meta.CreateBucketIfNotExists(changesBucket); err != nil {
		return err
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return err
	}
	return meta.Put(changeLogIDKey, []byte(hex.EncodeToString(id)))
}

func changeLogID(tx *bolt.Tx) string {
	return string(tx.Bucket(metaBucket).Get(changeLogIDKey))
}

// appendChange adds e to the log under the next sequence.
func appendChange(log *bolt.Bucket, e changeEntry) error {
	seq, err := log.NextSequence()
	if err != nil {
		return err
	}
	return log.Put(changeKey(seq), e.encode())
}

// pruneChanges drops the oldest entries past the retention or the cap, in the transaction
// that appended the entries before+1 … after, once every pruneEvery entries.
func (s *Store) pruneChanges(log *bolt.Bucket, before, after uint64) error {
	if before/pruneEvery == after/pruneEvery {
		return nil
	}
	cutoff := time.Now().Add(-s.changeRetention).UnixNano()
	c := log.Cursor()
	for range 2 * (pruneEvery + after - before) {
		k, v := c.First()
		if k == nil {
			return nil
		}
		seq, err := changeSeq(k)
		if err != nil {
			return err
		}
		at, err := entryTime(v)
		if err != nil {
			return err
		}
		if after-seq < s.maxChanges && at >= cutoff {
			return nil
		}
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// signal wakes every waiter at once: wait returns a channel that the next broadcast closes.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

func (g *signal) wait() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ch == nil {
		g.ch = make(chan struct{})
	}
	return g.ch
}

func (g *signal) broadcast() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ch != nil {
		close(g.ch)
		g.ch = nil
	}
}

// FollowChanges delivers the change log from the checkpoint kept as document name of the
// system database db (without one, from the present, which is saved as the checkpoint
// straight away), in batches of at most feedBatch changes, waiting for commits in between.
// The checkpoint is saved at most every checkpointInterval while the feed runs and when it
// stops, always at a batch handle returned nil for (at least once). A checkpoint this log
// did not write (another file's, or one ahead of the log) counts as none.
//
// It returns nil when ctx ends (also when handle then returns ctx's error), handle's own
// error as it is, and EUnavailable once the store is closed.
func (s *Store) FollowChanges(ctx context.Context, db, name string, handle func(ctx context.Context, batch []recording.Change) error) error {
	if ctx.Err() != nil {
		return nil
	}
	if err := s.usable(ctx); err != nil {
		return err
	}
	what := "change feed checkpoint " + systemWhat(db, name)
	if err := checkSystemWrite(db, name, what); err != nil {
		return err
	}
	if handle == nil {
		return invalid("%s: no handler", what)
	}
	f := &feed{s: s, db: db, name: name, what: what}
	if err := f.start(ctx); err != nil {
		return feedEnd(ctx, err)
	}
	tick := time.NewTicker(s.feedTick)
	defer tick.Stop()
	for {
		wake := s.logged.wait() // before reading: a commit after the read closes it
		batch, next, more, err := s.readChanges(ctx, f.handled)
		if err != nil {
			_ = f.save(ctx) // best effort: what was handled before
			return feedEnd(ctx, err)
		}
		if len(batch) > 0 {
			if err := handle(ctx, batch); err != nil {
				saveErr := f.save(ctx) // the batches before this one only
				switch {
				case ctx.Err() != nil && errors.Is(err, ctx.Err()):
					return nil
				case saveErr != nil:
					return errors.Join(err, saveErr)
				}
				return err
			}
		}
		f.handled = next
		if ctx.Err() != nil {
			return feedEnd(ctx, f.save(ctx))
		}
		if time.Since(f.savedAt) >= checkpointInterval {
			if err := f.save(ctx); err != nil {
				return feedEnd(ctx, err)
			}
		}
		if more {
			continue
		}
		select {
		case <-ctx.Done():
			return feedEnd(ctx, f.save(ctx))
		case <-wake:
		case <-tick.C:
		}
	}
}

// feedEnd is what FollowChanges returns for err: nothing once ctx has ended.
func feedEnd(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// feed is one run of FollowChanges: where it is in the log and what its checkpoint says.
type feed struct {
	s              *Store
	db, name, what string
	handled        uint64 // the last sequence read, delivered or skipped
	saved          uint64 // the sequence the checkpoint holds
	savedAt        time.Time
}

// start reads the checkpoint, or saves the present as the checkpoint when there is none.
func (f *feed) start(ctx context.Context) error {
	found := false
	err := f.s.view(ctx, f.what, func(tx *bolt.Tx) error {
		var err error
		f.saved, found, err = f.load(tx)
		return err
	})
	if err == nil && !found {
		err = f.s.update(ctx, f.what, func(tx *bolt.Tx) error {
			var err error
			if f.saved, found, err = f.load(tx); err != nil || found {
				return err
			}
			f.saved = changeLog(tx).Sequence()
			return f.write(tx, f.saved)
		})
	}
	f.handled, f.savedAt = f.saved, time.Now()
	return err
}

// checkpointType is the pvt_type of a checkpoint document.
const checkpointType = "change_feed_checkpoint"

// load reads the checkpoint document; found is false without one this log can resume from.
func (f *feed) load(tx *bolt.Tx) (seq uint64, found bool, err error) {
	d, err := openDatabase(tx, f.db)
	if err != nil || d == nil {
		return 0, false, err
	}
	cur, err := loadDoc(d, f.name)
	if err != nil || !cur.live() {
		return 0, false, err
	}
	n, ok := cur.doc.Int("seq")
	if !ok || n < 0 || cur.doc.String("change_log") != changeLogID(tx) || uint64(n) > changeLog(tx).Sequence() {
		return 0, false, nil
	}
	return uint64(n), true, nil
}

// write replaces the checkpoint document, whatever revision it is at.
func (f *feed) write(tx *bolt.Tx, seq uint64) error {
	d, err := createDatabase(tx, f.db, false)
	if err != nil {
		return err
	}
	_, err = upsert(d, recording.Doc{
		"_id":          f.name,
		"pvt_type":     checkpointType,
		"change_log":   changeLogID(tx),
		"seq":          json.Number(strconv.FormatUint(seq, 10)),
		"pvt_modified": json.Number(strconv.FormatInt(recording.ToGregorian(time.Now()), 10)),
	}, f.what)
	return err
}

// save writes the position handled so far as the checkpoint, if it moved. It runs past the
// end of ctx: what was handled is kept however the feed stops.
func (f *feed) save(ctx context.Context) error {
	if f.handled == f.saved {
		f.savedAt = time.Now()
		return nil
	}
	seq := f.handled
	err := f.s.update(context.WithoutCancel(ctx), f.what, func(tx *bolt.Tx) error { return f.write(tx, seq) })
	if err != nil {
		return err
	}
	f.saved, f.savedAt = seq, time.Now()
	return nil
}

// readChanges reads up to feedBatch entries after sequence after and returns the changes
// to deliver, the last sequence read (after itself if none) and whether more entries follow.
func (s *Store) readChanges(ctx context.Context, after uint64) (batch []recording.Change, next uint64, more bool, err error) {
	next = after
	err = s.view(ctx, "change log", func(tx *bolt.Tx) error {
		log := changeLog(tx)
		if log == nil {
			return fmt.Errorf("the file lacks its change log (%s)", changesBucket)
		}
		dbs := map[string]*database{}
		c := log.Cursor()
		n := 0
		for k, v := c.Seek(changeKey(after + 1)); k != nil; k, v = c.Next() {
			if n == feedBatch {
				more = true
				return nil
			}
			n++
			seq, err := changeSeq(k)
			if err != nil {
				return err
			}
			e, err := decodeChangeEntry(v)
			if err != nil {
				return fmt.Errorf("change %d: %w", seq, err)
			}
			change, deliver, err := resolveChange(tx, dbs, e)
			if err != nil {
				return fmt.Errorf("change %d: %w", seq, err)
			}
			if deliver {
				batch = append(batch, change)
			}
			next = seq
		}
		return nil
	})
	return batch, next, more, err
}

// resolveChange turns an entry into the change to deliver, reading its document as it is
// now (dbs caches the databases opened in this transaction): the document at the entry's
// revision if it is a call_recording, its removal if it was removed, nothing if it was
// written again since (a later entry has that) or is of another type.
func resolveChange(tx *bolt.Tx, dbs map[string]*database, e changeEntry) (recording.Change, bool, error) {
	month, ok := monthDBNamed([]byte(e.db))
	if !ok {
		return recording.Change{}, false, fmt.Errorf("%q names no month database", e.db)
	}
	d, opened := dbs[e.db]
	if !opened {
		var err error
		if d, err = openDatabase(tx, e.db); err != nil {
			return recording.Change{}, false, err
		}
		dbs[e.db] = d
	}
	var cur *storedDoc
	if d != nil {
		var err error
		if cur, err = loadDoc(d, e.id); err != nil {
			return recording.Change{}, false, err
		}
	}
	change := recording.Change{AccountID: month.AccountID, ID: e.id, Rev: e.rev}
	switch {
	case cur == nil: // gone with its database: nothing is left of it
		change.Deleted = true
	case cur.rev() != e.rev:
		return change, false, nil
	case cur.deleted:
		change.Deleted, change.Doc = true, cur.doc
	case cur.doc.Type() == recording.TypeCallRecording:
		change.Doc = cur.doc
	default:
		return change, false, nil
	}
	return change, true, nil
}
