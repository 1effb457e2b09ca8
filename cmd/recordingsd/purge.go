package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/retention"
)

// purge applies recordings.retention's policy now, whether or not the background sweeper is
// enabled: with --dry-run it lists what would go and changes nothing; without, it runs one
// sweep (resuming one left half done) and prints what went.
func purge(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("recordingsd purge", flag.ContinueOnError)
	flags.SetOutput(stderr)
	configPath := flags.String("config", "", "configuration file (YAML); RECORDINGS_* variables override it")
	dryRun := flags.Bool("dry-run", false, "list the recordings the policy would purge; change nothing")
	if err := flags.Parse(args); err != nil {
		return err
	}
	c, err := openConfigured(*configPath, getenv, stderr)
	if err != nil {
		return err
	}
	defer func() { _ = c.close() }()
	rc := c.cfg.Recordings.Retention
	fmt.Fprintf(stdout, "policy: pvt_deleted recordings after %s, soft-deleted after %s, external media %s\n",
		ageText(rc.PurgeDeletedAfter), ageText(rc.PurgeSoftDeletedAfter), mediaText(rc.DeleteExternalMedia))
	media, err := mediaSources(ctx, c.cfg)
	if err != nil {
		return err
	}
	sweeper, err := newSweeper(c.cfg, c.store, media, c.logger, nil)
	if err != nil {
		return err
	}

	if *dryRun {
		now := time.Now()
		report, err := sweeper.DryRun(ctx, func(db recording.MonthDB, cand recording.PurgeCandidate) {
			line := fmt.Sprintf("would purge %s %s %s, age %s", db.AccountID, cand.Key.ID, cand.Key.Reason,
				retention.AgeText(now, cand.Key.At))
			if h, held := recording.HoldOf(cand.Doc); held {
				line = fmt.Sprintf("would keep %s %s %s, age %s: on legal hold (%s)", db.AccountID, cand.Key.ID, cand.Key.Reason,
					retention.AgeText(now, cand.Key.At), h.Reason)
			}
			if ext := externalNames(cand.Doc); ext != "" {
				line += ", external media " + ext
			}
			fmt.Fprintln(stdout, line)
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "dry run: %d recordings would be purged (%d deleted, %d soft-deleted), %d kept on legal hold, in %d month databases; nothing changed\n",
			report.Total(), report.Purged[string(recording.PurgeDeleted)], report.Purged[string(recording.PurgeSoftDeleted)], report.Held, report.Databases)
		return nil
	}
	report, err := sweeper.Sweep(ctx)
	if errors.Is(err, retention.ErrBusy) {
		return fmt.Errorf("%w; try again when it is done", err)
	}
	if report != nil {
		fmt.Fprintf(stdout, "purged %d recordings (%d deleted, %d soft-deleted) in %d month databases; %d left in place; %d kept on legal hold; external media: %d deleted, %d retained\n",
			report.Total(), report.Purged[string(recording.PurgeDeleted)], report.Purged[string(recording.PurgeSoftDeleted)],
			report.Databases, report.Failed, report.Held, report.MediaDeleted, report.MediaKept)
	}
	return err
}

func ageText(s string) string {
	d, err := retention.ParseAge(s)
	if err != nil || d < 0 {
		return "never"
	}
	return retention.FormatAge(d)
}

func mediaText(del bool) string {
	if del {
		return "deleted with them"
	}
	return "retained"
}

// externalNames lists a recording's attachments on storage providers.
func externalNames(doc recording.Doc) string {
	var names []string
	for _, a := range doc.Attachments() {
		if a.External {
			names = append(names, a.Name)
		}
	}
	return strings.Join(names, ",")
}
