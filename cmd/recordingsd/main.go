// Command recordingsd serves Kazoo's crossbar recordings API.
//
//	recordingsd [serve] --config FILE [--demo]   serve the API
//	recordingsd seed --config FILE [sizes]       write the demo data set
//	recordingsd token --config FILE --account ID [--user ID] [--admin]   mint a Kazoo token
//	recordingsd purge --config FILE [--dry-run]  apply recordings.retention now
//	recordingsd views build --config FILE [--account ID] [--months N]   build CouchDB indexes ahead of time
//	recordingsd audit verify --config FILE --account ID [--month YYYYMM]   check an account's access trail
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "recordingsd:", err)
		os.Exit(1)
	}
}

// run dispatches to a subcommand and returns when it is done (serve: when ctx ends);
// tests call it directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr)
	case "seed":
		return seed(ctx, args, getenv, stdout, stderr)
	case "token":
		return token(ctx, args, getenv, stdout, stderr)
	case "purge":
		return purge(ctx, args, getenv, stdout, stderr)
	case "views":
		return views(ctx, args, getenv, stdout, stderr)
	case "audit":
		return auditCommand(ctx, args, getenv, stdout, stderr)
	default:
		return fmt.Errorf("unknown command %q (serve, seed, token, purge, views, audit)", cmd)
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
