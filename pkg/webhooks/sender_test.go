package webhooks_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/internal/testnet"
	"github.com/recordingsd/recordingsd/pkg/netguard"
	"github.com/recordingsd/recordingsd/pkg/webhooks"
)

// receiver is a webhook on 127.0.0.1 that records what reaches it.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests []received
}

// received is one request as the receiver saw it.
type received struct {
	method string
	header http.Header
	body   []byte
	user   string
	pass   string
}

func newReceiver(t *testing.T, answer http.HandlerFunc) *receiver {
	t.Helper()
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		user, pass, _ := req.BasicAuth()
		r.mu.Lock()
		r.requests = append(r.requests, received{req.Method, req.Header.Clone(), body, user, pass})
		r.mu.Unlock()
		answer(w, req)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.requests)
}

func (r *receiver) request(i int) received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests[i]
}

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

func newSender(t *testing.T, cfg webhooks.SenderConfig) *webhooks.Sender {
	t.Helper()
	s, err := webhooks.NewSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// loopbackOnly lists the test receivers' address: without it, they are unreachable.
var loopbackOnly = webhooks.SenderConfig{AllowedHosts: []string{"127.0.0.1"}}

func TestPostDelivers(t *testing.T) {
	recv := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write(bytes.Repeat([]byte("x"), 100<<10)) // more than is read: still a success
	})
	s := newSender(t, webhooks.SenderConfig{AllowedHosts: []string{"127.0.0.1"}, UserAgent: "test-agent/1"})
	body := []byte("{\"event\":\"recording.created\",\n \"id\": \"é\"}")
	d := webhooks.Delivery{URI: recv.URL + "/hook", Secret: "s3cret", Event: "recording.created", EventID: "ev-1", Body: body}
	r := s.Post(context.Background(), d)
	if !r.OK() || r.Status != http.StatusAccepted || r.Err != "" || r.Latency <= 0 {
		t.Fatalf("result %+v", r)
	}
	if recv.count() != 1 {
		t.Fatalf("%d requests", recv.count())
	}
	got := recv.request(0)
	if got.method != http.MethodPost || !bytes.Equal(got.body, body) {
		t.Errorf("%s with body %q, want POST with %q", got.method, got.body, body)
	}
	for name, want := range map[string]string{
		"Content-Type":          "application/json",
		"User-Agent":            "test-agent/1",
		"X-Recordings-Event":    "recording.created",
		"X-Recordings-Event-Id": "ev-1",
	} {
		if v := got.header.Get(name); v != want {
			t.Errorf("%s: %q, want %q", name, v, want)
		}
	}
	if err := webhooks.Verify("s3cret", got.header.Get("X-Recordings-Signature"), got.body, time.Now(), time.Minute); err != nil {
		t.Errorf("the receiver cannot verify the signature: %v", err)
	}
	// The default user agent, and a second delivery on the same sender.
	r = newSender(t, loopbackOnly).Post(context.Background(), d)
	if ua := recv.request(1).header.Get("User-Agent"); !r.OK() || ua != webhooks.DefaultUserAgent {
		t.Errorf("result %+v, user agent %q", r, ua)
	}
}

func TestPostReceiverErrors(t *testing.T) {
	s := newSender(t, loopbackOnly)
	recv := newReceiver(t, status(http.StatusInternalServerError))
	r := s.Post(context.Background(), webhooks.Delivery{URI: recv.URL, Body: []byte("{}")})
	if r.OK() || r.Err != "http_500" || r.Status != 500 || !strings.Contains(r.Detail, "500") {
		t.Errorf("500: %+v", r)
	}
	recv = newReceiver(t, status(http.StatusGone))
	if r := s.Post(context.Background(), webhooks.Delivery{URI: recv.URL, Body: []byte("{}")}); r.Err != "http_410" || r.Status != 410 {
		t.Errorf("410: %+v", r)
	}
}

// A redirect is a failure, and its target is never called: it could be anywhere.
func TestPostDoesNotFollowRedirects(t *testing.T) {
	target := newReceiver(t, status(http.StatusOK))
	for _, code := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		redirect := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+"/elsewhere", code)
		})
		r := newSender(t, loopbackOnly).Post(context.Background(), webhooks.Delivery{URI: redirect.URL, Body: []byte("{}")})
		if r.Err != "redirect" || r.Status != code || r.OK() {
			t.Errorf("%d: %+v", code, r)
		}
	}
	if n := target.count(); n != 0 {
		t.Errorf("the redirect target got %d requests", n)
	}
}

func TestPostTimeout(t *testing.T) {
	recv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done(): // the sender gave up
		case <-time.After(10 * time.Second):
		}
	})
	const timeout = 300 * time.Millisecond
	s := newSender(t, webhooks.SenderConfig{Timeout: timeout, AllowedHosts: []string{"127.0.0.1"}})
	start := time.Now()
	r := s.Post(context.Background(), webhooks.Delivery{URI: recv.URL, Body: []byte("{}")})
	elapsed := time.Since(start)
	if r.Err != "timeout" || r.Status != 0 {
		t.Errorf("result %+v", r)
	}
	if elapsed < timeout || elapsed > timeout+2*time.Second {
		t.Errorf("gave up after %s, timeout %s", elapsed, timeout)
	}
}

func TestPostConnectionFailed(t *testing.T) {
	addr := testnet.RefusedAddr(t)
	r := newSender(t, loopbackOnly).Post(context.Background(), webhooks.Delivery{
		URI: "http://hook:pa55w0rd@" + addr + "/hook?token=t0ken", Body: []byte("{}")})
	if r.Err != "connection_failed" || r.Status != 0 {
		t.Errorf("result %+v", r)
	}
	if !strings.Contains(r.Detail, addr) || strings.Contains(r.Detail, "pa55w0rd") || strings.Contains(r.Detail, "t0ken") {
		t.Errorf("detail %q: without the address, or with a secret", r.Detail)
	}
}

func TestPostTLSFailure(t *testing.T) {
	recv := httptest.NewTLSServer(status(http.StatusOK)) // its certificate is trusted by nobody
	defer recv.Close()
	r := newSender(t, loopbackOnly).Post(context.Background(), webhooks.Delivery{URI: recv.URL, Body: []byte("{}")})
	if r.Err != "tls" || r.Status != 0 {
		t.Errorf("result %+v", r)
	}
}

// A user and password in the URI are Basic auth, a common way to protect a webhook; they
// stay out of the result's detail.
func TestPostBasicAuthFromURI(t *testing.T) {
	recv := newReceiver(t, status(http.StatusServiceUnavailable))
	u, _ := url.Parse(recv.URL)
	u.User = url.UserPassword("hook", "pa55w0rd")
	u.RawQuery = "token=t0ken"
	r := newSender(t, loopbackOnly).Post(context.Background(), webhooks.Delivery{URI: u.String(), Body: []byte("{}")})
	if r.Err != "http_503" {
		t.Fatalf("result %+v", r)
	}
	if got := recv.request(0); got.user != "hook" || got.pass != "pa55w0rd" {
		t.Errorf("basic auth %q:%q", got.user, got.pass)
	}
	if strings.Contains(r.Detail, "pa55w0rd") || strings.Contains(r.Detail, "hook@") || strings.Contains(r.Detail, "t0ken") {
		t.Errorf("detail %q holds a secret", r.Detail)
	}
}

// Internal addresses are reachable only when listed: an unlisted receiver on 127.0.0.1 gets
// nothing, whether its address is in the URI or a name resolves to it.
func TestPostRefusesUnlistedInternalHosts(t *testing.T) {
	recv := newReceiver(t, status(http.StatusOK))
	u, _ := url.Parse(recv.URL)
	port := u.Port()
	for _, c := range []struct {
		name    string
		allowed []string
		uri     string
		detail  string
	}{
		{"loopback address, no list", nil, "http://127.0.0.1:" + port, "127.0.0.1 is a loopback address"},
		{"mapped loopback address, no list", nil, "http://[::ffff:127.0.0.1]:" + port, "loopback"},
		{"loopback address, another host listed", []string{"hooks.example.com"}, "http://127.0.0.1:" + port, "host 127.0.0.1 is not in webhooks.allowed_hosts"},
		{"loopback address, another port listed", []string{"127.0.0.1:1"}, "http://127.0.0.1:" + port, "not in webhooks.allowed_hosts"},
		{"name resolving to loopback, refused when dialling", nil, "http://localhost:" + port, "localhost resolves to 127.0.0.1, a loopback address"},
		{"name resolving to loopback, its address listed", []string{"127.0.0.1"}, "http://localhost:" + port, "host localhost is not in"},
	} {
		r := newSender(t, webhooks.SenderConfig{AllowedHosts: c.allowed}).Post(context.Background(),
			webhooks.Delivery{URI: c.uri, Body: []byte("{}")})
		if r.Err != "host_not_allowed" || r.Status != 0 || !strings.Contains(r.Detail, c.detail) {
			t.Errorf("%s: %+v, want host_not_allowed saying %q", c.name, r, c.detail)
		}
	}
	if n := recv.count(); n != 0 {
		t.Fatalf("the unlisted receiver got %d requests", n)
	}
	// Listed, by name, address, address and port, or range, it is reachable.
	for _, c := range []struct{ allowed, uri string }{
		{"localhost", "http://localhost:" + port},
		{"127.0.0.1", "http://127.0.0.1:" + port},
		{"127.0.0.1:" + port, "http://127.0.0.1:" + port},
		{"127.0.0.0/8", "http://127.0.0.1:" + port},
	} {
		r := newSender(t, webhooks.SenderConfig{AllowedHosts: []string{c.allowed}}).Post(context.Background(),
			webhooks.Delivery{URI: c.uri, Body: []byte("{}")})
		if !r.OK() {
			t.Errorf("%s listed, %s: %+v", c.allowed, c.uri, r)
		}
	}
}

func TestPostInvalidURI(t *testing.T) {
	s := newSender(t, webhooks.SenderConfig{})
	for _, uri := range []string{"", "hooks.example.com/x", "ftp://hooks.example.com/x", "http:///x", "http://%zz/", "http://user:pa55@/x", "http://hooks.example.com:70000/"} {
		r := s.Post(context.Background(), webhooks.Delivery{URI: uri})
		if r.Err != "invalid_uri" || r.Detail == "" || strings.Contains(r.Detail, "pa55") {
			t.Errorf("%q: %+v", uri, r)
		}
	}
}

func TestPostCanceled(t *testing.T) {
	recv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	r := newSender(t, loopbackOnly).Post(ctx, webhooks.Delivery{URI: recv.URL, Body: []byte("{}")})
	if r.Err != "canceled" {
		t.Errorf("result %+v", r)
	}
}

func TestCheckURI(t *testing.T) {
	open := newSender(t, webhooks.SenderConfig{})
	listed := newSender(t, webhooks.SenderConfig{AllowedHosts: []string{"*.hooks.example", "10.1.0.0/16", "localhost:8080"}})
	for _, c := range []struct {
		sender  *webhooks.Sender
		uri     string
		refused string // in the error; "" when accepted
	}{
		{open, "https://hooks.example.com/x?token=1", ""},
		{open, "http://user:pa55@hooks.example.com/x", ""},
		{open, "https://8.8.8.8/x", ""},
		{open, "https://internal.example.com/x", ""}, // names: judged when connecting
		{open, "ftp://hooks.example.com/x", "http:// or https://"},
		{open, "hooks.example.com/x", "http:// or https://"},
		{open, "https:///x", "no host"},
		{open, "http://%zz/", "not a valid URL"},
		{open, "https://hooks.example.com:99999/x", "port"},
		{open, "https://hooks.example.com:0/x", "port"},
		{open, "http://127.0.0.1:8080/x", "127.0.0.1 is a loopback address, refused unless webhooks.allowed_hosts lists it"},
		{open, "http://169.254.169.254/latest/meta-data", "link-local"},
		{open, "http://10.0.0.1/x", "private"},
		{open, "http://[fd00::1]/x", "private"},
		{open, "http://[::ffff:192.168.0.1]/x", "private"},
		{open, "http://100.64.0.1/x", "CGNAT"},
		{open, "http://0.0.0.0/x", "unspecified"},
		{open, "http://LocalHost:8080/x", "loopback"},
		{open, "http://app.localhost/x", "loopback"},
		{listed, "https://a.hooks.example/x", ""},
		{listed, "http://10.1.2.3/x", ""},
		{listed, "http://localhost:8080/x", ""},
		{listed, "http://localhost:8081/x", "host localhost is not in webhooks.allowed_hosts"},
		{listed, "https://hooks.example/x", "not in webhooks.allowed_hosts"},
		{listed, "https://8.8.8.8/x", "not in webhooks.allowed_hosts"},
		{listed, "http://10.2.0.1/x", "not in webhooks.allowed_hosts"},
	} {
		err := c.sender.CheckURI(c.uri)
		switch {
		case c.refused == "" && err != nil:
			t.Errorf("%s: %v", c.uri, err)
		case c.refused != "" && (err == nil || !strings.Contains(err.Error(), c.refused)):
			t.Errorf("%s: %v, want an error saying %q", c.uri, err, c.refused)
		case err != nil && strings.Contains(err.Error(), "pa55"):
			t.Errorf("%s: the error shows the password: %v", c.uri, err)
		}
	}
	if err := open.CheckURI("http://127.0.0.1/"); !errors.Is(err, netguard.ErrNotAllowed) {
		t.Errorf("not recognisable as ErrNotAllowed: %v", err)
	}
}

func TestNewSenderRefusesMalformedPatterns(t *testing.T) {
	_, err := webhooks.NewSender(webhooks.SenderConfig{AllowedHosts: []string{"hooks.example.com", "https://hooks.example.com"}})
	if err == nil || !strings.Contains(err.Error(), "https://hooks.example.com") || !strings.Contains(err.Error(), "webhooks.allowed_hosts") {
		t.Errorf("err = %v", err)
	}
}
