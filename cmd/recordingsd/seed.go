package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/recordingsd/recordingsd/pkg/demo"
)

// seed writes the demo data set into the configured store (idempotent).
func seed(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("recordingsd seed", flag.ContinueOnError)
	flags.SetOutput(stderr)
	configPath := flags.String("config", "", "configuration file (YAML); RECORDINGS_* variables override it")
	var o demo.Options
	flags.IntVar(&o.Accounts, "accounts", 1, "child accounts under the demo reseller")
	flags.IntVar(&o.RecordingsPerAccount, "recordings-per-account", 24, "recordings in each child account")
	flags.IntVar(&o.Months, "months", 3, "months back from now the recordings spread over")
	flags.IntVar(&o.AudioEvery, "audio-every", 1, "attach audio to one recording in N")
	if err := flags.Parse(args); err != nil {
		return err
	}
	c, err := openConfigured(*configPath, getenv, stderr)
	if err != nil {
		return err
	}
	defer func() { _ = c.close() }()
	cfg, store := c.cfg, c.store
	started := time.Now()
	res, err := demo.Seed(ctx, store, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %d recordings in %d account(s) under reseller %s into the %s in %v\n",
		res.Recordings, len(res.Accounts), res.ResellerID, describeBackend(cfg), time.Since(started).Round(time.Millisecond))
	return nil
}
