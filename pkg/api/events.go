package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/recordingsd/recordingsd/pkg/authz"
	"github.com/recordingsd/recordingsd/pkg/crossbar"
	"github.com/recordingsd/recordingsd/pkg/events"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// heartbeatEvery keeps proxies from closing an idle stream.
const heartbeatEvery = 15 * time.Second

// handleEvents streams the account's recording events as Server-Sent Events: "id", "event"
// and "data" per event, a comment line as heartbeat, resumable with Last-Event-ID.
func (s *server) handleEvents() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := reqCtx(r)
		if s.cfg.Events == nil {
			writeError(w, r, crossbar.NotFound()) // events are off on this server
			return
		}
		q := r.URL.Query()
		accept := r.Header.Get("Accept")
		if v, ok := q["accept"]; ok && len(v) > 0 {
			accept = v[0]
		}
		if !acceptsEventStream(accept) {
			writeError(w, r, crossbar.NotAcceptable("recording events are served as text/event-stream"))
			return
		}
		subaccounts, _, apiErr := boolParam(q, "include_subaccounts", false)
		if apiErr != nil {
			writeError(w, r, apiErr)
			return
		}
		after := r.Header.Get("Last-Event-ID")
		if v := q.Get("last_event_id"); v != "" {
			after = v
		}
		if after != "" && !events.ValidEventID(after) {
			writeError(w, r, crossbar.BadRequest("last_event_id", "pattern", "not an event id this server gave: "+after))
			return
		}
		sub := s.cfg.Events.Subscribe(after)
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no") // nginx: pass each event through at once
		w.WriteHeader(http.StatusOK)
		flush(w)
		s.stream(r.Context(), w, rc, sub, subaccounts)
	})
}

// stream writes events until the client leaves or a write fails.
func (s *server) stream(ctx context.Context, w http.ResponseWriter, rc *requestContext, sub *events.Subscription, subaccounts bool) {
	for {
		wait, cancel := context.WithTimeout(ctx, heartbeatEvery)
		e, err := sub.Next(wait)
		cancel()
		switch {
		case ctx.Err() != nil || errors.Is(err, events.ErrClosed):
			return
		case err != nil:
			if _, err := fmt.Fprint(w, ": heartbeat\n\n"); err != nil {
				return
			}
		case s.streamShows(ctx, rc, e, subaccounts):
			data, err := json.Marshal(e)
			if err != nil {
				continue
			}
			if _, err := fmt.Fprintf(w, "id: %s\nevent: %s\ndata: %s\n\n", e.ID, e.Type, data); err != nil {
				return
			}
		default:
			continue
		}
		flush(w)
	}
}

// streamShows decides whether the subscriber sees an event: its own account's (or, with
// include_subaccounts, a descendant's), and only the recordings the policy lets it read.
func (s *server) streamShows(ctx context.Context, rc *requestContext, e events.Event, subaccounts bool) bool {
	target := rc.account
	if e.AccountID != rc.accountID {
		if !subaccounts || !recording.ValidAccountID(e.AccountID) {
			return false
		}
		doc, err := s.accounts.get(ctx, e.AccountID)
		if err != nil || !authz.AccountOf(e.AccountID, doc).Below(rc.accountID) {
			return false
		}
		target = doc
	}
	owner := e.Owner
	d := s.policy.Decide(authz.Request{Caller: rc.caller, Action: authz.ReadMetadata,
		Target: authz.AccountOf(e.AccountID, target), Owner: &owner})
	return d.Allowed
}

// acceptsEventStream: the client asks for text/event-stream (or anything).
func acceptsEventStream(accept string) bool {
	if accept == "" {
		return true
	}
	for _, part := range strings.Split(accept, ",") {
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		switch strings.ToLower(strings.TrimSpace(mt)) {
		case "text/event-stream", "text/*", "*/*":
			return true
		}
	}
	return false
}

func flush(w http.ResponseWriter) {
	_ = http.NewResponseController(w).Flush()
}
