package api

import (
	"errors"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/recordingsd/recordingsd/pkg/crossbar"
	"github.com/recordingsd/recordingsd/pkg/webhooks"
)

// The recording webhooks of an account, crossbar style: GET lists, PUT creates (201, with the
// signing secret, shown only then), GET/POST/PATCH/DELETE on one by id.

func (s *server) handleWebhookList() http.Handler {
	return s.withWebhooks(func(w http.ResponseWriter, r *http.Request, reg *webhooks.Registry) {
		hooks, err := reg.List(r.Context(), reqCtx(r).accountID)
		if err != nil {
			s.failWebhook(w, r, err, "")
			return
		}
		out := make([]any, len(hooks))
		for i, h := range hooks {
			out[i] = h.Public()
		}
		writeData(w, r, crossbar.Envelope{Data: out})
	})
}

func (s *server) handleWebhookCreate() http.Handler {
	return s.withWebhooks(func(w http.ResponseWriter, r *http.Request, reg *webhooks.Registry) {
		data, ok := s.webhookBody(w, r)
		if !ok {
			return
		}
		h, err := reg.Create(r.Context(), reqCtx(r).accountID, data)
		if err != nil {
			s.failWebhook(w, r, err, "")
			return
		}
		out := h.Public()
		out["secret"] = h.Secret
		crossbar.WriteSuccess(w, http.StatusCreated, reqCtx(r).meta, crossbar.Envelope{Data: out, Revision: h.Rev})
	})
}

func (s *server) handleWebhookGet() http.Handler {
	return s.withWebhook(func(w http.ResponseWriter, r *http.Request, reg *webhooks.Registry, id string) {
		h, delivery, err := reg.Get(r.Context(), reqCtx(r).accountID, id)
		if err != nil {
			s.failWebhook(w, r, err, id)
			return
		}
		out := h.Public()
		if delivery != nil {
			out["delivery"] = delivery
		}
		writeData(w, r, crossbar.Envelope{Data: out, Revision: h.Rev})
	})
}

// handleWebhookUpdate serves POST (replace: every field, name and uri required) and PATCH
// (merge: the fields given).
func (s *server) handleWebhookUpdate(replace bool) http.Handler {
	return s.withWebhook(func(w http.ResponseWriter, r *http.Request, reg *webhooks.Registry, id string) {
		data, ok := s.webhookBody(w, r)
		if !ok {
			return
		}
		h, err := reg.Update(r.Context(), reqCtx(r).accountID, id, data, replace)
		if err != nil {
			s.failWebhook(w, r, err, id)
			return
		}
		writeData(w, r, crossbar.Envelope{Data: h.Public(), Revision: h.Rev})
	})
}

func (s *server) handleWebhookDelete() http.Handler {
	return s.withWebhook(func(w http.ResponseWriter, r *http.Request, reg *webhooks.Registry, id string) {
		h, err := reg.Delete(r.Context(), reqCtx(r).accountID, id)
		if err != nil {
			s.failWebhook(w, r, err, id)
			return
		}
		writeData(w, r, crossbar.Envelope{Data: h.Public()})
	})
}

// withWebhooks answers 404 when webhooks are off on this server (events disabled).
func (s *server) withWebhooks(h func(http.ResponseWriter, *http.Request, *webhooks.Registry)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Webhooks == nil {
			writeError(w, r, crossbar.NotFound())
			return
		}
		h(w, r, s.cfg.Webhooks)
	})
}

// withWebhook also checks the id in the path: a malformed one is Kazoo's bad identifier.
func (s *server) withWebhook(h func(http.ResponseWriter, *http.Request, *webhooks.Registry, string)) http.Handler {
	return s.withWebhooks(func(w http.ResponseWriter, r *http.Request, reg *webhooks.Registry) {
		id := mux.Vars(r)["webhook_id"]
		if !webhooks.ValidID(id) {
			writeError(w, r, crossbar.BadIdentifier(id))
			return
		}
		h(w, r, reg, id)
	})
}

// webhookBody reads the request's data object.
func (s *server) webhookBody(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	data, _, apiErr := crossbar.DecodeRequest(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes+1), s.cfg.MaxBodyBytes)
	if apiErr != nil {
		writeError(w, r, apiErr)
		return nil, false
	}
	return data, true
}

// failWebhook turns validation failures into crossbar's 400, the rest as every handler does.
func (s *server) failWebhook(w http.ResponseWriter, r *http.Request, err error, id string) {
	var invalid *webhooks.InvalidError
	if errors.As(err, &invalid) {
		v := crossbar.Validation()
		for _, f := range invalid.Fields {
			v.Add(f.Field, f.Code, f.Message, nil)
		}
		writeError(w, r, v.Err())
		return
	}
	s.fail(w, r, err, id)
}
