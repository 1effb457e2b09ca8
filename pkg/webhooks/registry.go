package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/recordingsd/recordingsd/pkg/events"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Store is what webhooks need of a backend: their documents in account databases, their
// state in the events database.
type Store interface {
	recording.AccountDocs
	recording.StateDocs
	AccountDoc(ctx context.Context, accountID, id string) (recording.Doc, error)
}

// Registry creates, changes and removes webhooks (the API's side).
type Registry struct {
	store Store
	db    string // the events database
	tail  *events.Tail
	uris  URIChecker
	now   func() time.Time

	// Changed, when set, is called after a webhook is created or changed (Dispatcher.Nudge:
	// a deliverer in this process starts on it at once).
	Changed func()
}

// NewRegistry returns the registry of webhooks kept in store, with their state in the events
// database db; tail says where the log ends (a new webhook hears what is logged after it).
func NewRegistry(store Store, db string, tail *events.Tail, uris URIChecker, now func() time.Time) *Registry {
	if now == nil {
		now = time.Now
	}
	return &Registry{store: store, db: db, tail: tail, uris: uris, now: now}
}

// ErrNotFound means the account has no such webhook.
var ErrNotFound = recording.Errorf(recording.ENotFound, "webhook not found")

// validID: a webhook id is 32 lowercase hex characters, as Kazoo's document ids.
func validID(id string) bool { return recording.ValidAccountID(id) }

// ValidID reports whether id has the shape of a webhook id.
func ValidID(id string) bool { return validID(id) }

// listPage is how many webhook documents one read lists.
const listPage = 100

// List returns the account's webhooks in id order.
func (r *Registry) List(ctx context.Context, accountID string) ([]Webhook, error) {
	var out []Webhook
	after := ""
	for {
		docs, err := r.store.AccountDocsWithPrefix(ctx, accountID, docPrefix, after, listPage)
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			w, err := webhookOf(d)
			if err != nil {
				return nil, fmt.Errorf("webhooks: %s: %w", d.ID(), err)
			}
			out = append(out, w)
		}
		if len(docs) < listPage {
			return out, nil
		}
		after = docs[len(docs)-1].ID()
	}
}

// Get loads one webhook and, when it has one, its delivery state (nil otherwise).
func (r *Registry) Get(ctx context.Context, accountID, id string) (Webhook, map[string]any, error) {
	w, err := r.load(ctx, accountID, id)
	if err != nil {
		return Webhook{}, nil, err
	}
	s, err := loadState(ctx, r.store, r.db, accountID, id)
	switch {
	case recording.IsNotFound(err):
		return w, nil, nil
	case err != nil:
		return Webhook{}, nil, err
	}
	return w, s.public(), nil
}

func (r *Registry) load(ctx context.Context, accountID, id string) (Webhook, error) {
	if !validID(id) {
		return Webhook{}, ErrNotFound
	}
	d, err := r.store.AccountDoc(ctx, accountID, docID(id))
	if recording.IsNotFound(err) {
		return Webhook{}, ErrNotFound
	}
	if err != nil {
		return Webhook{}, err
	}
	return webhookOf(d)
}

// Create registers a webhook from a request's data and returns it with its new secret (the
// only time the secret is shown). It hears every event logged from now on: its state is
// written first, at the log's end, then the webhook itself.
func (r *Registry) Create(ctx context.Context, accountID string, data map[string]any) (Webhook, error) {
	now := gregorianNow(r.now)
	w := Webhook{ID: newID(), AccountID: accountID, Created: now, Modified: now, EnabledAt: r.now().UnixMilli()}
	if _, err := apply(&w, data, true, r.uris); err != nil {
		return Webhook{}, err
	}
	if w.Secret == "" {
		w.Secret = newSecret()
	}
	if err := r.register(ctx, accountID, w.ID); err != nil {
		return Webhook{}, err
	}
	d, err := w.doc()
	if err != nil {
		return Webhook{}, err
	}
	rev, err := r.store.SaveAccountDoc(ctx, accountID, d)
	if err != nil {
		// The deliverer drops a state without its webhook too; this only saves it the wait.
		_ = removeState(context.WithoutCancel(ctx), r.store, r.db, accountID, w.ID)
		return Webhook{}, err
	}
	w.Rev = rev
	r.changed()
	return w, nil
}

func (r *Registry) changed() {
	if r.Changed != nil {
		r.Changed()
	}
}

// register writes a webhook's state at the end of the log, unless it has one.
func (r *Registry) register(ctx context.Context, accountID, id string) error {
	start, err := r.logEnd(ctx)
	if err != nil {
		return err
	}
	s := &state{ID: stateID(accountID, id), AccountID: accountID, WebhookID: id, StartSeq: start, Registered: r.now().UnixMilli()}
	err = saveState(ctx, r.store, r.db, s)
	if recording.ErrorCode(err) == recording.EConflict {
		return nil // it has one
	}
	return err
}

// logEnd is where a webhook registered now starts: the next log document this instance's
// tail will read, once it knows the log's end.
func (r *Registry) logEnd(ctx context.Context) (int64, error) {
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	select {
	case <-r.tail.Ready():
	case <-wait.Done():
		return 0, recording.Errorf(recording.EUnavailable, "the events log cannot be read yet")
	}
	seq, _ := r.tail.End()
	return seq, nil
}

// conflictRetries bounds the re-reads when another writer changed a webhook meanwhile.
const conflictRetries = 5

// Update changes a webhook: replace (POST) sets every field from data, a merge (PATCH) only
// those present. Enabling a webhook the service disabled clears the reason and its failures.
func (r *Registry) Update(ctx context.Context, accountID, id string, data map[string]any, replace bool) (Webhook, error) {
	for try := 0; ; try++ {
		w, err := r.load(ctx, accountID, id)
		if err != nil {
			return Webhook{}, err
		}
		enabled, err := apply(&w, data, replace, r.uris)
		if err != nil {
			return Webhook{}, err
		}
		if enabled {
			w.Disabled, w.EnabledAt = nil, r.now().UnixMilli()
		}
		w.Modified = gregorianNow(r.now)
		w, err = r.save(ctx, w)
		if recording.ErrorCode(err) == recording.EConflict && try < conflictRetries {
			continue
		}
		if err != nil {
			return Webhook{}, err
		}
		// a webhook whose state was lost (restored from a backup, say) is delivered to again
		err = r.register(ctx, accountID, id)
		r.changed()
		return w, err
	}
}

// Delete removes a webhook and its delivery state; undelivered events are dropped. Once the
// webhook is gone the request has done what it asked: a state left behind (the events
// database failing) is dropped by the deliverer, which finds no webhook for it.
func (r *Registry) Delete(ctx context.Context, accountID, id string) (Webhook, error) {
	for try := 0; ; try++ {
		w, err := r.load(ctx, accountID, id)
		if err != nil {
			return Webhook{}, err
		}
		_, err = r.store.SaveAccountDoc(ctx, accountID, recording.Doc{"_id": docID(id), "_rev": w.Rev, "_deleted": true})
		if recording.ErrorCode(err) == recording.EConflict && try < conflictRetries {
			continue
		}
		if err != nil {
			return Webhook{}, err
		}
		_ = removeState(ctx, r.store, r.db, accountID, id)
		r.changed()
		return w, nil
	}
}

func (r *Registry) save(ctx context.Context, w Webhook) (Webhook, error) {
	d, err := w.doc()
	if err != nil {
		return Webhook{}, err
	}
	rev, err := r.store.SaveAccountDoc(ctx, w.AccountID, d)
	if err != nil {
		return Webhook{}, err
	}
	w.Rev = rev
	return w, nil
}

// disable turns a webhook off for reason (the deliverer's side), unless it changed since it
// was loaded as seen: an admin's edit meanwhile wins.
func disable(ctx context.Context, store Store, seen Webhook, reason string, now time.Time) error {
	d, err := store.AccountDoc(ctx, seen.AccountID, docID(seen.ID))
	if err != nil {
		return err
	}
	w, err := webhookOf(d)
	if err != nil {
		return err
	}
	if w.EnabledAt != seen.EnabledAt || !w.Enabled {
		return nil
	}
	w.Enabled = false
	w.Disabled = &Disabled{Reason: reason, At: recording.ToGregorian(now)}
	w.Modified = recording.ToGregorian(now)
	d, err = w.doc()
	if err != nil {
		return err
	}
	_, err = store.SaveAccountDoc(ctx, w.AccountID, d)
	if recording.ErrorCode(err) == recording.EConflict {
		return errors.New("webhooks: the webhook changed while being disabled; it is checked again")
	}
	return err
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return hex.EncodeToString(b)
}

// newSecret is 32 random bytes, hex: what a receiver keys its HMAC with.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return "whsec_" + hex.EncodeToString(b)
}
