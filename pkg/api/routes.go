package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/recordingsd/recordingsd/pkg/authz"
)

// routes is the whole service: the router inside the request-wide middleware.
func (s *server) routes() http.Handler {
	r := s.router()
	return s.withRequest(s.withCORS(r, withGzip(r)))
}

// router lists the whole API surface.
func (s *server) router() *mux.Router {
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

	// Every route below is authorized by s.authorize, for the action its method declares.
	acct := r.PathPrefix("/v2/accounts/{account_id}").Subrouter()
	acct.Use(s.limitByIP, s.authenticate, s.loadAccount, s.authorize, s.limitByAccount)

	acct.Handle("/recordings", methods{
		http.MethodGet: {authz.List, s.handleList()},
	})
	acct.Handle("/recordings/collection", methods{
		http.MethodPatch: {authz.Bulk, s.handlePatchCollection()},
	})
	acct.Handle("/recordings/events", methods{ // before {recording_id}, which would take "events"
		http.MethodGet: {authz.List, s.handleEvents()},
	})
	acct.Handle("/recordings/{recording_id}", methods{
		http.MethodGet:    {authz.Read, s.handleGet()},
		http.MethodHead:   {authz.Read, s.handleGet()},
		http.MethodPatch:  {authz.Update, s.handlePatch()},
		http.MethodDelete: {authz.Delete, s.handleDelete()},
	})

	acct.Handle("/recording_webhooks", methods{
		http.MethodGet: {authz.ManageWebhooks, s.handleWebhookList()},
		http.MethodPut: {authz.ManageWebhooks, s.handleWebhookCreate()},
	})
	acct.Handle("/recording_webhooks/{webhook_id}", methods{
		http.MethodGet:    {authz.ManageWebhooks, s.handleWebhookGet()},
		http.MethodPost:   {authz.ManageWebhooks, s.handleWebhookUpdate(true)},
		http.MethodPatch:  {authz.ManageWebhooks, s.handleWebhookUpdate(false)},
		http.MethodDelete: {authz.ManageWebhooks, s.handleWebhookDelete()},
	})

	user := acct.PathPrefix("/users/{user_id}").Subrouter()
	user.Use(s.loadUser) // the user must exist; it selects the owner index for listings
	user.Handle("/recordings", methods{
		http.MethodGet: {authz.List, s.handleList()},
	})
	user.Handle("/recordings/collection", methods{
		http.MethodPatch: {authz.Bulk, s.handlePatchCollection()},
	})
	user.Handle("/recordings/{recording_id}", methods{
		http.MethodGet:    {authz.Read, s.handleGet()},
		http.MethodHead:   {authz.Read, s.handleGet()},
		http.MethodPatch:  {authz.Update, s.handlePatch()},
		http.MethodDelete: {authz.Delete, s.handleDelete()},
	})

	return r
}

// methods dispatches on the HTTP method; any other method is Kazoo's 405 invalid_method.
type methods map[string]endpoint

// endpoint is a handler with the action the authorization policy checks before it runs.
type endpoint struct {
	action  authz.Action
	handler http.Handler
}

func (m methods) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if e, ok := m[r.Method]; ok {
		e.handler.ServeHTTP(w, r)
		return
	}
	writeError(w, r, errInvalidMethod())
}

// routeAction is the action the matched route declares for the request's method; ok is false
// for a method the route does not serve (it answers 405).
func routeAction(r *http.Request) (action authz.Action, declared, ok bool) {
	route := mux.CurrentRoute(r)
	if route == nil {
		return "", false, true
	}
	m, isMethods := route.GetHandler().(methods)
	if !isMethods {
		return "", false, true
	}
	e, served := m[r.Method]
	return e.action, true, served
}
