// Package events tells integrators what happens to recordings: it follows the database's own
// change feed (so Kazoo's writes count as much as the service's), turns each change into
// events (created, updated, soft deleted, restored, deleted), and keeps them in a log that the
// live stream reads and webhooks deliver from.
//
// Files: event.go (the payload), classify.go (a change and what was known before → events),
// journal.go (snapshots and the log in the state database, replay-safe), watcher.go (one
// watcher per deployment under a lease), tail.go (the log as a live stream for every instance).
package events

// Type names an event.
type Type string

// The events of a recording's life.
const (
	Created     Type = "recording.created"
	Updated     Type = "recording.updated"
	SoftDeleted Type = "recording.soft_deleted"
	Restored    Type = "recording.restored"
	Deleted     Type = "recording.deleted"
)

// Types lists every event, in the order of a recording's life.
var Types = []Type{Created, Updated, SoftDeleted, Restored, Deleted}

// Valid reports whether t is an event this service sends.
func (t Type) Valid() bool {
	for _, k := range Types {
		if t == k {
			return true
		}
	}
	return false
}

// Reasons of recording.deleted, in data.reason.
const (
	ReasonKazooDeleted = "pvt_deleted" // Kazoo's own delete: the document is marked, kept for its cleanup
	ReasonHardDeleted  = "hard_delete" // the document is gone (a DELETE, or Kazoo's cleanup)
	ReasonRetention    = "retention"   // the retention sweeper purged it
)

// Event is what a receiver gets: the payload of a webhook delivery and of a stream message.
type Event struct {
	ID          string         `json:"event_id"`
	Type        Type           `json:"event"`
	AccountID   string         `json:"account_id"`
	RecordingID string         `json:"recording_id"`
	OccurredAt  int64          `json:"occurred_at"` // gregorian seconds
	Data        map[string]any `json:"data"`        // the recording as the listing shows it

	// Owner is the recording's owner, for owner gating of the stream; never sent.
	Owner string   `json:"-"`
	pos   position // where it sits in the log
}
