package retention_test

import (
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/retention"
)

func TestParseAge(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"": retention.Never, "never": retention.Never, "0": 0, "0s": 0, "24h": day, "90m": 90 * time.Minute,
		"30d": 30 * day, "1.5d": 36 * time.Hour, " 7d ": 7 * day,
	} {
		got, err := retention.ParseAge(in)
		if err != nil || got != want {
			t.Errorf("ParseAge(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"-1h", "-2d", "d", "30 days", "forever", "1y", "100000d"} {
		if got, err := retention.ParseAge(in); err == nil {
			t.Errorf("ParseAge(%q) = %v, want an error", in, got)
		}
	}
	for d, want := range map[time.Duration]string{retention.Never: "never", 30 * day: "30d", 36 * time.Hour: "36h0m0s", 0: "0s"} {
		if got := retention.FormatAge(d); got != want {
			t.Errorf("FormatAge(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestCutoffs(t *testing.T) {
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	g := recording.ToGregorian
	c := retention.Policy{DeletedAfter: day, SoftDeletedAfter: retention.Never}.Cutoffs(now)
	if !c.Deleted.On || c.Deleted.Before != g(now.Add(-day)) || c.SoftDeleted.On {
		t.Fatalf("cutoffs %+v", c)
	}
	// A resumed sweep keeps the stricter of its own and today's cutoffs, reason by reason.
	old := retention.Policy{DeletedAfter: day, SoftDeletedAfter: 30 * day}.Cutoffs(now)
	today := retention.Policy{DeletedAfter: 2 * day, SoftDeletedAfter: retention.Never}.Cutoffs(now.Add(time.Hour))
	n := old.Narrow(today)
	if !n.Deleted.On || n.Deleted.Before != g(now.Add(time.Hour-2*day)) || n.SoftDeleted.On {
		t.Fatalf("narrowed %+v", n)
	}
	if p := (retention.Policy{DeletedAfter: retention.Never, SoftDeletedAfter: retention.Never}); p.Active() {
		t.Fatal("a policy keeping everything is active")
	}
}

func TestAgeText(t *testing.T) {
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	g := recording.ToGregorian(now)
	for at, want := range map[int64]string{0: "unknown", -5: "unknown", g - 90: "1m30s", g - 2*86400: "48h0m0s", g + 10: "0s"} {
		if got := retention.AgeText(now, at); got != want {
			t.Errorf("AgeText(%d) = %q, want %q", at, got, want)
		}
	}
}
