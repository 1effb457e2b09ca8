// Command recordingsd serves Kazoo's crossbar recordings API.
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
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/recordingsd/recordingsd/pkg/api"
	"github.com/recordingsd/recordingsd/pkg/auth"
	"github.com/recordingsd/recordingsd/pkg/crossbar"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "recordingsd:", err)
		os.Exit(1)
	}
}

// run starts the service and blocks until ctx ends; tests call it directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("recordingsd", flag.ContinueOnError)
	flags.SetOutput(stderr)
	configPath := flags.String("config", "", "configuration file (YAML); RECORDINGS_* variables override it")
	if err := flags.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(*configPath, getenv)
	if err != nil {
		return err
	}
	logger, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	defer func() { _ = logger.Sync() }()

	store, err := openStore(cfg, logger)
	if err != nil {
		return err
	}
	authn, err := auth.NewStaticTokens(cfg.Auth.Tokens)
	if err != nil {
		return err
	}
	handler := api.NewServer(logger, apiConfig(cfg), store, authn)

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
	logger.Info("listening", zap.String("addr", ln.Addr().String()), zap.String("backend", cfg.Store.Backend))
	fmt.Fprintf(stdout, "recordingsd listening on http://%s\n", ln.Addr())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down", zap.Duration("timeout", cfg.HTTP.ShutdownTimeout))
	sctx, cancel := context.WithTimeout(context.Background(), cfg.HTTP.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

func openStore(cfg *Config, logger *zap.Logger) (recording.Store, error) {
	return couch.New(couch.Config{
		URL:            cfg.CouchDB.URL,
		Username:       cfg.CouchDB.Username,
		Password:       cfg.CouchDB.Password,
		RequestTimeout: cfg.CouchDB.RequestTimeout,
	}, logger)
}

func apiConfig(cfg *Config) api.Config {
	node := cfg.Crossbar.Node
	if node == "" {
		host, _ := os.Hostname()
		node = crossbar.NodeName("recordingsd@" + host)
	}
	return api.Config{
		DefaultPageSize:     cfg.Listing.DefaultPageSize,
		MaxPageSize:         cfg.Listing.MaxPageSize,
		MaxRangeSeconds:     cfg.Listing.MaxRangeS,
		SoftDeleteByDefault: cfg.Recordings.DeleteDefault == "kazoo_soft",
		MaxBodyBytes:        cfg.HTTP.MaxBodyBytes,
		ConflictRetries:     cfg.Recordings.ConflictRetries,
		AccountCacheTTL:     cfg.Accounts.CacheTTL,
		Version:             cfg.Crossbar.Version,
		Node:                node,
		Now:                 time.Now,
	}
}

func newLogger(cfg *Config, out io.Writer) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(cfg.Log.Level)
	if err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	switch cfg.Log.Format {
	case "json":
		enc = zapcore.NewJSONEncoder(encCfg)
	case "console":
		enc = zapcore.NewConsoleEncoder(encCfg)
	default:
		return nil, fmt.Errorf("log.format must be json or console, not %q", cfg.Log.Format)
	}
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(out), level)), nil
}
