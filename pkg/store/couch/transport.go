package couch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// newHTTPClient builds the client kivik and our raw requests share. It has no overall
// Timeout: that would cut long attachment downloads; contexts bound the rest.
func newHTTPClient(cfg Config) *http.Client {
	dialer := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   cfg.DialTimeout + 3*time.Second,
			ResponseHeaderTimeout: cfg.RequestTimeout,
			ExpectContinueTimeout: time.Second,
			MaxIdleConns:          100,
			MaxIdleConnsPerHost:   32,
			IdleConnTimeout:       60 * time.Second,
			// CouchDB on loopback or a LAN: gzip costs both sides more CPU than it saves.
			DisableCompression: true,
			ReadBufferSize:     transportReadBuffer,
		},
	}
}

// basePathTransport repairs kivik's escaped paths when the server URL has a path of its own
// (CouchDB behind a proxy at /couch/): kivik v4.5.2 sets RawPath without that prefix, so Go
// drops RawPath and sends account/ab/… with bare slashes, which CouchDB reads as another
// path. We prepend the prefix when that makes RawPath match Path again.
type basePathTransport struct {
	escapedBase string // e.g. "/couch", no trailing slash
	next        http.RoundTripper
}

func (t *basePathTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	u := req.URL
	if u.RawPath != "" && !decodesTo(u.RawPath, u.Path) && decodesTo(t.escapedBase+u.RawPath, u.Path) {
		fixed := *u
		fixed.RawPath = t.escapedBase + u.RawPath
		req = req.Clone(req.Context())
		req.URL = &fixed
	}
	return t.next.RoundTrip(req)
}

func decodesTo(rawPath, path string) bool {
	p, err := url.PathUnescape(rawPath)
	return err == nil && p == path
}

// kivikHTTPClient is the client handed to kivik: the shared transport, behind the base
// path repair when the server URL has a path.
func kivikHTTPClient(shared *http.Client, base *url.URL) *http.Client {
	escapedBase := strings.TrimSuffix(base.EscapedPath(), "/")
	if escapedBase == "" {
		return shared
	}
	return &http.Client{Transport: &basePathTransport{escapedBase: escapedBase, next: shared.Transport}}
}

// parseServerURL splits credentials out of the configured URL; explicit ones win.
func parseServerURL(cfg Config) (base *url.URL, username, password string, err error) {
	if cfg.URL == "" {
		return nil, "", "", errors.New("couch: no URL configured")
	}
	raw := cfg.URL
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", "", fmt.Errorf("couch: parse URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, "", "", fmt.Errorf("couch: URL scheme %q is not http or https", u.Scheme)
	}
	if u.User != nil {
		username = u.User.Username()
		password, _ = u.User.Password()
		u.User = nil
	}
	if cfg.Username != "" || cfg.Password != "" {
		username, password = cfg.Username, cfg.Password
	}
	u.RawQuery, u.Fragment = "", ""
	return u, username, password, nil
}

// do sends one request outside kivik. Each path segment is escaped on its own, so
// "account/ab/cd/…-202401" travels as account%2Fab%2Fcd%2F…-202401, as CouchDB expects.
func (s *Store) do(ctx context.Context, method string, segments []string, query url.Values, header http.Header, body io.Reader) (*http.Response, error) {
	req, err := s.newRequest(ctx, method, segments, query, header, body)
	if err != nil {
		return nil, err
	}
	return s.http.Do(req)
}

// newRequest builds what do sends, for clients other than s.http.
func (s *Store) newRequest(ctx context.Context, method string, segments []string, query url.Values, header http.Header, body io.Reader) (*http.Request, error) {
	u := *s.base
	rawPath := strings.TrimSuffix(s.base.EscapedPath(), "/")
	for _, seg := range segments {
		rawPath += "/" + url.PathEscape(seg)
	}
	if len(segments) == 0 {
		rawPath += "/" // the server root, below the base path if any
	}
	path, err := url.PathUnescape(rawPath)
	if err != nil {
		return nil, fmt.Errorf("build path %s: %w", rawPath, err)
	}
	u.Path, u.RawPath = path, rawPath
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("build request %s %s: %w", method, rawPath, err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("User-Agent", "recordingsd")
	if s.username != "" || s.password != "" {
		req.SetBasicAuth(s.username, s.password)
	}
	return req, nil
}

// doOK is do for a request that must be answered 2xx: another status comes back as a
// *statusError (statusErr), its body drained. The caller drains and closes a 2xx body.
func (s *Store) doOK(ctx context.Context, method string, segments []string, query url.Values, header http.Header, body io.Reader) (*http.Response, error) {
	resp, err := s.do(ctx, method, segments, query, header, body)
	if err != nil {
		return nil, err
	}
	if err := statusErr(resp); err != nil {
		drainClose(resp.Body)
		return nil, err
	}
	return resp, nil
}

// statusError is a non-2xx answer to one of our raw requests. HTTPStatus lets
// kivik.HTTPStatus and couchError treat it like kivik's own errors.
type statusError struct {
	Status int
	Kind   string `json:"error"`
	Reason string `json:"reason"`
}

func (e *statusError) Error() string {
	if e.Kind == "" && e.Reason == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("HTTP %d: %s: %s", e.Status, e.Kind, e.Reason)
}

func (e *statusError) HTTPStatus() int { return e.Status }

// statusErr returns nil for 2xx, else a *statusError carrying CouchDB's error and reason
// (pouchdb-server sends them as text/plain, so the body is read whatever its type).
func statusErr(resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	e := &statusError{Status: resp.StatusCode}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(e)
	return e
}

// drainClose reads a little of what is left so the connection can be reused, then closes.
func drainClose(body io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, body, 64<<10)
	_ = body.Close()
}
