package storetest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// feedWait bounds how long a change may take to come out of a feed (CouchDB's _db_updates
// lags writes by about half a second), and every other wait on a feed.
const feedWait = 20 * time.Second

// Follower runs FollowChanges in the background and gathers the changes of one account,
// with the time each revision first arrived. The contract suite and the stores' own feed
// tests use it.
type Follower struct {
	t       *testing.T
	account string
	cancel  context.CancelFunc
	done    chan error

	mu      sync.Mutex
	changes []recording.Change
	arrived map[string]time.Time // by id@rev
	fail    error                // returned by the handler once changes came, to check that the feed stops
}

// Follow starts FollowChanges of cf under the checkpoint name in db, until Stop or the end of
// the test. With fail non-nil the handler returns it once it has seen a change.
func Follow(t *testing.T, cf recording.ChangeFeed, db, name, account string, fail error) *Follower {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f := &Follower{t: t, account: account, cancel: cancel, done: make(chan error, 1), arrived: map[string]time.Time{}, fail: fail}
	go func() {
		f.done <- cf.FollowChanges(ctx, db, name, func(_ context.Context, batch []recording.Change) error {
			now := time.Now()
			f.mu.Lock()
			defer f.mu.Unlock()
			for _, c := range batch {
				if c.AccountID != f.account {
					continue
				}
				f.changes = append(f.changes, c)
				if _, ok := f.arrived[c.ID+"@"+c.Rev]; !ok {
					f.arrived[c.ID+"@"+c.Rev] = now
				}
			}
			if f.fail != nil && len(f.changes) > 0 {
				return f.fail
			}
			return nil
		})
	}()
	t.Cleanup(func() { _ = f.Stop() })
	return f
}

// Stop ends the feed and returns what FollowChanges returned (again on a second Stop).
func (f *Follower) Stop() error {
	f.cancel()
	select {
	case err := <-f.done:
		f.done <- err
		return err
	case <-time.After(feedWait):
		f.t.Fatalf("FollowChanges did not return within %v of its context's end", feedWait)
		return nil
	}
}

// Done gives what FollowChanges returned, once it has (without stopping it).
func (f *Follower) Done() (error, bool) {
	select {
	case err := <-f.done:
		f.done <- err
		return err, true
	default:
		return nil, false
	}
}

// Latest is the last change seen for each id.
func (f *Follower) Latest() map[string]recording.Change {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]recording.Change{}
	for _, c := range f.changes {
		out[c.ID] = c
	}
	return out
}

// Arrival is when id at rev first came.
func (f *Follower) Arrival(id, rev string) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	at, ok := f.arrived[id+"@"+rev]
	return at, ok
}

// WaitFor waits until check passes on the changes seen so far; it fails the test after
// feedWait, or at once when FollowChanges returned.
func (f *Follower) WaitFor(what string, check func(map[string]recording.Change) error) {
	f.t.Helper()
	deadline := time.Now().Add(feedWait)
	for {
		err := check(f.Latest())
		if err == nil {
			return
		}
		if ferr, done := f.Done(); done {
			f.t.Fatalf("%s: FollowChanges returned %v (%v)", what, ferr, err)
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("%s: %v (changes seen: %s)", what, err, f.Summary())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Summary lists the changes seen, for failure messages.
func (f *Follower) Summary() string {
	var parts []string
	for id, c := range f.Latest() {
		parts = append(parts, fmt.Sprintf("%s@%s deleted=%v", id, c.Rev, c.Deleted))
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

// AtRev checks that id was seen at rev: live with its document at that revision, or removed
// with no document or its tombstone.
func AtRev(id, rev string, deleted bool) func(map[string]recording.Change) error {
	return func(seen map[string]recording.Change) error {
		c, ok := seen[id]
		switch {
		case !ok:
			return fmt.Errorf("%s not seen", id)
		case c.Rev != rev || c.Deleted != deleted:
			return fmt.Errorf("%s seen at %s deleted=%v, want %s deleted=%v", id, c.Rev, c.Deleted, rev, deleted)
		case deleted && c.Doc != nil && (c.Doc["_deleted"] != true || c.Doc.Rev() != rev):
			return fmt.Errorf("%s deleted with a document that is not its tombstone at %s: %v", id, rev, c.Doc)
		case !deleted && (c.Doc == nil || c.Doc.Rev() != rev):
			return fmt.Errorf("%s without its document at %s: %v", id, rev, c.Doc)
		}
		return nil
	}
}
