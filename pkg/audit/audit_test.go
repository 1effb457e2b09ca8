package audit_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/recordingsd/recordingsd/pkg/audit"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
	"github.com/recordingsd/recordingsd/pkg/store/embedded"
)

// forEachStore runs test on a fresh embedded store and on the CouchDB of couchtest
// (pouchdb-server under `make test`: system documents need no change feed). another gives a
// second handle on the same data, as a second instance of the service has: a new CouchDB
// client, or the same embedded store (its file takes one process).
func forEachStore(t *testing.T, test func(t *testing.T, s recording.StateDocs, another func() recording.StateDocs)) {
	t.Run("embedded", func(t *testing.T) {
		s, err := embedded.Open(filepath.Join(t.TempDir(), "r.db"), embedded.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		test(t, s, func() recording.StateDocs { return s })
	})
	t.Run("couchdb", func(t *testing.T) {
		url := couchtest.URL(t)
		open := func() recording.StateDocs {
			s, err := couch.New(couch.Config{URL: url, WriteQuorum: couchtest.WriteQuorum(t, url)}, zap.NewNop())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		}
		test(t, open(), open)
	})
}

// fastConfig flushes often, in small batches, so tests see several flushes.
var fastConfig = audit.Config{FlushInterval: 5 * time.Millisecond, BatchSize: 50, Buffer: 100000, RetryWait: time.Millisecond}

// startTrail starts a trail closed (flushed) when the test ends, if it has not closed it.
func startTrail(t *testing.T, s recording.StateDocs, cfg audit.Config) (*audit.Trail, *counter) {
	t.Helper()
	obs := &counter{lost: map[string]int{}}
	trail := audit.New(s, cfg, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)), obs)
	t.Cleanup(func() { _ = trail.Close(context.Background()) })
	return trail, obs
}

// closeTrail flushes the trail and fails the test if anything was not written.
func closeTrail(t *testing.T, trail *audit.Trail) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := trail.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// counter is an audit.Observer that counts.
type counter struct {
	mu       sync.Mutex
	written  int
	lost     map[string]int
	flushes  int
	buffered int
}

func (c *counter) Written(n int) { c.mu.Lock(); c.written += n; c.mu.Unlock() }
func (c *counter) Lost(reason string, n int) {
	c.mu.Lock()
	c.lost[reason] += n
	c.mu.Unlock()
}
func (c *counter) Flushed(time.Duration) { c.mu.Lock(); c.flushes++; c.mu.Unlock() }
func (c *counter) Buffered(n int)        { c.mu.Lock(); c.buffered = n; c.mu.Unlock() }

func (c *counter) counts() (written int, lost map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	lost = map[string]int{}
	for k, v := range c.lost {
		lost[k] = v
	}
	return c.written, lost
}

// waitFor polls cond for up to 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// verifyOK verifies a chain and fails the test on a break.
func verifyOK(t *testing.T, s recording.StateDocs, accountID string, m recording.Month) audit.Report {
	t.Helper()
	r, err := audit.Verify(context.Background(), s, accountID, m)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Fatalf("chain %s: %d entries, breaks %v", r.DB, r.Entries, r.Breaks)
	}
	return r
}

var (
	jan = recording.Month{Year: 2024, Month: 1}
	feb = recording.Month{Year: 2024, Month: 2}
)

// at is a time in month m.
func at(m recording.Month, day, hour, minute int) time.Time {
	return time.Date(m.Year, time.Month(m.Month), day, hour, minute, 0, 0, time.UTC)
}
