// Package embedded implements recording.Store, recording.Loader, recording.Purger,
// recording.StateDocs and recording.ChangeFeed in a single local file (bbolt), with the
// CouchDB backend's behaviour point for point: the same database names, documents with
// CouchDB revisions and conflict rules, the listing and purge views kept as indexes and the
// change feed kept as a log, each in the same transaction as every write, and attachments
// streamed in chunks.
// It is the zero-setup backend: `make run` needs nothing but Go.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

var (
	_ recording.Store      = (*Store)(nil)
	_ recording.Loader     = (*Store)(nil)
	_ recording.AuthStore  = (*Store)(nil)
	_ recording.AuthLoader = (*Store)(nil)
	_ recording.Purger     = (*Store)(nil)
	_ recording.StateDocs  = (*Store)(nil)
	_ recording.ChangeFeed = (*Store)(nil)
)

// Options tune Open; the zero value is the right default.
type Options struct {
	// LockTimeout is how long Open waits for the file lock another process (or another Open
	// in this one) holds before giving up. Default 1s.
	LockTimeout time.Duration
	// NoSync skips the fsync after each write: much faster, but a crash of the machine can
	// lose or corrupt recent writes. For tests and throwaway data only.
	NoSync bool
	// ChangeRetention is how long the change log keeps an entry (changes.go): a feed
	// stopped for longer misses what was written meanwhile. Default 7 days.
	ChangeRetention time.Duration
	// MaxChanges caps the entries of the change log (give or take 64): past it the oldest
	// go, however recent. Default 1,000,000 (about 180 MB of the file).
	MaxChanges int
}

// Options' defaults.
const (
	DefaultLockTimeout     = time.Second
	DefaultChangeRetention = 7 * 24 * time.Hour
	DefaultMaxChanges      = 1_000_000
)

// Store is the embedded backend. It is safe for concurrent use; one process at a time may
// have the file open.
type Store struct {
	path   string
	db     *bolt.DB
	closed atomic.Bool

	// chunkReads counts attachment chunks fetched by readers, so tests can check that a
	// range reads only the chunks it needs.
	chunkReads atomic.Int64

	// logged is signalled after every commit that appended to the change log, and on Close.
	logged signal
	// changeRetention and maxChanges bound the change log (Options).
	changeRetention time.Duration
	maxChanges      uint64
	// feedTick is how often a waiting feed looks at the log without being signalled.
	feedTick time.Duration
}

// Open opens the store file at path, creating it and its directory if missing. A file
// that another process has open is refused after opts.LockTimeout, never shared.
func Open(path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("embedded: no store file path")
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if opts.ChangeRetention <= 0 {
		opts.ChangeRetention = DefaultChangeRetention
	}
	if opts.MaxChanges <= 0 {
		opts.MaxChanges = DefaultMaxChanges
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create directory of store file %s: %w", path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout, NoSync: opts.NoSync})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("store file %s is in use by another process (or already open in this one): "+
			"its lock was not released within %v: %w", path, opts.LockTimeout, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open store file %s: %w", path, err)
	}
	s := &Store{
		path:            path,
		db:              db,
		changeRetention: opts.ChangeRetention,
		maxChanges:      uint64(opts.MaxChanges),
		feedTick:        defaultFeedTick,
	}
	if err := s.prepare(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open store file %s: %w", path, err)
	}
	return s, nil
}

// prepare checks the file's format, creates the change log if missing (a new file, or one
// of an earlier format), upgrades an earlier format, and removes what uploads cut short by
// a crash left behind.
func (s *Store) prepare() error {
	upgrade := false
	err := s.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return err
		}
		switch v := meta.Get(formatKey); {
		case v == nil:
			if err := meta.Put(formatKey, []byte(formatVersion)); err != nil {
				return err
			}
		case upgradeFrom[string(v)]:
			upgrade = true
		case string(v) != formatVersion:
			return fmt.Errorf("file format %q, this build reads %q", v, formatVersion)
		}
		if _, err = meta.CreateBucketIfNotExists(uploadsBucket); err != nil {
			return err
		}
		return ensureChangeLog(meta)
	})
	if err != nil {
		return err
	}
	if upgrade {
		if err := s.upgrade(); err != nil {
			return fmt.Errorf("upgrade to file format %s: %w", formatVersion, err)
		}
	}
	return s.sweepUploads()
}

// upgrade brings a file of an earlier format to formatVersion, recorded last so that an
// upgrade cut short runs again.
func (s *Store) upgrade() error {
	if err := buildMissingIndexes(s.db, indexBuildBatch); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(metaBucket).Put(formatKey, []byte(formatVersion))
	})
}

// Close releases the file and its lock. Every method called afterwards returns EUnavailable.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.logged.broadcast() // waiting feeds find the store closed
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store file %s: %w", s.path, err)
	}
	return nil
}

// Ping reports EUnavailable once the store is closed; the file itself cannot go away.
func (s *Store) Ping(ctx context.Context) error {
	return s.usable(ctx)
}

// usable is checked first by every method: a closed store or a cancelled caller.
func (s *Store) usable(ctx context.Context) error {
	if s.closed.Load() {
		return unavailable(fmt.Errorf("store file %s is closed", s.path))
	}
	if err := ctx.Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

// view and update run fn in a read or write transaction, after the usable check, and turn
// what fails into recording errors; what names the object for the log.
func (s *Store) view(ctx context.Context, what string, fn func(*bolt.Tx) error) error {
	if err := s.usable(ctx); err != nil {
		return err
	}
	return s.storeError(s.db.View(fn), what)
}

// update also keeps the change log bounded and, once the transaction committed entries,
// wakes the feeds waiting for them.
func (s *Store) update(ctx context.Context, what string, fn func(*bolt.Tx) error) error {
	if err := s.usable(ctx); err != nil {
		return err
	}
	return s.storeError(s.db.Update(func(tx *bolt.Tx) error {
		log := changeLog(tx)
		if log == nil {
			return fmt.Errorf("the file lacks its change log (%s)", changesBucket)
		}
		before := log.Sequence()
		if err := fn(tx); err != nil {
			return err
		}
		if after := log.Sequence(); after != before {
			if err := s.pruneChanges(log, before, after); err != nil {
				return fmt.Errorf("prune the change log: %w", err)
			}
			tx.OnCommit(s.logged.broadcast)
		}
		return nil
	}), what)
}
