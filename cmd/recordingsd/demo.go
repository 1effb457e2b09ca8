package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/recordingsd/recordingsd/pkg/auth"
	"github.com/recordingsd/recordingsd/pkg/demo"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// DemoToken is accepted in demo mode; it acts on the demo reseller and the accounts below it.
const DemoToken = "demo-token"

// demoIntro is what the console shows a newcomer in demo mode.
type demoIntro struct {
	accountID string
	sampleID  string
}

func (d *demoIntro) token() auth.StaticToken {
	return auth.StaticToken{Token: DemoToken, AccountID: demo.ResellerID}
}

// prepareDemo seeds an empty store and finds a recording with audio to show.
func prepareDemo(ctx context.Context, store demo.Backend, stdout io.Writer) (*demoIntro, error) {
	seeded, err := demo.Seeded(ctx, store)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if !seeded {
		fmt.Fprintln(stdout, "empty store: writing the demo data set…")
		res, err := demo.Seed(ctx, store, demo.Options{})
		if err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		fmt.Fprintf(stdout, "seeded %d recordings\n", res.Recordings)
	}
	intro := &demoIntro{accountID: demo.AccountID(0)}
	now := time.Now()
	_, err = recording.List(ctx, store, recording.ListRequest{
		AccountID: intro.accountID, From: recording.ToGregorian(now) - 2682000, To: recording.ToGregorian(now), Descending: true,
	}, func(r recording.Row) error {
		if intro.sampleID == "" && len(r.Doc.Attachments()) > 0 {
			intro.sampleID = r.Doc.ID()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	return intro, nil
}

func (d *demoIntro) print(w io.Writer, base string) {
	fmt.Fprintf(w, `
Demo data: reseller %s, customer account %s, token %q.

List the customer's recordings, newest first:
  curl -H 'X-Auth-Token: %s' '%s/v2/accounts/%s/recordings?descending=true'
`, demo.ResellerID, d.accountID, DemoToken, DemoToken, base, d.accountID)
	if d.sampleID != "" {
		fmt.Fprintf(w, `Download one recording's audio:
  curl -H 'X-Auth-Token: %s' -H 'Accept: audio/mpeg' -o recording.mp3 '%s/v2/accounts/%s/recordings/%s'
`, DemoToken, base, d.accountID, d.sampleID)
	} else {
		fmt.Fprintln(w, "(no recording of the last 31 days has audio: run `recordingsd seed` to refresh the demo data)")
	}
	fmt.Fprintf(w, "Browse them in a browser: %s/ui/\n\n", base)
}
