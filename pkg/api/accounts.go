package api

import (
	"context"
	"sync"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// accountCache keeps account documents briefly: every request authorizes against one, and
// they change rarely. Misses are not cached, so a new account works at once.
type accountCache struct {
	store recording.Store
	ttl   time.Duration
	now   func() time.Time

	mu      sync.Mutex
	entries map[string]cachedAccount
}

type cachedAccount struct {
	doc     recording.Doc
	expires time.Time
}

// maxCachedAccounts bounds memory; the cache is simply reset when it fills.
const maxCachedAccounts = 10000

func newAccountCache(s recording.Store, ttl time.Duration, now func() time.Time) *accountCache {
	return &accountCache{store: s, ttl: ttl, now: now, entries: map[string]cachedAccount{}}
}

// get returns the account document; errors as recording.Store.Account.
func (c *accountCache) get(ctx context.Context, accountID string) (recording.Doc, error) {
	if c.ttl > 0 {
		c.mu.Lock()
		e, ok := c.entries[accountID]
		c.mu.Unlock()
		if ok && c.now().Before(e.expires) {
			return e.doc, nil
		}
	}
	doc, err := c.store.Account(ctx, accountID)
	if err != nil {
		return nil, err
	}
	if c.ttl > 0 {
		c.mu.Lock()
		if len(c.entries) >= maxCachedAccounts {
			c.entries = map[string]cachedAccount{}
		}
		c.entries[accountID] = cachedAccount{doc: doc, expires: c.now().Add(c.ttl)}
		c.mu.Unlock()
	}
	return doc, nil
}
