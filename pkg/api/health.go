package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// handleHealthz answers while the process serves HTTP.
func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProbe(w, http.StatusOK, "ok", "")
	})
}

// handleReadyz answers 200 when the store answers, else 503, so a load balancer can route
// around an instance whose CouchDB is gone.
func (s *server) handleReadyz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.store.Ping(ctx); err != nil {
			writeProbe(w, http.StatusServiceUnavailable, "unavailable", "datastore unreachable")
			return
		}
		writeProbe(w, http.StatusOK, "ok", "")
	})
}

func writeProbe(w http.ResponseWriter, code int, status, detail string) {
	body := map[string]string{"status": status}
	if detail != "" {
		body["detail"] = detail
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}
