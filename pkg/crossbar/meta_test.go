package crossbar

import (
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestRequestID(t *testing.T) {
	generated := regexp.MustCompile(`^[0-9a-f]{32}$`)
	tests := []struct {
		header string
		reused bool
	}{
		{"0123456789abcdef0123456789abcdef", true},
		{"req-1.retry_2", true},
		{"A", true},
		{strings.Repeat("a", 64), true},
		{"", false},
		{strings.Repeat("a", 65), false},
		{"has space", false},
		{"line\r\nX-Evil: 1", false},
		{"ünïcode", false},
		{"a/b", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/v2/accounts", nil)
		r.Header["X-Request-Id"] = []string{tt.header}
		got := RequestID(r)
		switch {
		case tt.reused && got != tt.header:
			t.Errorf("X-Request-ID %q: got %q, want it reused", tt.header, got)
		case !tt.reused && !generated.MatchString(got):
			t.Errorf("X-Request-ID %q: got %q, want a new 32-hex id", tt.header, got)
		}
	}
	a, b := RequestID(httptest.NewRequest("GET", "/", nil)), RequestID(httptest.NewRequest("GET", "/", nil))
	if a == b {
		t.Errorf("two new ids are both %q", a)
	}
}

func TestNodeName(t *testing.T) {
	// base64url(md5("kazoo_apps@kz1.example.com")) without padding, computed independently.
	if got := NodeName("kazoo_apps@kz1.example.com"); got != "JW9JWwCCwP3sQTghurZsXg" {
		t.Errorf("NodeName = %q", got)
	}
}

func TestTimestamp(t *testing.T) {
	paris := time.FixedZone("CEST", 2*60*60)
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2020, 5, 12, 15, 36, 52, 0, time.UTC), "2020-05-12T15:36:52Z"},
		{time.Date(2020, 5, 12, 17, 36, 52, 999999999, paris), "2020-05-12T15:36:52Z"}, // UTC, whole seconds
		{time.Date(2021, 1, 2, 0, 30, 0, 0, paris), "2021-01-01T22:30:00Z"},
	}
	for _, tt := range tests {
		if got := Timestamp(tt.in); got != tt.want {
			t.Errorf("Timestamp(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
