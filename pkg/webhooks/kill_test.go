package webhooks_test

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/events/eventstest"
	"github.com/recordingsd/recordingsd/pkg/store/couch"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
)

// The delivering instance dies without a word (its connection to CouchDB cut, so it can
// neither save its place nor give its lease back): the other instance takes over once the
// lease runs out and delivers what came since, each event accepted once.
func TestKilledLeaderHandsOver(t *testing.T) {
	couchURL := couchtest.URL(t)
	if couchtest.IsPouchDB(t, couchURL) {
		t.Skip("pouchdb-server has no _db_updates: deliveries are tested on Apache CouchDB (make test-couchdb, CI)")
	}
	direct := openCouchAt(t, couchURL)
	link := newCuttableLink(t, couchURL)
	viaLink := openCouchAt(t, link.url)

	r := newRig(t, direct)
	rc := newEndpoint(t, nil)
	r.create(r.customer, map[string]any{"name": "crm", "uri": rc.URL})
	stopA := r.instanceOn(viaLink, "a", nil) // leads: it starts first
	r.live()
	r.instance("b", nil)
	var ids []string
	for range 3 {
		ids = append(ids, r.record(r.customer))
	}
	all := func() bool { return rc.gotAll(ids...) }
	waitFor(t, 30*time.Second, "deliveries by a", all)
	time.Sleep(200 * time.Millisecond) // a saves its place once idle

	link.cut()
	stopA() // its release of the lease cannot reach the database
	killed := time.Now()
	for range 3 {
		ids = append(ids, r.record(r.customer))
	}
	waitFor(t, 60*time.Second, "deliveries by b after the lease ran out", all)
	t.Logf("b delivered the recordings written after a died within %v of its death (lease %v)", time.Since(killed), testLease)
	time.Sleep(500 * time.Millisecond)
	rc.acceptedOnce(t)
}

func openCouchAt(t *testing.T, url string) backend {
	t.Helper()
	s, err := couch.New(couch.Config{URL: url, RequestTimeout: 5 * time.Second, WriteQuorum: couchtest.WriteQuorum(t, url)}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return eventstest.As[backend](t, s)
}

// cuttableLink forwards TCP connections to a CouchDB until cut, which drops them all and
// refuses new ones: the database's view of a process that died.
type cuttableLink struct {
	url   string
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	dead  bool
}

func newCuttableLink(t *testing.T, target string) *cuttableLink {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &cuttableLink{ln: ln}
	proxied := *u
	proxied.Host = ln.Addr().String()
	l.url = proxied.String()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", u.Host)
			if err != nil || !l.keep(in, out) {
				in.Close()
				if out != nil {
					out.Close()
				}
				continue
			}
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
	t.Cleanup(l.cut)
	return l
}

func (l *cuttableLink) keep(conns ...net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dead {
		return false
	}
	l.conns = append(l.conns, conns...)
	return true
}

func (l *cuttableLink) cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dead = true
	_ = l.ln.Close()
	for _, c := range l.conns {
		_ = c.Close()
	}
	l.conns = nil
}
