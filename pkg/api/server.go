// Package api serves the Kazoo-compatible recordings API over HTTP.
package api

import (
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/auth"
	"github.com/recordingsd/recordingsd/pkg/authz"
	"github.com/recordingsd/recordingsd/pkg/crossbar"
	"github.com/recordingsd/recordingsd/pkg/media"
	"github.com/recordingsd/recordingsd/pkg/metrics"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Config holds the API's tunables; zero values take the documented defaults.
type Config struct {
	DefaultPageSize     int           // listing.default_page_size
	MaxPageSize         int           // listing.max_page_size
	MaxRangeSeconds     int64         // listing.max_range_s
	SoftDeleteByDefault bool          // recordings.delete_default: kazoo_soft
	MaxBodyBytes        int64         // http.max_body_bytes
	ConflictRetries     int           // recordings.conflict_retries
	AccountCacheTTL     time.Duration // accounts.cache_ttl
	Version             string        // crossbar.version, echoed in every envelope
	Node                string        // envelope "node"
	Now                 func() time.Time
	// UI serves the admins' page under /ui/ (nil: no page).
	UI http.Handler
	// Metrics receives the service's measurements (nil: a private registry).
	Metrics *metrics.Metrics
	// IPRateLimit and AccountRateLimit bound requests per client IP and per account
	// (zero: unlimited).
	IPRateLimit, AccountRateLimit RateLimit
	// StallTimeout drops a client that accepts no bytes for this long (zero: never).
	StallTimeout time.Duration
	// AllowDisabledAccounts lets requests act on (or come from) accounts with
	// pvt_enabled: false, as Kazoo does for tokens; by default they get 403.
	AllowDisabledAccounts bool
	// OwnerGating restricts non-admin users to their own recordings.
	OwnerGating authz.OwnerGating
	// Media reads audio that Kazoo stored on storage providers (pvt_attachments), by handler
	// module (kz_att_s3, kz_att_http). A handler without a Source answers 501.
	Media media.Sources
}

func (c Config) withDefaults() Config {
	if c.DefaultPageSize <= 0 {
		c.DefaultPageSize = 50
	}
	if c.MaxPageSize <= 0 {
		c.MaxPageSize = 1000
	}
	if c.MaxRangeSeconds <= 0 {
		c.MaxRangeSeconds = 2682000
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.Version == "" {
		c.Version = "4.3.0"
	}
	if c.ConflictRetries <= 0 {
		c.ConflictRetries = 10
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// server carries the dependencies every handler needs.
type server struct {
	cfg           Config
	log           *zap.Logger
	store         recording.Store
	service       *recording.Service
	authn         auth.Authenticator
	policy        authz.Policy
	accounts      *accountCache
	metrics       *metrics.Metrics
	ipLimits      *limiters
	accountLimits *limiters
}

// NewServer wires the API: every route, with its middleware, over the given store and
// authenticator.
func NewServer(logger *zap.Logger, cfg Config, store recording.Store, authn auth.Authenticator) http.Handler {
	return newServer(logger, cfg, store, authn).routes()
}

func newServer(logger *zap.Logger, cfg Config, store recording.Store, authn auth.Authenticator) *server {
	cfg = cfg.withDefaults()
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	store = cfg.Metrics.InstrumentStore(store)
	svc := recording.NewService(store)
	svc.Now = cfg.Now
	svc.ConflictRetries = cfg.ConflictRetries
	s := &server{
		cfg:           cfg,
		log:           logger,
		store:         store,
		service:       svc,
		authn:         authn,
		policy:        authz.Policy{AllowDisabledAccounts: cfg.AllowDisabledAccounts, OwnerGating: cfg.OwnerGating, Now: cfg.Now},
		accounts:      newAccountCache(store, cfg.AccountCacheTTL, cfg.Now),
		metrics:       cfg.Metrics,
		ipLimits:      newLimiters(cfg.IPRateLimit, cfg.Now),
		accountLimits: newLimiters(cfg.AccountRateLimit, cfg.Now),
	}
	return s
}

// meta is the envelope metadata common to every response to r.
func (s *server) meta(r *http.Request) crossbar.Meta {
	return crossbar.Meta{
		RequestID: crossbar.RequestID(r),
		Version:   s.cfg.Version,
		Node:      s.cfg.Node,
		Pretty:    r.Header.Get("X-Pretty-Print") == "true" || r.URL.Query().Get("pretty_print") == "true",
	}
}
