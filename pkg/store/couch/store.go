// Package couch implements recording.Store and recording.Loader on CouchDB through kivik:
// accounts in account/xx/yy/rest databases, recordings in their per-month databases,
// listings through our own design document (couchviews), audio as inline attachments.
package couch

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	kivik "github.com/go-kivik/kivik/v4"
	"github.com/go-kivik/kivik/v4/couchdb"
	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

var (
	_ recording.Store      = (*Store)(nil)
	_ recording.Loader     = (*Store)(nil)
	_ recording.AuthStore  = (*Store)(nil)
	_ recording.AuthLoader = (*Store)(nil)
	_ recording.Purger     = (*Store)(nil)
)

// Config says where CouchDB is and how long to wait for it.
type Config struct {
	// URL of the server, e.g. http://couch:5984. Credentials may be embedded
	// (http://user:pass@couch:5984); Username/Password, when set, take precedence.
	URL      string
	Username string
	Password string

	// RequestTimeout bounds each non-streaming request, and the wait for the first byte
	// of an attachment. Default 10s.
	RequestTimeout time.Duration
	// DialTimeout bounds connecting to the server. Default 2s.
	DialTimeout time.Duration
	// MonthExistsTTL is how long a month database known to exist is remembered. Default 10m.
	MonthExistsTTL time.Duration
	// MonthMissingTTL is how long a missing month database is remembered: short, because
	// Kazoo creates the database with the month's first recording. Default 5s.
	MonthMissingTTL time.Duration
	// WriteQuorum is CouchDB's w for our document writes: how many copies must take a write
	// before it is answered. 0 leaves CouchDB's default (a majority).
	WriteQuorum int

	// FeedParallel is how many month databases the change feed (FollowChanges) reads at
	// once. Default 4.
	FeedParallel int
	// FeedRetryFor is how long the change feed keeps retrying a CouchDB that fails it
	// (unreachable, 5xx, timeouts) before FollowChanges gives up with EUnavailable. Default 1m.
	FeedRetryFor time.Duration
}

func (c Config) withDefaults() Config {
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 10 * time.Second
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = 2 * time.Second
	}
	if c.MonthExistsTTL <= 0 {
		c.MonthExistsTTL = 10 * time.Minute
	}
	if c.MonthMissingTTL <= 0 {
		c.MonthMissingTTL = 5 * time.Second
	}
	if c.FeedParallel <= 0 {
		c.FeedParallel = 4
	}
	if c.FeedRetryFor <= 0 {
		c.FeedRetryFor = time.Minute
	}
	return c
}

// Store is the CouchDB backend. It is safe for concurrent use.
type Store struct {
	cfg    Config
	logger *zap.Logger
	client *kivik.Client

	// Attachments and Ping bypass kivik (it can neither send Range nor report a 200 vs 206),
	// so they go through this client, which shares kivik's transport.
	http     *http.Client
	base     *url.URL // server URL without credentials
	username string
	password string

	months      *monthCache
	ranges      *rangeCache // what pvt_created each month database's listing holds
	designs     designCache // month databases with a current _design/recordingsd
	authDesigns designCache // account databases with a current _design/recordingsd_auth
	// month databases with a current _design/recordingsd_retention
	retentionDesigns designCache
}

// New connects lazily: it checks the configuration but sends nothing to the server.
func New(cfg Config, logger *zap.Logger) (*Store, error) {
	cfg = cfg.withDefaults()
	if logger == nil {
		logger = zap.NewNop()
	}
	base, username, password, err := parseServerURL(cfg)
	if err != nil {
		return nil, err
	}
	httpClient := newHTTPClient(cfg)
	opts := []kivik.Option{
		couchdb.OptionHTTPClient(kivikHTTPClient(httpClient, base)),
		// pouchdb-server stores gzip-encoded bodies verbatim; CouchDB does not need it either.
		couchdb.OptionNoRequestCompression(),
		couchdb.OptionUserAgent("recordingsd"),
	}
	if username != "" || password != "" {
		// Basic rather than kivik's default cookie auth: no session to keep alive or renew.
		opts = append(opts, couchdb.BasicAuth(username, password))
	}
	client, err := kivik.New("couch", base.String(), opts...)
	if err != nil {
		return nil, fmt.Errorf("couch: new client for %s: %w", base.Redacted(), err)
	}
	return &Store{
		cfg:         cfg,
		logger:      logger,
		client:      client,
		http:        httpClient,
		base:        base,
		username:    username,
		password:    password,
		months:      newMonthCache(cfg.MonthExistsTTL, cfg.MonthMissingTTL),
		ranges:      newRangeCache(),
		designs:     designCache{installed: map[string]bool{}},
		authDesigns: designCache{installed: map[string]bool{}},

		retentionDesigns: designCache{installed: map[string]bool{}},
	}, nil
}

// Close releases the client's idle connections.
func (s *Store) Close() error {
	s.http.CloseIdleConnections()
	return s.client.Close()
}

// Ping checks that the server answers GET / (CouchDB's welcome; pouchdb-server has no /_up).
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	resp, err := s.do(ctx, http.MethodGet, nil, nil, nil, nil)
	if err != nil {
		return couchError(err, "server", "/")
	}
	defer drainClose(resp.Body)
	if err := statusErr(resp); err != nil {
		return couchError(err, "server", "/")
	}
	return nil
}

// bounded applies RequestTimeout to one non-streaming request.
func (s *Store) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.cfg.RequestTimeout)
}

// designCache remembers the databases in which this process has seen a current copy of
// one of our design documents, so each database is checked once.
type designCache struct {
	mu        sync.Mutex
	installed map[string]bool
}

func (c *designCache) ok(dbName string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.installed[dbName]
}

func (c *designCache) set(dbName string, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ok {
		c.installed[dbName] = true
	} else {
		delete(c.installed, dbName)
	}
}
