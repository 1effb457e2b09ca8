package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/viper"

	"github.com/recordingsd/recordingsd/pkg/audit"
	"github.com/recordingsd/recordingsd/pkg/auth"
	"github.com/recordingsd/recordingsd/pkg/events"
	"github.com/recordingsd/recordingsd/pkg/media"
	"github.com/recordingsd/recordingsd/pkg/media/s3media"
	"github.com/recordingsd/recordingsd/pkg/netguard"
	"github.com/recordingsd/recordingsd/pkg/webhooks"
)

// Config is the whole configuration; config/recordings.example.yaml documents every key.
type Config struct {
	HTTP struct {
		Listen            string        `mapstructure:"listen"`
		MaxBodyBytes      int64         `mapstructure:"max_body_bytes"`
		ReadHeaderTimeout time.Duration `mapstructure:"read_header_timeout"`
		IdleTimeout       time.Duration `mapstructure:"idle_timeout"`
		ShutdownTimeout   time.Duration `mapstructure:"shutdown_timeout"`
		StallTimeout      time.Duration `mapstructure:"stall_timeout"`
		TrustedProxies    []string      `mapstructure:"trusted_proxies"`
	} `mapstructure:"http"`
	RateLimit struct {
		PerIP      rateLimitConfig `mapstructure:"per_ip"`
		PerAccount rateLimitConfig `mapstructure:"per_account"`
	} `mapstructure:"rate_limit"`
	Store struct {
		Backend  string `mapstructure:"backend"`
		Embedded struct {
			Path string `mapstructure:"path"`
		} `mapstructure:"embedded"`
	} `mapstructure:"store"`
	CouchDB struct {
		URL            string        `mapstructure:"url"`
		Username       string        `mapstructure:"username"`
		Password       string        `mapstructure:"password"`
		RequestTimeout time.Duration `mapstructure:"request_timeout"`
		WriteQuorum    int           `mapstructure:"write_quorum"`
	} `mapstructure:"couchdb"`
	// Media is audio on storage providers (pvt_attachments); "storage" is its former name.
	Media struct {
		RequestTimeout time.Duration `mapstructure:"request_timeout"`
		IdleTimeout    time.Duration `mapstructure:"idle_timeout"`
		HTTP           struct {
			AllowedHosts []string `mapstructure:"allowed_hosts"`
		} `mapstructure:"http"`
		S3 struct {
			Credentials        string `mapstructure:"credentials"`
			AccessKeyID        string `mapstructure:"access_key_id"`
			SecretAccessKey    string `mapstructure:"secret_access_key"`
			Endpoint           string `mapstructure:"endpoint"`
			Region             string `mapstructure:"region"`
			BucketAccessMethod string `mapstructure:"bucket_access_method"`
		} `mapstructure:"s3"`
	} `mapstructure:"media"`
	Auth struct {
		Tokens []auth.StaticToken `mapstructure:"tokens"`
		Kazoo  struct {
			Enabled                 bool          `mapstructure:"enabled"`
			AllowMissingIdentitySig bool          `mapstructure:"allow_missing_identity_sig"`
			Leeway                  time.Duration `mapstructure:"leeway"`
		} `mapstructure:"kazoo"`
		Basic struct {
			Enabled bool `mapstructure:"enabled"`
		} `mapstructure:"basic"`
		RefuseDisabledAccounts bool `mapstructure:"refuse_disabled_accounts"`
		OwnerGating            struct {
			Enabled         bool   `mapstructure:"enabled"`
			RestrictUnowned bool   `mapstructure:"restrict_unowned"`
			Mode            string `mapstructure:"mode"`
		} `mapstructure:"owner_gating"`
	} `mapstructure:"auth"`
	Listing struct {
		DefaultPageSize int   `mapstructure:"default_page_size"`
		MaxPageSize     int   `mapstructure:"max_page_size"`
		MaxRangeS       int64 `mapstructure:"max_range_s"`
	} `mapstructure:"listing"`
	Recordings struct {
		DeleteDefault   string          `mapstructure:"delete_default"`
		ConflictRetries int             `mapstructure:"conflict_retries"`
		Retention       retentionConfig `mapstructure:"retention"`
	} `mapstructure:"recordings"`
	Accounts struct {
		CacheTTL time.Duration `mapstructure:"cache_ttl"`
	} `mapstructure:"accounts"`
	Events struct {
		Enabled   bool          `mapstructure:"enabled"`
		Database  string        `mapstructure:"database"`
		Retention time.Duration `mapstructure:"retention"`
		Lease     time.Duration `mapstructure:"lease"`
		Poll      time.Duration `mapstructure:"poll"`
		Instance  string        `mapstructure:"instance"`
	} `mapstructure:"events"`
	Webhooks struct {
		AllowedHosts         []string      `mapstructure:"allowed_hosts"`
		Timeout              time.Duration `mapstructure:"timeout"`
		RetryMin             time.Duration `mapstructure:"retry_min"`
		RetryMax             time.Duration `mapstructure:"retry_max"`
		DisableAfterFailures int           `mapstructure:"disable_after_failures"`
		DisableAfter         time.Duration `mapstructure:"disable_after"`
		MaxBacklog           time.Duration `mapstructure:"max_backlog"`
		Scan                 time.Duration `mapstructure:"scan"`
	} `mapstructure:"webhooks"`
	Audit struct {
		Enabled       bool          `mapstructure:"enabled"`
		OnFailure     string        `mapstructure:"on_failure"`
		FlushInterval time.Duration `mapstructure:"flush_interval"`
		BatchSize     int           `mapstructure:"batch_size"`
		Buffer        int           `mapstructure:"buffer"`
	} `mapstructure:"audit"`
	Crossbar struct {
		Version string `mapstructure:"version"`
		Node    string `mapstructure:"node"`
	} `mapstructure:"crossbar"`
	Log struct {
		Level  string `mapstructure:"level"`
		Format string `mapstructure:"format"`
	} `mapstructure:"log"`

	// Warnings are said once the logger exists (deprecated keys, system-wide tokens).
	Warnings []string `mapstructure:"-"`
}

// rateLimitConfig is one token bucket: rate per second (0: off) and burst.
type rateLimitConfig struct {
	Rate  float64 `mapstructure:"rate"`
	Burst int     `mapstructure:"burst"`
}

// defaults lists every key with its default; viper only maps environment variables onto keys
// it knows, so each key must appear here.
var defaults = map[string]any{
	"http.listen":                                   "127.0.0.1:8000",
	"http.max_body_bytes":                           int64(1 << 20),
	"http.read_header_timeout":                      10 * time.Second,
	"http.idle_timeout":                             120 * time.Second,
	"http.shutdown_timeout":                         30 * time.Second,
	"http.stall_timeout":                            60 * time.Second,
	"http.trusted_proxies":                          []string{},
	"rate_limit.per_ip.rate":                        0.0,
	"rate_limit.per_ip.burst":                       0,
	"rate_limit.per_account.rate":                   0.0,
	"rate_limit.per_account.burst":                  0,
	"store.backend":                                 "", // couchdb when couchdb.url is set, else embedded
	"store.embedded.path":                           "./data/recordings.db",
	"couchdb.url":                                   "",
	"couchdb.username":                              "",
	"couchdb.password":                              "",
	"couchdb.request_timeout":                       10 * time.Second,
	"couchdb.write_quorum":                          0, // CouchDB's own: a majority of the copies
	"media.request_timeout":                         10 * time.Second,
	"media.idle_timeout":                            30 * time.Second,
	"media.http.allowed_hosts":                      []string{},
	"media.s3.credentials":                          "document",
	"media.s3.access_key_id":                        "",
	"media.s3.secret_access_key":                    "",
	"media.s3.endpoint":                             "",
	"media.s3.region":                               "",
	"media.s3.bucket_access_method":                 "",
	"auth.tokens":                                   []any{},
	"auth.kazoo.enabled":                            true,
	"auth.kazoo.allow_missing_identity_sig":         false,
	"auth.kazoo.leeway":                             time.Duration(0),
	"auth.basic.enabled":                            false,
	"auth.refuse_disabled_accounts":                 true,
	"auth.owner_gating.enabled":                     false,
	"auth.owner_gating.restrict_unowned":            false,
	"auth.owner_gating.mode":                        "filter",
	"listing.default_page_size":                     50,
	"listing.max_page_size":                         1000,
	"listing.max_range_s":                           int64(2682000),
	"recordings.delete_default":                     "hard",
	"recordings.conflict_retries":                   10,
	"recordings.retention.enabled":                  false,
	"recordings.retention.purge_deleted_after":      "24h",
	"recordings.retention.purge_soft_deleted_after": "never",
	"recordings.retention.delete_external_media":    false,
	"recordings.retention.interval":                 time.Hour,
	"recordings.retention.batch_size":               100,
	"recordings.retention.rate":                     50.0,
	"recordings.retention.lease":                    5 * time.Minute,
	"recordings.retention.state_database":           "recordingsd",
	"recordings.retention.instance":                 "",
	"accounts.cache_ttl":                            5 * time.Second,
	"events.enabled":                                true,
	"events.database":                               "recordingsd_events",
	"events.retention":                              24 * time.Hour,
	"events.lease":                                  30 * time.Second,
	"events.poll":                                   250 * time.Millisecond,
	"events.instance":                               "",
	"webhooks.allowed_hosts":                        []string{},
	"webhooks.timeout":                              10 * time.Second,
	"webhooks.retry_min":                            time.Second,
	"webhooks.retry_max":                            time.Hour,
	"webhooks.disable_after_failures":               50,
	"webhooks.disable_after":                        24 * time.Hour,
	"webhooks.max_backlog":                          72 * time.Hour,
	"webhooks.scan":                                 2 * time.Second,
	"audit.enabled":                                 true,
	"audit.on_failure":                              "allow",
	"audit.flush_interval":                          audit.DefaultFlushInterval,
	"audit.batch_size":                              audit.DefaultBatchSize,
	"audit.buffer":                                  audit.DefaultBuffer,
	"crossbar.version":                              "4.3.0",
	"crossbar.node":                                 "",
	"log.level":                                     "info",
	"log.format":                                    "json",
}

// loadConfig reads the file (if any), then RECORDINGS_* environment variables over it.
func loadConfig(path string, getenv func(string) string) (*Config, error) {
	v := viper.New()
	for k, d := range defaults {
		v.SetDefault(k, d)
	}
	if path != "" {
		v.SetConfigFile(path)
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("read config %s: %w", path, err)
		}
	}
	warnings := renameDeprecatedKeys(v, getenv)
	// RECORDINGS_<KEY> overrides the file, e.g. RECORDINGS_COUCHDB_URL for couchdb.url.
	for k := range defaults {
		if val := getenv(envName(k)); val != "" {
			v.Set(k, val)
		}
	}
	// auth.tokens from the environment is a JSON list
	if s, ok := v.Get("auth.tokens").(string); ok {
		var tokens []map[string]any
		if err := json.Unmarshal([]byte(s), &tokens); err != nil {
			return nil, fmt.Errorf("RECORDINGS_AUTH_TOKENS must be a JSON list of {token, account_id, user_id, admin, all_accounts}: %w", err)
		}
		v.Set("auth.tokens", tokens)
	}
	var c Config
	if err := v.Unmarshal(&c); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c.Warnings = warnings
	return &c, c.validate()
}

func (c *Config) validate() error {
	switch c.Recordings.DeleteDefault {
	case "hard", "kazoo_soft":
	default:
		return fmt.Errorf("recordings.delete_default must be hard or kazoo_soft, not %q", c.Recordings.DeleteDefault)
	}
	if c.Store.Backend == "" {
		c.Store.Backend = "embedded"
		if c.CouchDB.URL != "" {
			c.Store.Backend = "couchdb"
		}
	}
	switch c.Store.Backend {
	case "embedded":
		if c.Store.Embedded.Path == "" {
			return fmt.Errorf("store.backend is embedded but store.embedded.path is empty")
		}
	case "couchdb":
		if c.CouchDB.URL == "" {
			return fmt.Errorf("store.backend is couchdb but couchdb.url is empty: set it in the config or RECORDINGS_COUCHDB_URL (start one with `docker compose up couchdb`)")
		}
	default:
		return fmt.Errorf("store.backend %q is not known (embedded or couchdb)", c.Store.Backend)
	}
	if c.Listing.DefaultPageSize < 1 || c.Listing.MaxPageSize < c.Listing.DefaultPageSize {
		return fmt.Errorf("listing: need 1 <= default_page_size (%d) <= max_page_size (%d)", c.Listing.DefaultPageSize, c.Listing.MaxPageSize)
	}
	switch c.Auth.OwnerGating.Mode {
	case "filter", "reject":
	default:
		return fmt.Errorf("auth.owner_gating.mode must be filter or reject, not %q", c.Auth.OwnerGating.Mode)
	}
	if c.Listing.MaxRangeS < 1 {
		return fmt.Errorf("listing.max_range_s must be positive")
	}
	if c.CouchDB.WriteQuorum < 0 || c.CouchDB.WriteQuorum > 16 {
		return fmt.Errorf("couchdb.write_quorum must be 0 (CouchDB's default) or a number of copies, not %d", c.CouchDB.WriteQuorum)
	}
	if c.Media.RequestTimeout <= 0 || c.Media.IdleTimeout <= 0 {
		return fmt.Errorf("media.request_timeout and media.idle_timeout must be positive")
	}
	if _, err := c.Recordings.Retention.sweeper(); err != nil {
		return err
	}
	if c.Events.Poll <= 0 {
		return fmt.Errorf("events.poll must be positive")
	}
	if err := c.events().Validate(); err != nil {
		return fmt.Errorf("events: %w", err)
	}
	if err := c.validateWebhooks(); err != nil {
		return err
	}
	if err := c.validateAudit(); err != nil {
		return err
	}
	return c.s3Media().Validate()
}

// s3Media is media.s3.* for the kz_att_s3 reader.
func (c *Config) s3Media() s3media.Config {
	return s3media.Config{
		Timeouts:           c.mediaTimeouts(),
		Credentials:        c.Media.S3.Credentials,
		AccessKeyID:        c.Media.S3.AccessKeyID,
		SecretAccessKey:    c.Media.S3.SecretAccessKey,
		Endpoint:           c.Media.S3.Endpoint,
		Region:             c.Media.S3.Region,
		BucketAccessMethod: c.Media.S3.BucketAccessMethod,
	}
}

func (c *Config) mediaTimeouts() media.Timeouts {
	return media.Timeouts{Request: c.Media.RequestTimeout, Idle: c.Media.IdleTimeout}
}

// renamedSections maps a former section name to its current one; the old keys are still
// read (file and environment), each with a warning.
var renamedSections = map[string]string{"storage.": "media."}

func renameDeprecatedKeys(v *viper.Viper, getenv func(string) string) []string {
	var warnings []string
	for k := range defaults {
		for oldPrefix, newPrefix := range renamedSections {
			if !strings.HasPrefix(k, newPrefix) {
				continue
			}
			old := oldPrefix + strings.TrimPrefix(k, newPrefix)
			switch {
			case getenv(envName(old)) != "":
				if getenv(envName(k)) == "" {
					v.Set(k, getenv(envName(old)))
				}
				warnings = append(warnings, fmt.Sprintf("%s is deprecated: use %s", envName(old), envName(k)))
			case v.InConfig(old):
				if !v.InConfig(k) {
					v.Set(k, v.Get(old))
				}
				warnings = append(warnings, fmt.Sprintf("config key %s is deprecated: use %s", old, k))
			}
		}
	}
	sort.Strings(warnings)
	return warnings
}

// events is events.* for the watcher; the instance defaults to host:pid.
func (c *Config) events() events.Config {
	ec := events.Config{DB: c.Events.Database, Retention: c.Events.Retention, Lease: c.Events.Lease, Instance: c.Events.Instance,
		MaxBacklog: max(c.Webhooks.MaxBacklog, c.Events.Retention)}
	if ec.Instance == "" {
		ec.Instance = instanceName()
	}
	return ec
}

// validateWebhooks checks webhooks.*, naming the key at fault.
func (c *Config) validateWebhooks() error {
	w := c.Webhooks
	if _, err := netguard.ParseRules(w.AllowedHosts); err != nil {
		return fmt.Errorf("webhooks.allowed_hosts: %w", err)
	}
	switch {
	case w.Timeout <= 0:
		return fmt.Errorf("webhooks.timeout must be positive, not %v", w.Timeout)
	case w.RetryMin <= 0 || w.RetryMax < w.RetryMin:
		return fmt.Errorf("webhooks: need 0 < retry_min (%v) <= retry_max (%v)", w.RetryMin, w.RetryMax)
	case w.DisableAfterFailures < 1:
		return fmt.Errorf("webhooks.disable_after_failures must be at least 1, not %d", w.DisableAfterFailures)
	case w.DisableAfter < 0:
		return fmt.Errorf("webhooks.disable_after must not be negative, not %v", w.DisableAfter)
	case w.Scan <= 0:
		return fmt.Errorf("webhooks.scan must be positive, not %v", w.Scan)
	}
	return c.webhooks().Validate()
}

// webhooks is webhooks.* for the deliverer.
func (c *Config) webhooks() webhooks.Config {
	return webhooks.Config{DB: c.Events.Database, Scan: c.Webhooks.Scan, RetryBase: c.Webhooks.RetryMin,
		RetryMax: c.Webhooks.RetryMax, DisableAfterFailures: c.Webhooks.DisableAfterFailures,
		DisableAfter: c.Webhooks.DisableAfter, AccountCacheTTL: c.Accounts.CacheTTL}
}

// validateAudit checks audit.* and http.trusted_proxies, naming the key at fault.
func (c *Config) validateAudit() error {
	if _, err := audit.ParsePrefixes(c.HTTP.TrustedProxies); err != nil {
		return fmt.Errorf("http.trusted_proxies: %w", err)
	}
	switch c.Audit.OnFailure {
	case "allow", "refuse":
	default:
		return fmt.Errorf("audit.on_failure must be allow or refuse, not %q", c.Audit.OnFailure)
	}
	return c.trailConfig().Validate()
}

// trailConfig is audit.* for the access trail's writer.
func (c *Config) trailConfig() audit.Config {
	return audit.Config{FlushInterval: c.Audit.FlushInterval, BatchSize: c.Audit.BatchSize, Buffer: c.Audit.Buffer}
}

// trustedProxies is http.trusted_proxies, checked at load (validateAudit).
func (c *Config) trustedProxies() []netip.Prefix {
	prefixes, _ := audit.ParsePrefixes(c.HTTP.TrustedProxies)
	return prefixes
}

// instanceName names this process in leases: host:pid.
func instanceName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", host, os.Getpid())
}

// envName is the environment variable that overrides a key.
func envName(key string) string {
	return "RECORDINGS_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}
