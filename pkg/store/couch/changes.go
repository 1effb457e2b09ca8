package couch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// The change feed (recording.ChangeFeed) combines two of CouchDB's feeds:
//
//   - GET /_db_updates (server-wide, server admins only, kept in the _global_changes
//     database) says which databases moved: one row per database however many writes it
//     took, about 0.2 s (one node) to 0.5 s (cluster) after the write. It is followed with
//     feed=longpoll from the sequence the feed saved; rows of databases that are not month
//     databases are ignored.
//   - each month database that moved is then read with its own _changes, from the sequence
//     saved for it, filtered on the server by a Mango selector (filter=_selector) and with
//     the documents (include_docs=true), a page of changesPageSize at a time, until pending
//     is 0. The selector takes call_recording documents and deletions: a hard delete leaves
//     a tombstone without pvt_type, which {"pvt_type": "call_recording"} alone drops.
//
// Checkpoints are documents of the system database the caller names (created when missing):
//
//   - changes:<name>, the feed's: the _db_updates sequence (db_updates_seq) every month
//     database named up to which has been read, and the feed's first start (first_start,
//     gregorian seconds);
//   - changes:<name>:<month database>, one per month database: its _changes sequence (seq),
//     and while its history before the first start is still being skipped, min_modified.
//
// Sequences are stored as CouchDB gave them (opaque strings on a cluster), never compared.
// A month database's checkpoint is saved once handle returned nil for the batch read from it
// (pages that delivered nothing are saved with the feed's checkpoint, at the end of the
// round), and the feed's checkpoint once every month database its rows named has been read
// to its end: a crash replays, never skips. A database created again under the same name
// makes CouchDB read it from its start (its sequences carry the old one's identity), and a
// database found deleted loses its checkpoint document.
//
// First start (no feed checkpoint): _db_updates from "now", T0 = now. A month database with
// no checkpoint of its own is read from its beginning, delivering what was modified from
// T0 - firstStartMargin on (pvt_modified), documents without pvt_modified, and deletions:
// without listing every database (_all_dbs) there is no other way to know where a month
// database stood at T0.
//
// Errors: a CouchDB that cannot be reached, answers 5xx, or times out is retried with a
// backoff (feedBackoffMin doubling to feedBackoffMax) for up to Config.FeedRetryFor of
// consecutive failures, then FollowChanges returns EUnavailable; a server without
// _db_updates (no _global_changes database, not a server admin, pouchdb-server) is
// EUnavailable at once. The caller decides whether to start the feed again.

var _ recording.ChangeFeed = (*Store)(nil)

const (
	// changesPageSize is the limit of one _changes request (matching rows).
	changesPageSize = 200
	// changesPagesPerRound bounds the pages read from one database before the others get
	// their turn: a database not read to its end comes back in the next round.
	changesPagesPerRound = 10
	// dbUpdatesPageSize is the limit of one _db_updates request (databases).
	dbUpdatesPageSize = 500
	// dbUpdatesWait is how long a longpoll on _db_updates waits for something to happen.
	dbUpdatesWait = 25 * time.Second
	// changesReadTimeout bounds one _changes request: filtering a big month database from
	// its start may take CouchDB a while before the first matching row.
	changesReadTimeout = 2 * time.Minute
	// firstStartMargin is how far before the first start pvt_modified may be (clock skew,
	// writes racing the start) for a document to be delivered.
	firstStartMargin = 5 * time.Minute
	// feedSaveEvery bounds how long the feed's sequence goes unsaved while only databases
	// other than month databases move.
	feedSaveEvery = time.Minute
	// checkpointSaveTimeout bounds saving the checkpoint of a batch handled, which goes on
	// when ctx ends meanwhile: the batch was handled, its checkpoint should not be lost.
	checkpointSaveTimeout = 5 * time.Second
	// maxFeedCheckpoints bounds the month database checkpoints kept in memory between
	// rounds; past it, the saved ones are forgotten (and read again when needed).
	maxFeedCheckpoints = 10000

	feedBackoffMin = 200 * time.Millisecond
	feedBackoffMax = 5 * time.Second

	feedDocType   = "change_feed"
	feedDBDocType = "change_feed_database"
)

// recordingsAndDeletions is the _changes selector: call_recording documents, and deletions
// (whose tombstones have no pvt_type).
var recordingsAndDeletions = []byte(`{"selector":{"$or":[{"pvt_type":"` + recording.TypeCallRecording + `"},{"_deleted":true}]}}`)

// FollowChanges follows the call_recording documents of every account's month databases
// (see the comment at the top of this file).
func (s *Store) FollowChanges(ctx context.Context, db, name string, handle func(ctx context.Context, batch []recording.Change) error) error {
	switch {
	case !recording.ValidSystemDB(db):
		return recording.Errorf(recording.EInvalid, "%q is not a system database name", db)
	case name == "":
		return recording.Errorf(recording.EInvalid, "a change feed needs a name")
	case handle == nil:
		return recording.Errorf(recording.EInvalid, "a change feed needs a handler")
	}
	// Long requests (a longpoll, a _changes read filtering a big database) go through a client
	// of their own without the response header deadline; contexts bound them instead.
	transport := s.http.Transport.(*http.Transport).Clone()
	transport.ResponseHeaderTimeout = 0
	long := &http.Client{Transport: transport}
	defer long.CloseIdleConnections()

	f := &feed{
		s: s, db: db, name: name, handle: handle, long: long,
		log:        s.logger.With(zap.String("feed", name), zap.String("checkpoint_db", db)),
		dbs:        map[string]*dbCheckpoint{},
		unfinished: map[string]bool{},
	}
	err := f.run(ctx)
	var he *handlerError
	if errors.As(err, &he) {
		if ctx.Err() != nil && errors.Is(he.err, ctx.Err()) {
			return nil // the handler saw ctx end
		}
		return he.err
	}
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		f.log.Warn("change feed stopped", zap.Error(err))
	}
	return err
}

// handlerError carries what handle returned, to be returned as it is.
type handlerError struct{ err error }

func (e *handlerError) Error() string { return "change handler: " + e.err.Error() }
func (e *handlerError) Unwrap() error { return e.err }

// feed is one run of FollowChanges.
type feed struct {
	s      *Store
	db     string
	name   string
	handle func(ctx context.Context, batch []recording.Change) error
	long   *http.Client
	log    *zap.Logger

	handleMu sync.Mutex // handle is called by one database reader at a time

	// The feed's checkpoint: the _db_updates sequence, its first start (gregorian), the
	// revision of its document.
	seq     string
	t0      int64
	feedRev string

	mu  sync.Mutex // guards dbs (readers of different databases add to it)
	dbs map[string]*dbCheckpoint

	// unfinished are month databases a round left before their end (changesPagesPerRound);
	// heldSeq is the _db_updates sequence saved meanwhile: the one before the round that
	// first left one of them, so that after a crash _db_updates names them again.
	unfinished map[string]bool
	heldSeq    string
}

// dbCheckpoint is where the feed stands in one month database. Only the reader of that
// database touches it during a round.
type dbCheckpoint struct {
	seq         string // "" before the first read: from the beginning
	minModified int64  // > 0 while changes before the first start are skipped
	rev         string // of its document; "" when there is none
	dirty       bool   // seq or minModified differ from the saved document
	gone        bool   // the database no longer exists: the document goes
}

func (f *feed) feedID() string                      { return "changes:" + f.name }
func (f *feed) dbCheckpointID(dbName string) string { return "changes:" + f.name + ":" + dbName }

// run starts or resumes the feed, then reads one round after another: a _db_updates page,
// the month databases it names, the checkpoints.
func (f *feed) run(ctx context.Context) error {
	if err := f.start(ctx); err != nil {
		return err
	}
	savedSeq, savedAt := f.seq, time.Now()
	for ctx.Err() == nil {
		roundStart := f.seq
		var page dbUpdatesPage
		wait := len(f.unfinished) == 0 // work left: do not wait for news
		err := f.retry(ctx, "follow /_db_updates", func() (err error) {
			page, err = f.dbUpdates(ctx, f.seq, wait)
			return err
		})
		if err != nil {
			return dbUpdatesError(err)
		}
		names, created := f.monthDatabases(page.rows)
		if len(names) > 0 {
			if err := f.readAll(ctx, names, created); err != nil {
				return err
			}
		}
		if page.lastSeq != "" {
			f.seq = page.lastSeq
		}
		if len(f.unfinished) == 0 {
			f.heldSeq = ""
		} else if f.heldSeq == "" {
			f.heldSeq = roundStart
		}
		save := f.savedSeq()
		// After rows of other databases only, the sequence is saved now and then, not each
		// time: saving writes into f.db, which _db_updates reports in turn.
		if len(names) > 0 || (save != savedSeq && time.Since(savedAt) >= feedSaveEvery) {
			if err := f.flush(ctx, save); err != nil {
				return err
			}
			savedSeq, savedAt = save, time.Now()
		}
	}
	return nil
}

// savedSeq is the _db_updates sequence the feed's checkpoint may say.
func (f *feed) savedSeq() string {
	if f.heldSeq != "" {
		return f.heldSeq
	}
	return f.seq
}

// start reads the feed's checkpoint, or makes it: _db_updates from now on.
func (f *feed) start(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		var res []recording.DocResult
		err := f.retry(ctx, "read the feed's checkpoint", func() (err error) {
			res, err = f.s.GetSystemDocs(ctx, f.db, []string{f.feedID()})
			return err
		})
		if err != nil {
			return err
		}
		if doc := res[0].Doc; res[0].Err == nil {
			seq := doc.String("db_updates_seq")
			t0, ok := doc.Int("first_start")
			if seq == "" || !ok {
				return recording.Errorf(recording.EInternal, "the change feed's checkpoint %s in %s has no db_updates_seq or first_start", f.feedID(), f.db)
			}
			f.seq, f.t0, f.feedRev = seq, t0, doc.Rev()
			f.log.Info("change feed resumes", zap.String("db_updates_seq", seq), zap.Time("first_start", recording.FromGregorian(t0)))
			return nil
		}
		if !recording.IsNotFound(res[0].Err) {
			return res[0].Err
		}
		f.t0 = recording.ToGregorian(time.Now())
		err = f.retry(ctx, "ask /_db_updates where it stands", func() (err error) {
			f.seq, err = f.dbUpdatesNow(ctx)
			return err
		})
		if err != nil {
			return dbUpdatesError(err)
		}
		err = f.flush(ctx, f.seq)
		if recording.IsConflict(err) && attempt == 0 {
			continue // started meanwhile by someone else: resume from theirs
		}
		if err == nil {
			f.log.Info("change feed starts at the present", zap.String("db_updates_seq", f.seq))
		}
		return err
	}
}

// dbUpdatesPage is one answer of _db_updates.
type dbUpdatesPage struct {
	rows    []dbUpdate
	lastSeq string
}

type dbUpdate struct {
	DBName string `json:"db_name"`
	Type   string `json:"type"`
}

// dbUpdatesNow asks _db_updates for the sequence it stands at.
func (f *feed) dbUpdatesNow(ctx context.Context) (string, error) {
	page, err := f.getDBUpdates(ctx, url.Values{"since": {"now"}}, f.s.cfg.RequestTimeout)
	if err != nil {
		return "", err
	}
	if page.lastSeq == "" {
		return "", fmt.Errorf("/_db_updates?since=now answered no last_seq")
	}
	return page.lastSeq, nil
}

// dbUpdates reads the databases that moved after since; with wait, it waits (longpoll) up
// to dbUpdatesWait for one to.
func (f *feed) dbUpdates(ctx context.Context, since string, wait bool) (dbUpdatesPage, error) {
	q := url.Values{"since": {since}, "limit": {strconv.Itoa(dbUpdatesPageSize)}}
	timeout := f.s.cfg.RequestTimeout
	if wait {
		q.Set("feed", "longpoll")
		q.Set("timeout", strconv.FormatInt(dbUpdatesWait.Milliseconds(), 10))
		timeout += dbUpdatesWait
	}
	return f.getDBUpdates(ctx, q, timeout)
}

func (f *feed) getDBUpdates(ctx context.Context, q url.Values, timeout time.Duration) (dbUpdatesPage, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := f.send(ctx, http.MethodGet, []string{"_db_updates"}, q, nil)
	if err != nil {
		return dbUpdatesPage{}, err
	}
	defer drainClose(resp.Body)
	var answer struct {
		Results []dbUpdate      `json:"results"`
		LastSeq json.RawMessage `json:"last_seq"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return dbUpdatesPage{}, fmt.Errorf("decode /_db_updates answer: %w", err)
	}
	return dbUpdatesPage{rows: answer.Results, lastSeq: seqString(answer.LastSeq)}, nil
}

// dbUpdatesError explains what a server without a usable _db_updates lacks.
func dbUpdatesError(err error) error {
	var already *recording.Error
	if errors.As(err, &already) {
		return err
	}
	switch httpStatus(err) {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
		http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return recording.Wrap(recording.EUnavailable, fmt.Errorf("/_db_updates: %w", err),
			"following changes needs CouchDB's /_db_updates: a server admin, and the _global_changes database")
	}
	return couchError(err, "database updates", "/_db_updates")
}

// send makes one request through the feed's client, answered 2xx (else a *statusError).
func (f *feed) send(ctx context.Context, method string, segments []string, q url.Values, body []byte) (*http.Response, error) {
	header := http.Header{"Accept": {"application/json"}}
	var r io.Reader
	if body != nil {
		header.Set("Content-Type", "application/json")
		r = bytes.NewReader(body)
	}
	req, err := f.s.newRequest(ctx, method, segments, q, header, r)
	if err != nil {
		return nil, err
	}
	resp, err := f.long.Do(req)
	if err != nil {
		return nil, err
	}
	if err := statusErr(resp); err != nil {
		drainClose(resp.Body)
		return nil, err
	}
	return resp, nil
}

// monthDatabases are the month databases among rows, each once, with the unfinished ones
// of the last round. A name counts only as CouchDB spells month databases (with slashes).
func (f *feed) monthDatabases(rows []dbUpdate) (names []string, created map[string]bool) {
	seen := map[string]bool{}
	for name := range f.unfinished {
		seen[name] = true
		names = append(names, name)
	}
	for _, r := range rows {
		md, ok := recording.ParseMonthDB(r.DBName)
		if !ok || md.Name() != r.DBName {
			continue
		}
		if r.Type == "created" {
			// created after the feed's position: everything in it is new (_db_updates lags
			// by up to half a second, so one created just before a first start counts too)
			if created == nil {
				created = map[string]bool{}
			}
			created[r.DBName] = true
		}
		if seen[r.DBName] {
			continue
		}
		seen[r.DBName] = true
		names = append(names, r.DBName)
	}
	return names, created
}

// readAll reads the month databases names, FeedParallel at a time, and returns the first
// error (a handler's, or one that retrying did not cure), once every reader has stopped.
func (f *feed) readAll(parent context.Context, names []string, created map[string]bool) error {
	if err := f.loadCheckpoints(parent, names, created); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var (
		wg       sync.WaitGroup
		errMu    sync.Mutex
		firstErr error
	)
	sem := make(chan struct{}, f.s.cfg.FeedParallel)
	finished := make([]bool, len(names))
spawn:
	for i, name := range names {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break spawn
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			done, err := f.readDB(ctx, name)
			finished[i] = done
			if err != nil {
				errMu.Lock()
				if firstErr == nil {
					firstErr = err
					cancel()
				}
				errMu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := parent.Err(); err != nil {
		return err
	}
	for i, name := range names {
		if finished[i] {
			delete(f.unfinished, name)
		} else {
			f.unfinished[name] = true
		}
	}
	return nil
}

// loadCheckpoints reads the checkpoints of the databases among names this run does not know
// yet; a database without one is read from its beginning, skipping what was modified before
// the first start, unless _db_updates said it was created since (then all of it is new).
func (f *feed) loadCheckpoints(ctx context.Context, names []string, created map[string]bool) error {
	f.mu.Lock()
	if len(f.dbs) > maxFeedCheckpoints {
		for name, cp := range f.dbs {
			if !cp.dirty && !cp.gone {
				delete(f.dbs, name)
			}
		}
	}
	var ids []string
	for _, name := range names {
		if _, ok := f.dbs[name]; !ok {
			ids = append(ids, f.dbCheckpointID(name))
		}
	}
	f.mu.Unlock()
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 200)]
		ids = ids[len(chunk):]
		var res []recording.DocResult
		err := f.retry(ctx, "read checkpoints", func() (err error) {
			res, err = f.s.GetSystemDocs(ctx, f.db, chunk)
			return err
		})
		if err != nil {
			return err
		}
		f.mu.Lock()
		for i, r := range res {
			name := strings.TrimPrefix(chunk[i], f.dbCheckpointID(""))
			cp := &dbCheckpoint{minModified: f.t0 - int64(firstStartMargin/time.Second)}
			if created[name] {
				cp.minModified = 0
			}
			switch {
			case r.Err == nil:
				cp.seq, cp.rev = r.Doc.String("seq"), r.Doc.Rev()
				cp.minModified, _ = r.Doc.Int("min_modified")
			case !recording.IsNotFound(r.Err):
				f.mu.Unlock()
				return r.Err
			}
			f.dbs[name] = cp
		}
		f.mu.Unlock()
	}
	return nil
}

func (f *feed) checkpoint(name string) *dbCheckpoint {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dbs[name]
}

// readDB reads a month database's changes from its checkpoint until pending is 0, handing
// each page's recordings to handle and saving the checkpoint after it; done is false when
// it stopped at changesPagesPerRound pages.
func (f *feed) readDB(ctx context.Context, name string) (done bool, err error) {
	md, _ := recording.ParseMonthDB(name)
	cp := f.checkpoint(name)
	for range changesPagesPerRound {
		var page changesPage
		err := f.retry(ctx, "read the changes of "+name, func() (err error) {
			page, err = f.changes(ctx, name, cp.seq)
			return err
		})
		if isStatus(err, http.StatusNotFound) {
			cp.gone = cp.rev != ""
			cp.seq, cp.dirty = "", false
			return true, nil // deleted; when it comes again, it is read from its start
		}
		if err != nil {
			return false, couchError(err, "changes", name)
		}
		cp.gone = false
		batch, err := f.batch(md.AccountID, cp.minModified, page.rows)
		if err != nil {
			return false, couchError(err, "changes", name)
		}
		next := page.lastSeq
		if next == "" {
			next = cp.seq
		}
		caughtUp := page.pending == 0 || next == cp.seq
		if len(batch) > 0 {
			if err := f.deliver(ctx, batch); err != nil {
				return false, err
			}
		}
		if next != cp.seq || (caughtUp && cp.minModified != 0) {
			cp.seq, cp.dirty = next, true
			if caughtUp {
				cp.minModified = 0 // its history is behind: from now on, everything counts
			}
		}
		if len(batch) > 0 && cp.dirty {
			if err := f.saveCheckpoints(ctx, []string{name}, "", true); err != nil {
				return false, err
			}
		}
		if caughtUp {
			return true, nil
		}
	}
	return false, nil
}

// deliver hands a batch to handle, one batch at a time.
func (f *feed) deliver(ctx context.Context, batch []recording.Change) error {
	f.handleMu.Lock()
	defer f.handleMu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := f.handle(ctx, batch); err != nil {
		return &handlerError{err: err}
	}
	return nil
}

// changesPage is one answer of a month database's _changes.
type changesPage struct {
	rows    []changeRow
	lastSeq string
	pending int64
}

type changeRow struct {
	ID      string `json:"id"`
	Changes []struct {
		Rev string `json:"rev"`
	} `json:"changes"`
	Deleted bool            `json:"deleted"`
	Doc     json.RawMessage `json:"doc"`
}

// changes reads one page of a month database's recordings and deletions after since.
func (f *feed) changes(ctx context.Context, dbName, since string) (changesPage, error) {
	if since == "" {
		since = "0"
	}
	ctx, cancel := context.WithTimeout(ctx, max(changesReadTimeout, f.s.cfg.RequestTimeout))
	defer cancel()
	q := url.Values{
		"filter":       {"_selector"},
		"include_docs": {"true"},
		"since":        {since},
		"limit":        {strconv.Itoa(changesPageSize)},
		// Only last_seq is used: a cluster need not work out every row's sequence.
		"seq_interval": {strconv.Itoa(changesPageSize)},
	}
	resp, err := f.send(ctx, http.MethodPost, []string{dbName, "_changes"}, q, recordingsAndDeletions)
	if err != nil {
		return changesPage{}, err
	}
	defer drainClose(resp.Body)
	var answer struct {
		Results []changeRow     `json:"results"`
		LastSeq json.RawMessage `json:"last_seq"`
		Pending int64           `json:"pending"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return changesPage{}, fmt.Errorf("decode _changes answer: %w", err)
	}
	return changesPage{rows: answer.Results, lastSeq: seqString(answer.LastSeq), pending: answer.Pending}, nil
}

// batch turns _changes rows into the changes delivered: recordings (modified from
// minModified on, when it is set, or saying no pvt_modified) and deletions, whose tombstone
// either has no body or one that was a recording.
func (f *feed) batch(accountID string, minModified int64, rows []changeRow) ([]recording.Change, error) {
	var out []recording.Change
	for _, r := range rows {
		if r.ID == "" || strings.HasPrefix(r.ID, "_") {
			continue // design documents
		}
		var doc recording.Doc
		if !isNull(r.Doc) {
			var err error
			if doc, err = recording.DecodeDoc(r.Doc); err != nil {
				return nil, fmt.Errorf("decode %s: %w", r.ID, err)
			}
		}
		rev := doc.Rev()
		if rev == "" && len(r.Changes) > 0 {
			rev = r.Changes[0].Rev
		}
		if r.Deleted {
			if t := doc.Type(); t != "" && t != recording.TypeCallRecording {
				continue // a tombstone that kept its body, of another type
			}
			out = append(out, recording.Change{AccountID: accountID, ID: r.ID, Rev: rev, Deleted: true, Doc: doc})
			continue
		}
		if doc == nil || doc.Type() != recording.TypeCallRecording {
			continue
		}
		if modified, ok := doc.Int("pvt_modified"); ok && minModified > 0 && modified < minModified {
			continue // from before the feed's first start
		}
		out = append(out, recording.Change{AccountID: accountID, ID: r.ID, Rev: rev, Doc: doc})
	}
	return out, nil
}

// flush saves the checkpoints of the month databases not saved yet, and the feed's with
// dbUpdatesSeq, in one request.
func (f *feed) flush(ctx context.Context, dbUpdatesSeq string) error {
	f.mu.Lock()
	var names []string
	for name, cp := range f.dbs {
		if cp.dirty || cp.gone {
			names = append(names, name)
		}
	}
	f.mu.Unlock()
	return f.saveCheckpoints(ctx, names, dbUpdatesSeq, false)
}

// saveCheckpoints writes the checkpoints of the month databases names, and with
// dbUpdatesSeq != "" the feed's, in one _bulk_docs. A checkpoint written meanwhile by
// another run of the same feed (a conflict) is written over. The checkpoint of a batch
// handled goes on when ctx ends meanwhile (for checkpointSaveTimeout, without retrying then),
// so that a shutdown right after a batch does not deliver it again; others (whose loss costs
// a read again, not a delivery) stop with ctx.
func (f *feed) saveCheckpoints(ctx context.Context, names []string, dbUpdatesSeq string, handled bool) error {
	now := recording.ToGregorian(time.Now())
	var docs []recording.Doc
	for _, name := range names {
		cp := f.checkpoint(name)
		doc := recording.Doc{"_id": f.dbCheckpointID(name)}
		if cp.gone {
			doc["_deleted"] = true
		} else {
			doc["pvt_type"], doc["feed"], doc["database"], doc["seq"], doc["pvt_modified"] = feedDBDocType, f.name, name, cp.seq, now
			if cp.minModified > 0 {
				doc["min_modified"] = cp.minModified
			}
		}
		if cp.rev != "" {
			doc["_rev"] = cp.rev
		}
		docs = append(docs, doc)
	}
	if dbUpdatesSeq != "" {
		doc := recording.Doc{"_id": f.feedID(), "pvt_type": feedDocType, "feed": f.name,
			"db_updates_seq": dbUpdatesSeq, "first_start": f.t0, "pvt_modified": now}
		if f.feedRev != "" {
			doc["_rev"] = f.feedRev
		}
		docs = append(docs, doc)
	}
	if len(docs) == 0 {
		return nil
	}
	revs, err := f.saveDocs(ctx, docs, dbUpdatesSeq == "" || f.feedRev != "", handled)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, name := range names {
		cp := f.dbs[name]
		if cp.gone {
			delete(f.dbs, name)
			continue
		}
		cp.rev, cp.dirty = revs[i], false
	}
	if dbUpdatesSeq != "" {
		f.feedRev = revs[len(revs)-1]
	}
	return nil
}

// saveDocs writes docs, each over the revision it names; on a conflict, over the current
// one (overwriteFeed false: the feed's document, last, is then EConflict, for start). With
// detached, its requests outlive ctx (see saveCheckpoints).
func (f *feed) saveDocs(ctx context.Context, docs []recording.Doc, overwriteFeed, detached bool) ([]string, error) {
	requestContext := func() (context.Context, context.CancelFunc) {
		if detached {
			return context.WithTimeout(context.WithoutCancel(ctx), checkpointSaveTimeout)
		}
		return context.WithCancel(ctx)
	}
	revs := make([]string, len(docs))
	todo := make([]int, len(docs))
	for i := range docs {
		todo[i] = i
	}
	for attempt := 0; attempt < 3; attempt++ {
		send := make([]recording.Doc, len(todo))
		for k, i := range todo {
			send[k] = docs[i]
		}
		var res []recording.DocResult
		err := f.retry(ctx, "save checkpoints", func() (err error) {
			wctx, cancel := requestContext()
			defer cancel()
			res, err = f.s.SaveSystemDocs(wctx, f.db, send)
			return err
		})
		if err != nil {
			return nil, err
		}
		var conflicts []int
		for k, r := range res {
			i := todo[k]
			switch {
			case r.Err == nil:
				revs[i] = r.Rev
			case recording.IsConflict(r.Err):
				if i == len(docs)-1 && docs[i].ID() == f.feedID() && !overwriteFeed {
					return nil, r.Err
				}
				conflicts = append(conflicts, i)
			default:
				return nil, r.Err
			}
		}
		if len(conflicts) == 0 {
			return revs, nil
		}
		ids := make([]string, len(conflicts))
		for k, i := range conflicts {
			ids[k] = docs[i].ID()
		}
		var current []recording.DocResult
		err = f.retry(ctx, "read checkpoints", func() (err error) {
			rctx, cancel := requestContext()
			defer cancel()
			current, err = f.s.GetSystemDocs(rctx, f.db, ids)
			return err
		})
		if err != nil {
			return nil, err
		}
		todo = todo[:0]
		for k, i := range conflicts {
			doc := docs[i].Clone()
			delete(doc, "_rev")
			if current[k].Err == nil {
				doc["_rev"] = current[k].Doc.Rev()
			} else if doc["_deleted"] == true {
				continue // already gone
			}
			f.log.Warn("a checkpoint of this feed was written by someone else; writing over it", zap.String("id", docs[i].ID()))
			docs[i] = doc
			todo = append(todo, i)
		}
		if len(todo) == 0 {
			return revs, nil
		}
	}
	return nil, recording.Errorf(recording.EConflict, "checkpoints of change feed %s in %s keep conflicting", f.name, f.db)
}

// retry runs fn until it succeeds, fails in a way retrying cannot cure, or has failed for
// longer than Config.FeedRetryFor (then EUnavailable); it stops when ctx ends.
func (f *feed) retry(ctx context.Context, what string, fn func() error) error {
	wait := feedBackoffMin
	var failingSince time.Time
	for {
		err := fn()
		if err == nil || ctx.Err() != nil || !transient(err) {
			return err
		}
		if failingSince.IsZero() {
			failingSince = time.Now()
		} else if time.Since(failingSince) > f.s.cfg.FeedRetryFor {
			return recording.Wrap(recording.EUnavailable, fmt.Errorf("change feed: %s: failing for %v: %w", what, f.s.cfg.FeedRetryFor, err),
				"datastore unreachable")
		}
		f.log.Warn("change feed: CouchDB failed; retrying", zap.String("what", what), zap.Duration("in", wait), zap.Error(err))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, feedBackoffMax)
	}
}

// transient reports whether err may go away by itself: the server unreachable or failing
// (5xx, 408, 429), a request timed out or an answer cut short.
func transient(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	switch status := httpStatus(err); {
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests, status >= 500:
		return true
	}
	return false
}

// httpStatus is the HTTP status an error carries (ours or kivik's), 0 when none.
func httpStatus(err error) int {
	var withStatus interface{ HTTPStatus() int }
	if errors.As(err, &withStatus) {
		return withStatus.HTTPStatus()
	}
	return 0
}

// seqString keeps a sequence as CouchDB sent it: a string as is, a number (CouchDB 1,
// pouchdb-server) as its digits; "" for none.
func seqString(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}
