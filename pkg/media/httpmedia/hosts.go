package httpmedia

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/recordingsd/recordingsd/pkg/media"
)

// Option configures a Source.
type Option func(*Source)

// AllowHosts limits the web servers media is read from and deleted on: a URL stored in a
// document (or a redirect) naming another host is refused, so documents cannot point the
// service at internal addresses. Patterns are "host" (any port), "host:port", or "*.domain"
// (its subdomains, any port); case does not matter. No patterns: any host, as Kazoo.
func AllowHosts(patterns ...string) Option {
	return func(s *Source) {
		for _, p := range patterns {
			if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
				s.allowed = append(s.allowed, p)
			}
		}
	}
}

// hostAllowed reports whether u's host matches an allowed pattern (always, without any).
func (s *Source) hostAllowed(u *url.URL) bool {
	if len(s.allowed) == 0 {
		return true
	}
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	for _, p := range s.allowed {
		if strings.HasPrefix(p, "*.") {
			if strings.HasSuffix(host, p[1:]) {
				return true
			}
			continue
		}
		if ph, pp, err := net.SplitHostPort(p); err == nil {
			if ph == host && pp == port {
				return true
			}
			continue
		}
		if strings.Trim(p, "[]") == host { // a host, or an IPv6 address with or without brackets
			return true
		}
	}
	return false
}

// checkHost refuses a URL outside the allowed hosts.
func (s *Source) checkHost(u *url.URL) error {
	if s.hostAllowed(u) {
		return nil
	}
	return &media.Error{Kind: media.Unreachable, Handler: Handler, Reason: "host_not_allowed",
		Err: fmt.Errorf("host %s is not in storage.http.allowed_hosts", u.Host)}
}

// guardRedirects is a copy of c that refuses a redirect to a host outside the allowed ones,
// keeping c's own redirect policy (or Go's ten-redirect limit) otherwise.
func (s *Source) guardRedirects(c *http.Client) *http.Client {
	g := *c
	next := c.CheckRedirect
	g.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := s.checkHost(req.URL); err != nil {
			return err
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return fmt.Errorf("stopped after 10 redirects")
		}
		return nil
	}
	return &g
}
