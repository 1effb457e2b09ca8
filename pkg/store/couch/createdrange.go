package couch

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/recordingsd/recordingsd/couchviews"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// A listing window near a month edge also reads the neighbouring month databases (their
// recordings may carry a pvt_created across the edge), yet most such reads find nothing: a
// window from the first second of November reads October's database in vain. The
// created_range view (_stats over pvt_created) tells in one cheap read which pvt_created a
// month database holds, so a Scan whose window misses that range answers without reading the
// listing index. The range is cached: recordings Kazoo writes later carry a pvt_created of
// about their write time, so they can only land after what was seen (newSlack covers clocks
// that disagree); writes through this store forget the entry at once.

const (
	// rangeTTLClosed is how long a finished month's range is kept: nothing new lands there.
	rangeTTLClosed = 10 * time.Minute
	// rangeTTLOpen is how long the range of a month still written to is kept.
	rangeTTLOpen = time.Minute
	// newSlack is how far before the read a recording written after it may date its pvt_created.
	newSlack = time.Hour
)

// createdRange is what one month database's listing holds.
type createdRange struct {
	count    int64
	min, max int64     // pvt_created bounds, when count > 0
	open     bool      // the month may still receive recordings
	read     time.Time // when the range was read
}

// mayHold reports whether the database can list a row with pvt_created in [lo, hi].
func (r createdRange) mayHold(lo, hi int64) bool {
	if r.count > 0 && lo <= r.max && hi >= r.min {
		return true
	}
	// Recordings written since the read are dated from about then on.
	return r.open && hi >= recording.ToGregorian(r.read.Add(-newSlack))
}

type rangeCache struct {
	mu      sync.Mutex
	entries map[string]createdRange
}

func newRangeCache() *rangeCache { return &rangeCache{entries: map[string]createdRange{}} }

func (c *rangeCache) get(dbName string, now time.Time) (createdRange, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.entries[dbName]
	ttl := rangeTTLClosed
	if r.open {
		ttl = rangeTTLOpen
	}
	if !ok || now.Sub(r.read) > ttl {
		return createdRange{}, false
	}
	return r, true
}

func (c *rangeCache) set(dbName string, r createdRange) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[dbName] = r
}

func (c *rangeCache) forget(dbName string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, dbName)
}

// scanWindow is the pvt_created interval a scan can still list, its start key included.
func scanWindow(q recording.ScanQuery) (lo, hi int64) {
	lo, hi = q.From, q.To
	if q.Start != nil {
		if q.Descending {
			hi = min(hi, q.Start.Created)
		} else {
			lo = max(lo, q.Start.Created)
		}
	}
	return lo, hi
}

// monthMayHold reports whether the month database can list anything in [lo, hi], reading
// (and caching) its created_range when no fresh copy is at hand. Call it once the design
// document is known to be installed.
func (s *Store) monthMayHold(ctx context.Context, dbName string, m recording.Month, lo, hi int64) (bool, error) {
	now := time.Now()
	r, ok := s.ranges.get(dbName, now)
	if !ok {
		var err error
		if r, err = s.readCreatedRange(ctx, dbName); err != nil {
			return false, err
		}
		r.read = now
		r.open = !now.After(m.Next().Start().Add(recording.BoundaryMargin + newSlack))
		s.ranges.set(dbName, r)
	}
	return r.mayHold(lo, hi), nil
}

// readCreatedRange reads the reduced created_range view: one row of _stats, or none when the
// database lists nothing.
func (s *Store) readCreatedRange(ctx context.Context, dbName string) (createdRange, error) {
	resp, err := s.doOK(ctx, http.MethodGet, []string{dbName, "_design", couchviews.DesignName, "_view", couchviews.ViewCreatedRange},
		url.Values{"reduce": {"true"}}, http.Header{"Accept": {"application/json"}}, nil)
	if err != nil {
		return createdRange{}, err
	}
	defer drainClose(resp.Body)
	var answer struct {
		Rows []struct {
			Value struct {
				Count json.Number `json:"count"`
				Min   json.Number `json:"min"`
				Max   json.Number `json:"max"`
			} `json:"value"`
		} `json:"rows"`
	}
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	if err := dec.Decode(&answer); err != nil {
		return createdRange{}, fmt.Errorf("view %s: %w", couchviews.ViewCreatedRange, err)
	}
	var r createdRange
	if len(answer.Rows) == 0 {
		return r, nil
	}
	v := answer.Rows[0].Value
	count, okC := recording.AsInt(v.Count)
	lo, okLo := recording.AsInt(v.Min)
	hi, okHi := recording.AsInt(v.Max)
	if !okC || !okLo || !okHi {
		return r, fmt.Errorf("view %s: unexpected stats %+v", couchviews.ViewCreatedRange, v)
	}
	r.count, r.min, r.max = count, lo, hi
	return r, nil
}
