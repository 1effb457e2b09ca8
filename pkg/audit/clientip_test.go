package audit_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/audit"
)

// The client's address is the connection's unless the connection comes from a trusted
// proxy: then it is the right-most X-Forwarded-For hop that is not a trusted proxy.
func TestClientIP(t *testing.T) {
	trusted, err := audit.ParsePrefixes([]string{"10.0.0.0/8", "192.0.2.10", "2001:db8::/32"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		peer    string
		xff     []string
		trusted bool // with the trusted list above, else none
		want    string
	}{
		{"no proxy configured: the peer", "203.0.113.5:51000", nil, false, "203.0.113.5"},
		{"no proxy configured: X-Forwarded-For ignored", "10.1.2.3:51000", []string{"198.51.100.1"}, false, "10.1.2.3"},
		{"an untrusted peer's X-Forwarded-For is ignored", "203.0.113.5:51000", []string{"198.51.100.1"}, true, "203.0.113.5"},
		{"a trusted proxy: the hop it saw", "10.1.2.3:51000", []string{"198.51.100.1"}, true, "198.51.100.1"},
		{"a spoofed hop left of the real one is not believed", "10.1.2.3:51000", []string{"1.2.3.4, 198.51.100.1"}, true, "198.51.100.1"},
		{"two trusted proxies in a row", "10.1.2.3:51000", []string{"198.51.100.1, 192.0.2.10", "10.9.9.9"}, true, "198.51.100.1"},
		{"all hops trusted: the left-most", "10.1.2.3:51000", []string{"10.0.0.7, 10.0.0.8"}, true, "10.0.0.7"},
		{"a trusted proxy without X-Forwarded-For: the proxy", "10.1.2.3:51000", nil, true, "10.1.2.3"},
		{"a hop that is no address stops at the proxy that passed it", "10.1.2.3:51000", []string{"198.51.100.1, unknown"}, true, "10.1.2.3"},
		{"hops with ports", "10.1.2.3:51000", []string{"[2001:db9::5]:443, 192.0.2.10:80"}, true, "2001:db9::5"},
		{"IPv6 peer", "[2001:db8::1]:443", []string{"198.51.100.9"}, true, "198.51.100.9"},
		{"IPv4-mapped peer", "[::ffff:10.1.2.3]:443", []string{"198.51.100.9"}, true, "198.51.100.9"},
		{"a peer address that does not parse is kept as is", "pipe", nil, true, "pipe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/v2/accounts", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			list := trusted
			if !tt.trusted {
				list = nil
			}
			if got := audit.ClientIP(r, list); got != tt.want {
				t.Fatalf("ClientIP = %s, want %s", got, tt.want)
			}
		})
	}
}

// Trusted proxies are IPs or CIDRs; anything else is refused, naming it.
func TestParsePrefixes(t *testing.T) {
	got, err := audit.ParsePrefixes([]string{" 10.0.0.1 ", "10.1.2.3/8", "::1", "fd00::/8"})
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, p := range got {
		texts = append(texts, p.String())
	}
	if s := strings.Join(texts, ","); s != "10.0.0.1/32,10.0.0.0/8,::1/128,fd00::/8" {
		t.Fatalf("prefixes %s", s)
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.internal", "10.0.0.1:80", ""} {
		if _, err := audit.ParsePrefixes([]string{bad}); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("ParsePrefixes(%q): %v, want an error naming it", bad, err)
		}
	}
}
