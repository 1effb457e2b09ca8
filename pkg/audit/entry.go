package audit

import (
	"time"

	"github.com/recordingsd/recordingsd/pkg/auth"
)

// Actions: what a request did. One entry per request, whatever its status.
const (
	AudioRead           = "audio.read"            // the audio of a recording (status, bytes sent)
	RecordingRead       = "recording.read"        // a recording's metadata
	RecordingsList      = "recordings.list"       // a listing (count, filters)
	RecordingSoftDelete = "recording.soft_delete" // marked soft-deleted
	RecordingRestore    = "recording.restore"     // a soft delete undone
	RecordingDelete     = "recording.delete"      // removed (hard delete or pvt_deleted)
	RecordingErase      = "recording.erase"       // removed with its audio on storage providers (detail: locations)
	RecordingHold       = "recording.hold"        // put on legal hold (detail: reason)
	RecordingRelease    = "recording.release"     // legal hold released
	WebhookCreate       = "webhook.create"
	WebhookUpdate       = "webhook.update"
	WebhookDelete       = "webhook.delete"
	AuditRead           = "audit.read" // the trail itself was read
)

// Entry is one access, as recorded and as read back. The trail sets Seq, Prev and Hash; At
// is kept to the millisecond (UTC).
type Entry struct {
	Seq         int64             `json:"seq"`
	At          time.Time         `json:"at"`
	AccountID   string            `json:"account_id"` // whose trail: the account of the path
	Actor       Actor             `json:"actor"`
	ClientIP    string            `json:"client_ip,omitempty"`
	Action      string            `json:"action"`
	RecordingID string            `json:"recording_id,omitempty"`
	Status      int               `json:"status,omitempty"` // the HTTP status answered
	Bytes       int64             `json:"bytes,omitempty"`  // body bytes sent (audio)
	Count       int               `json:"count,omitempty"`  // items listed
	Filters     map[string]string `json:"filters,omitempty"`
	RequestID   string            `json:"request_id,omitempty"`
	Detail      map[string]any    `json:"detail,omitempty"`
	Prev        string            `json:"prev"`
	Hash        string            `json:"hash"`
}

// Actor is who made the request: the identity its credentials established, never the
// credentials themselves.
type Actor struct {
	AccountID         string `json:"account_id,omitempty"`
	UserID            string `json:"user_id,omitempty"`
	Credential        string `json:"credential"`       // "static", "kazoo_jwt", "basic"
	KeyID             string `json:"key_id,omitempty"` // a Kazoo JWT's kid
	OriginalAccountID string `json:"original_account_id,omitempty"`
	AllAccounts       bool   `json:"all_accounts,omitempty"` // a system token
}

// ActorOf is the actor an authenticated identity makes.
func ActorOf(id auth.Identity) Actor {
	return Actor{AccountID: id.AccountID, UserID: id.UserID, Credential: id.Method, KeyID: id.KeyID,
		OriginalAccountID: id.OriginalAccountID, AllAccounts: id.AllAccounts}
}
