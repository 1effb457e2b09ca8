package netguard_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/netguard"
)

func TestNonPublic(t *testing.T) {
	for addr, want := range map[string]string{
		"8.8.8.8":                   "",
		"1.1.1.1":                   "",
		"2606:4700:4700::1111":      "",
		"172.32.0.1":                "", // just outside 172.16.0.0/12
		"100.128.0.1":               "", // just outside 100.64.0.0/10
		"127.0.0.1":                 "loopback",
		"127.1.2.3":                 "loopback",
		"::1":                       "loopback",
		"10.0.0.1":                  "private",
		"172.16.0.1":                "private",
		"172.31.255.255":            "private",
		"192.168.1.1":               "private",
		"fd00::1":                   "private",
		"fc00::1":                   "private",
		"100.64.0.1":                "shared (CGNAT)",
		"100.127.255.255":           "shared (CGNAT)",
		"169.254.169.254":           "link-local", // cloud metadata
		"fe80::1":                   "link-local",
		"fe80::1%eth0":              "link-local",
		"0.0.0.0":                   "unspecified",
		"0.1.2.3":                   "unspecified",
		"::":                        "unspecified",
		"224.0.0.1":                 "multicast",
		"239.255.255.250":           "multicast",
		"ff02::1":                   "multicast",
		"255.255.255.255":           "reserved",
		"240.0.0.1":                 "reserved",
		"192.0.2.1":                 "documentation",
		"2001:db8::1":               "documentation",
		"198.18.0.1":                "benchmarking",
		"fec0::1":                   "site-local",
		"::ffff:127.0.0.1":          "loopback", // IPv4-mapped
		"::ffff:169.254.169.254":    "link-local",
		"::ffff:8.8.8.8":            "",
		"::127.0.0.1":               "reserved", // IPv4-compatible
		"64:ff9b::7f00:1":           "loopback", // NAT64 of 127.0.0.1
		"64:ff9b::a9fe:a9fe":        "link-local",
		"64:ff9b::808:808":          "",
		"64:ff9b:1::1":              "NAT64 local-use",
		"2002:c0a8:0101::1":         "private", // 6to4 of 192.168.1.1
		"2002:0808:0808::1":         "",
		"2a00:1450:4001:80b::200e":  "",
		"2001:4860:4860::8888":      "",
		"100::1":                    "reserved",
		"192.0.0.8":                 "reserved",
		"203.0.113.9":               "documentation",
		"198.51.100.200":            "documentation",
		"fe80::ffff:ffff:ffff:ffff": "link-local",
	} {
		if got := netguard.NonPublic(netip.MustParseAddr(addr)); got != want {
			t.Errorf("NonPublic(%s) = %q, want %q", addr, got, want)
		}
	}
	if got := netguard.NonPublic(netip.Addr{}); got == "" {
		t.Error("the zero address is public")
	}
}

// listen returns the port of a loopback listener that accepts and closes connections.
func listen(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// The guard judges the address connected to, after resolution: "localhost" is refused as
// 127.0.0.1 is, unless a rule names the host, its address or a range holding it.
func TestGuardDial(t *testing.T) {
	port := listen(t)
	for _, c := range []struct {
		name     string
		rules    []string
		private  bool
		host     string
		refused  bool
		inDetail string
	}{
		{"loopback address, no rules", nil, false, "127.0.0.1", true, "127.0.0.1 is a loopback address, refused unless test.allowed_hosts lists it"},
		{"name resolving to loopback", nil, false, "localhost", true, "localhost resolves to"},
		{"mapped loopback", nil, false, "::ffff:127.0.0.1", true, "::ffff:127.0.0.1 is a loopback address"},
		{"unspecified reaches the machine", nil, false, "0.0.0.0", true, "unspecified"},
		{"other rules only", []string{"example.com", "10.0.0.0/8"}, false, "localhost", true, "loopback"},
		{"rule for another port", []string{"127.0.0.1:1"}, false, "127.0.0.1", true, "loopback"},
		{"listed address", []string{"127.0.0.1"}, false, "127.0.0.1", false, ""},
		{"listed address and port", []string{"127.0.0.1:" + port}, false, "127.0.0.1", false, ""},
		{"listed name", []string{"LocalHost"}, false, "localhost", false, ""},
		{"listed range holding the address", []string{"127.0.0.0/8"}, false, "localhost", false, ""},
		{"private allowed", nil, true, "localhost", false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			rules, err := netguard.ParseRules(c.rules)
			if err != nil {
				t.Fatal(err)
			}
			g := &netguard.Guard{Rules: rules, AllowPrivate: c.private, Setting: "test.allowed_hosts"}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			conn, err := g.DialContext(ctx, "tcp", net.JoinHostPort(c.host, port))
			if conn != nil {
				_ = conn.Close()
			}
			if !c.refused {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, netguard.ErrNotAllowed) {
				t.Fatalf("err = %v, want ErrNotAllowed", err)
			}
			var na *netguard.NotAllowedError
			if !errors.As(err, &na) || na.Host != c.host || na.Setting != "test.allowed_hosts" {
				t.Errorf("err = %#v", na)
			}
			if !strings.Contains(err.Error(), c.inDetail) {
				t.Errorf("err %q does not say %q", err, c.inDetail)
			}
		})
	}
}
