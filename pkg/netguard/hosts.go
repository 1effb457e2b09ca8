// Package netguard keeps outgoing HTTP requests whose targets others chose (media URLs stored
// in documents, tenants' webhooks) away from the hosts an administrator did not mean to expose:
// host rules say which hosts are named on purpose, and a dial guard refuses the addresses of
// internal networks (loopback, private, link-local, …) unless a rule names them.
package netguard

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// Rules is a list of host patterns, in the forms ParseRules reads. The zero value matches nothing.
type Rules struct {
	rules []rule
}

// rule is one parsed pattern: a host name, a domain's subdomains, or an IP prefix (an address
// is a /32 or /128), with a port or any port.
type rule struct {
	name   string       // a host name, lower case
	suffix string       // ".domain" for "*.domain"
	prefix netip.Prefix // valid for an IP address or a CIDR
	port   string       // "" for any port
}

// ParseRules reads host patterns: "host" (any port), "host:port", "*.domain" (its subdomains,
// not the domain itself, any port; "*.domain:port" for one port), an IP address ("10.0.0.5",
// "::1" or "[::1]", or with a port: "10.0.0.5:8080", "[::1]:8080") or a CIDR ("10.1.0.0/16",
// "fd00::/8", any port). Case does not matter; blank patterns are skipped. A malformed
// pattern is an error that quotes it.
func ParseRules(patterns []string) (Rules, error) {
	var rs Rules
	for _, p := range patterns {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "" {
			continue
		}
		r, err := parseRule(p)
		if err != nil {
			return Rules{}, fmt.Errorf("host pattern %q: %w", p, err)
		}
		rs.rules = append(rs.rules, r)
	}
	return rs, nil
}

// parseRule reads one trimmed, lower-case pattern.
func parseRule(p string) (rule, error) {
	if strings.Contains(p, "://") {
		return rule{}, fmt.Errorf("a host is expected, not a URL")
	}
	if strings.Contains(p, "/") {
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			return rule{}, fmt.Errorf("not a CIDR such as 10.1.0.0/16 or fd00::/8")
		}
		if a := prefix.Addr(); a.Is4In6() && prefix.Bits() >= 96 { // ::ffff:10.0.0.0/104 is 10.0.0.0/8
			prefix = netip.PrefixFrom(a.Unmap(), prefix.Bits()-96)
		}
		return rule{prefix: prefix.Masked()}, nil
	}
	if ip, err := netip.ParseAddr(p); err == nil { // "::1" too: colons, but no port
		return addrRule(ip, ""), nil
	}
	host, port := p, ""
	bracketed := strings.HasPrefix(p, "[")
	if h, pt, err := net.SplitHostPort(p); err == nil {
		if n, err := strconv.Atoi(pt); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != pt {
			return rule{}, fmt.Errorf("port %q is not a number from 1 to 65535", pt)
		}
		host, port = h, pt
	} else if bracketed && strings.HasSuffix(p, "]") {
		host = p[1 : len(p)-1]
	}
	if ip, err := netip.ParseAddr(host); err == nil && (!bracketed || ip.Is6()) {
		return addrRule(ip, port), nil
	}
	if bracketed {
		return rule{}, fmt.Errorf("brackets hold an IPv6 address, as in [::1] or [::1]:8080")
	}
	if domain, ok := strings.CutPrefix(host, "*."); ok {
		if err := checkName(domain); err != nil {
			return rule{}, err
		}
		return rule{suffix: "." + domain, port: port}, nil
	}
	if err := checkName(host); err != nil {
		return rule{}, err
	}
	return rule{name: host, port: port}, nil
}

// addrRule is the rule for one address; an IPv4-mapped IPv6 address is its IPv4 address.
func addrRule(ip netip.Addr, port string) rule {
	ip = ip.Unmap().WithZone("")
	return rule{prefix: netip.PrefixFrom(ip, ip.BitLen()), port: port}
}

// checkName refuses what cannot be a host name: nothing, or characters that end or split a
// URL's host ("/", "@", ":", brackets, blanks, …), or a wildcard other than a leading "*.".
func checkName(name string) error {
	if name == "" || strings.HasPrefix(name, ".") || strings.Contains(name, "..") {
		return fmt.Errorf("not a host name")
	}
	if i := strings.IndexFunc(name, func(r rune) bool {
		return r <= ' ' || r == 0x7f || strings.ContainsRune(`*:/\?#@[]%,;"'<>|{}^`+"`", r)
	}); i >= 0 {
		return fmt.Errorf("%q is not allowed in a host name (forms: host, host:port, *.domain, IP, CIDR)", name[i:i+1])
	}
	return nil
}

// Empty reports whether there are no rules.
func (rs Rules) Empty() bool { return len(rs.rules) == 0 }

// Match reports whether u's host matches a rule. A URL without a port has its scheme's
// default port (http 80, https 443) for rules with a port.
func (rs Rules) Match(u *url.URL) bool {
	port := u.Port()
	if port == "" {
		port = defaultPorts[u.Scheme]
	}
	return rs.MatchHost(u.Hostname(), port)
}

// defaultPorts are the ports of URLs that name none.
var defaultPorts = map[string]string{"http": "80", "https": "443"}

// MatchHost reports whether host (a name, or an IP address with or without brackets) and
// port ("" when unknown: then only rules for any port match) match a rule.
func (rs Rules) MatchHost(host, port string) bool {
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return rs.MatchAddr(ip, port)
	}
	host = strings.ToLower(host)
	for _, r := range rs.rules {
		if r.port != "" && r.port != port {
			continue
		}
		if (r.name != "" && r.name == host) || (r.suffix != "" && strings.HasSuffix(host, r.suffix)) {
			return true
		}
	}
	return false
}

// MatchAddr reports whether ip and port match an address or CIDR rule. An IPv4-mapped IPv6
// address is its IPv4 address, as the system dials it.
func (rs Rules) MatchAddr(ip netip.Addr, port string) bool {
	ip = ip.Unmap().WithZone("") // a prefix never contains an address with a zone
	for _, r := range rs.rules {
		if r.port != "" && r.port != port {
			continue
		}
		if r.prefix.IsValid() && r.prefix.Contains(ip) {
			return true
		}
	}
	return false
}
