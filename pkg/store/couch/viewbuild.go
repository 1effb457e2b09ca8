package couch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/recordingsd/recordingsd/couchviews"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// IndexBuilder installs design documents in month databases and builds their indexes ahead
// of the reads that would otherwise wait for them (`recordingsd views build`). It is safe
// for concurrent use.
type IndexBuilder struct {
	store   *Store
	designs []builtDesign
	// long shares the store's transport settings but has no response deadline: a view
	// query answers only once its index is built, minutes later for a big month database.
	long *http.Client
	// checkEvery is how often a build's index info is read while its query waits.
	checkEvery time.Duration
}

// indexCheckEvery is IndexBuilder.checkEvery: often enough that a query CouchDB forgot to
// release ends soon after its index is built, rarely enough to cost nothing.
const indexCheckEvery = 5 * time.Second

// builtDesign is one design document to build, with the view whose query builds it: every
// view of a design document shares one index, so querying any one builds them all.
type builtDesign struct {
	design *couchviews.Design
	view   string // "" when the design document has no views: nothing to build
	cache  *designCache
}

// NewIndexBuilder builds the indexes of designs in the store's month databases, in order.
func NewIndexBuilder(store *Store, designs ...*couchviews.Design) *IndexBuilder {
	transport := store.http.Transport.(*http.Transport).Clone()
	transport.ResponseHeaderTimeout = 0
	b := &IndexBuilder{store: store, long: &http.Client{Transport: transport}, checkEvery: indexCheckEvery}
	for _, d := range designs {
		b.designs = append(b.designs, builtDesign{design: d, view: firstView(d), cache: &designCache{installed: map[string]bool{}}})
	}
	return b
}

// Designs lists the _ids of the design documents built.
func (b *IndexBuilder) Designs() []string {
	ids := make([]string, len(b.designs))
	for i, d := range b.designs {
		ids[i] = d.design.ID()
	}
	return ids
}

// Close releases the builder's idle connections.
func (b *IndexBuilder) Close() { b.long.CloseIdleConnections() }

// firstView names the design document's first view in sorted order, whatever views it has.
func firstView(d *couchviews.Design) string {
	views, _ := d.Doc()["views"].(map[string]any)
	names := make([]string, 0, len(views))
	for name := range views {
		names = append(names, name)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return ""
	}
	return names[0]
}

// IndexWork is what building the indexes of one month database involves.
type IndexWork struct {
	// Changes the indexes have to read: every change of the database for an index that
	// starts from scratch, what its index info says is pending otherwise.
	Changes int64
	// Known is false when the server does not say (pouchdb-server has neither figure).
	Known bool
	// Current is true when every design document is installed and current: then, with no
	// changes pending, there is nothing to do.
	Current bool
	// ByDesign splits Changes by design document _id.
	ByDesign map[string]int64
}

// Pending estimates the work of building db's indexes, without changing anything. A design
// document missing, or whose views differ from ours, means an index from scratch: CouchDB
// keys an index by its views, so an outdated copy with the same views keeps its index.
// ENotFound when the database does not exist.
func (b *IndexBuilder) Pending(ctx context.Context, db recording.MonthDB) (IndexWork, error) {
	dbName, err := recording.MonthDatabase(db.AccountID, db.Month)
	if err != nil {
		return IndexWork{}, err
	}
	ctx, cancel := b.store.bounded(ctx)
	defer cancel()
	var info struct {
		UpdateSeq json.RawMessage `json:"update_seq"`
	}
	if err := b.store.getJSON(ctx, []string{dbName}, &info); err != nil {
		return IndexWork{}, couchError(err, "month database", dbName)
	}
	changes, changesKnown := seqNumber(info.UpdateSeq)
	work := IndexWork{Known: true, Current: true, ByDesign: map[string]int64{}}
	for _, d := range b.designs {
		installed, err := b.store.readDoc(ctx, dbName, d.design.ID())
		if err != nil && !isStatus(err, http.StatusNotFound) {
			return IndexWork{}, couchError(err, d.design.Name()+" index", dbName)
		}
		work.Current = work.Current && d.design.IsCurrent(installed)
		if d.view == "" {
			continue
		}
		if installed == nil || !sameIndex(installed, d.design.Doc()) {
			work.Changes += changes
			work.ByDesign[d.design.ID()] = changes
			work.Known = work.Known && changesKnown
			continue
		}
		n, ok, err := b.store.indexPending(ctx, dbName, d.design)
		if err != nil {
			return IndexWork{}, err
		}
		work.Changes += n
		work.ByDesign[d.design.ID()] = n
		work.Known = work.Known && ok
	}
	return work, nil
}

// sameIndex reports whether two copies of a design document define the same index: the
// fields CouchDB derives an index's signature from.
func sameIndex(a, b map[string]any) bool {
	for _, field := range []string{"language", "views", "options"} {
		if !reflect.DeepEqual(a[field], b[field]) {
			return false
		}
	}
	return true
}

// Build installs the design documents in db where they are missing or outdated and waits
// until CouchDB has built their indexes, one design document after the other. An index
// already built answers at once. When ctx ends first, the wait ends; CouchDB goes on building
// what it started, so calling Build again later resumes where it got to. ENotFound when the
// database does not exist.
func (b *IndexBuilder) Build(ctx context.Context, db recording.MonthDB) error {
	dbName, err := recording.MonthDatabase(db.AccountID, db.Month)
	if err != nil {
		return err
	}
	// All installed first: a design document is a change too, which would leave the indexes
	// built before it one change behind.
	for _, d := range b.designs {
		if err := b.install(ctx, dbName, d); err != nil {
			return err
		}
	}
	for _, d := range b.designs {
		if d.view == "" {
			continue
		}
		if err := b.query(ctx, dbName, d); err != nil {
			return couchError(err, d.design.Name()+" index", dbName)
		}
		if err := b.untilEveryCopyBuilt(ctx, dbName, d); err != nil {
			return err
		}
	}
	return nil
}

// untilEveryCopyBuilt waits until the index info has nothing pending. On a cluster a query
// builds only the shard copies it reads; a listing may read any, so the others are asked for
// by querying again (each query picks its copies anew) until every copy is built.
func (b *IndexBuilder) untilEveryCopyBuilt(ctx context.Context, dbName string, d builtDesign) error {
	for {
		infoCtx, cancel := b.store.bounded(ctx)
		pending, known, err := b.store.indexPending(infoCtx, dbName, d.design)
		cancel()
		if err != nil || !known || pending == 0 {
			return nil // built, or the server cannot say: the query that answered is all we have
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(b.checkEvery):
		}
		if err := b.query(ctx, dbName, d); err != nil {
			return couchError(err, d.design.Name()+" index", dbName)
		}
	}
}

func (b *IndexBuilder) install(ctx context.Context, dbName string, d builtDesign) error {
	ctx, cancel := b.store.bounded(ctx)
	defer cancel()
	return b.store.ensureDesignDoc(ctx, dbName, d.design, d.cache, d.design.Name()+" index")
}

// serverTimeoutPause spaces the questions to a server that keeps answering "timeout".
const serverTimeoutPause = time.Second

// query reads no rows of the design's first view: CouchDB answers once the index is built.
// It may keep us waiting longer: it gives up on its side after fabric's request_timeout
// (60 s by default) with a 500 "timeout" while the build goes on, and a query that arrived
// during a run some earlier, abandoned query started is not always released when the index
// is done (until that timeout: seen with CouchDB 3.4.3). Either way it is asked again: after
// the timeout, or once the index info says nothing is pending.
func (b *IndexBuilder) query(ctx context.Context, dbName string, d builtDesign) error {
	for {
		built, err := b.queryUntilBuilt(ctx, dbName, d)
		if built {
			continue // a fresh query answers at once
		}
		var se *statusError
		if !errors.As(err, &se) || se.Status != http.StatusInternalServerError || se.Kind != "timeout" {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(serverTimeoutPause):
		}
	}
}

// queryUntilBuilt runs one query; built is true when it was given up because the index
// info says the index has nothing pending while the query still waits.
func (b *IndexBuilder) queryUntilBuilt(ctx context.Context, dbName string, d builtDesign) (built bool, err error) {
	queryCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- b.queryOnce(queryCtx, dbName, d) }()
	check := time.NewTicker(b.checkEvery)
	defer check.Stop()
	for {
		select {
		case err := <-done:
			return false, err
		case <-check.C:
			infoCtx, cancelInfo := b.store.bounded(ctx)
			pending, known, err := b.store.indexPending(infoCtx, dbName, d.design)
			cancelInfo()
			if err == nil && known && pending == 0 {
				cancel()
				<-done
				return true, nil
			}
		}
	}
}

func (b *IndexBuilder) queryOnce(ctx context.Context, dbName string, d builtDesign) error {
	req, err := b.store.newRequest(ctx, http.MethodGet, []string{dbName, "_design", d.design.Name(), "_view", d.view},
		url.Values{"limit": {"0"}}, http.Header{"Accept": {"application/json"}}, nil)
	if err != nil {
		return err
	}
	resp, err := b.long.Do(req)
	if err != nil {
		return err
	}
	defer drainClose(resp.Body)
	return statusErr(resp)
}

// indexPending reads the design document's index info: the changes its index has still to
// read. false when the server does not say (pouchdb-server answers "Not implemented.").
func (s *Store) indexPending(ctx context.Context, dbName string, design *couchviews.Design) (int64, bool, error) {
	var info struct {
		ViewIndex json.RawMessage `json:"view_index"`
	}
	if err := s.getJSON(ctx, []string{dbName, "_design", design.Name(), "_info"}, &info); err != nil {
		return 0, false, couchError(err, design.Name()+" index", dbName)
	}
	var index struct {
		UpdatesPending *struct {
			Total int64 `json:"total"`
		} `json:"updates_pending"`
	}
	if json.Unmarshal(info.ViewIndex, &index) != nil || index.UpdatesPending == nil {
		return 0, false, nil
	}
	return index.UpdatesPending.Total, true, nil
}

// getJSON reads one JSON answer into v.
func (s *Store) getJSON(ctx context.Context, segments []string, v any) error {
	resp, err := s.doOK(ctx, http.MethodGet, segments, nil, http.Header{"Accept": {"application/json"}}, nil)
	if err != nil {
		return err
	}
	defer drainClose(resp.Body)
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("decode %s: %w", strings.Join(segments, "/"), err)
	}
	return nil
}

// seqNumber reads the count of changes in an update_seq: a number (pouchdb-server, CouchDB
// 1) or CouchDB 2+'s "N-opaque", where N sums the shards' sequences.
func seqNumber(raw json.RawMessage) (int64, bool) {
	var n int64
	if json.Unmarshal(raw, &n) == nil {
		return n, true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return 0, false
	}
	prefix, _, _ := strings.Cut(s, "-")
	n, err := strconv.ParseInt(prefix, 10, 64)
	return n, err == nil
}
