package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// loggedChange is an entry of the change log with its sequence.
type loggedChange struct {
	seq uint64
	changeEntry
}

// changeLogOf reads the whole change log and its sequence.
func changeLogOf(t *testing.T, s *Store) ([]loggedChange, uint64) {
	t.Helper()
	var out []loggedChange
	var last uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		log := changeLog(tx)
		last = log.Sequence()
		return log.ForEach(func(k, v []byte) error {
			seq, err := changeSeq(k)
			if err != nil {
				return err
			}
			e, err := decodeChangeEntry(v)
			out = append(out, loggedChange{seq, e})
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out, last
}

// newEntries is what the log holds after sequence after.
func newEntries(t *testing.T, s *Store, after uint64) []loggedChange {
	t.Helper()
	all, _ := changeLogOf(t, s)
	var out []loggedChange
	for _, c := range all {
		if c.seq > after {
			out = append(out, c)
		}
	}
	return out
}

func logSequence(t *testing.T, s *Store) uint64 {
	t.Helper()
	_, last := changeLogOf(t, s)
	return last
}

// wantEntries checks the entries after sequence after: one per write, in order, naming
// database, document and revision, and numbered without gaps.
func wantEntries(t *testing.T, s *Store, what string, after uint64, want ...changeEntry) uint64 {
	t.Helper()
	got := newEntries(t, s, after)
	if len(got) != len(want) {
		t.Fatalf("%s: %d change log entries, want %d: %+v", what, len(got), len(want), got)
	}
	for i, g := range got {
		w := want[i]
		if g.seq != after+uint64(i)+1 || g.db != w.db || g.id != w.id || g.rev != w.rev || g.removed != w.removed {
			t.Fatalf("%s: entry %d is %+v, want %d %+v", what, i, g, after+uint64(i)+1, w)
		}
		if time.Since(g.at) > time.Minute || time.Until(g.at) > time.Second {
			t.Fatalf("%s: entry %d written at %v", what, i, g.at)
		}
	}
	if last := logSequence(t, s); last != after+uint64(len(want)) {
		t.Fatalf("%s: log sequence %d, want %d", what, last, after+uint64(len(want)))
	}
	return after + uint64(len(want))
}

// TestChangeLogFollowsEveryWrite: each way of writing a month database's documents appends
// one entry per document written; writes to other databases append none.
func TestChangeLogFollowsEveryWrite(t *testing.T) {
	s, _ := openTemp(t)
	ctx := testContext(t)
	account := randomHex(16)
	db := recording.MonthDBName(account, testMonth)
	entry := func(id, rev string) changeEntry { return changeEntry{db: db, id: id, rev: rev} }
	removal := func(id, rev string) changeEntry { return changeEntry{db: db, id: id, rev: rev, removed: true} }
	seq := logSequence(t, s)
	if seq != 0 {
		t.Fatalf("a new file's log sequence is %d", seq)
	}

	a := recordingDoc(newRecordingID(testMonth), created(testMonth, 1), nil)
	revA := mustPutRecording(t, s, account, a)
	seq = wantEntries(t, s, "PutRecording", seq, entry(a.ID(), revA))

	a["_rev"], a["x"] = revA, 1
	revA, err := s.Save(ctx, account, a)
	if err != nil {
		t.Fatal(err)
	}
	seq = wantEntries(t, s, "Save", seq, entry(a.ID(), revA))

	b := recordingDoc(newRecordingID(testMonth), created(testMonth, 2), nil)
	c := recordingDoc(newRecordingID(testMonth), created(testMonth, 3), map[string]any{"pvt_type": "cdr"})
	results, err := s.SaveMany(ctx, account, testMonth, []recording.Doc{b, {"_id": a.ID(), "_rev": "1-00000000000000000000000000000000"}, c})
	if err != nil || results[0].Err != nil || results[2].Err != nil {
		t.Fatalf("SaveMany: %+v, %v", results, err)
	}
	wantCode(t, "SaveMany at a stale revision", results[1].Err, recording.EConflict)
	seq = wantEntries(t, s, "SaveMany", seq, entry(b.ID(), results[0].Rev), entry(c.ID(), results[2].Rev))
	revB := results[0].Rev

	// An attachment big enough to be staged in transactions of its own: one entry, with
	// the revision that names it.
	big := make([]byte, 2*chunksPerTransaction*chunkSize+5)
	revA, err = s.PutAttachment(ctx, account, a.ID(), revA, "a.mp3", "audio/mpeg", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	seq = wantEntries(t, s, "PutAttachment", seq, entry(a.ID(), revA))

	if err := s.Delete(ctx, account, b.ID(), revB); err != nil {
		t.Fatal(err)
	}
	tomb := newEntries(t, s, seq)
	if len(tomb) != 1 {
		t.Fatalf("Delete: %+v", tomb)
	}
	seq = wantEntries(t, s, "Delete", seq, removal(b.ID(), tomb[0].rev))

	results, err = s.DeleteMany(ctx, recording.MonthDB{AccountID: account, Month: testMonth}, []recording.DocRef{{ID: a.ID(), Rev: revA}})
	if err != nil || results[0].Err != nil {
		t.Fatalf("DeleteMany: %+v, %v", results, err)
	}
	seq = wantEntries(t, s, "DeleteMany", seq, removal(a.ID(), results[0].Rev))

	// Writes to other databases: none.
	if err := s.PutAccount(ctx, recording.Doc{"_id": account}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutUser(ctx, account, recording.Doc{"_id": randomHex(16)}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutAccountDoc(ctx, account, recording.Doc{"_id": "x"}); err != nil {
		t.Fatal(err)
	}
	rev, err := s.PutSystemDoc(ctx, "system_config", recording.Doc{"_id": "x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveSystemDoc(ctx, "system_config", recording.Doc{"_id": "y"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutSystemAttachment(ctx, "system_config", "x", rev, "k", "text/plain", []byte("k")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveSystemDocs(ctx, "system_config", []recording.Doc{{"_id": "z"}}); err != nil {
		t.Fatal(err)
	}
	wantEntries(t, s, "writes to other databases", seq)
}

// TestChangeLogEntryInTheWriteTransaction: the entry commits with its write, or not at all:
// a refused write, or a transaction that fails after the write, leaves none, and the next
// write takes the next sequence.
func TestChangeLogEntryInTheWriteTransaction(t *testing.T) {
	s, _ := openTemp(t)
	ctx := testContext(t)
	account := randomHex(16)
	db := recording.MonthDBName(account, testMonth)
	doc := recordingDoc(newRecordingID(testMonth), created(testMonth, 1), nil)
	rev := mustPutRecording(t, s, account, doc)
	seq := logSequence(t, s)

	stale := "1-00000000000000000000000000000000"
	_, err := s.Save(ctx, account, recording.Doc{"_id": doc.ID(), "_rev": stale})
	wantCode(t, "Save at a stale revision", err, recording.EConflict)
	_, err = s.Save(ctx, account, recording.Doc{"_id": doc.ID(), "_rev": rev, "_bad": 1})
	wantCode(t, "Save with a bad member", err, recording.EInvalid)
	err = s.Delete(ctx, account, doc.ID(), stale)
	wantCode(t, "Delete at a stale revision", err, recording.EConflict)
	_, err = s.PutAttachment(ctx, account, doc.ID(), stale, "a.mp3", "audio/mpeg", strings.NewReader("x"))
	wantCode(t, "PutAttachment at a stale revision", err, recording.EConflict)
	results, err := s.SaveMany(ctx, account, testMonth, []recording.Doc{{"_id": doc.ID()}, {"_id": "_design/x"}})
	if err != nil || recording.ErrorCode(results[0].Err) != recording.EConflict || recording.ErrorCode(results[1].Err) != recording.EInvalid {
		t.Fatalf("SaveMany of refused documents: %+v, %v", results, err)
	}
	wantEntries(t, s, "refused writes", seq)

	// The write happens, then its transaction fails: the entry goes with it.
	boom := errors.New("boom")
	err = s.update(ctx, "test", func(tx *bolt.Tx) error {
		d, err := openDatabase(tx, db)
		if err != nil {
			return err
		}
		if _, err := upsert(d, recordingDoc(doc.ID(), created(testMonth, 1), map[string]any{"x": 1}), "test"); err != nil {
			return err
		}
		if n := changeLog(tx).Sequence(); n != seq+1 {
			t.Errorf("inside the transaction, the log sequence is %d, want %d", n, seq+1)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("update: %v", err)
	}
	wantEntries(t, s, "a write whose transaction failed", seq)
	if got, _ := s.Get(ctx, account, doc.ID()); got.Rev() != rev {
		t.Fatalf("the document after the failed transaction: %v", got)
	}

	// A write that fails in storage (a database missing an index) leaves none either.
	broken := randomHex(16)
	mustPutRecording(t, s, broken, recordingDoc(newRecordingID(testMonth), created(testMonth, 1), nil))
	seq = logSequence(t, s)
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(recording.MonthDBName(broken, testMonth))).DeleteBucket([]byte("purge"))
	}); err != nil {
		t.Fatal(err)
	}
	_, err = s.PutRecording(ctx, broken, recordingDoc(newRecordingID(testMonth), created(testMonth, 1), nil))
	wantCode(t, "PutRecording into a broken database", err, recording.EInternal)
	wantEntries(t, s, "a write that failed in storage", seq)

	// No gap: the next write takes the next sequence.
	doc["_rev"] = rev
	rev, err = s.Save(ctx, account, doc)
	if err != nil {
		t.Fatal(err)
	}
	wantEntries(t, s, "the next write", seq, changeEntry{db: db, id: doc.ID(), rev: rev})
}

// TestChangeLogPruning: the log keeps at most MaxChanges entries (give or take pruneEvery)
// and none older than ChangeRetention, pruning from its oldest entry, so what is left is
// contiguous; a feed whose checkpoint was pruned past resumes at the oldest entry kept.
func TestChangeLogPruning(t *testing.T) {
	t.Run("cap", func(t *testing.T) {
		s, err := Open(filepath.Join(t.TempDir(), "recordings.db"), Options{NoSync: true, MaxChanges: 10})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		account := randomHex(16)
		const writes = 5*pruneEvery + 7
		for i := range writes {
			mustPutRecording(t, s, account, recordingDoc(newRecordingID(testMonth), created(testMonth, int64(i)), nil))
			entries, last := changeLogOf(t, s)
			if len(entries) > 10+pruneEvery {
				t.Fatalf("after %d writes, %d entries", i+1, len(entries))
			}
			if entries[len(entries)-1].seq != last || entries[0].seq != last-uint64(len(entries))+1 {
				t.Fatalf("after %d writes, entries %d … %d of %d", i+1, entries[0].seq, entries[len(entries)-1].seq, last)
			}
		}
		// Right after a pruning, exactly the cap is left.
		entries, last := changeLogOf(t, s)
		if last != writes || len(entries) != 10+writes%pruneEvery {
			t.Fatalf("after %d writes, %d entries up to %d", writes, len(entries), last)
		}
	})

	t.Run("retention", func(t *testing.T) {
		s, _ := openTemp(t)
		account := randomHex(16)
		f := startFeed(t, s, "feeds", "pruned", nil)
		waitStarted(t, s, "feeds", "pruned")
		f.stop(t)
		// Eight days of history: entries of a week and a day ago, then of a day ago (of a
		// revision the document is no longer at), then the document as it is now.
		const expired, recent = pruneEvery / 2, 20
		doc := recordingDoc(newRecordingID(testMonth), created(testMonth, 1), nil)
		if err := s.db.Update(func(tx *bolt.Tx) error {
			log := changeLog(tx)
			for i := range expired + recent {
				at := time.Now().Add(-8 * 24 * time.Hour)
				if i >= expired {
					at = time.Now().Add(-24 * time.Hour)
				}
				e := changeEntry{db: recording.MonthDBName(account, testMonth), id: doc.ID(), rev: "1-00000000000000000000000000000000", at: at}
				if err := appendChange(log, e); err != nil {
					return err
				}
			}
			d, err := createDatabase(tx, recording.MonthDBName(account, testMonth), true)
			if err != nil {
				return err
			}
			_, err = upsert(d, doc, "test")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if entries, _ := changeLogOf(t, s); len(entries) != expired+recent+1 {
			t.Fatalf("%d entries before pruning", len(entries))
		}
		// Up to the next multiple of pruneEvery: the expired entries go, the others stay.
		for target := (logSequence(t, s)/pruneEvery + 1) * pruneEvery; logSequence(t, s) < target; {
			mustPutRecording(t, s, account, recordingDoc(newRecordingID(testMonth), created(testMonth, 2), nil))
		}
		after, last := changeLogOf(t, s)
		if len(after) != int(last)-expired || after[0].seq != expired+1 || after[len(after)-1].seq != last {
			t.Fatalf("after pruning, %d entries from %d to %d; want all but the %d expired", len(after), after[0].seq, last, expired)
		}
		for _, e := range after {
			if time.Since(e.at) > 7*24*time.Hour {
				t.Fatalf("entry %d of %v kept past the retention", e.seq, e.at)
			}
		}

		// The feed's checkpoint is before the oldest entry kept: it goes on from there.
		mark := recordingDoc(newRecordingID(testMonth), created(testMonth, 3), nil)
		markRev := mustPutRecording(t, s, account, mark)
		g := startFeed(t, s, "feeds", "pruned", nil)
		g.waitFor(t, mark.ID(), markRev)
		g.stop(t)
		if got := g.changes(); len(got) != int(last)-expired-recent+1 || got[0].ID != doc.ID() {
			t.Fatalf("the feed resumed with %d changes, the first %+v; want the %d written since the expired ones", len(got), got[0], int(last)-expired-recent+1)
		}
	})
}

// feedRun is a FollowChanges running in the background, recording its batches.
type feedRun struct {
	cancel context.CancelFunc
	done   chan error
	fail   error // returned by the handler, when set

	mu      sync.Mutex
	batches [][]recording.Change
	handled time.Time // when the last batch was handled
	got     chan struct{}
}

func startFeed(t *testing.T, s *Store, db, name string, fail error) *feedRun {
	t.Helper()
	ctx, cancel := context.WithCancel(testContext(t))
	f := &feedRun{cancel: cancel, done: make(chan error, 1), fail: fail, got: make(chan struct{}, 1)}
	go func() {
		f.done <- s.FollowChanges(ctx, db, name, func(_ context.Context, batch []recording.Change) error {
			f.mu.Lock()
			f.batches = append(f.batches, batch)
			f.handled = time.Now()
			f.mu.Unlock()
			select {
			case f.got <- struct{}{}:
			default:
			}
			return f.fail
		})
	}()
	t.Cleanup(cancel)
	return f
}

// stop ends the feed and checks that it returned nil.
func (f *feedRun) stop(t *testing.T) {
	t.Helper()
	f.cancel()
	select {
	case err := <-f.done:
		if err != nil {
			t.Fatalf("FollowChanges after its context ended: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("FollowChanges did not return after its context ended")
	}
}

// changes is every change delivered so far, in order.
func (f *feedRun) changes() []recording.Change {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []recording.Change
	for _, b := range f.batches {
		out = append(out, b...)
	}
	return out
}

// waitFor waits until id was delivered at rev.
func (f *feedRun) waitFor(t *testing.T, id, rev string) recording.Change {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, c := range f.changes() {
			if c.ID == id && c.Rev == rev {
				return c
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s at %s not delivered; %d changes delivered", id, rev, len(f.changes()))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkpointOf reads a feed's checkpoint: its sequence, -1 without one (or without a
// sequence).
func checkpointOf(t *testing.T, s *Store, db, name string) int64 {
	t.Helper()
	doc, err := s.SystemDoc(context.Background(), db, name)
	if recording.ErrorCode(err) == recording.ENotFound {
		return -1
	}
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := doc.Int("seq"); ok {
		return n
	}
	return -1
}

// waitStarted waits until a feed without a checkpoint has saved its first one.
func waitStarted(t *testing.T, s *Store, db, name string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for checkpointOf(t, s, db, name) < 0 {
		if time.Now().After(deadline) {
			t.Fatal("the feed did not save its first checkpoint")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitCheckpoint waits until a feed's checkpoint is at seq.
func waitCheckpoint(t *testing.T, s *Store, db, name string, seq uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for checkpointOf(t, s, db, name) != int64(seq) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: checkpoint %d, want %d", name, checkpointOf(t, s, db, name), seq)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFeedResumesAfterReopen: a feed stopped, the file closed and opened again, the feed
// resumes after the last batch it handled: what was written meanwhile comes, what it had
// handled does not.
func TestFeedResumesAfterReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "recordings.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	account := randomHex(16)
	before := recordingDoc(newRecordingID(testMonth), created(testMonth, 1), nil)
	mustPutRecording(t, s, account, before)

	f := startFeed(t, s, "feeds", "reopen", nil)
	waitStarted(t, s, "feeds", "reopen")
	handled := recordingDoc(newRecordingID(testMonth), created(testMonth, 2), nil)
	f.waitFor(t, handled.ID(), mustPutRecording(t, s, account, handled))
	f.stop(t)
	if got := checkpointOf(t, s, "feeds", "reopen"); got != int64(logSequence(t, s)) {
		t.Fatalf("checkpoint %d after the feed stopped, want %d", got, logSequence(t, s))
	}
	meanwhile := recordingDoc(newRecordingID(testMonth), created(testMonth, 3), nil)
	meanwhileRev := mustPutRecording(t, s, account, meanwhile)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	after := recordingDoc(newRecordingID(testMonth), created(testMonth, 4), nil)
	afterRev := mustPutRecording(t, s, account, after)
	g := startFeed(t, s, "feeds", "reopen", nil)
	g.waitFor(t, after.ID(), afterRev)
	g.stop(t)
	var ids []string
	for _, c := range g.changes() {
		ids = append(ids, c.ID)
	}
	if want := []string{meanwhile.ID(), after.ID()}; strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Fatalf("after reopening, delivered %v, want %v (at %s, %s)", ids, want, meanwhileRev, afterRev)
	}
}

// TestConcurrentWritersSequences: writers on many goroutines get sequences without gaps or
// repeats, each document's entries in the order of its revisions, and a feed running
// meanwhile delivers every document's last revision, in order.
func TestConcurrentWritersSequences(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "recordings.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := testContext(t)
	account := randomHex(16)
	f := startFeed(t, s, "feeds", "concurrent", nil)
	waitStarted(t, s, "feeds", "concurrent")
	start := logSequence(t, s)

	const writers, perWriter = 6, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	var mu sync.Mutex
	final := map[string]string{} // id → last revision
	writes := 0
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				id := fmt.Sprintf("%s-w%d-%02d", testMonth, w, i)
				doc := recordingDoc(id, created(testMonth, int64(i)), nil)
				rev, err := s.PutRecording(ctx, account, doc)
				n := 1
				if err == nil {
					doc["_rev"], doc["n"] = rev, i
					rev, err = s.Save(ctx, account, doc)
					n++
				}
				if err == nil && i%3 == 0 {
					err = s.Delete(ctx, account, id, rev)
					if err == nil {
						var cur *storedDoc
						err = s.db.View(func(tx *bolt.Tx) error {
							d, err := openDatabase(tx, recording.MonthDBName(account, testMonth))
							if err == nil {
								cur, err = loadDoc(d, id)
							}
							return err
						})
						if err == nil {
							rev = cur.rev()
						}
					}
					n++
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d, document %d: %w", w, i, err)
					return
				}
				mu.Lock()
				final[id], writes = rev, writes+n
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	entries := newEntries(t, s, start)
	if len(entries) != writes {
		t.Fatalf("%d entries for %d writes", len(entries), writes)
	}
	lastGen := map[string]int64{}
	for i, e := range entries {
		if e.seq != start+uint64(i)+1 {
			t.Fatalf("entry %d has sequence %d, want %d", i, e.seq, start+uint64(i)+1)
		}
		gen, ok := revGeneration(e.rev)
		if !ok || gen != lastGen[e.id]+1 {
			t.Fatalf("entry %d: %s at %s after generation %d", e.seq, e.id, e.rev, lastGen[e.id])
		}
		lastGen[e.id] = gen
	}

	for id, rev := range final {
		f.waitFor(t, id, rev)
	}
	f.stop(t)
	seen := map[string]int64{}
	for _, c := range f.changes() {
		gen, _ := revGeneration(c.Rev)
		if gen <= seen[c.ID] {
			t.Fatalf("%s delivered at generation %d after %d", c.ID, gen, seen[c.ID])
		}
		seen[c.ID] = gen
		if c.Deleted != (gen == 3) || c.Doc == nil || c.Deleted != (c.Doc["_deleted"] == true) {
			t.Fatalf("%s delivered with Deleted %v at %s", c.ID, c.Deleted, c.Rev)
		}
	}
}

// TestFeedWakesOnCommit: a waiting feed is woken by the commit of a write, not by its
// fallback tick (an hour here): each write is handled within milliseconds.
func TestFeedWakesOnCommit(t *testing.T) {
	s, _ := openTemp(t)
	s.feedTick = time.Hour
	account := randomHex(16)
	f := startFeed(t, s, "feeds", "wake", nil)
	waitStarted(t, s, "feeds", "wake")
	var lags []time.Duration
	for i := range 10 {
		time.Sleep(20 * time.Millisecond) // the feed is waiting
		doc := recordingDoc(newRecordingID(testMonth), created(testMonth, int64(i)), nil)
		rev := mustPutRecording(t, s, account, doc)
		written := time.Now()
		select {
		case <-f.got:
		case <-time.After(5 * time.Second):
			t.Fatalf("write %d not handled within 5s of its commit", i)
		}
		f.waitFor(t, doc.ID(), rev)
		f.mu.Lock()
		lags = append(lags, f.handled.Sub(written))
		f.mu.Unlock()
	}
	f.stop(t)
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	t.Logf("from PutRecording's return to the handler: median %v, max %v", lags[len(lags)/2], lags[len(lags)-1])
	if lags[len(lags)/2] > time.Second {
		t.Fatalf("median lag %v", lags[len(lags)/2])
	}
}

// TestFeedBatches: a backlog comes in batches of at most feedBatch, in the order written;
// a batch whose handler fails leaves the checkpoint where it was, and comes again.
func TestFeedBatches(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "recordings.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	account := randomHex(16)
	f := startFeed(t, s, "feeds", "batches", nil)
	waitStarted(t, s, "feeds", "batches")
	f.stop(t)
	start := checkpointOf(t, s, "feeds", "batches")

	const n = 2*feedBatch + 50
	var ids []string
	var lastRev string
	for i := range n {
		doc := recordingDoc(fmt.Sprintf("%s-%032d", testMonth, i), created(testMonth, int64(i)), nil)
		lastRev = mustPutRecording(t, s, account, doc)
		ids = append(ids, doc.ID())
	}
	// A failing handler: its first batch is not checkpointed.
	boom := errors.New("boom")
	h := startFeed(t, s, "feeds", "batches", boom)
	select {
	case err := <-h.done:
		if !errors.Is(err, boom) {
			t.Fatalf("FollowChanges after its handler failed: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("FollowChanges did not stop after its handler failed")
	}
	if got := checkpointOf(t, s, "feeds", "batches"); got != start {
		t.Fatalf("checkpoint %d after a failed batch, want %d", got, start)
	}

	g := startFeed(t, s, "feeds", "batches", nil)
	g.waitFor(t, ids[n-1], lastRev)
	g.stop(t)
	g.mu.Lock()
	sizes := []int{}
	for _, b := range g.batches {
		sizes = append(sizes, len(b))
		if len(b) > feedBatch {
			t.Errorf("a batch of %d", len(b))
		}
	}
	g.mu.Unlock()
	var got []string
	for _, c := range g.changes() {
		got = append(got, c.ID)
	}
	if strings.Join(got, ",") != strings.Join(ids, ",") {
		t.Fatalf("delivered %d changes in batches of %v, want the %d written in order", len(got), sizes, n)
	}
	if got := checkpointOf(t, s, "feeds", "batches"); got != start+n {
		t.Fatalf("checkpoint %d, want %d", got, start+n)
	}
}

// TestFeedForeignCheckpoint: a checkpoint this log did not write (another file's, or one
// ahead of the log) counts as none: the feed starts at the present.
func TestFeedForeignCheckpoint(t *testing.T) {
	s, _ := openTemp(t)
	ctx := testContext(t)
	account := randomHex(16)
	mustPutRecording(t, s, account, recordingDoc(newRecordingID(testMonth), created(testMonth, 1), nil))
	var id string
	if err := s.db.View(func(tx *bolt.Tx) error { id = changeLogID(tx); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(id) != 32 {
		t.Fatalf("change log id %q", id)
	}
	for name, cp := range map[string]recording.Doc{
		"other-log": {"seq": 0, "change_log": randomHex(16)},
		"ahead":     {"seq": 1000, "change_log": id},
		"no-seq":    {"change_log": id},
	} {
		cp["_id"] = name
		if _, err := s.PutSystemDoc(ctx, "feeds", cp); err != nil {
			t.Fatal(err)
		}
		f := startFeed(t, s, "feeds", name, nil)
		waitCheckpoint(t, s, "feeds", name, logSequence(t, s)) // the present
		doc := recordingDoc(newRecordingID(testMonth), created(testMonth, 2), nil)
		f.waitFor(t, doc.ID(), mustPutRecording(t, s, account, doc))
		f.stop(t)
		if n := len(f.changes()); n != 1 {
			t.Fatalf("%s: %d changes delivered, want the one written after the start", name, n)
		}
	}
}

// TestFeedStoreClosed: a feed cannot start on a closed store, and one waiting returns
// EUnavailable promptly when the store closes.
func TestFeedStoreClosed(t *testing.T) {
	s, _ := openTemp(t)
	s.feedTick = time.Hour
	f := startFeed(t, s, "feeds", "closing", nil)
	waitStarted(t, s, "feeds", "closing")
	time.Sleep(20 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-f.done:
		wantCode(t, "FollowChanges when the store closed", err, recording.EUnavailable)
	case <-time.After(5 * time.Second):
		t.Fatal("FollowChanges did not return when the store closed")
	}
	err := s.FollowChanges(context.Background(), "feeds", "closing", func(context.Context, []recording.Change) error { return nil })
	wantCode(t, "FollowChanges on a closed store", err, recording.EUnavailable)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.FollowChanges(ctx, "feeds", "closing", nil); err != nil {
		t.Fatalf("FollowChanges with an ended context: %v", err)
	}
}

// TestFeedBadNames: the checkpoint's database and name are checked as every system write's.
func TestFeedBadNames(t *testing.T) {
	s, _ := openTemp(t)
	ctx := testContext(t)
	handle := func(context.Context, []recording.Change) error { return nil }
	wantCode(t, "a bad database", s.FollowChanges(ctx, "Not A DB", "x", handle), recording.EInvalid)
	wantCode(t, "a reserved id", s.FollowChanges(ctx, "feeds", "_local/x", handle), recording.EInvalid)
	wantCode(t, "no id", s.FollowChanges(ctx, "feeds", "", handle), recording.EInvalid)
}
