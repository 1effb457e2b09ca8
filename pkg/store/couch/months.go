package couch

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// MonthExists asks the server (HEAD /db) whether the month database exists, as Kazoo does,
// and remembers the answer for a while: listings check every month of their range.
func (s *Store) MonthExists(ctx context.Context, accountID string, m recording.Month) (bool, error) {
	dbName, err := recording.MonthDatabase(accountID, m)
	if err != nil {
		return false, nil
	}
	return s.monthExists(ctx, dbName)
}

func (s *Store) monthExists(ctx context.Context, dbName string) (bool, error) {
	if exists, ok := s.months.get(dbName); ok {
		return exists, nil
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	exists, err := s.client.DBExists(ctx, dbName)
	if err != nil {
		return false, couchError(err, "month database", dbName)
	}
	s.months.set(dbName, exists)
	return exists, nil
}

// ensureMonthDB creates a month database if needed and installs our design document in it.
func (s *Store) ensureMonthDB(ctx context.Context, dbName string) error {
	if exists, ok := s.months.get(dbName); !ok || !exists {
		if err := s.createDB(ctx, dbName); err != nil {
			return err
		}
		s.months.set(dbName, true)
	}
	return s.ensureDesign(ctx, dbName)
}

// createDB creates a database; one that already exists (412) is fine.
func (s *Store) createDB(ctx context.Context, dbName string) error {
	err := s.client.CreateDB(ctx, dbName)
	if err != nil && !isStatus(err, http.StatusPreconditionFailed) {
		return couchError(err, "database", dbName)
	}
	return nil
}

// monthCache remembers whether month databases exist: positive answers for long (Kazoo
// rarely deletes a month database), negative ones briefly (the month's first recording
// creates it).
type monthCache struct {
	existsTTL, missingTTL time.Duration

	mu      sync.Mutex
	entries map[string]monthEntry
}

type monthEntry struct {
	exists  bool
	expires time.Time
}

// maxMonthEntries bounds the map; past it, expired entries are swept on the next write.
const maxMonthEntries = 10000

func newMonthCache(existsTTL, missingTTL time.Duration) *monthCache {
	return &monthCache{existsTTL: existsTTL, missingTTL: missingTTL, entries: map[string]monthEntry{}}
}

func (c *monthCache) get(dbName string) (exists, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[dbName]
	if !ok || time.Now().After(e.expires) {
		return false, false
	}
	return e.exists, true
}

func (c *monthCache) set(dbName string, exists bool) {
	now := time.Now()
	ttl := c.missingTTL
	if exists {
		ttl = c.existsTTL
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxMonthEntries {
		for k, e := range c.entries {
			if now.After(e.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxMonthEntries {
			clear(c.entries)
		}
	}
	c.entries[dbName] = monthEntry{exists: exists, expires: now.Add(ttl)}
}

func (c *monthCache) forget(dbName string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, dbName)
}
