// Package ui serves the admins' recordings page at /ui/, built only on the public API.
package ui

import (
	"encoding/json"
	"net/http"
)

// Options configures the page.
type Options struct {
	// DemoToken and DemoAccountID prefill the sign-in form in demo mode; empty otherwise.
	DemoToken     string
	DemoAccountID string
}

// Handler serves the page under /ui/.
func Handler(opts Options) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/ui/config.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]string{"demo_token": opts.DemoToken, "demo_account_id": opts.DemoAccountID})
	})
	mux.HandleFunc("/ui/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!doctype html><title>Recordings</title><p>The recordings page is coming.</p>"))
	})
	return mux
}
