package netguard_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/netguard"
)

func TestRulesMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, url string
		ok           bool
	}{
		// Names: any port, or one port (a URL without one has its scheme's).
		{"media.example.com", "https://Media.Example.com:8443/a.mp3", true},
		{"Media.Example.COM", "https://media.example.com/a.mp3", true},
		{"media.example.com", "https://other.example.com/a.mp3", false},
		{"media.example.com", "https://media.example.com.evil.net/a.mp3", false},
		{"media.example.com:443", "https://media.example.com/a.mp3", true},
		{"media.example.com:443", "http://media.example.com/a.mp3", false},
		{"media.example.com:80", "http://media.example.com/a.mp3", true},
		{"media.example.com:8080", "http://media.example.com:8080/a.mp3", true},
		{"media.example.com:8080", "http://media.example.com:8081/a.mp3", false},
		{"media.example.com:80", "ftp://media.example.com/a.mp3", false},
		// Wildcards: subdomains only.
		{"*.example.com", "http://a.b.example.com/x", true},
		{"*.example.com", "http://A.Example.com/x", true},
		{"*.example.com", "http://example.com/x", false},
		{"*.example.com", "http://evil-example.com/x", false},
		{"*.example.com", "http://example.com.evil.net/x", false},
		{"*.example.com:8443", "https://a.example.com:8443/x", true},
		{"*.example.com:8443", "https://a.example.com/x", false},
		// IP addresses: any port, or one port.
		{"10.0.0.5", "http://10.0.0.5:9000/x", true},
		{"10.0.0.5", "http://10.0.0.50/x", false},
		{"10.0.0.5:9000", "http://10.0.0.5:9000/x", true},
		{"10.0.0.5:9000", "http://10.0.0.5/x", false},
		{"10.0.0.5", "http://[::ffff:10.0.0.5]/x", true}, // the same address, IPv4-mapped
		{"::1", "http://[::1]:8080/x", true},
		{"[::1]", "http://[::1]/x", true},
		{"::1", "http://[0:0::1]/x", true},
		{"[::1]:8080", "http://[::1]:8080/x", true},
		{"[::1]:8080", "http://[::1]:8081/x", false},
		{"FD00::1", "http://[fd00::1]/x", true},
		// CIDRs: any port.
		{"10.1.0.0/16", "http://10.1.200.7:8080/x", true},
		{"10.1.0.0/16", "http://10.2.0.1/x", false},
		{"10.1.2.3/16", "http://10.1.9.9/x", true}, // host bits are ignored
		{"fd00::/8", "https://[fd12:3456::1]/x", true},
		{"fd00::/8", "https://[fe80::1]/x", false},
		{"::ffff:10.0.0.0/104", "http://10.9.9.9/x", true},
		// An address rule never matches a name, nor a name rule an address.
		{"127.0.0.0/8", "http://localhost/x", false},
		{"localhost", "http://127.0.0.1/x", false},
		{"*.0.0.1", "http://127.0.0.1/x", false},
	} {
		rules, err := netguard.ParseRules([]string{c.pattern})
		if err != nil {
			t.Fatalf("pattern %q: %v", c.pattern, err)
		}
		u, err := url.Parse(c.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := rules.Match(u); got != c.ok {
			t.Errorf("pattern %q, %s: match %v, want %v", c.pattern, c.url, got, c.ok)
		}
	}
}

func TestRulesSeveralAndEmpty(t *testing.T) {
	var zero netguard.Rules
	if !zero.Empty() || zero.Match(&url.URL{Scheme: "http", Host: "example.com"}) {
		t.Error("the zero Rules are not empty, or match")
	}
	rules, err := netguard.ParseRules([]string{" ", "", "a.example", " B.example:8080 ", "10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	if rules.Empty() {
		t.Fatal("rules are empty")
	}
	for host, want := range map[string]bool{"a.example": true, "b.example:8080": true, "b.example": false, "10.3.3.3": true, "c.example": false} {
		if got := rules.Match(&url.URL{Scheme: "http", Host: host}); got != want {
			t.Errorf("%s: match %v, want %v", host, got, want)
		}
	}
	blank, err := netguard.ParseRules([]string{" ", ""})
	if err != nil || !blank.Empty() {
		t.Errorf("blank patterns: %v, empty %v", err, blank.Empty())
	}
}

func TestParseRulesRefusesMalformedPatterns(t *testing.T) {
	for _, p := range []string{
		"https://media.example.com",
		"media.example.com/path",
		"10.0.0.0/33",
		"10.0.0.0/x",
		"media.example.com:",
		"media.example.com:0",
		"media.example.com:65536",
		"media.example.com:http",
		"media.example.com:08080",
		"*",
		"*.",
		"*example.com",
		"a.*.example.com",
		"user@media.example.com",
		"media example.com",
		"a.example.com,b.example.com",
		"[media.example.com]",
		"[media.example.com]:80",
		"[10.0.0.5]",
		"[::1",
		"a..example.com",
		".example.com",
	} {
		_, err := netguard.ParseRules([]string{"ok.example", p})
		if err == nil {
			t.Errorf("pattern %q: accepted", p)
			continue
		}
		if !strings.Contains(err.Error(), p) {
			t.Errorf("pattern %q: the error does not name it: %v", p, err)
		}
	}
}
