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
	jwt       string // a Kazoo token for the demo reseller, as Monster UI would hold
}

// demoTokenTTL keeps the printed token usable for a day of trying things out.
const demoTokenTTL = 24 * time.Hour

func (d *demoIntro) token() auth.StaticToken {
	return auth.StaticToken{Token: DemoToken, AccountID: demo.ResellerID}
}

// prepareDemo seeds an empty store and finds a recording with audio to show.
func prepareDemo(ctx context.Context, store backend, stdout io.Writer) (*demoIntro, error) {
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
	intro.jwt, err = auth.MintFor(ctx, store, auth.MintRequest{AccountID: demo.ResellerID, TTL: demoTokenTTL})
	if err != nil {
		return nil, fmt.Errorf("demo token: %w", err)
	}
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
Demo data: reseller %s, customer account %s.
Token (a Kazoo JWT for the reseller, valid 24 h; the static %q works too):
  export TOKEN=%s

List the customer's recordings, newest first:
  curl -H "X-Auth-Token: $TOKEN" '%s/v2/accounts/%s/recordings?descending=true'
`, demo.ResellerID, d.accountID, DemoToken, d.jwt, base, d.accountID)
	if d.sampleID != "" {
		fmt.Fprintf(w, `Download one recording's audio:
  curl -H "X-Auth-Token: $TOKEN" -H 'Accept: audio/mpeg' -o recording.mp3 '%s/v2/accounts/%s/recordings/%s'
`, base, d.accountID, d.sampleID)
	} else {
		fmt.Fprintln(w, "(no recording of the last 31 days has audio: run `recordingsd seed` to refresh the demo data)")
	}
	fmt.Fprintf(w, "Browse them in a browser: %s/ui/\n\n", base)
}
