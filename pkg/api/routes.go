package api

import (
	"net/http"

	"github.com/gorilla/mux"
)

// routes lists the whole API surface.
func (s *server) routes() http.Handler {
	// Keep %2F inside a path variable, so ids are checked, not routed; no path cleaning either:
	// "/../" and "//" get an error envelope, not a redirect.
	r := mux.NewRouter().UseEncodedPath().SkipClean(true)
	r.NotFoundHandler = s.handleNotFound()
	r.Use(noteRoute)

	// Operations, outside /v2 and without authentication.
	r.Handle("/healthz", handleHealthz())
	r.Handle("/readyz", s.handleReadyz())
	r.Handle("/metrics", s.metrics.Handler())

	if s.cfg.UI != nil {
		r.Handle("/ui", http.RedirectHandler("/ui/", http.StatusMovedPermanently))
		r.PathPrefix("/ui/").Handler(s.cfg.UI)
	}

	acct := r.PathPrefix("/v2/accounts/{account_id}").Subrouter()
	acct.Use(s.limitByIP, s.authenticate, s.loadAccount, s.authorize, s.limitByAccount, s.gateOwners)

	acct.Handle("/recordings", methods{
		http.MethodGet: s.handleList(),
	})
	acct.Handle("/recordings/collection", methods{
		http.MethodPatch: s.handlePatchCollection(),
	})
	acct.Handle("/recordings/{recording_id}", methods{
		http.MethodGet:    s.handleGet(),
		http.MethodHead:   s.handleGet(),
		http.MethodPatch:  s.handlePatch(),
		http.MethodDelete: s.handleDelete(),
	})

	user := acct.PathPrefix("/users/{user_id}").Subrouter()
	user.Use(s.loadUser) // the user must exist; it selects the owner index for listings
	user.Handle("/recordings", methods{
		http.MethodGet: s.handleList(),
	})
	user.Handle("/recordings/collection", methods{
		http.MethodPatch: s.handlePatchCollection(),
	})
	user.Handle("/recordings/{recording_id}", methods{
		http.MethodGet:    s.handleGet(),
		http.MethodHead:   s.handleGet(),
		http.MethodPatch:  s.handlePatch(),
		http.MethodDelete: s.handleDelete(),
	})

	return s.withRequest(s.withCORS(r, withGzip(r)))
}

// methods dispatches on the HTTP method; any other method is Kazoo's 405 invalid_method.
type methods map[string]http.Handler

func (m methods) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h, ok := m[r.Method]; ok {
		h.ServeHTTP(w, r)
		return
	}
	writeError(w, r, errInvalidMethod())
}
