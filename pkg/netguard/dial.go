package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// ErrNotAllowed is what every refusal of this package wraps (errors.Is): a host outside the
// rules, or an internal address nobody listed.
var ErrNotAllowed = errors.New("host not allowed")

// NotAllowedError says which host or address was refused, why, and which setting would allow it.
type NotAllowedError struct {
	Host    string     // the host asked for, a name or an IP address
	Addr    netip.Addr // the address refused; invalid when Host itself is outside the rules
	Kind    string     // Addr's range ("loopback", "private", …: NonPublic)
	Setting string     // the setting that holds the rules, e.g. "webhooks.allowed_hosts"
}

func (e *NotAllowedError) Error() string {
	setting := e.Setting
	if setting == "" {
		setting = "the allowed hosts"
	}
	switch {
	case !e.Addr.IsValid():
		return fmt.Sprintf("host %s is not in %s", e.Host, setting)
	case isAddr(e.Host):
		return fmt.Sprintf("%s is a %s address, refused unless %s lists it", e.Host, e.Kind, setting)
	default:
		return fmt.Sprintf("%s resolves to %s, a %s address, refused unless %s lists the host or address", e.Host, e.Addr, e.Kind, setting)
	}
}

// Unwrap makes the error ErrNotAllowed for errors.Is.
func (e *NotAllowedError) Unwrap() error { return ErrNotAllowed }

// Guard dials TCP connections for a client whose targets others choose (Transport.DialContext).
// It refuses to connect to a non-public address (NonPublic: loopback, private, link-local
// such as the cloud metadata address, …) unless the host dialled matches Rules, or the
// address itself does (an IP or CIDR rule): an administrator named it on purpose. The check
// is made on the address actually connected to, after name resolution, so a public name
// resolving to 127.0.0.1 is caught, and so is a name whose answer changes between a check
// and the connection.
type Guard struct {
	Rules        Rules
	AllowPrivate bool        // no address check at all: every target is trusted
	Setting      string      // the name of the setting holding Rules, for error messages
	Dialer       *net.Dialer // the dialer to start from (its Control functions are replaced); nil: 30s timeout and keep-alive
}

// DialContext connects to address ("host:port") like net.Dialer.DialContext, refusing
// non-public addresses (see Guard) with a *NotAllowedError.
func (g *Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	d := net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	if g.Dialer != nil {
		d = *g.Dialer
	}
	d.Control = nil
	d.ControlContext = nil
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	if !g.AllowPrivate && !g.Rules.MatchHost(host, port) {
		d.ControlContext = func(_ context.Context, _, resolved string, _ syscall.RawConn) error {
			return g.checkAddr(host, resolved)
		}
	}
	return d.DialContext(ctx, network, address)
}

// checkAddr refuses resolved ("ip:port", host's address) when it is not public and no rule names it.
func (g *Guard) checkAddr(host, resolved string) error {
	ap, err := netip.ParseAddrPort(resolved)
	if err != nil {
		return fmt.Errorf("dialling %s: unexpected address %q: %w", host, resolved, ErrNotAllowed)
	}
	ip := ap.Addr().Unmap()
	kind := NonPublic(ip)
	if kind == "" || g.Rules.MatchAddr(ip, fmt.Sprint(ap.Port())) {
		return nil
	}
	return &NotAllowedError{Host: host, Addr: ip, Kind: kind, Setting: g.Setting}
}

// isAddr reports whether host is an IP address rather than a name.
func isAddr(host string) bool {
	_, err := netip.ParseAddr(host)
	return err == nil
}

// NonPublic names the range of ip when it is not a public unicast address: "loopback",
// "private" (RFC 1918, IPv6 unique local), "shared (CGNAT)", "link-local" (which holds the
// cloud metadata address 169.254.169.254), "unspecified", "multicast", "reserved",
// "documentation", "benchmarking", "site-local" or "NAT64 local-use"; "" for a public address.
// An IPv4 address inside IPv6 (IPv4-mapped, NAT64's 64:ff9b::/96, 6to4's 2002::/16) is
// judged by its IPv4 address, which is what it reaches.
func NonPublic(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	if !ip.IsValid() {
		return "invalid"
	}
	if ip.Is6() {
		if v4, ok := embeddedIPv4(ip); ok {
			return NonPublic(v4)
		}
	}
	for _, r := range nonPublicRanges {
		if r.prefix.Contains(ip) {
			return r.kind
		}
	}
	return ""
}

// embeddedIPv4 is the IPv4 address a NAT64 (64:ff9b::/96) or 6to4 (2002::/16) address leads to.
func embeddedIPv4(ip netip.Addr) (netip.Addr, bool) {
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// nonPublicRanges are the special-purpose ranges (IANA's registries) a public service has no
// reason to reach, most specific first where they overlap.
var nonPublicRanges = []struct {
	prefix netip.Prefix
	kind   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"}, // "this network": 0.0.0.0 reaches the machine itself
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (CGNAT)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.0.0.0/24"), "reserved"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"}, // and the broadcast address
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("::/96"), "reserved"}, // IPv4-compatible, deprecated
	{netip.MustParsePrefix("64:ff9b:1::/48"), "NAT64 local-use"},
	{netip.MustParsePrefix("100::/64"), "reserved"}, // discard-only
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("fc00::/7"), "private"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}
