package main

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// countingProxy is a reverse proxy in front of CouchDB that notes every request it passes,
// so the benchmark can count what one API call costs the database.
type countingProxy struct {
	srv      *http.Server
	ln       net.Listener
	mu       sync.Mutex
	reqs     []*proxiedRequest
	inFlight int
}

type proxiedRequest struct {
	Method string
	Path   string // escaped, as sent
	Query  string
	Took   time.Duration // until the answer was passed on whole
	Gzip   bool          // the request asked for a gzip-encoded answer
}

// db is the (unescaped) database a request addressed, "" for the server root.
func (p proxiedRequest) db() string {
	seg := strings.SplitN(strings.TrimPrefix(p.Path, "/"), "/", 2)[0]
	db, _ := url.PathUnescape(seg)
	return db
}

func startProxy(target *url.URL) (*countingProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &countingProxy{ln: ln}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = target.Host
		},
		FlushInterval: -1,
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &proxiedRequest{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery,
			Gzip: strings.Contains(r.Header.Get("Accept-Encoding"), "gzip")}
		p.mu.Lock()
		p.reqs = append(p.reqs, rec)
		p.inFlight++
		p.mu.Unlock()
		t0 := time.Now()
		rp.ServeHTTP(w, r)
		p.mu.Lock()
		rec.Took = time.Since(t0)
		p.inFlight--
		p.mu.Unlock()
	})}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// url is the proxy's address with the given credentials.
func (p *countingProxy) url(user, pass string) string {
	u := &url.URL{Scheme: "http", Host: p.ln.Addr().String()}
	if user != "" || pass != "" {
		u.User = url.UserPassword(user, pass)
	}
	return u.String()
}

// take returns the requests noted since the last take and forgets them. It first waits for
// the requests in flight to finish: a client can have its whole answer a moment before the
// proxy's handler returns.
func (p *countingProxy) take() []proxiedRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	deadline := time.Now().Add(2 * time.Second)
	for p.inFlight > 0 && time.Now().Before(deadline) {
		p.mu.Unlock()
		time.Sleep(time.Millisecond)
		p.mu.Lock()
	}
	out := make([]proxiedRequest, len(p.reqs))
	for i, r := range p.reqs {
		out[i] = *r
	}
	p.reqs = nil
	return out
}

func (p *countingProxy) close() { _ = p.srv.Close() }
