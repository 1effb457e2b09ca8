package api_test

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/internal/testnet"
	"github.com/recordingsd/recordingsd/pkg/api"
	"github.com/recordingsd/recordingsd/pkg/auth"
	"github.com/recordingsd/recordingsd/pkg/store/couch"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
)

// Who may call: the account itself, its ancestors, superduper admin accounts, admin tokens.
func TestAuthorization(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		f := newFixture(t, open)
		f.addRecording(rec{})
		tests := []struct {
			name, token string
			status      int
			message     string
		}{
			{"own account", tokenAccount, 200, ""},
			{"user of the account", tokenUser, 200, ""},
			{"reseller above it", tokenReseller, 200, ""},
			{"superduper admin account", tokenSuper, 200, ""},
			{"system token", tokenSystem, 200, ""},
			{"unrelated account", tokenStranger, 403, "forbidden"},
			{"unknown token", "nope", 401, "invalid_credentials"},
			{"no token", "", 401, "invalid_credentials"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := f.call("GET", f.base()+"/recordings", tt.token, nil)
				if tt.status == 200 {
					if r.status != 200 {
						t.Fatalf("%d %s", r.status, r.body)
					}
					return
				}
				expectError(t, r, tt.status, tt.message)
			})
		}
		// The reseller cannot act upwards: its parent-free account is not under the child.
		if r := f.call("GET", "/v2/accounts/"+f.reseller+"/recordings", tokenAccount, nil); r.status != 403 {
			t.Errorf("child acting on its reseller: %d", r.status)
		}
		// Browsers' <audio src> carries the token in the query.
		if r := f.call("GET", f.base()+"/recordings?auth_token="+tokenAccount, "", nil); r.status != 200 {
			t.Errorf("auth_token query parameter: %d", r.status)
		}
	})
}

// Every malformed request gets a crossbar error naming the problem, never a 500.
func TestRequestErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		f := newFixture(t, open, func(c *api.Config) { c.MaxBodyBytes = 1024 })
		id := f.addRecording(rec{})
		tests := []struct {
			name, method, path, body string
			status                   int
			message                  string
		}{
			{"unknown account", "GET", "/v2/accounts/" + strings.Repeat("ab", 16) + "/recordings", "", 404, "bad_identifier"},
			{"malformed account id", "GET", "/v2/accounts/XYZ/recordings", "", 404, "bad identifier"},
			{"wrong method on the list", "PUT", f.base() + "/recordings", `{"data":{}}`, 405, "invalid_method"},
			{"wrong method on a recording", "POST", f.base() + "/recordings/" + id, `{"data":{}}`, 405, "invalid_method"},
			{"unknown path", "GET", "/v2/nothing/here", "", 404, "not_found"},
			{"oversize body", "PATCH", f.base() + "/recordings/" + id, `{"data":{"x":"` + strings.Repeat("a", 2000) + `"}}`, 413, "payload_too_large"},
			{"bad JSON", "PATCH", f.base() + "/recordings/" + id, `{"data":`, 400, "invalid JSON in request body"},
			{"data missing", "PATCH", f.base() + "/recordings/" + id, `{}`, 400, "validation error"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var body any
				if tt.body != "" {
					body = tt.body
				}
				expectError(t, f.call(tt.method, tt.path, tokenSystem, body), tt.status, tt.message)
			})
		}
		r := f.call("GET", "/v2/accounts/"+strings.Repeat("ab", 16)+"/recordings", tokenSystem, nil)
		if r.dataMap(t)["cause"] != strings.Repeat("ab", 16) {
			t.Errorf("unknown account: data %v", r.data())
		}
		// The client's request id comes back.
		r = f.call("GET", f.base()+"/recordings", tokenAccount, nil, "X-Request-ID", "req-123")
		if r.header.Get("X-Request-ID") != "req-123" || r.env["request_id"] != "req-123" {
			t.Errorf("request id: header %q, envelope %v", r.header.Get("X-Request-ID"), r.env["request_id"])
		}
	})
}

// With the database down, requests fail fast with 503 datastore_unreachable.
func TestDatastoreUnreachable(t *testing.T) {
	deadURL := "http://" + testnet.RefusedAddr(t)
	expectUnavailable(t, couch.Config{URL: deadURL, RequestTimeout: 2 * time.Second})
}

// A CouchDB that refuses our credentials is a 503 too (the cause goes to the log), not a 500.
func TestDatastoreRefusesCredentials(t *testing.T) {
	u, err := url.Parse(couchtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("admin", "wrong-password")
	expectUnavailable(t, couch.Config{URL: u.String()})
}

func expectUnavailable(t *testing.T, cfg couch.Config) {
	t.Helper()
	store, err := couch.New(cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	account := strings.Repeat("cd", 16)
	authn, _ := auth.NewStaticTokens([]auth.StaticToken{{Token: "t", AccountID: account}})
	srv := httptest.NewServer(newHandler(t, zap.NewNop(), testConfig(), store, authn))
	defer srv.Close()
	f := &fixture{t: t, srv: srv}
	for _, path := range []string{"/recordings", "/recordings/202611-" + strings.Repeat("0", 32)} {
		started := time.Now()
		r := f.call("GET", "/v2/accounts/"+account+path, "t", nil)
		expectError(t, r, 503, "datastore_unreachable")
		if d := time.Since(started); d > 5*time.Second {
			t.Errorf("%s took %v to fail", path, d)
		}
	}
}
