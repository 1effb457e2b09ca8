package webhooks

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/recordingsd/recordingsd/pkg/netguard"
)

// Delivery is one POST to a webhook.
type Delivery struct {
	URI     string // http or https
	Secret  string
	Event   string // X-Recordings-Event
	EventID string // X-Recordings-Event-Id
	Body    []byte // the JSON payload, sent as is
}

// Result is the outcome of one attempt.
type Result struct {
	Status  int // the receiver's HTTP status, 0 when none came
	Latency time.Duration
	// Err is "" on success (a 2xx); otherwise a short stable cause: "timeout",
	// "connection_failed", "host_not_allowed", "tls", "redirect", "http_<status>",
	// "invalid_uri", or "canceled" when the caller's context was (the attempt did not fail).
	Err    string
	Detail string // a human sentence for the admin (no secrets, no URL user-info or query)
}

// OK reports whether the receiver took the delivery (a 2xx).
func (r Result) OK() bool { return r.Err == "" }

// SenderConfig configures a Sender.
type SenderConfig struct {
	Timeout time.Duration // bounds each attempt, from dialling to the drained answer; 0: DefaultTimeout
	// AllowedHosts are netguard patterns ("host", "host:port", "*.domain", an IP, a CIDR).
	// When set, webhooks may only name these hosts. Set or not, an internal address
	// (loopback, private, link-local, …) is reachable only when listed here.
	AllowedHosts []string
	UserAgent    string // "": DefaultUserAgent
}

// DefaultTimeout bounds an attempt when SenderConfig.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// DefaultUserAgent is sent when SenderConfig.UserAgent is empty.
const DefaultUserAgent = "recordingsd-webhooks"

// allowedHostsSetting names SenderConfig.AllowedHosts in messages for administrators.
const allowedHostsSetting = "webhooks.allowed_hosts"

// maxAnswerBody is how much of an answer is read (and discarded) so that its connection can
// serve the next delivery; a longer answer costs the connection.
const maxAnswerBody = 64 << 10

// Sender POSTs signed deliveries to webhooks that tenants chose, so it never follows a
// redirect and reaches internal addresses only when the administrator listed them.
type Sender struct {
	client    *http.Client
	rules     netguard.Rules
	timeout   time.Duration
	userAgent string
}

// NewSender returns a Sender. Errors: a malformed AllowedHosts pattern.
func NewSender(cfg SenderConfig) (*Sender, error) {
	rules, err := netguard.ParseRules(cfg.AllowedHosts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", allowedHostsSetting, err)
	}
	s := &Sender{rules: rules, timeout: cfg.Timeout, userAgent: cfg.UserAgent}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.userAgent == "" {
		s.userAgent = DefaultUserAgent
	}
	guard := &netguard.Guard{Rules: rules, Setting: allowedHostsSetting,
		Dialer: &net.Dialer{Timeout: s.timeout, KeepAlive: 30 * time.Second}}
	transport := &http.Transport{
		Proxy:                  nil, // a proxy would connect for us, out of the guard's sight
		DialContext:            guard.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    min(s.timeout, 10*time.Second),
		MaxResponseHeaderBytes: 64 << 10,
	}
	s.client = &http.Client{
		Transport: transport,
		// A redirect could lead anywhere the URI check did not see: it is the answer, and a failure.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return s, nil
}

// CheckURI says whether raw may be a webhook's URI, as it is created: an http or https URL
// with a host, which AllowedHosts matches when set, and which, as an IP address (or
// "localhost"), is a public one unless listed. A name resolving to an internal address is
// caught when a delivery connects. The errors are sentences for the one who gave the URI.
func (s *Sender) CheckURI(raw string) error {
	u, _, err := s.target(raw)
	if err != nil {
		return err
	}
	// Post leaves names to the dial guard, but these are loopback by definition (RFC 6761).
	name := strings.ToLower(u.Hostname())
	if (name == "localhost" || strings.HasSuffix(name, ".localhost")) && !s.rules.Match(u) {
		return &netguard.NotAllowedError{Host: u.Hostname(), Addr: netip.MustParseAddr("127.0.0.1"),
			Kind: "loopback", Setting: allowedHostsSetting}
	}
	return nil
}

// target is raw parsed and checked as CheckURI says (names aside), or Result.Err's cause and
// a sentence.
func (s *Sender) target(raw string) (*url.URL, string, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		// url.Parse's error quotes the URI, password included.
		return nil, "invalid_uri", errors.New("the webhook URI is not a valid URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, "invalid_uri", errors.New("the webhook URI must be an http:// or https:// URL")
	case u.Hostname() == "":
		return nil, "invalid_uri", errors.New("the webhook URI has no host")
	case !validPort(u.Port()):
		return nil, "invalid_uri", errors.New("the webhook URI's port must be a number from 1 to 65535")
	}
	if s.rules.Match(u) {
		return u, "", nil
	}
	host := u.Hostname()
	if !s.rules.Empty() {
		return nil, "host_not_allowed", &netguard.NotAllowedError{Host: host, Setting: allowedHostsSetting}
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if kind := netguard.NonPublic(ip); kind != "" {
			return nil, "host_not_allowed", &netguard.NotAllowedError{Host: host, Addr: ip, Kind: kind, Setting: allowedHostsSetting}
		}
	}
	return u, "", nil
}

// validPort reports whether a URL's port (digits, or "" for the scheme's) can be dialled.
func validPort(port string) bool {
	n, err := strconv.Atoi(port)
	return port == "" || (err == nil && n >= 1 && n <= 65535)
}

// Post makes one attempt at delivering d, signed now, within the Sender's timeout (and ctx).
func (s *Sender) Post(ctx context.Context, d Delivery) Result {
	start := time.Now()
	u, cause, err := s.target(d.URI)
	if err != nil {
		return Result{Err: cause, Detail: err.Error()}
	}
	attempt, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(attempt, http.MethodPost, u.String(), bytes.NewReader(d.Body))
	if err != nil {
		return Result{Err: "invalid_uri", Detail: "the webhook URI cannot be requested"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.userAgent)
	if d.Event != "" {
		req.Header.Set("X-Recordings-Event", d.Event)
	}
	if d.EventID != "" {
		req.Header.Set("X-Recordings-Event-Id", d.EventID)
	}
	req.Header.Set(SignatureHeader, Sign(d.Secret, time.Now(), d.Body))
	resp, err := s.client.Do(req) // a user and password in the URI go as Basic auth
	latency := time.Since(start)
	if err != nil {
		cause, detail := s.failure(ctx, attempt, u, err)
		return Result{Latency: latency, Err: cause, Detail: detail}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswerBody))
	_ = resp.Body.Close()
	r := Result{Status: resp.StatusCode, Latency: latency}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		r.Err = "redirect"
		r.Detail = fmt.Sprintf("%s answered %s, a redirect, which is not followed: the webhook URI must be the final one", safeURL(u), resp.Status)
	default:
		r.Err = fmt.Sprintf("http_%d", resp.StatusCode)
		r.Detail = fmt.Sprintf("%s answered %s", safeURL(u), resp.Status)
	}
	return r
}

// causeCanceled is the cause of an attempt the caller gave up (a shutdown): no failure.
const causeCanceled = "canceled"

// failure is the cause and sentence of an attempt that got no answer; ctx is the caller's,
// attempt the attempt's, bounded by the Sender's timeout.
func (s *Sender) failure(ctx, attempt context.Context, u *url.URL, err error) (string, string) {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // without the URL, which may hold a password; what remains names host and port only
	}
	var refused *netguard.NotAllowedError
	var netErr net.Error
	switch {
	case errors.As(err, &refused):
		return "host_not_allowed", refused.Error()
	case errors.Is(ctx.Err(), context.Canceled):
		return causeCanceled, fmt.Sprintf("the delivery to %s was canceled (shutdown)", safeURL(u))
	case attempt.Err() != nil || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return "timeout", fmt.Sprintf("%s did not answer in time (the limit is %s)", safeURL(u), s.timeout)
	case isTLSFailure(err):
		return "tls", fmt.Sprintf("TLS with %s failed: %v", u.Host, err)
	default:
		return "connection_failed", fmt.Sprintf("could not deliver to %s: %v", safeURL(u), err)
	}
}

// isTLSFailure reports whether err comes from TLS: the receiver's certificate, or its handshake.
func isTLSFailure(err error) bool {
	var (
		verification *tls.CertificateVerificationError
		unknownCA    x509.UnknownAuthorityError
		wrongHost    x509.HostnameError
		invalidCert  x509.CertificateInvalidError
		notTLS       tls.RecordHeaderError
		alert        tls.AlertError
		op           *net.OpError
	)
	return errors.As(err, &verification) || errors.As(err, &unknownCA) || errors.As(err, &wrongHost) ||
		errors.As(err, &invalidCert) || errors.As(err, &notTLS) || errors.As(err, &alert) ||
		(errors.As(err, &op) && op.Op == "remote error") // an alert the receiver sent
}

// safeURL is u without user-info, query or fragment: what a message may show.
func safeURL(u *url.URL) string {
	c := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return c.String()
}
