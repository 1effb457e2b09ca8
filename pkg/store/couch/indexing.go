package couch

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/recordingsd/recordingsd/couchviews"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// What CouchDB says about the indexes it is building (_active_tasks), and how a view read
// that meets one answers in time instead of waiting for the whole build.

// IndexKey names one index: a database and one of its design documents (_design/…).
type IndexKey struct {
	DB     string
	Design string
}

// IndexProgress is how far CouchDB is in updating one index, over all its shards: Done of
// Total changes read in the runs under way, at Rate changes per second (0: not known yet).
type IndexProgress struct {
	Done, Total int64
	Rate        float64
}

// Percent is Done over Total, 0..100.
func (p IndexProgress) Percent() int {
	if p.Total <= 0 {
		return 0
	}
	return int(min(100, p.Done*100/p.Total))
}

// ETA is the time left at the current rate; false when the rate is not known yet.
func (p IndexProgress) ETA() (time.Duration, bool) {
	if p.Rate <= 0 {
		return 0, false
	}
	left := float64(max(0, p.Total-p.Done))
	return time.Duration(left / p.Rate * float64(time.Second)), true
}

// activeTask is one entry of _active_tasks; type "indexer" is one shard copy of a database
// whose index of one design document is being updated.
type activeTask struct {
	Type           string `json:"type"`
	Node           string `json:"node"`
	Database       string `json:"database"` // shards/00000000-7fffffff/<db>.<created>
	DesignDocument string `json:"design_document"`
	ChangesDone    int64  `json:"changes_done"`
	TotalChanges   int64  `json:"total_changes"`
	StartedOn      int64  `json:"started_on"` // Unix seconds
	UpdatedOn      int64  `json:"updated_on"`
}

// IndexesBuilding reads _active_tasks (server admins only) and sums the indexer tasks by
// database and design document. Servers without CouchDB's tasks (pouchdb-server lists none)
// answer an empty map.
func (s *Store) IndexesBuilding(ctx context.Context) (map[IndexKey]IndexProgress, error) {
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	resp, err := s.do(ctx, http.MethodGet, []string{"_active_tasks"}, nil, http.Header{"Accept": {"application/json"}}, nil)
	if err != nil {
		return nil, couchError(err, "active tasks", "/_active_tasks")
	}
	defer drainClose(resp.Body)
	if err := statusErr(resp); err != nil {
		return nil, couchError(err, "active tasks", "/_active_tasks")
	}
	var tasks []activeTask
	if err := json.NewDecoder(resp.Body).Decode(&tasks); err != nil {
		return nil, couchError(fmt.Errorf("decode: %w", err), "active tasks", "/_active_tasks")
	}
	return sumIndexTasks(tasks), nil
}

// sumIndexTasks adds up the shards of each index. A shard range has one copy per node in a
// cluster, each indexed on its own: the copy furthest along stands for the range, as it is
// the one a view read can be answered from first.
func sumIndexTasks(tasks []activeTask) map[IndexKey]IndexProgress {
	type rangeKey struct {
		IndexKey
		shards string
	}
	best := map[rangeKey]activeTask{}
	for _, t := range tasks {
		if t.Type != "indexer" || t.DesignDocument == "" {
			continue
		}
		db, shards := shardDatabase(t.Database)
		k := rangeKey{IndexKey{DB: db, Design: t.DesignDocument}, shards}
		if b, ok := best[k]; !ok || t.TotalChanges-t.ChangesDone < b.TotalChanges-b.ChangesDone {
			best[k] = t
		}
	}
	out := map[IndexKey]IndexProgress{}
	for k, t := range best {
		p := out[k.IndexKey]
		p.Done += t.ChangesDone
		p.Total += max(t.TotalChanges, t.ChangesDone)
		if secs := t.UpdatedOn - t.StartedOn; secs > 0 && t.ChangesDone > 0 {
			p.Rate += float64(t.ChangesDone) / float64(secs)
		}
		out[k.IndexKey] = p
	}
	return out
}

// shardDatabase reads a task's database, "shards/<range>/<name>.<created>" on CouchDB 2+,
// into the database name and the shard range. Database names cannot hold a dot, so the
// suffix is what follows the last one.
func shardDatabase(s string) (dbName, shards string) {
	rest, ok := strings.CutPrefix(s, "shards/")
	if !ok {
		return s, ""
	}
	shards, rest, ok = strings.Cut(rest, "/")
	if !ok {
		return s, ""
	}
	if i := strings.LastIndexByte(rest, '.'); i >= 0 {
		rest = rest[:i]
	}
	return rest, shards
}

// indexBuilding reports the progress of design's index in the database when CouchDB is
// building it. A server that cannot tell (no _active_tasks, not an admin) reports nothing.
func (s *Store) indexBuilding(ctx context.Context, dbName string, design *couchviews.Design) (IndexProgress, bool) {
	building, err := s.IndexesBuilding(ctx)
	if err != nil {
		return IndexProgress{}, false
	}
	p, ok := building[IndexKey{DB: dbName, Design: design.ID()}]
	return p, ok
}

// Retry hints for a read that met an index being built: the estimated time left, within
// bounds, so that clients come back neither at once nor much later than needed.
const (
	minIndexRetry     = time.Second
	maxIndexRetry     = time.Minute
	unknownIndexRetry = 5 * time.Second
)

// indexProbeEvery is how often a view read that has not answered yet looks at
// _active_tasks: a quarter of the time it has, so the last look comes well before its end.
func indexProbeEvery(budget time.Duration) time.Duration {
	return min(max(budget/4, 10*time.Millisecond), time.Second)
}

// readWatchingIndex runs read, a view query of design in the database, until ctx's deadline.
// CouchDB answers a view query only once the index has caught up with the database, which
// for a big month database building from scratch takes minutes: so while read waits,
// _active_tasks is looked at now and then, and once it shows the index being built with no
// end well before the deadline (estimates run short at a build's end: only a build due
// within half the time left is waited for), the caller gets EUnavailable with a retry hint at
// once. read must return when ctx ends; it may still be running when this returns (the
// caller's ctx ends then).
func (s *Store) readWatchingIndex(ctx context.Context, dbName string, design *couchviews.Design, what string, read func() error) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		return read()
	}
	done := make(chan error, 1)
	go func() { done <- read() }()
	every := indexProbeEvery(time.Until(deadline))
	probe := time.NewTimer(every)
	defer probe.Stop()
	var seen *IndexProgress
	for {
		select {
		case err := <-done:
			if seen != nil && errorCode(err) == recording.EUnavailable { // timed out behind the build
				return indexBuildingError(dbName, what, *seen, err)
			}
			return err
		case <-probe.C:
			if p, building := s.indexBuilding(ctx, dbName, design); building {
				seen = &p
				if eta, known := p.ETA(); !known || 2*eta > time.Until(deadline) {
					return indexBuildingError(dbName, what, p, nil)
				}
			}
			probe.Reset(every)
		}
	}
}

// indexBuildingError tells the client which month's index is being built, how far along,
// and when to come back.
func indexBuildingError(dbName, what string, p IndexProgress, cause error) error {
	month := dbName
	if db, ok := recording.ParseMonthDB(dbName); ok {
		month = fmt.Sprintf("%04d-%02d", db.Month.Year, db.Month.Month)
	}
	retry := unknownIndexRetry
	detail := fmt.Sprintf("%d%% done", p.Percent())
	if eta, ok := p.ETA(); ok {
		retry = min(max(eta, minIndexRetry), maxIndexRetry)
		detail += ", about " + eta.Round(time.Second).String() + " left"
	}
	if cause == nil {
		cause = fmt.Errorf("index of %s in %s: %d of %d changes", what, dbName, p.Done, p.Total)
	}
	return &recording.Error{
		Code:       recording.EUnavailable,
		Message:    fmt.Sprintf("the %s of month %s is being built (%s); retry later", what, month, detail),
		Err:        cause,
		RetryAfter: retry,
	}
}
