package httpmedia

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/recordingsd/recordingsd/pkg/media"
	"github.com/recordingsd/recordingsd/pkg/netguard"
)

// Option configures a Source.
type Option func(*Source)

// AllowHosts limits the web servers media is read from and deleted on: a URL stored in a
// document (or a redirect) naming another host is refused, so documents cannot point the
// service at internal addresses. Patterns are netguard.ParseRules's: "host" (any port),
// "host:port", "*.domain" (its subdomains, any port), an IP address or a CIDR; case does not
// matter. No patterns: any host, as Kazoo. Internal addresses are not refused as such: media
// servers often are internal. A malformed pattern matches nothing (refusals name it).
func AllowHosts(patterns ...string) Option {
	return func(s *Source) {
		for _, p := range patterns {
			switch rules, err := netguard.ParseRules([]string{p}); {
			case err != nil:
				s.malformed = append(s.malformed, strings.TrimSpace(p))
			case !rules.Empty():
				s.allowed = append(s.allowed, p)
			}
		}
		s.hosts, _ = netguard.ParseRules(s.allowed) // each one parsed above
	}
}

// restricted reports whether AllowHosts was given patterns, even only malformed ones.
func (s *Source) restricted() bool { return len(s.allowed)+len(s.malformed) > 0 }

// hostAllowed reports whether u's host matches an allowed pattern (always, without any).
func (s *Source) hostAllowed(u *url.URL) bool {
	return !s.restricted() || s.hosts.Match(u)
}

// checkHost refuses a URL outside the allowed hosts.
func (s *Source) checkHost(u *url.URL) error {
	if s.hostAllowed(u) {
		return nil
	}
	err := fmt.Errorf("host %s is not in media.http.allowed_hosts", u.Host)
	if len(s.malformed) > 0 {
		err = fmt.Errorf("%w (whose malformed patterns %q match nothing)", err, s.malformed)
	}
	return &media.Error{Kind: media.Unreachable, Handler: Handler, Reason: "host_not_allowed", Err: err}
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
