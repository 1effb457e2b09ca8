package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/api"
	"github.com/recordingsd/recordingsd/pkg/auth"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
	"github.com/recordingsd/recordingsd/pkg/store/embedded"
)

// backend is a store the API tests run against.
type backend interface {
	recording.Store
	recording.Loader
	recording.AuthStore
	recording.AuthLoader
}

// fixture is a running API over a fresh account tree in a real store:
// reseller → account, plus an unrelated account and a superduper admin account.
type fixture struct {
	t        *testing.T
	store    backend
	srv      *httptest.Server
	reseller string
	account  string
	stranger string
	super    string
	user     string // a user of account
	now      time.Time
	static   *auth.StaticTokens
	cfg      api.Config
}

// Tokens of the fixture's identities.
const (
	tokenAccount  = "token-account"
	tokenReseller = "token-reseller"
	tokenStranger = "token-stranger"
	tokenSuper    = "token-super"
	tokenSystem   = "token-system"
	tokenUser     = "token-user"
	// tokenAccountAdmin speaks for an administrator of account (the user, with admin: true).
	tokenAccountAdmin = "token-account-admin"
)

// openBackend gives a test its store.
type openBackend func(t *testing.T) backend

// forEachBackend runs an API test against every store: the behaviour must not differ.
func forEachBackend(t *testing.T, test func(t *testing.T, open openBackend)) {
	t.Run("couchdb", func(t *testing.T) { test(t, openCouch) })
	t.Run("embedded", func(t *testing.T) { test(t, openEmbedded) })
}

func openCouch(t *testing.T) backend {
	t.Helper()
	s, err := couch.New(couch.Config{URL: couchtest.URL(t), WriteQuorum: couchtest.WriteQuorum(t, couchtest.URL(t))}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func openEmbedded(t *testing.T) backend {
	t.Helper()
	s, err := embedded.Open(filepath.Join(t.TempDir(), "recordings.db"), embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func newFixture(t *testing.T, open openBackend, cfgs ...func(*api.Config)) *fixture {
	t.Helper()
	f := &fixture{
		t:        t,
		store:    open(t),
		reseller: couchtest.NewAccountID(),
		account:  couchtest.NewAccountID(),
		stranger: couchtest.NewAccountID(),
		super:    couchtest.NewAccountID(),
		user:     randHex(16),
		now:      time.Now().UTC(),
	}
	ctx := context.Background()
	for _, a := range []struct {
		id   string
		tree []any
		doc  recording.Doc
	}{
		{f.reseller, []any{}, nil},
		{f.account, []any{f.reseller}, nil},
		{f.stranger, []any{}, nil},
		{f.super, []any{}, recording.Doc{"pvt_superduper_admin": true}},
	} {
		doc := recording.Doc{"_id": a.id, "pvt_type": "account", "pvt_tree": a.tree, "name": "acct " + a.id[:6]}
		for k, v := range a.doc {
			doc[k] = v
		}
		if err := f.store.PutAccount(ctx, doc); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.store.PutUser(ctx, f.account, recording.Doc{"_id": f.user, "pvt_type": "user", "first_name": "Ada"}); err != nil {
		t.Fatal(err)
	}
	authn, err := auth.NewStaticTokens([]auth.StaticToken{
		{Token: tokenAccount, AccountID: f.account},
		{Token: tokenUser, AccountID: f.account, UserID: f.user},
		{Token: tokenReseller, AccountID: f.reseller},
		{Token: tokenStranger, AccountID: f.stranger},
		{Token: tokenSuper, AccountID: f.super},
		{Token: tokenSystem, AllAccounts: true},
		{Token: tokenAccountAdmin, AccountID: f.account, UserID: f.user, Admin: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Now = func() time.Time { return f.now }
	for _, c := range cfgs {
		c(&cfg)
	}
	f.static = authn
	f.cfg = cfg
	f.restart(authn, cfg, zap.NewNop())
	return f
}

// restart serves the fixture's store with another authenticator, configuration or logger.
func (f *fixture) restart(authn auth.Authenticator, cfg api.Config, logger *zap.Logger) {
	if f.srv != nil {
		f.srv.Close()
	}
	f.srv = httptest.NewServer(newHandler(f.t, logger, cfg, f.store, authn))
	f.t.Cleanup(f.srv.Close)
}

// serveStore serves another store over the same data from now on: fault tests seed through a
// patient store, then serve through one with a short request timeout.
func (f *fixture) serveStore(s backend) {
	f.store = s
	f.restart(f.static, f.cfg, zap.NewNop())
}

// testConfig is the API's configuration in tests: the values of config/recordings.example.yaml.
func testConfig() api.Config {
	return api.Config{DefaultPageSize: 50, MaxPageSize: 1000, MaxRangeSeconds: 2682000,
		MaxBodyBytes: 1 << 20, ConflictRetries: 10, Version: "4.3.0", Node: "test-node"}
}

// newHandler is api.NewServer for a test: a configuration it refuses fails the test.
func newHandler(t testing.TB, logger *zap.Logger, cfg api.Config, store recording.Store, authn auth.Authenticator) http.Handler {
	t.Helper()
	h, err := api.NewServer(logger, cfg, store, authn)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// rec describes a recording to create.
type rec struct {
	created time.Time // pvt_created; the id's month comes from it unless month is set
	month   string    // YYYYMM of the id, to place a recording in another month database
	owner   string
	fields  recording.Doc
	audio   []byte
	ctype   string
	name    string
}

// addRecording writes a recording the way Kazoo does and returns its id.
func (f *fixture) addRecording(r rec) string {
	f.t.Helper()
	if r.created.IsZero() {
		r.created = f.now.Add(-time.Hour)
	}
	month := r.month
	if month == "" {
		month = recording.MonthOf(r.created).String()
	}
	id := month + "-" + randHex(16)
	created := recording.ToGregorian(r.created)
	doc := recording.Doc{
		"_id": id, "pvt_type": "call_recording", "pvt_created": created, "pvt_modified": created,
		"pvt_account_id": f.account, "call_id": "call-" + id[7:15], "direction": "inbound",
		"caller_id_number": "+15550001", "callee_id_number": "+15550002", "media_type": "mp3",
		"name": "call.mp3", "start": created - 30, "duration": 30, "duration_ms": 30000,
		"custom_channel_vars": map[string]any{"Media-Recording-ID": id},
	}
	if r.owner != "" {
		doc["owner_id"] = r.owner
	}
	for k, v := range r.fields {
		doc[k] = v
	}
	ctx := context.Background()
	rev, err := f.store.PutRecording(ctx, f.account, doc)
	if err != nil {
		f.t.Fatal(err)
	}
	if r.audio != nil {
		name, ctype := r.name, r.ctype
		if name == "" {
			name = strings.ReplaceAll(id, "-", "") + ".mp3"
		}
		if ctype == "" {
			ctype = "audio/mpeg"
		}
		if _, err := f.store.PutAttachment(ctx, f.account, id, rev, name, ctype, bytes.NewReader(r.audio)); err != nil {
			f.t.Fatal(err)
		}
	}
	return id
}

// response is what a test looks at.
type response struct {
	status int
	header http.Header
	body   []byte
	env    map[string]any // the decoded envelope, when the body is JSON
}

func (r response) data() any { return r.env["data"] }

func (r response) dataMap(t *testing.T) map[string]any {
	t.Helper()
	m, ok := r.env["data"].(map[string]any)
	if !ok {
		t.Fatalf("data is %T, want an object; body %s", r.env["data"], r.body)
	}
	return m
}

func (r response) dataList(t *testing.T) []any {
	t.Helper()
	l, ok := r.env["data"].([]any)
	if !ok {
		t.Fatalf("data is %T, want a list; body %s", r.env["data"], r.body)
	}
	return l
}

// call makes one request; headers alternate name, value.
func (f *fixture) call(method, path, token string, body any, headers ...string) response {
	f.t.Helper()
	var rdr io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rdr = strings.NewReader(b)
	case []byte:
		rdr = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		rdr = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rdr)
	if err != nil {
		f.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	out := response{status: resp.StatusCode, header: resp.Header, body: raw}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && method != http.MethodHead {
		if err := json.Unmarshal(raw, &out.env); err != nil {
			f.t.Fatalf("%s %s: invalid JSON body: %v\n%s", method, path, err, raw)
		}
	}
	return out
}

// expectError checks a crossbar error envelope.
func expectError(t *testing.T, r response, status int, message string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if r.env["status"] != "error" || r.env["error"] != strconv.Itoa(status) || r.env["message"] != message {
		t.Fatalf("envelope status=%v error=%v message=%q, want error %d %q; body %s",
			r.env["status"], r.env["error"], r.env["message"], status, message, r.body)
	}
	if r.header.Get("X-Request-ID") == "" || r.env["request_id"] == "" {
		t.Fatalf("error response lacks a request id: %s", r.body)
	}
}

func (f *fixture) base() string { return "/v2/accounts/" + f.account }

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

func ids(t *testing.T, items []any) []string {
	t.Helper()
	out := make([]string, len(items))
	for i, it := range items {
		out[i], _ = it.(map[string]any)["id"].(string)
	}
	return out
}
