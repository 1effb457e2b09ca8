package ui

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, path string, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestServesThePageAndItsFiles(t *testing.T) {
	h := Handler(Options{})
	page := get(t, h, http.MethodGet, "/ui/", nil)
	if page.Code != http.StatusOK || !strings.HasPrefix(page.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET /ui/: %d %s", page.Code, page.Header().Get("Content-Type"))
	}
	if csp := page.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy: %q", csp)
	}
	if page.Header().Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("Referrer-Policy: %q", page.Header().Get("Referrer-Policy"))
	}
	body := page.Body.String()
	// Every file the page refers to is served, with its type; none is inline.
	refs := regexp.MustCompile(`(?:src|href)="([a-z0-9.-]+)"`).FindAllStringSubmatch(body, -1)
	if len(refs) < 3 {
		t.Fatalf("the page refers to %d files", len(refs))
	}
	types := map[string]string{".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
	for _, ref := range refs {
		rec := get(t, h, http.MethodGet, "/ui/"+ref[1], nil)
		want := types[ref[1][strings.LastIndexByte(ref[1], '.'):]]
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), want) {
			t.Errorf("GET /ui/%s: %d %q, want 200 %s", ref[1], rec.Code, rec.Header().Get("Content-Type"), want)
		}
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, "style=") {
		t.Error("inline script or style would be refused by the page's own Content-Security-Policy")
	}
	// The modules app.js imports are served too.
	app := get(t, h, http.MethodGet, "/ui/app.js", nil).Body.String()
	for _, m := range regexp.MustCompile(`from '\./([a-z0-9.-]+)'`).FindAllStringSubmatch(app, -1) {
		if rec := get(t, h, http.MethodGet, "/ui/"+m[1], nil); rec.Code != http.StatusOK {
			t.Errorf("GET /ui/%s: %d", m[1], rec.Code)
		}
	}
}

func TestRevalidatesWithETag(t *testing.T) {
	h := Handler(Options{})
	first := get(t, h, http.MethodGet, "/ui/app.js", nil)
	etag := first.Header().Get("ETag")
	if etag == "" || first.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q, Cache-Control %q", etag, first.Header().Get("Cache-Control"))
	}
	if again := get(t, h, http.MethodGet, "/ui/app.js", map[string]string{"If-None-Match": etag}); again.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", again.Code)
	}
}

func TestConfigPrefillsDemoMode(t *testing.T) {
	for _, opts := range []Options{{}, {DemoToken: "demo-token", DemoAccountID: "1ce10f31b0f81aa21480280c9a144e2d"}} {
		rec := get(t, Handler(opts), http.MethodGet, "/ui/config.json", nil)
		var got map[string]string
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("config.json: %v %s %q", err, rec.Body, rec.Header().Get("Cache-Control"))
		}
		if got["demo_token"] != opts.DemoToken || got["demo_account_id"] != opts.DemoAccountID {
			t.Errorf("config.json = %v for %+v", got, opts)
		}
	}
}

func TestUnknownPathsAndMethods(t *testing.T) {
	h := Handler(Options{})
	if rec := get(t, h, http.MethodGet, "/ui/nope.js", nil); rec.Code != http.StatusNotFound {
		t.Errorf("GET /ui/nope.js: %d", rec.Code)
	}
	if rec := get(t, h, http.MethodPost, "/ui/", nil); rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /ui/: %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
	if rec := get(t, h, http.MethodHead, "/ui/", nil); rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("HEAD /ui/: %d with %d bytes", rec.Code, rec.Body.Len())
	}
}
