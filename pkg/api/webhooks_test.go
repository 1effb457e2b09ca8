package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/events"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
	"github.com/recordingsd/recordingsd/pkg/webhooks"
)

// withWebhooks turns the webhook endpoints on over the fixture's store, with an events
// database of the test's own and a tail of its log.
func withWebhooks(t *testing.T, f *fixture) {
	t.Helper()
	store, ok := f.store.(webhooks.Store)
	if !ok {
		t.Fatalf("%T cannot keep webhooks", f.store)
	}
	es, ok := f.store.(events.Store)
	if !ok {
		t.Fatalf("%T has no events log", f.store)
	}
	db := "api_webhooks_" + couchtest.NewAccountID()[:12]
	tail := events.NewTail(es, db, 50*time.Millisecond, zap.NewNop())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); tail.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	sender, err := webhooks.NewSender(webhooks.SenderConfig{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.cfg
	cfg.Webhooks = webhooks.NewRegistry(store, db, tail, sender, nil)
	f.cfg = cfg
	f.restart(f.static, cfg, zap.NewNop())
}

// An admin creates a webhook (the secret is shown once), lists, reads (with its delivery
// state), changes and removes it.
func TestWebhookLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		f := newFixture(t, open)
		withWebhooks(t, f)
		hooks := f.base() + "/recording_webhooks"

		r := f.call("PUT", hooks, tokenAccount, map[string]any{"data": map[string]any{
			"name": "crm", "uri": "https://crm.example.com/hook", "custom_data": map[string]any{"tenant": 7}}})
		if r.status != http.StatusCreated {
			t.Fatalf("PUT: %d %s", r.status, r.body)
		}
		created := r.dataMap(t)
		id, _ := created["id"].(string)
		secret, _ := created["secret"].(string)
		if len(id) != 32 || !strings.HasPrefix(secret, "whsec_") || created["enabled"] != true || created["include_subaccounts"] != false {
			t.Fatalf("created: %v", created)
		}
		if evs, _ := created["events"].([]any); len(evs) != len(events.Types) {
			t.Errorf("default events %v, want all %d", created["events"], len(events.Types))
		}

		r = f.call("GET", hooks, tokenAccount, nil)
		if r.status != 200 || len(r.dataList(t)) != 1 || strings.Contains(string(r.body), secret) {
			t.Fatalf("list: %d %s", r.status, r.body)
		}
		r = f.call("GET", hooks+"/"+id, tokenAccount, nil)
		one := r.dataMap(t)
		if r.status != 200 || strings.Contains(string(r.body), secret) || one["name"] != "crm" {
			t.Fatalf("get: %d %s", r.status, r.body)
		}
		if d, _ := one["delivery"].(map[string]any); d == nil || d["delivered"] != 0.0 {
			t.Errorf("delivery state %v", one["delivery"])
		}

		r = f.call("PATCH", hooks+"/"+id, tokenAccount, map[string]any{"data": map[string]any{"enabled": false, "secret": "a-new-secret-of-20ch"}})
		if r.status != 200 || r.dataMap(t)["enabled"] != false || r.dataMap(t)["name"] != "crm" || strings.Contains(string(r.body), "a-new-secret") {
			t.Fatalf("patch: %d %s", r.status, r.body)
		}
		r = f.call("POST", hooks+"/"+id, tokenAccount, map[string]any{"data": map[string]any{"name": "crm 2", "uri": "https://b.example.com/"}})
		if r.status != 200 || r.dataMap(t)["enabled"] != true || r.dataMap(t)["custom_data"] != nil {
			t.Fatalf("post (a replacement: defaults for what it leaves out): %d %s", r.status, r.body)
		}

		r = f.call("DELETE", hooks+"/"+id, tokenAccount, nil)
		if r.status != 200 || r.dataMap(t)["id"] != id {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		expectError(t, f.call("GET", hooks+"/"+id, tokenAccount, nil), 404, "bad_identifier")
		if r := f.call("GET", hooks, tokenAccount, nil); len(r.dataList(t)) != 0 {
			t.Errorf("list after delete: %s", r.body)
		}
	})
}

// Bad requests get a 4xx that names the problem, and change nothing.
func TestWebhookErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		f := newFixture(t, open)
		hooks := f.base() + "/recording_webhooks"
		expectError(t, f.call("GET", hooks, tokenAccount, nil), 404, "not_found") // off without events

		withWebhooks(t, f)
		for _, c := range []struct {
			name, method, path, token string
			body                      any
			status                    int
			message, field            string
		}{
			{"a user who is not an admin", "GET", hooks, tokenUser, nil, 403, "forbidden", ""},
			{"another account", "GET", hooks, tokenStranger, nil, 403, "forbidden", ""},
			{"bad JSON", "PUT", hooks, tokenAccount, `{"data":`, 400, "invalid JSON in request body", ""},
			{"missing fields", "PUT", hooks, tokenAccount, `{"data":{}}`, 400, "validation error", "uri"},
			{"a misspelt field", "PUT", hooks, tokenAccount, `{"data":{"name":"n","uri":"https://a.example.com/","include_subaccount":true}}`, 400, "validation error", "include_subaccount"},
			{"a private address", "PUT", hooks, tokenAccount, `{"data":{"name":"n","uri":"http://10.0.0.8/hook"}}`, 400, "validation error", "uri"},
			{"loopback", "PUT", hooks, tokenAccount, `{"data":{"name":"n","uri":"http://127.0.0.1:8080/hook"}}`, 400, "validation error", "uri"},
			{"not http", "PUT", hooks, tokenAccount, `{"data":{"name":"n","uri":"ftp://a.example.com/"}}`, 400, "validation error", "uri"},
			{"an unknown event", "PUT", hooks, tokenAccount, `{"data":{"name":"n","uri":"https://a.example.com/","events":["recording.played"]}}`, 400, "validation error", "events"},
			{"a malformed id", "GET", hooks + "/nope", tokenAccount, nil, 404, "bad identifier", ""},
			{"an unknown id", "PATCH", hooks + "/" + strings.Repeat("ab", 16), tokenAccount, `{"data":{"enabled":false}}`, 404, "bad_identifier", ""},
			{"a method the collection does not serve", "DELETE", hooks, tokenAccount, nil, 405, "invalid_method", ""},
			{"a method a webhook does not serve", "PUT", hooks + "/" + strings.Repeat("ab", 16), tokenAccount, `{"data":{}}`, 405, "invalid_method", ""},
			{"an oversize body", "PUT", hooks, tokenAccount, `{"data":{"name":"` + strings.Repeat("n", 2<<20) + `"}}`, 413, "payload_too_large", ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := f.call(c.method, c.path, c.token, c.body)
				expectError(t, r, c.status, c.message)
				if c.field != "" {
					if _, ok := r.dataMap(t)[c.field]; !ok {
						t.Errorf("the error does not name %s: %s", c.field, r.body)
					}
				}
			})
		}
		if r := f.call("GET", hooks, tokenAccount, nil); len(r.dataList(t)) != 0 {
			t.Errorf("refused requests left webhooks behind: %s", r.body)
		}
	})
}
