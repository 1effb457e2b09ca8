// Package webhooks delivers recording events to the URLs accounts register: the webhooks
// themselves (kept in the account's database, managed through the API), a delivery queue per
// webhook (a cursor into the events log, kept in the events database), and signed POSTs with
// retries, one deliverer per deployment (the events watcher's lease holder).
//
// Files: webhook.go (a webhook and its fields), input.go (what a request may set), registry.go
// (create, change, delete), state.go (a webhook's place in the log and its recent attempts),
// dispatcher.go (one worker per webhook while leading), worker.go (deliveries in order, with
// backoff), sign.go and sender.go (the signed POST, with the network guard).
package webhooks

import (
	"time"

	"github.com/recordingsd/recordingsd/pkg/events"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// In the account database a webhook is the document "recording_webhook:<id>", with pvt_type
// recording_webhook: the prefix lists them by id range, with no view to install.
const (
	docPrefix = "recording_webhook:"
	docType   = "recording_webhook"
)

func docID(id string) string { return docPrefix + id }

// Webhook is a registered URL and what it wants to hear.
type Webhook struct {
	ID                 string         `json:"-"`
	Rev                string         `json:"-"`
	AccountID          string         `json:"pvt_account_id"`
	Name               string         `json:"name"`
	URI                string         `json:"uri"`
	Events             []events.Type  `json:"events"`
	IncludeSubaccounts bool           `json:"include_subaccounts"`
	Enabled            bool           `json:"enabled"`
	CustomData         map[string]any `json:"custom_data,omitempty"`

	Secret    string    `json:"pvt_secret"`
	Created   int64     `json:"pvt_created"`  // gregorian seconds
	Modified  int64     `json:"pvt_modified"` // gregorian seconds
	Disabled  *Disabled `json:"pvt_disabled,omitempty"`
	EnabledAt int64     `json:"pvt_enabled_at,omitempty"` // unix ms of the last (re-)enabling
}

// Disabled says why the service turned a webhook off.
type Disabled struct {
	Reason string `json:"reason"`
	At     int64  `json:"at"` // gregorian seconds
}

// wants reports whether the webhook subscribes to events of type t.
func (w Webhook) wants(t events.Type) bool {
	for _, e := range w.Events {
		if e == t {
			return true
		}
	}
	return false
}

// doc is the webhook as the account database keeps it.
func (w Webhook) doc() (recording.Doc, error) {
	d, err := recording.DocOf(w)
	if err != nil {
		return nil, err
	}
	d["_id"] = docID(w.ID)
	if w.Rev != "" {
		d["_rev"] = w.Rev
	}
	d["pvt_type"] = docType
	return d, nil
}

// webhookOf reads a stored webhook document.
func webhookOf(d recording.Doc) (Webhook, error) {
	var w Webhook
	if err := d.DecodeInto(&w); err != nil {
		return Webhook{}, err
	}
	w.ID = d.ID()[len(docPrefix):]
	w.Rev = d.Rev()
	return w, nil
}

// Public is what the API shows of a webhook: never its secret.
func (w Webhook) Public() map[string]any {
	out := map[string]any{
		"id":                  w.ID,
		"name":                w.Name,
		"uri":                 redactURI(w.URI),
		"events":              w.Events,
		"include_subaccounts": w.IncludeSubaccounts,
		"enabled":             w.Enabled,
		"created":             w.Created,
		"modified":            w.Modified,
	}
	if w.CustomData != nil {
		out["custom_data"] = w.CustomData
	}
	if w.Disabled != nil {
		out["disabled"] = map[string]any{"reason": w.Disabled.Reason, "at": w.Disabled.At}
	}
	return out
}

func gregorianNow(now func() time.Time) int64 { return recording.ToGregorian(now()) }
