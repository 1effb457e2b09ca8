package webhooks

import (
	"context"
	"strings"

	"github.com/recordingsd/recordingsd/pkg/events"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// In the events database each webhook has a state document, "webhook:<account>:<id>": its
// place in the log (the delivery queue is the log itself, from there on) and its recent
// attempts. The API creates it with the webhook and removes it with it; only the deliverer
// changes it otherwise. Its presence is what makes the deliverer run a worker for the webhook.
const (
	statePrefix = "webhook:"
	stateEnd    = "webhook;" // sorts after every state id
)

func stateID(accountID, id string) string { return statePrefix + accountID + ":" + id }

// keepAttempts is how many recent attempts a webhook shows.
const keepAttempts = 20

// state is a webhook's delivery state.
type state struct {
	ID        string `json:"_id"`
	Rev       string `json:"_rev,omitempty"`
	AccountID string `json:"account_id"`
	WebhookID string `json:"webhook_id"`
	// StartSeq is the log document delivery begins at, until an event was handled.
	StartSeq int64 `json:"start_seq"`
	// After is the last event handled: delivered, or not one for this webhook.
	After        string    `json:"after,omitempty"`
	Failures     int       `json:"consecutive_failures"`
	FailingSince int64     `json:"failing_since,omitempty"` // unix ms of the first of them
	Delivered    int64     `json:"delivered"`
	LastSuccess  int64     `json:"last_success,omitempty"` // gregorian seconds
	Attempts     []Attempt `json:"attempts,omitempty"`     // newest first
	Registered   int64     `json:"registered"`             // unix ms
}

// Attempt is one delivery try, as GET shows it.
type Attempt struct {
	At        int64  `json:"timestamp"` // gregorian seconds
	EventID   string `json:"event_id"`
	Event     string `json:"event"`
	Status    int    `json:"status,omitempty"` // the receiver's HTTP status
	LatencyMS int64  `json:"latency_ms"`
	Error     string `json:"error,omitempty"` // a stable cause: timeout, http_500, …
	Detail    string `json:"detail,omitempty"`
}

// seq is the first log document the webhook may still need.
func (s *state) seq() int64 {
	if seq, ok := events.LogSeq(s.After); ok {
		return seq
	}
	return s.StartSeq
}

// record keeps an attempt, newest first.
func (s *state) record(a Attempt) {
	s.Attempts = append([]Attempt{a}, s.Attempts...)
	if len(s.Attempts) > keepAttempts {
		s.Attempts = s.Attempts[:keepAttempts]
	}
}

// Delivery is what GET shows of a webhook's deliveries.
func (s *state) public() map[string]any {
	out := map[string]any{
		"attempts":             s.Attempts,
		"consecutive_failures": s.Failures,
		"delivered":            s.Delivered,
	}
	if s.Attempts == nil {
		out["attempts"] = []Attempt{}
	}
	if s.LastSuccess > 0 {
		out["last_success"] = s.LastSuccess
	}
	if s.FailingSince > 0 {
		out["failing_since"] = s.FailingSince/1000 + recording.UnixEpochInGregorian
	}
	return out
}

func stateOf(d recording.Doc) (*state, error) {
	var s state
	if err := d.DecodeInto(&s); err != nil {
		return nil, err
	}
	return &s, nil
}

// loadState reads one webhook's state (ENotFound when it has none).
func loadState(ctx context.Context, store Store, db, accountID, id string) (*state, error) {
	res, err := store.GetSystemDocs(ctx, db, []string{stateID(accountID, id)})
	if err != nil {
		return nil, err
	}
	if res[0].Err != nil {
		return nil, res[0].Err
	}
	return stateOf(res[0].Doc)
}

// saveState writes s over its revision and keeps the new one.
func saveState(ctx context.Context, store Store, db string, s *state) error {
	d, err := recording.DocOf(s)
	if err != nil {
		return err
	}
	if s.Rev == "" {
		delete(d, "_rev")
	}
	res, err := store.SaveSystemDocs(ctx, db, []recording.Doc{d})
	if err != nil {
		return err
	}
	if res[0].Err != nil {
		return res[0].Err
	}
	s.Rev = res[0].Rev
	return nil
}

// removeState deletes a webhook's state; one already gone is fine.
func removeState(ctx context.Context, store Store, db, accountID, id string) error {
	s, err := loadState(ctx, store, db, accountID, id)
	if recording.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	res, err := store.SaveSystemDocs(ctx, db, []recording.Doc{{"_id": s.ID, "_rev": s.Rev, "_deleted": true}})
	if err != nil {
		return err
	}
	if res[0].Err != nil && recording.ErrorCode(res[0].Err) != recording.ENotFound {
		return res[0].Err
	}
	return nil
}

// splitStateID reads account and webhook ids out of a state document's id.
func splitStateID(id string) (accountID, webhookID string, ok bool) {
	rest, found := strings.CutPrefix(id, statePrefix)
	if !found {
		return "", "", false
	}
	accountID, webhookID, ok = strings.Cut(rest, ":")
	return accountID, webhookID, ok && recording.ValidAccountID(accountID) && validID(webhookID)
}
