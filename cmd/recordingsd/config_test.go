package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// The example configuration loads, and RECORDINGS_* variables override it.
func TestLoadConfig(t *testing.T) {
	cfg, err := loadConfig("../../config/recordings.example.yaml", envOf(map[string]string{
		"RECORDINGS_COUCHDB_URL":                                   "http://db.example:5984",
		"RECORDINGS_HTTP_LISTEN":                                   "0.0.0.0:9000",
		"RECORDINGS_LISTING_MAX_PAGE_SIZE":                         "200",
		"RECORDINGS_AUTH_TOKENS":                                   `[{"token":"t1","account_id":"0123456789abcdef0123456789abcdef","admin":false}]`,
		"RECORDINGS_COUCHDB_REQUEST_TIMEOUT":                       "3s",
		"RECORDINGS_STORAGE_HTTP_ALLOWED_HOSTS":                    "media.example.com,*.rec.example",
		"RECORDINGS_RECORDINGS_RETENTION_PURGE_SOFT_DELETED_AFTER": "90d",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if h := cfg.Media.HTTP.AllowedHosts; len(h) != 2 || h[0] != "media.example.com" || h[1] != "*.rec.example" {
		t.Errorf("media.http.allowed_hosts from the former storage.* variable = %q", h)
	}
	if want := "RECORDINGS_STORAGE_HTTP_ALLOWED_HOSTS is deprecated: use RECORDINGS_MEDIA_HTTP_ALLOWED_HOSTS"; strings.Join(cfg.Warnings, "\n") != want {
		t.Errorf("warnings = %q, want %q", cfg.Warnings, want)
	}
	if rc, err := cfg.Recordings.Retention.sweeper(); err != nil || rc.SoftDeletedAfter != 90*24*time.Hour ||
		rc.DeletedAfter != 24*time.Hour || rc.DeleteExternalMedia || cfg.Recordings.Retention.Enabled {
		t.Errorf("retention = %+v, %v; want off, 24h, 90d, media kept", rc, err)
	}
	if cfg.CouchDB.URL != "http://db.example:5984" || cfg.HTTP.Listen != "0.0.0.0:9000" || cfg.Listing.MaxPageSize != 200 {
		t.Errorf("environment did not override: %+v", cfg)
	}
	if cfg.CouchDB.RequestTimeout != 3*time.Second {
		t.Errorf("request_timeout = %v", cfg.CouchDB.RequestTimeout)
	}
	if len(cfg.Auth.Tokens) != 1 || cfg.Auth.Tokens[0].Token != "t1" || cfg.Auth.Tokens[0].AccountID != "0123456789abcdef0123456789abcdef" {
		t.Errorf("tokens = %+v", cfg.Auth.Tokens)
	}
	if cfg.Listing.DefaultPageSize != 50 || cfg.Listing.MaxRangeS != 2682000 || cfg.Recordings.DeleteDefault != "hard" {
		t.Errorf("file values lost: %+v", cfg.Listing)
	}
}

// Wrong settings stop the service with a message that names the key.
func TestLoadConfigRejects(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, yaml, want string
		env              map[string]string
	}{
		{"unknown delete default", "recordings:\n  delete_default: later\ncouchdb:\n  url: http://x\n", "recordings.delete_default", nil},
		{"couchdb without url", "store:\n  backend: couchdb\n", "couchdb.url", nil},
		{"unknown backend", "store:\n  backend: mysql\n", "store.backend", nil},
		{"page sizes", "couchdb:\n  url: http://x\nlisting:\n  default_page_size: 100\n  max_page_size: 10\n", "default_page_size", nil},
		{"tokens not JSON", "couchdb:\n  url: http://x\n", "RECORDINGS_AUTH_TOKENS", map[string]string{"RECORDINGS_AUTH_TOKENS": "t1"}},
		{"retention age", "recordings:\n  retention:\n    purge_deleted_after: 3 weeks\n", "purge_deleted_after", nil},
		{"retention negative age", "recordings:\n  retention:\n    purge_soft_deleted_after: -1d\n", "purge_soft_deleted_after", nil},
		{"retention keeping everything", "recordings:\n  retention:\n    enabled: true\n    purge_deleted_after: never\n", "both purge_deleted_after and purge_soft_deleted_after are never", nil},
		{"retention batch", "recordings:\n  retention:\n    batch_size: 5000\n", "recordings.retention.batch_size", nil},
		{"retention lease", "recordings:\n  retention:\n    lease: 1s\n", "recordings.retention.lease", nil},
		{"write quorum", "couchdb:\n  url: http://x\n  write_quorum: -1\n", "couchdb.write_quorum", nil},
		{"retention state database", "recordings:\n  retention:\n    state_database: Not/Valid\n", "state_database", nil},
		{"webhook host pattern", "webhooks:\n  allowed_hosts: [\"10.0.0.0/33\"]\n", "webhooks.allowed_hosts", nil},
		{"webhook retries", "webhooks:\n  retry_min: 2h\n  retry_max: 1h\n", "retry_min", nil},
		{"webhook failures", "webhooks:\n  disable_after_failures: 0\n", "webhooks.disable_after_failures", nil},
		{"webhook timeout", "", "webhooks.timeout", map[string]string{"RECORDINGS_WEBHOOKS_TIMEOUT": "0s"}},
		{"audit failure mode", "audit:\n  on_failure: block\n", "audit.on_failure", nil},
		{"audit flush interval", "audit:\n  flush_interval: 0s\n", "audit.flush_interval", nil},
		{"audit batch", "audit:\n  batch_size: 0\n", "audit.batch_size", nil},
		{"audit batch too large", "audit:\n  batch_size: 100000\n  buffer: 200000\n", "audit.batch_size", nil},
		{"audit buffer below a batch", "audit:\n  batch_size: 500\n  buffer: 10\n", "audit.buffer", nil},
		{"trusted proxy", "http:\n  trusted_proxies: [\"10.0.0.0/33\"]\n", "http.trusted_proxies", nil},
		{"trusted proxy by name", "", "http.trusted_proxies", map[string]string{"RECORDINGS_HTTP_TRUSTED_PROXIES": "10.0.0.1,proxy.internal"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := loadConfig(path, envOf(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one naming %q", err, tt.want)
			}
		})
	}
}

// A file written before media.* was named so still works: storage.* is read, with a warning;
// a media.* key set beside it wins.
func TestLoadConfigFormerStorageSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.yaml")
	yaml := "storage:\n  request_timeout: 4s\n  idle_timeout: 9s\nmedia:\n  idle_timeout: 7s\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(path, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Media.RequestTimeout != 4*time.Second || cfg.Media.IdleTimeout != 7*time.Second {
		t.Errorf("media timeouts = %v, %v; want 4s from storage.*, 7s from media.*", cfg.Media.RequestTimeout, cfg.Media.IdleTimeout)
	}
	want := "config key storage.idle_timeout is deprecated: use media.idle_timeout\nconfig key storage.request_timeout is deprecated: use media.request_timeout"
	if got := strings.Join(cfg.Warnings, "\n"); got != want {
		t.Errorf("warnings = %q, want %q", got, want)
	}
}

// Webhook settings come with their defaults, and a host list from the environment is
// comma-separated (as `make bench` passes it).
func TestLoadConfigWebhooks(t *testing.T) {
	cfg, err := loadConfig("", envOf(map[string]string{"RECORDINGS_WEBHOOKS_ALLOWED_HOSTS": "127.0.0.1,*.example.com"}))
	if err != nil {
		t.Fatal(err)
	}
	w := cfg.Webhooks
	if !slices.Equal(w.AllowedHosts, []string{"127.0.0.1", "*.example.com"}) {
		t.Errorf("allowed_hosts = %q", w.AllowedHosts)
	}
	if w.Timeout != 10*time.Second || w.RetryMin != time.Second || w.RetryMax != time.Hour || w.DisableAfterFailures != 50 ||
		w.DisableAfter != 24*time.Hour || w.MaxBacklog != 72*time.Hour || w.Scan != 2*time.Second {
		t.Errorf("defaults = %+v", w)
	}
	if ec := cfg.events(); ec.MaxBacklog != 72*time.Hour {
		t.Errorf("the events log keeps what webhooks need for %v, want webhooks.max_backlog", ec.MaxBacklog)
	}
}

// The access trail is on by default, lets requests through when it cannot write, and trusts
// no proxy; trusted proxies from the environment are comma-separated.
func TestLoadConfigAudit(t *testing.T) {
	cfg, err := loadConfig("../../config/recordings.example.yaml", envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.Audit
	if !a.Enabled || a.OnFailure != "allow" || a.FlushInterval != 250*time.Millisecond || a.BatchSize != 500 || a.Buffer != 10000 {
		t.Errorf("audit defaults = %+v", a)
	}
	if len(cfg.trustedProxies()) != 0 {
		t.Errorf("trusted proxies by default: %v", cfg.trustedProxies())
	}
	cfg, err = loadConfig("", envOf(map[string]string{
		"RECORDINGS_HTTP_TRUSTED_PROXIES": "10.0.0.0/8,192.0.2.1",
		"RECORDINGS_AUDIT_ON_FAILURE":     "refuse",
		"RECORDINGS_AUDIT_BATCH_SIZE":     "100",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.trustedProxies(); len(p) != 2 || p[0].String() != "10.0.0.0/8" || p[1].String() != "192.0.2.1/32" {
		t.Errorf("trusted proxies = %v", p)
	}
	if tc := cfg.trailConfig(); cfg.Audit.OnFailure != "refuse" || tc.BatchSize != 100 || tc.Buffer != 10000 || tc.FlushInterval != 250*time.Millisecond {
		t.Errorf("audit = %+v, trail config %+v", cfg.Audit, tc)
	}
}
