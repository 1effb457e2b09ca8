package httpmedia

import (
	"net/url"
	"testing"
)

func TestHostPatterns(t *testing.T) {
	for _, c := range []struct {
		pattern, url string
		ok           bool
	}{
		{"media.example.com", "https://Media.Example.com:8443/a.mp3", true},
		{"media.example.com", "https://other.example.com/a.mp3", false},
		{"media.example.com:443", "https://media.example.com/a.mp3", true},
		{"media.example.com:443", "http://media.example.com/a.mp3", false},
		{"media.example.com:8080", "http://media.example.com:8080/a.mp3", true},
		{"*.example.com", "http://a.b.example.com/x", true},
		{"*.example.com", "http://example.com/x", false},
		{"*.example.com", "http://evil-example.com/x", false},
		{"*.example.com", "http://example.com.evil.net/x", false},
		{"10.0.0.5", "http://10.0.0.5:9000/x", true},
		{"10.0.0.5", "http://10.0.0.50/x", false},
		{"::1", "http://[::1]:8080/x", true},
		{"[::1]", "http://[::1]/x", true},
		{"[::1]:8080", "http://[::1]:8080/x", true},
		{"[::1]:8080", "http://[::1]:8081/x", false},
	} {
		s := &Source{}
		AllowHosts(c.pattern)(s)
		u, err := url.Parse(c.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.hostAllowed(u); got != c.ok {
			t.Errorf("pattern %q, %s: allowed %v, want %v", c.pattern, c.url, got, c.ok)
		}
	}
	if !(&Source{}).hostAllowed(&url.URL{Scheme: "http", Host: "anything"}) {
		t.Error("without patterns, a host is refused")
	}
}
