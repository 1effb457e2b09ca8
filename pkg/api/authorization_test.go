package api_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/api"
	"github.com/recordingsd/recordingsd/pkg/authz"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
)

// monthGuard counts the calls that read or write a month database.
type monthGuard struct {
	backend
	calls atomic.Int64
}

func (g *monthGuard) MonthExists(ctx context.Context, a string, m recording.Month) (bool, error) {
	g.calls.Add(1)
	return g.backend.MonthExists(ctx, a, m)
}
func (g *monthGuard) Scan(ctx context.Context, a string, m recording.Month, q recording.ScanQuery) ([]recording.Row, error) {
	g.calls.Add(1)
	return g.backend.Scan(ctx, a, m, q)
}
func (g *monthGuard) Get(ctx context.Context, a, id string) (recording.Doc, error) {
	g.calls.Add(1)
	return g.backend.Get(ctx, a, id)
}
func (g *monthGuard) GetMany(ctx context.Context, a string, m recording.Month, ids []string) ([]recording.DocResult, error) {
	g.calls.Add(1)
	return g.backend.GetMany(ctx, a, m, ids)
}
func (g *monthGuard) Save(ctx context.Context, a string, d recording.Doc) (string, error) {
	g.calls.Add(1)
	return g.backend.Save(ctx, a, d)
}
func (g *monthGuard) SaveMany(ctx context.Context, a string, m recording.Month, docs []recording.Doc) ([]recording.DocResult, error) {
	g.calls.Add(1)
	return g.backend.SaveMany(ctx, a, m, docs)
}
func (g *monthGuard) Delete(ctx context.Context, a, id, rev string) error {
	g.calls.Add(1)
	return g.backend.Delete(ctx, a, id, rev)
}
func (g *monthGuard) OpenAttachment(ctx context.Context, a, id, name string, r *recording.Range) (io.ReadCloser, error) {
	g.calls.Add(1)
	return g.backend.OpenAttachment(ctx, a, id, name, r)
}

// publicRoutes are served without credentials; any other route must declare its actions.
var publicRoutes = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true, "/ui": true, "/ui/": true}

// Every route registered in routes.go is behind the policy: a token of an unrelated account
// gets 403 on each of its methods before any month database is read. The same request with the
// account's own token does read one (the guard is not blind).
func TestEveryRouteIsAuthorized(t *testing.T) {
	routes, err := api.Routes(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	forEachBackend(t, func(t *testing.T, open openBackend) {
		var guard *monthGuard
		f := newFixture(t, func(t *testing.T) backend { guard = &monthGuard{backend: open(t)}; return guard })
		id := f.addRecording(rec{owner: f.user, audio: randBytes(2000)})
		bodies := map[string]string{
			"/recordings/collection":     `{"data":{"recordings":["` + id + `"],"soft_delete":{}}}`,
			"/recordings/{recording_id}": `{"data":{"soft_delete":{}}}`,
		}
		checked := 0
		for _, rt := range routes {
			if !strings.HasPrefix(rt.Template, "/v2/") {
				if !publicRoutes[rt.Template] {
					t.Errorf("route %s is outside /v2 and not a known public route", rt.Template)
				}
				continue
			}
			if !rt.DeclaresActions {
				t.Errorf("route %s does not declare an action for each method", rt.Template)
				continue
			}
			path := strings.NewReplacer("{account_id}", f.account, "{user_id}", f.user, "{recording_id}", id,
				"{webhook_id}", strings.Repeat("ab", 16)).Replace(rt.Template)
			body := ""
			for suffix, b := range bodies {
				if strings.HasSuffix(rt.Template, suffix) {
					body = b
				}
			}
			for _, method := range orderedMethods(rt.Methods) {
				var send any
				if method == http.MethodPatch {
					send = body
				}
				guard.calls.Store(0)
				r := f.call(method, path, tokenStranger, send)
				if r.status != http.StatusForbidden {
					t.Errorf("%s %s with an unrelated account's token: %d, want 403; %s", method, rt.Template, r.status, r.body)
				}
				if n := guard.calls.Load(); n != 0 {
					t.Errorf("%s %s refused after %d month database calls, want none", method, rt.Template, n)
				}
				guard.calls.Store(0)
				r = f.call(method, path, tokenAccount, send)
				// the event stream reads the event log, webhooks the account database: no month
				// databases (and both are off here: 404)
				readsMonths := strings.Contains(rt.Template, "/recordings") && !strings.HasSuffix(rt.Template, "/recordings/events")
				if r.status == http.StatusForbidden || r.status == http.StatusUnauthorized || (readsMonths && guard.calls.Load() == 0) {
					t.Errorf("%s %s with the account's own token: %d after %d month database calls; want it served; %s",
						method, rt.Template, r.status, guard.calls.Load(), r.body)
				}
				checked++
			}
		}
		if checked < 12 {
			t.Fatalf("walked %d route methods under /v2, expected every endpoint (at least 12)", checked)
		}
	})
}

// orderedMethods puts DELETE last, so the recording it removes serves the others first.
func orderedMethods(ms []string) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		if m != http.MethodDelete {
			out = append(out, m)
		}
	}
	for _, m := range ms {
		if m == http.MethodDelete {
			out = append(out, m)
		}
	}
	return out
}

// Token scopes: admin: true is an administrator of its own account and the accounts below it,
// nothing else; all_accounts: true reaches every account.
func TestStaticTokenScopes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		f := newFixture(t, open, func(c *api.Config) {
			c.OwnerGating = authz.OwnerGating{Enabled: true, Reject: true}
		})
		ctx := context.Background()
		child, sibling := couchtest.NewAccountID(), couchtest.NewAccountID()
		for id, tree := range map[string][]any{child: {f.reseller, f.account}, sibling: {f.reseller}} {
			if err := f.store.PutAccount(ctx, recording.Doc{"_id": id, "pvt_type": "account", "pvt_tree": tree}); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			name, token, account string
			status               int
		}{
			{"account admin on its account", tokenAccountAdmin, f.account, 200},
			{"account admin on a child", tokenAccountAdmin, child, 200},
			{"account admin on the parent", tokenAccountAdmin, f.reseller, 403},
			{"account admin on a sibling", tokenAccountAdmin, sibling, 403},
			{"account admin on an unrelated account", tokenAccountAdmin, f.stranger, 403},
			{"system token on the parent", tokenSystem, f.reseller, 200},
			{"system token on the account", tokenSystem, f.account, 200},
			{"system token on a child", tokenSystem, child, 200},
			{"system token on a sibling", tokenSystem, sibling, 200},
			{"system token on an unrelated account", tokenSystem, f.stranger, 200},
			{"system token on the superduper account", tokenSystem, f.super, 200},
			// owner gating (reject mode) refuses the account listing to a plain user, not to an admin
			{"plain user of the account, account listing", tokenUser, f.account, 403},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := f.call("GET", "/v2/accounts/"+tt.account+"/recordings", tt.token, nil)
				if tt.status != 200 {
					expectError(t, r, tt.status, "forbidden")
					if cause, _ := r.dataMap(t)["cause"].(string); cause == "" {
						t.Errorf("403 without a cause: %s", r.body)
					}
					return
				}
				if r.status != 200 {
					t.Fatalf("status %d, want 200; %s", r.status, r.body)
				}
			})
		}
	})
}
