package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/recordingsd/recordingsd/pkg/auth"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/embedded"
)

// One access-log line per request: route template, status, request id, account, the kind of
// credentials and whether a system token was used; never the token.
func TestAccessLog(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	store, err := embedded.Open(filepath.Join(t.TempDir(), "r.db"), embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	account := strings.Repeat("ab", 16)
	if err := store.PutAccount(context.Background(), recording.Doc{"_id": account, "pvt_type": "account", "pvt_tree": []any{}}); err != nil {
		t.Fatal(err)
	}
	authn, _ := auth.NewStaticTokens([]auth.StaticToken{{Token: "secret-token", AccountID: account},
		{Token: "system-secret", AllAccounts: true}})
	srv := httptest.NewServer(newHandler(t, zap.New(core), testConfig(), store, authn))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/v2/accounts/" + account + "/recordings/202611-abc?auth_token=secret-token")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/v2/accounts/"+account+"/recordings", nil)
	req.Header.Set("X-Auth-Token", "system-secret")
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	lines := logs.FilterMessage("request").All()
	if len(lines) != 2 {
		t.Fatalf("%d access-log lines, want 2", len(lines))
	}
	fields := lines[0].ContextMap()
	if fields["route"] != "/v2/accounts/{account_id}/recordings/{recording_id}" || fields["status"] != int64(404) ||
		fields["account_id"] != account || fields["request_id"] == "" || fields["method"] != "GET" ||
		fields["credentials"] != "static" || fields["system_token"] != false {
		t.Errorf("access log fields = %v", fields)
	}
	// a system token's use is on record, the token is not
	if fields := lines[1].ContextMap(); fields["status"] != int64(200) || fields["system_token"] != true {
		t.Errorf("access log of a system token's request = %v", fields)
	}
	for _, e := range logs.All() {
		for k, v := range e.ContextMap() {
			if s, ok := v.(string); ok && (strings.Contains(s, "secret-token") || strings.Contains(s, "system-secret")) {
				t.Errorf("log field %s holds the token: %q", k, s)
			}
		}
	}
}
