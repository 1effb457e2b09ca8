package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/api"
	"github.com/recordingsd/recordingsd/pkg/audit"
	"github.com/recordingsd/recordingsd/pkg/auth"
	"github.com/recordingsd/recordingsd/pkg/authz"
	"github.com/recordingsd/recordingsd/pkg/crossbar"
	"github.com/recordingsd/recordingsd/pkg/events"
	"github.com/recordingsd/recordingsd/pkg/media"
	"github.com/recordingsd/recordingsd/pkg/media/httpmedia"
	"github.com/recordingsd/recordingsd/pkg/media/s3media"
	"github.com/recordingsd/recordingsd/pkg/metrics"
	"github.com/recordingsd/recordingsd/pkg/ui"
	"github.com/recordingsd/recordingsd/pkg/webhooks"
)

// serve runs the API until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("recordingsd serve", flag.ContinueOnError)
	flags.SetOutput(stderr)
	configPath := flags.String("config", "", "configuration file (YAML); RECORDINGS_* variables override it")
	demoMode := flags.Bool("demo", false, "seed the demo data set into an empty store, accept the demo token, print how to call the API")
	if err := flags.Parse(args); err != nil {
		return err
	}
	c, err := openConfigured(*configPath, getenv, stderr)
	if err != nil {
		return err
	}
	defer func() { _ = c.close() }()
	cfg, logger, store := c.cfg, c.logger, c.store

	tokens := cfg.Auth.Tokens
	var intro *demoIntro
	if *demoMode {
		intro, err = prepareDemo(ctx, store, stdout)
		if err != nil {
			return err
		}
		tokens = append(tokens, intro.token())
	}
	authn, err := authenticator(cfg, store, tokens)
	if err != nil {
		return err
	}
	if n := auth.SystemTokens(tokens); n > 0 {
		logger.Warn("system tokens configured: they act on every account", zap.Int("all_accounts_tokens", n))
	}
	apiCfg := apiConfig(cfg)
	if apiCfg.Media, err = mediaSources(ctx, cfg); err != nil {
		return err
	}
	logger.Info("storage providers", zap.Strings("handlers", apiCfg.Media.Handlers()),
		zap.String("s3_credentials", cfg.Media.S3.Credentials), zap.Duration("request_timeout", cfg.Media.RequestTimeout))
	uiOpts := ui.Options{}
	if intro != nil {
		uiOpts = ui.Options{DemoToken: intro.jwt, DemoAccountID: intro.accountID}
	}
	apiCfg.UI = ui.Handler(uiOpts)
	apiCfg.Metrics = metrics.New()
	if cfg.Events.Enabled {
		stopEvents, err := startEvents(ctx, cfg, store, &apiCfg, logger)
		if err != nil {
			return err
		}
		defer stopEvents()
	}
	// trail is the access trail (nil when audit.enabled is false), for the API to record to
	// with cfg.Audit.OnFailure and cfg.trustedProxies(). Its Close is deferred before the
	// server starts, so it runs once Shutdown has returned (the requests in flight have
	// recorded) and before the store closes: a graceful stop writes every entry.
	var trail *audit.Trail
	if cfg.Audit.Enabled {
		trail = audit.New(store, cfg.trailConfig(), logger.Named("audit"), apiCfg.Metrics.Audit())
		defer closeTrail(trail, cfg.HTTP.ShutdownTimeout, logger)
	}
	logger.Info("access trail", zap.Bool("enabled", trail != nil), zap.String("on_failure", cfg.Audit.OnFailure),
		zap.Int("trusted_proxies", len(cfg.trustedProxies())))
	handler, err := api.NewServer(logger, apiCfg, store, authn)
	if err != nil {
		return err
	}

	if cfg.Recordings.Retention.Enabled {
		sweeper, err := newSweeper(cfg, store, apiCfg.Media, logger, apiCfg.Metrics.Retention())
		if err != nil {
			return err
		}
		sweepCtx, stopSweeper := context.WithCancel(ctx)
		sweeperDone := make(chan struct{})
		go func() { defer close(sweeperDone); sweeper.Run(sweepCtx) }()
		// Stopped before the store closes; an interrupted sweep saves its progress.
		defer func() { stopSweeper(); <-sweeperDone }()
	}

	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTP.Listen, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout,
		IdleTimeout:       cfg.HTTP.IdleTimeout,
		// no WriteTimeout: it would cut long audio downloads
	}
	if err := store.Ping(ctx); err != nil {
		logger.Warn("datastore not reachable yet; answering 503 until it is", zap.Error(err))
	}
	base := "http://" + ln.Addr().String()
	logger.Info("listening", zap.String("addr", ln.Addr().String()), zap.String("backend", cfg.Store.Backend))
	fmt.Fprintf(stdout, "recordingsd listening on %s (%s)\n", base, describeBackend(cfg))
	if intro != nil {
		intro.print(stdout, base)
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down", zap.Duration("timeout", cfg.HTTP.ShutdownTimeout))
	if apiCfg.Events != nil {
		srv.RegisterOnShutdown(apiCfg.Events.Close) // event streams end, so Shutdown need not wait for them
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.HTTP.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// closeTrail writes what the access trail still buffers, for at most timeout.
func closeTrail(trail *audit.Trail, timeout time.Duration, logger *zap.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := trail.Close(ctx); err != nil {
		logger.Error("access trail not flushed", zap.Error(err))
	}
}

func apiConfig(cfg *Config) api.Config {
	node := cfg.Crossbar.Node
	if node == "" {
		host, _ := os.Hostname()
		node = crossbar.NodeName("recordingsd@" + host)
	}
	return api.Config{
		DefaultPageSize:       cfg.Listing.DefaultPageSize,
		MaxPageSize:           cfg.Listing.MaxPageSize,
		MaxRangeSeconds:       cfg.Listing.MaxRangeS,
		SoftDeleteByDefault:   cfg.Recordings.DeleteDefault == "kazoo_soft",
		MaxBodyBytes:          cfg.HTTP.MaxBodyBytes,
		ConflictRetries:       cfg.Recordings.ConflictRetries,
		AccountCacheTTL:       cfg.Accounts.CacheTTL,
		Version:               cfg.Crossbar.Version,
		Node:                  node,
		Now:                   time.Now,
		StallTimeout:          cfg.HTTP.StallTimeout,
		IPRateLimit:           api.RateLimit{Rate: cfg.RateLimit.PerIP.Rate, Burst: cfg.RateLimit.PerIP.Burst},
		AllowDisabledAccounts: !cfg.Auth.RefuseDisabledAccounts,
		OwnerGating: authz.OwnerGating{
			Enabled:         cfg.Auth.OwnerGating.Enabled,
			RestrictUnowned: cfg.Auth.OwnerGating.RestrictUnowned,
			Reject:          cfg.Auth.OwnerGating.Mode == "reject",
		},
		AccountRateLimit: api.RateLimit{Rate: cfg.RateLimit.PerAccount.Rate, Burst: cfg.RateLimit.PerAccount.Burst},
	}
}

// startEvents runs the events watcher (one instance at a time leads, and delivers to the
// webhooks while it does) and the log's tail that serves the stream; stop ends both and
// waits for them.
func startEvents(ctx context.Context, cfg *Config, store backend, apiCfg *api.Config, logger *zap.Logger) (stop func(), err error) {
	log := logger.Named("events")
	tail := events.NewTail(store, cfg.Events.Database, cfg.Events.Poll, log)
	sender, err := webhooks.NewSender(webhooks.SenderConfig{Timeout: cfg.Webhooks.Timeout,
		AllowedHosts: cfg.Webhooks.AllowedHosts, UserAgent: "recordingsd-webhooks/1"})
	if err != nil {
		return nil, fmt.Errorf("webhooks.allowed_hosts: %w", err)
	}
	dispatcher, err := webhooks.NewDispatcher(store, tail, sender, cfg.webhooks(), logger.Named("webhooks"), apiCfg.Metrics.Webhooks())
	if err != nil {
		return nil, err
	}
	registry := webhooks.NewRegistry(store, cfg.Events.Database, tail, sender, time.Now)
	registry.Changed = dispatcher.Nudge
	ecfg := cfg.events()
	ecfg.WhileLeading, ecfg.KeepFrom = dispatcher.Run, dispatcher.KeepFrom
	watcher, err := events.NewWatcher(store, ecfg, log, apiCfg.Metrics.Events())
	if err != nil {
		return nil, err
	}
	apiCfg.Events, apiCfg.Webhooks = tail, registry
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); watcher.Run(ctx) }()
	go func() { defer wg.Done(); tail.Run(ctx) }()
	return func() { cancel(); wg.Wait() }, nil
}

// mediaSources are the readers of audio on storage providers (pvt_attachments).
func mediaSources(ctx context.Context, cfg *Config) (media.Sources, error) {
	s3src, err := s3media.New(ctx, cfg.s3Media())
	if err != nil {
		return nil, err
	}
	return media.Sources{
		httpmedia.Handler: httpmedia.New(cfg.mediaTimeouts(), nil, httpmedia.AllowHosts(cfg.Media.HTTP.AllowedHosts...)),
		s3media.Handler:   s3src,
	}, nil
}

// authenticator chains the configured credential kinds: static tokens, Kazoo's JWTs, Basic.
func authenticator(cfg *Config, store backend, tokens []auth.StaticToken) (auth.Authenticator, error) {
	static, err := auth.NewStaticTokens(tokens)
	if err != nil {
		return nil, err
	}
	chain := auth.Chain{Static: static}
	if cfg.Auth.Kazoo.Enabled {
		chain.Kazoo = auth.NewKazoo(store, auth.KazooOptions{
			AllowMissingIdentitySig: cfg.Auth.Kazoo.AllowMissingIdentitySig,
			Leeway:                  cfg.Auth.Kazoo.Leeway,
		})
	}
	if cfg.Auth.Basic.Enabled {
		chain.Basic = auth.NewBasic(store, nil)
	}
	return chain, nil
}
