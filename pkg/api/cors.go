package api

import (
	"net/http"
	"sort"
	"strings"

	"github.com/gorilla/mux"
)

// Header lists crossbar sends on CORS answers; browsers' Monster UI depends on them.
const (
	corsAllowHeaders  = "content-type, depth, user-agent, x-http-method-override, x-file-size, x-requested-with, if-modified-since, x-file-name, cache-control, x-auth-token, x-kazoo-cluster-id, if-match, if-none-match, range, x-request-id, x-pretty-print"
	corsExposeHeaders = "content-type, x-auth-token, x-request-id, x-kazoo-cluster-id, location, etag, content-range, accept-ranges, content-length, content-disposition"
)

// isCORS is crossbar's test: any of Origin, Access-Control-Request-Method/-Headers.
func isCORS(r *http.Request) bool {
	return r.Header.Get("Origin") != "" || r.Header.Get("Access-Control-Request-Method") != "" ||
		r.Header.Get("Access-Control-Request-Headers") != ""
}

// withCORS answers preflights without authentication and adds CORS headers to CORS requests
// and, as crossbar does, to every error response.
func (s *server) withCORS(router *mux.Router, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cors := isCORS(r)
		if cors && r.Method == http.MethodOptions {
			setCORSHeaders(w.Header(), allowedMethods(router, r))
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusOK)
			return
		}
		next.ServeHTTP(&corsWriter{ResponseWriter: w, cors: cors, methods: func() string { return allowedMethods(router, r) }}, r)
	})
}

func setCORSHeaders(h http.Header, methods string) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", methods)
	h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
	h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
	h.Set("Access-Control-Max-Age", "86400")
}

// allowedMethods lists OPTIONS plus the methods of the route r names (plus the one a
// preflight asks for, as crossbar does, so the browser sees the real answer).
func allowedMethods(router *mux.Router, r *http.Request) string {
	set := map[string]bool{http.MethodOptions: true}
	var match mux.RouteMatch
	if router.Match(r, &match) && match.Route != nil {
		if m, ok := match.Route.GetHandler().(methods); ok {
			for verb := range m {
				set[verb] = true
			}
		}
	}
	if want := r.Header.Get("Access-Control-Request-Method"); want != "" {
		set[strings.ToUpper(want)] = true
	}
	out := make([]string, 0, len(set))
	for verb := range set {
		out = append(out, verb)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// corsWriter adds the headers when the status is known.
type corsWriter struct {
	http.ResponseWriter
	cors        bool
	methods     func() string
	wroteHeader bool
}

func (w *corsWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.wroteHeader = true
		if w.cors || code >= 400 {
			setCORSHeaders(w.Header(), w.methods())
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *corsWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *corsWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *corsWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
