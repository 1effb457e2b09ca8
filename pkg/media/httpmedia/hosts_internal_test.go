package httpmedia

import (
	"net/url"
	"strings"
	"testing"
)

// The patterns themselves are netguard's (tested there); here, what AllowHosts makes of them.
func TestAllowHosts(t *testing.T) {
	for _, c := range []struct {
		name     string
		patterns []string
		url      string
		ok       bool
	}{
		{"no patterns: any host, as Kazoo", nil, "http://10.0.0.1/a.mp3", true},
		{"blank patterns: any host", []string{" ", ""}, "http://10.0.0.1/a.mp3", true},
		{"a listed name", []string{"media.example.com"}, "https://Media.Example.com:8443/a.mp3", true},
		{"another host", []string{"media.example.com"}, "https://other.example.com/a.mp3", false},
		{"a listed range", []string{"10.1.0.0/16"}, "http://10.1.2.3:9000/a.mp3", true},
		{"a listed name and a malformed pattern", []string{"media.example.com", "https://x"}, "https://media.example.com/a.mp3", true},
		{"only malformed patterns match nothing", []string{"https://x"}, "http://x/a.mp3", false},
	} {
		s := &Source{}
		AllowHosts(c.patterns...)(s)
		u, err := url.Parse(c.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.hostAllowed(u); got != c.ok {
			t.Errorf("%s: %s allowed %v, want %v", c.name, c.url, got, c.ok)
		}
	}
}

func TestRefusalNamesTheSettingAndMalformedPatterns(t *testing.T) {
	s := &Source{}
	AllowHosts("media.example.com", "media.example.com/path")(s)
	err := s.checkHost(&url.URL{Scheme: "http", Host: "other.example.com:8080"})
	if err == nil {
		t.Fatal("other.example.com allowed")
	}
	for _, want := range []string{"other.example.com:8080", "media.http.allowed_hosts", `"media.example.com/path"`, "host_not_allowed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %s", err, want)
		}
	}
}
