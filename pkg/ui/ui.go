// Package ui serves the admins' recordings page at /ui/, built only on the public API.
//
// The page is plain HTML, CSS and ES modules under static/, embedded in the binary: no build
// step, no framework. It talks to /v2/accounts/… with the token the admin signs in with (kept
// in the tab's session storage, never in the page's URL); this package only serves the files
// and /ui/config.json, which prefills the sign-in form in demo mode.
package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// Options configures the page.
type Options struct {
	// DemoToken and DemoAccountID prefill the sign-in form in demo mode; empty otherwise.
	DemoToken     string
	DemoAccountID string
}

// asset is one embedded file, read once, with its entity tag.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// contentSecurityPolicy allows the page's own files and API only: no inline script or
// style, no framing, forms that only the page's script submits.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"media-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Handler serves the page under /ui/.
func Handler(opts Options) http.Handler {
	assets := loadAssets()
	config, _ := json.Marshal(map[string]string{"demo_token": opts.DemoToken, "demo_account_id": opts.DemoAccountID})

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, "/ui/")
		if name == "config.json" {
			h.Set("Content-Type", "application/json")
			h.Set("Cache-Control", "no-store")
			_, _ = w.Write(append(config, '\n'))
			return
		}
		if name == "" {
			name = "index.html"
		}
		a, ok := assets[name]
		if !ok {
			http.Error(w, "not found: the recordings page is at /ui/", http.StatusNotFound)
			return
		}
		h.Set("Content-Type", a.contentType)
		// Revalidate every time: the files change with the binary, and the ETag makes it cheap.
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", a.etag)
		if strings.HasPrefix(a.contentType, "text/html") {
			h.Set("Content-Security-Policy", contentSecurityPolicy)
			h.Set("X-Frame-Options", "DENY")
		}
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
	})
}

// loadAssets reads every embedded file; the set is fixed at build time.
func loadAssets() map[string]asset {
	out := map[string]asset{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		ctype := mime.TypeByExtension(path.Ext(p))
		switch path.Ext(p) {
		case ".js", ".mjs":
			ctype = "text/javascript; charset=utf-8"
		case ".svg":
			ctype = "image/svg+xml"
		}
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		sum := sha256.Sum256(body)
		out[strings.TrimPrefix(p, "static/")] = asset{body: body, contentType: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic("ui: embedded files: " + err.Error()) // cannot happen: the files are in the binary
	}
	return out
}
