package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/recordingsd/recordingsd/pkg/auth"
)

// token mints a Kazoo JWT that the configured service accepts (a development tool).
func token(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("recordingsd token", flag.ContinueOnError)
	flags.SetOutput(stderr)
	configPath := flags.String("config", "", "configuration file (YAML); RECORDINGS_* variables override it")
	var req auth.MintRequest
	flags.StringVar(&req.AccountID, "account", "", "account id the token speaks for (required)")
	flags.StringVar(&req.UserID, "user", "", "user id of that account (default: an account-level token)")
	flags.BoolVar(&req.Admin, "admin", false, "insist that --user is an account admin (priv_level admin)")
	flags.DurationVar(&req.TTL, "ttl", time.Hour, "lifetime (Kazoo's default is one hour)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if req.AccountID == "" {
		return fmt.Errorf("token: --account is required")
	}
	c, err := openConfigured(*configPath, getenv, stderr)
	if err != nil {
		return err
	}
	defer func() { _ = c.close() }()
	store := c.store
	tok, err := auth.MintFor(ctx, store, req)
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
