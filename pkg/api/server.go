// Package api serves the Kazoo-compatible recordings API over HTTP.
package api

import (
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/auth"
	"github.com/recordingsd/recordingsd/pkg/authz"
	"github.com/recordingsd/recordingsd/pkg/crossbar"
	"github.com/recordingsd/recordingsd/pkg/events"
	"github.com/recordingsd/recordingsd/pkg/media"
	"github.com/recordingsd/recordingsd/pkg/metrics"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/webhooks"
)

// Config holds the API's settings; the configuration layer fills every one (see Validate).
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
	// Events serves the live stream of recording events (nil: the stream is off).
	Events *events.Tail
	// Webhooks manages the accounts' recording webhooks (nil: off, with the events).
	Webhooks *webhooks.Registry
	// Media reads audio that Kazoo stored on storage providers (pvt_attachments), by handler
	// module (kz_att_s3, kz_att_http). A handler without a Source answers 501.
	Media media.Sources
}

// Validate reports settings the API cannot serve with. The configuration layer
// (cmd/recordingsd) owns every default; the API takes the values it is given.
func (c Config) Validate() error {
	switch {
	case c.DefaultPageSize < 1 || c.MaxPageSize < c.DefaultPageSize:
		return fmt.Errorf("need 1 <= default page size (%d) <= max page size (%d)", c.DefaultPageSize, c.MaxPageSize)
	case c.MaxRangeSeconds < 1:
		return fmt.Errorf("max range must be positive, not %d s", c.MaxRangeSeconds)
	case c.MaxBodyBytes < 1:
		return fmt.Errorf("max body size must be positive, not %d bytes", c.MaxBodyBytes)
	case c.ConflictRetries < 0:
		return fmt.Errorf("conflict retries must not be negative, not %d", c.ConflictRetries)
	case c.Version == "":
		return fmt.Errorf("the crossbar version for the envelope is empty")
	}
	return nil
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
// authenticator. A nil Now is the real clock, nil Metrics a private registry.
func NewServer(logger *zap.Logger, cfg Config, store recording.Store, authn auth.Authenticator) (http.Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	return newServer(logger, cfg, store, authn).routes(), nil
}

func newServer(logger *zap.Logger, cfg Config, store recording.Store, authn auth.Authenticator) *server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	store = cfg.Metrics.InstrumentStore(store)
	s := &server{
		cfg:           cfg,
		log:           logger,
		store:         store,
		service:       recording.NewService(store, cfg.ConflictRetries, cfg.Now),
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
