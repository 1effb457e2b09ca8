package api_test

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
)

// couchProxy is an HTTP reverse proxy between a CouchDB store and the test server. It records
// every request the store sends and follows the store's connections to it, so a test can see
// which databases a request reached and whether connections are released.
type couchProxy struct {
	srv    *httptest.Server
	target *url.URL // the CouchDB server, with its credentials

	mu     sync.Mutex
	sent   []sentRequest
	conns  map[net.Conn]*proxiedConn // connections from the store that are not closed yet
	opened int                       // connections ever opened by the store
}

// proxiedConn is what the proxy knows of one connection from the store.
type proxiedConn struct {
	state      http.ConnState
	attachment bool // it carried a download of an attachment
}

type proxiedConnKey struct{}

// sentRequest is one request of the store to CouchDB, its path as it went on the wire.
type sentRequest struct {
	Method string
	Path   string // escaped: account%2Fab%2Fcd%2F…-202611/202611-…
	Query  string
}

func (r sentRequest) String() string {
	if r.Query == "" {
		return r.Method + " " + r.Path
	}
	return r.Method + " " + r.Path + "?" + r.Query
}

// startCouchProxy proxies to the CouchDB server at rawURL (credentials included).
func startCouchProxy(t *testing.T, rawURL string) *couchProxy {
	t.Helper()
	target, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	p := &couchProxy{target: target, conns: map[net.Conn]*proxiedConn{}}
	upstream := &url.URL{Scheme: target.Scheme, Host: target.Host}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			p.note(pr.In)
			pr.SetURL(upstream) // keeps the escaped path: %2F in database names stays %2F
		},
		ErrorLog: log.New(io.Discard, "", 0), // stores that hang up mid-body are the point of some tests
	}
	p.srv = httptest.NewUnstartedServer(proxy)
	p.srv.Config.ConnState = p.connState
	p.srv.Config.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		return context.WithValue(ctx, proxiedConnKey{}, c)
	}
	p.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	p.srv.Start()
	t.Cleanup(func() {
		// Close waits for every handler: cut the connections first, or a store that leaked
		// one (and stopped reading it) would hang the test instead of failing it.
		p.srv.CloseClientConnections()
		p.srv.Close()
	})
	return p
}

// URL is the proxy's address with the target's credentials: what the store is given.
func (p *couchProxy) URL() string {
	u, _ := url.Parse(p.srv.URL)
	u.User = p.target.User
	return u.String()
}

func (p *couchProxy) note(r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := sentRequest{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery}
	p.sent = append(p.sent, s)
	if c, ok := p.conns[r.Context().Value(proxiedConnKey{}).(net.Conn)]; ok && s.Method == http.MethodGet && s.isAttachment() {
		c.attachment = true
	}
}

// isAttachment reports whether the request reads or writes an attachment: db/doc/name.
func (r sentRequest) isAttachment() bool {
	_, rest := r.database()
	doc, name, found := strings.Cut(rest, "/")
	return found && name != "" && !strings.HasPrefix(doc, "_design")
}

// take returns the requests recorded since the last take, and forgets them.
func (p *couchProxy) take() []sentRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	sent := p.sent
	p.sent = nil
	return sent
}

func (p *couchProxy) connState(c net.Conn, state http.ConnState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch state {
	case http.StateNew:
		p.opened++
		p.conns[c] = &proxiedConn{state: state}
	case http.StateClosed, http.StateHijacked:
		delete(p.conns, c)
	default:
		p.conns[c].state = state
	}
}

// connCounts counts the store's connections to CouchDB.
type connCounts struct {
	open       int // not closed
	busy       int // a request or its response in progress
	attachment int // open, and once carried an attachment download
	opened     int // ever opened
}

func (p *couchProxy) connCounts() connCounts {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := connCounts{open: len(p.conns), opened: p.opened}
	for _, c := range p.conns {
		if c.state == http.StateActive {
			n.busy++
		}
		if c.attachment {
			n.attachment++
		}
	}
	return n
}

// openCouchVia opens a CouchDB store that reaches the shared test server through a proxy.
func openCouchVia(proxy **couchProxy) openBackend {
	return func(t *testing.T) backend {
		t.Helper()
		*proxy = startCouchProxy(t, couchtest.URL(t))
		s, err := couch.New(couch.Config{URL: (*proxy).URL()}, zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
}

// database is the database a request went to, decoded (account/ab/cd/…-202611), and the
// rest of its path, still escaped ("" for the database itself).
func (r sentRequest) database() (db, rest string) {
	first, rest, _ := strings.Cut(strings.TrimPrefix(r.Path, "/"), "/")
	db, err := url.PathUnescape(first)
	if err != nil {
		db = first
	}
	return db, rest
}

// accountOfDatabase is the account an account or month database belongs to, with the month
// ("" for the account database); ok is false for any other database.
func accountOfDatabase(db string) (account, month string, ok bool) {
	rest, found := strings.CutPrefix(db, "account/")
	if !found {
		return "", "", false
	}
	if base, m, found := strings.Cut(rest, "-"); found {
		rest, month = base, m
		if _, valid := recording.ParseRecordingID(m + "-x"); !valid || len(m) != 6 {
			return "", "", false
		}
	}
	account = strings.ReplaceAll(rest, "/", "")
	if !recording.ValidAccountID(account) {
		return "", "", false
	}
	want := recording.AccountDBName(account)
	if month != "" {
		want += "-" + month
	}
	return account, month, db == want
}
