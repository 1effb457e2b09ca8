// Package retention hard-deletes recordings a policy no longer keeps: those Kazoo marked
// pvt_deleted, some time after the mark (what Kazoo's cleanup task does, with an age), and
// optionally soft-deleted ones (a PATCHed soft_delete). A Sweeper walks every month database
// through its purge index, in bounded, rate-limited batches, and keeps its progress in the
// store, so a restarted service resumes where it stopped and two instances never sweep at
// once.
package retention

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Never is an age that keeps recordings forever.
const Never time.Duration = -1

// ParseAge reads an age: a Go duration ("36h", "90m"), a number of days ("30d"), or
// "never" / "" for Never. Negative ages are refused.
func ParseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "", "never":
		return Never, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n < 0 || n > 100*365 {
			return 0, fmt.Errorf("age %q: want a number of days such as 30d", s)
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("age %q: want a duration such as 24h, a number of days such as 30d, or never", s)
	}
	return d, nil
}

// FormatAge is the inverse of ParseAge, for messages.
func FormatAge(d time.Duration) string {
	switch {
	case d < 0:
		return "never"
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}

// AgeText is how long ago a purge key's mark was made, for logs and the dry run: "unknown"
// when the document carries no time (At 0; such recordings are taken by any cutoff).
func AgeText(now time.Time, at int64) string {
	if at <= 0 {
		return "unknown"
	}
	secs := recording.ToGregorian(now) - at
	if secs < 0 {
		return "0s"
	}
	return (time.Duration(secs) * time.Second).Truncate(time.Second).String()
}

// Policy says which recordings go, and whether their media on storage providers goes too.
type Policy struct {
	// DeletedAfter: pvt_deleted recordings go this long after pvt_modified. Never keeps them.
	DeletedAfter time.Duration
	// SoftDeletedAfter: soft-deleted recordings go this long after soft_delete.deleted_at.
	SoftDeletedAfter time.Duration
	// DeleteExternalMedia also deletes a purged recording's pvt_attachments objects from
	// their provider; otherwise they stay, and the log says where.
	DeleteExternalMedia bool
}

// Active reports whether the policy takes anything at all.
func (p Policy) Active() bool { return p.DeletedAfter >= 0 || p.SoftDeletedAfter >= 0 }

// Cutoffs are the purge index bounds of a sweep that starts at now.
func (p Policy) Cutoffs(now time.Time) Cutoffs {
	at := func(age time.Duration) recording.Cutoff {
		if age < 0 {
			return recording.Cutoff{}
		}
		return recording.Cutoff{On: true, Before: recording.ToGregorian(now.Add(-age))}
	}
	return Cutoffs{Deleted: at(p.DeletedAfter), SoftDeleted: at(p.SoftDeletedAfter)}
}

// Cutoffs bound what one sweep takes: fixed when it starts, kept when it resumes.
type Cutoffs struct {
	Deleted     recording.Cutoff `json:"deleted"`
	SoftDeleted recording.Cutoff `json:"soft_deleted"`
}

// Narrow keeps what both c and o take: a resumed sweep never takes what the current policy
// keeps, even if the policy changed while it was stopped.
func (c Cutoffs) Narrow(o Cutoffs) Cutoffs {
	both := func(a, b recording.Cutoff) recording.Cutoff {
		if !a.On || !b.On {
			return recording.Cutoff{}
		}
		return recording.Cutoff{On: true, Before: min(a.Before, b.Before)}
	}
	return Cutoffs{Deleted: both(c.Deleted, o.Deleted), SoftDeleted: both(c.SoftDeleted, o.SoftDeleted)}
}

// Config is a Sweeper's policy and pace.
type Config struct {
	Policy
	// Interval between the end of one sweep and the start of the next.
	Interval time.Duration
	// BatchSize bounds the recordings read and deleted per request (1 to 1000).
	BatchSize int
	// Rate bounds the recordings purged per second (0: no bound).
	Rate float64
	// Lease is how long a sweeper's claim holds without being renewed; another instance
	// (or this one after a crash) takes over a sweep whose lease ran out.
	Lease time.Duration
	// StateDB is the system database holding the sweeper's state document.
	StateDB string
	// Instance names this process in the state document (the service uses host:pid).
	Instance string
	// Now is the clock (tests move it); nil is the real one.
	Now func() time.Time
}

// Validate reports settings a sweeper cannot run with. The configuration layer
// (cmd/recordingsd) owns the defaults; the sweeper takes the values it is given.
func (c Config) Validate() error {
	switch {
	case c.Interval <= 0:
		return fmt.Errorf("retention interval must be positive, not %v", c.Interval)
	case c.BatchSize < 1 || c.BatchSize > 1000:
		return fmt.Errorf("retention batch_size %d: between 1 and 1000", c.BatchSize)
	case c.Rate < 0:
		return fmt.Errorf("retention rate must not be negative (0: no bound)")
	case c.Lease <= 0:
		return fmt.Errorf("retention lease must be positive, not %v", c.Lease)
	case !recording.ValidSystemDB(c.StateDB):
		return fmt.Errorf("retention state_database %q is not a valid database name", c.StateDB)
	case c.Instance == "":
		return fmt.Errorf("retention instance name is empty")
	}
	return nil
}
