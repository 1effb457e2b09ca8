package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/recordingsd/recordingsd/pkg/audit"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

const auditUsage = "usage: recordingsd audit verify --config FILE --account ID [--month YYYYMM]"

// auditCommand runs `recordingsd audit verify`: it checks the hash chains of an account's
// access trail, one month or every month its catalogue lists, a line per month, and fails
// when any chain is broken.
func auditCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return errors.New(auditUsage)
	}
	flags := flag.NewFlagSet("recordingsd audit verify", flag.ContinueOnError)
	flags.SetOutput(stderr)
	configPath := flags.String("config", "", "configuration file (YAML); RECORDINGS_* variables override it")
	accountID := flags.String("account", "", "the account whose trail to verify (32 lower-case hex)")
	monthText := flags.String("month", "", "one month (YYYYMM); default: every month of the account's trail")
	if err := flags.Parse(args[1:]); err != nil {
		return err
	}
	if !recording.ValidAccountID(*accountID) {
		return fmt.Errorf("--account %q is not an account id (32 lower-case hex); %s", *accountID, auditUsage)
	}
	var months []recording.Month
	if *monthText != "" {
		m, ok := audit.ParseMonth(*monthText)
		if !ok {
			return fmt.Errorf("--month %q is not YYYYMM", *monthText)
		}
		months = []recording.Month{m}
	}
	c, err := openConfigured(*configPath, getenv, stderr)
	if err != nil {
		return err
	}
	defer func() { _ = c.close() }()
	if months == nil {
		if months, err = audit.Months(ctx, c.store, *accountID); err != nil {
			return err
		}
		if len(months) == 0 {
			fmt.Fprintf(stdout, "account %s has no access trail\n", *accountID)
			return nil
		}
	}

	var broken []string
	for _, m := range months {
		r, err := audit.Verify(ctx, c.store, *accountID, m)
		if err != nil {
			return err
		}
		if r.OK() {
			fmt.Fprintf(stdout, "%s %s: %s, OK\n", m, r.DB, entriesText(r.Entries))
			continue
		}
		first := r.Breaks[0]
		fmt.Fprintf(stdout, "%s %s: %s, BROKEN at %s\n", m, r.DB, entriesText(r.Entries), first)
		for _, b := range r.Breaks[1:] {
			fmt.Fprintf(stdout, "    and at %s\n", b)
		}
		if r.More > 0 {
			fmt.Fprintf(stdout, "    and %d more\n", r.More)
		}
		broken = append(broken, fmt.Sprintf("%s at seq %d (%s)", m, first.Seq, first.DocID))
	}
	if len(broken) > 0 {
		return fmt.Errorf("the access trail of account %s is broken in %d of %d months: %v", *accountID, len(broken), len(months), broken)
	}
	return nil
}

func entriesText(n int) string {
	if n == 1 {
		return "1 entry"
	}
	return fmt.Sprintf("%d entries", n)
}
