package api_test

import (
	"context"
	"crypto/md5"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/recordingsd/recordingsd/pkg/api"
	"github.com/recordingsd/recordingsd/pkg/auth"
	"github.com/recordingsd/recordingsd/pkg/authz"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// The system secret is one document shared by every test on a server: all agree on it.
const testSystemSecret = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"

// kazooFixture lays out Kazoo's auth data (reference §9) in the fixture's store: a signing
// key in system_auth, the system secret in system_config, identity secrets on the account and
// its users, one user with Basic credentials.
type kazooFixture struct {
	*fixture
	kid       string
	key       *rsa.PrivateKey
	child     string // an account below f.account
	admin     string // an admin user of f.account
	secrets   map[string]string
	logs      *observer.ObservedLogs
	kazooOpts auth.KazooOptions
}

func newKazooFixture(t *testing.T, open openBackend, cfgs ...func(*api.Config)) *kazooFixture {
	t.Helper()
	f := newFixture(t, open, cfgs...)
	k := &kazooFixture{fixture: f, kid: randHex(16), child: randHex(16), admin: randHex(16), secrets: map[string]string{}}
	ctx := context.Background()
	key, pemBytes, err := auth.NewSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	k.key = key
	if _, err := f.store.PutSystemDoc(ctx, recording.SystemConfigDB, recording.Doc{"_id": "auth", "default": map[string]any{
		"system_key": k.kid, "secret_for_user_signature": testSystemSecret}}); err != nil {
		t.Fatal(err)
	}
	rev, err := f.store.PutSystemDoc(ctx, recording.SystemAuthDB, recording.Doc{"_id": k.kid, "pvt_type": "system_key"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.PutSystemAttachment(ctx, recording.SystemAuthDB, k.kid, rev, auth.SigningKeyAttachment, "application/x-pem-file", pemBytes); err != nil {
		t.Fatal(err)
	}
	if err := f.store.PutAccount(ctx, recording.Doc{"_id": k.child, "pvt_type": "account", "pvt_tree": []any{f.reseller, f.account}}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []struct{ account, doc string }{{f.account, f.account}, {f.account, f.user}, {f.account, k.admin}, {f.reseller, f.reseller}, {k.child, k.child}} {
		doc, err := f.store.AccountDoc(ctx, id.account, id.doc)
		if recording.IsNotFound(err) {
			doc = recording.Doc{"_id": id.doc, "pvt_type": "user", "priv_level": "admin", "pvt_account_id": id.account}
		} else if err != nil {
			t.Fatal(err)
		}
		k.secrets[id.doc] = randHex(16)
		doc["pvt_signature_secret"] = k.secrets[id.doc]
		if id.doc == f.user {
			doc["username"] = "ada"
			doc["pvt_md5_auth"] = md5hex("ada:secret")
			doc["pvt_sha1_auth"] = sha1hex("ada:secret")
			doc["pvt_account_id"] = f.account
			doc["priv_level"] = "user"
			doc["enabled"] = true
		}
		if err := f.store.PutAccountDoc(ctx, id.account, doc); err != nil {
			t.Fatal(err)
		}
	}
	k.kazooOpts = auth.KazooOptions{Now: func() time.Time { return f.now }}
	k.serve(k.kazooOpts)
	return k
}

// serve restarts the API with the Kazoo verifier, Basic auth and the static tokens.
func (k *kazooFixture) serve(opts auth.KazooOptions) {
	core, logs := observer.New(zap.DebugLevel)
	k.logs = logs
	chain := auth.Chain{Static: k.static, Kazoo: auth.NewKazoo(k.store, opts), Basic: auth.NewBasic(k.store, func() time.Time { return k.now })}
	k.restart(chain, k.cfg, zap.New(core))
}

// mint signs a token for account (and user), valid for an hour unless changed by edit.
func (k *kazooFixture) mint(account, user string, edit ...func(*auth.Token)) string {
	k.t.Helper()
	identity := account
	if user != "" {
		identity = user
	}
	tok := auth.Token{Kid: k.kid, Key: k.key, AccountID: account, OwnerID: user, Expires: k.now.Add(time.Hour),
		IdentitySecret: k.secrets[identity], SystemSecret: testSystemSecret}
	for _, e := range edit {
		e(&tok)
	}
	s, err := auth.Mint(tok)
	if err != nil {
		k.t.Fatal(err)
	}
	return s
}

func md5hex(s string) string  { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }
func sha1hex(s string) string { h := sha1.Sum([]byte(s)); return hex.EncodeToString(h[:]) }

// rawJWT assembles a token from raw header and payload objects with the given signature.
func rawJWT(header, payload map[string]any, sig []byte) string {
	h, _ := json.Marshal(header)
	p, _ := json.Marshal(payload)
	enc := base64.RawURLEncoding.EncodeToString
	return enc(h) + "." + enc(p) + "." + enc(sig)
}

// Kazoo's JWTs are accepted exactly as crossbar accepts them; every forgery is a 401.
func TestKazooTokens(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		k := newKazooFixture(t, open)
		valid := k.mint(k.account, k.user)
		parts := strings.Split(valid, ".")
		payload := func() map[string]any {
			raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
			var m map[string]any
			_ = json.Unmarshal(raw, &m)
			return m
		}
		tampered := payload()
		tampered["account_id"] = k.reseller
		tamperedPayload, _ := json.Marshal(tampered)
		tamperedToken := parts[0] + "." + base64.RawURLEncoding.EncodeToString(tamperedPayload) + "." + parts[2]
		pubPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.key.PublicKey)})
		hs := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims(payload()))
		hs.Header["kid"] = k.kid
		confusion, _ := hs.SignedString(pubPEM)
		otherKey, _, _ := auth.NewSigningKey()

		tests := []struct {
			name, token string
			status      int
			message     string
			header      []string
		}{
			{"valid user token", valid, 200, "", nil},
			{"valid account token", k.mint(k.account, ""), 200, "", nil},
			{"expired", k.mint(k.account, k.user, func(t *auth.Token) { t.Expires = k.now.Add(-time.Second) }), 401, "invalid_credentials", nil},
			{"unknown kid", k.mint(k.account, k.user, func(t *auth.Token) { t.Kid = randHex(16) }), 401, "invalid_credentials", nil},
			{"signed by another key", k.mint(k.account, k.user, func(t *auth.Token) { t.Key = otherKey }), 401, "invalid_credentials", nil},
			{"alg none", rawJWT(map[string]any{"alg": "none", "typ": "JWT", "kid": k.kid}, payload(), nil), 401, "invalid_credentials", nil},
			{"HS256 keyed with the public key", confusion, 401, "invalid_credentials", nil},
			{"tampered payload", tamperedToken, 401, "invalid_credentials", nil},
			{"wrong identity_sig", k.mint(k.account, k.user, func(t *auth.Token) { t.IdentitySecret = randHex(16) }), 401, "invalid_credentials", nil},
			{"missing identity_sig", k.mint(k.account, k.user, func(t *auth.Token) { t.IdentitySecret = "" }), 401, "invalid_credentials", nil},
			{"X-Auth-Account-Id mismatch", valid, 401, "invalid_credentials", []string{"X-Auth-Account-Id", k.reseller}},
			{"X-Auth-Account-Id match", valid, 200, "", []string{"X-Auth-Account-Id", k.account}},
			{"as towards a sibling", k.mint(k.account, k.user, func(t *auth.Token) { t.AsAccountID, t.AsOwnerID = k.stranger, randHex(16) }), 401, "invalid_credentials", nil},
			{"as towards its parent", k.mint(k.account, k.user, func(t *auth.Token) { t.AsAccountID, t.AsOwnerID = k.reseller, randHex(16) }), 401, "invalid_credentials", nil},
			{"not a JWT at all", "abc.def.ghi", 401, "invalid_credentials", nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := k.call("GET", k.base()+"/recordings", tt.token, nil, tt.header...)
				if tt.status == 200 {
					if r.status != 200 {
						t.Fatalf("%d %s", r.status, r.body)
					}
					return
				}
				expectError(t, r, tt.status, tt.message)
			})
		}

		// Authorization follows the token's account: its child yes, a sibling no.
		if r := k.call("GET", "/v2/accounts/"+k.child+"/recordings", valid, nil); r.status != 200 {
			t.Errorf("token of the parent on its child: %d", r.status)
		}
		expectError(t, k.call("GET", "/v2/accounts/"+k.stranger+"/recordings", valid, nil), 403, "forbidden")
		// "as" towards a descendant acts as that account: the parent is then out of reach.
		as := k.mint(k.reseller, "", func(t *auth.Token) { t.AsAccountID, t.AsOwnerID = k.account, k.user })
		if r := k.call("GET", k.base()+"/recordings", as, nil); r.status != 200 {
			t.Errorf("as towards a child: %d %s", r.status, r.body)
		}
		expectError(t, k.call("GET", "/v2/accounts/"+k.reseller+"/recordings", as, nil), 403, "forbidden")

		// Kazoo accepts tokens without identity_sig; so do we when told to.
		opts := k.kazooOpts
		opts.AllowMissingIdentitySig = true
		k.serve(opts)
		if r := k.call("GET", k.base()+"/recordings", k.mint(k.account, k.user, func(t *auth.Token) { t.IdentitySecret = "" }), nil); r.status != 200 {
			t.Errorf("missing identity_sig with allow_missing_identity_sig: %d", r.status)
		}
		for _, e := range k.logs.All() {
			line, _ := json.Marshal(e.ContextMap())
			if strings.Contains(string(line), parts[2]) || strings.Contains(e.Message, parts[2]) {
				t.Errorf("a token reached the log: %s %s", e.Message, line)
			}
		}
	})
}

// An account whose trial is over gets 423 locked, as in Kazoo.
func TestTrialExpired(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		k := newKazooFixture(t, open)
		ctx := context.Background()
		doc, _ := k.store.AccountDoc(ctx, k.account, k.account)
		doc["pvt_trial_expires"] = recording.ToGregorian(k.now.Add(-time.Hour))
		if err := k.store.PutAccountDoc(ctx, k.account, doc); err != nil {
			t.Fatal(err)
		}
		k.serve(k.kazooOpts)
		r := k.call("GET", k.base()+"/recordings", k.mint(k.account, k.user), nil)
		expectError(t, r, 423, "locked")
		if _, ok := r.dataMap(t)["account"].(map[string]any)["expired"]; !ok {
			t.Errorf("423 data = %v", r.data())
		}
	})
}

// Basic credentials as crossbar takes them: account id and the md5 (or sha1) of user:password.
func TestBasicAuth(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		k := newKazooFixture(t, open)
		basic := func(user, pass string) string {
			return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
		}
		tests := []struct {
			name, header string
			status       int
		}{
			{"md5 of user:password", basic(k.account, md5hex("ada:secret")), 200},
			{"sha1 of user:password", basic(k.account, sha1hex("ada:secret")), 200},
			{"wrong password", basic(k.account, md5hex("ada:wrong")), 401},
			{"another account", basic(k.reseller, md5hex("ada:secret")), 401},
			{"not an account id", basic("nobody", md5hex("ada:secret")), 401},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := k.call("GET", k.base()+"/recordings", "", nil, "Authorization", tt.header)
				if r.status != tt.status {
					t.Fatalf("%d, want %d: %s", r.status, tt.status, r.body)
				}
			})
		}
	})
}

// Disabled accounts are refused (stricter than Kazoo), unless configured otherwise.
func TestDisabledAccounts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		f := newFixture(t, open)
		ctx := context.Background()
		doc, _ := f.store.Account(ctx, f.account)
		doc["pvt_enabled"] = false
		if err := f.store.PutAccount(ctx, doc); err != nil {
			t.Fatal(err)
		}
		expectError(t, f.call("GET", f.base()+"/recordings", tokenAccount, nil), 403, "forbidden")
		expectError(t, f.call("GET", f.base()+"/recordings", tokenReseller, nil), 403, "forbidden")
		cfg := f.cfg
		cfg.AllowDisabledAccounts = true
		f.restart(f.static, cfg, zap.NewNop())
		if r := f.call("GET", f.base()+"/recordings", tokenAccount, nil); r.status != 200 {
			t.Errorf("with AllowDisabledAccounts: %d", r.status)
		}
	})
}

// Owner gating: a user who is not an admin sees and touches only their own recordings.
func TestOwnerGating(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		for _, reject := range []bool{false, true} {
			k := newKazooFixture(t, open, func(c *api.Config) {
				c.OwnerGating = authz.OwnerGating{Enabled: true, Reject: reject}
			})
			mine := k.addRecording(rec{owner: k.user, audio: []byte("mine")})
			theirs := k.addRecording(rec{owner: k.admin, audio: []byte("theirs")})
			unowned := k.addRecording(rec{})
			user := k.mint(k.account, k.user)
			admin := k.mint(k.account, k.admin)

			list := k.call("GET", k.base()+"/recordings", user, nil)
			if reject {
				expectError(t, list, 403, "forbidden")
			} else if got := ids(t, list.dataList(t)); len(got) != 1 || got[0] != mine {
				t.Errorf("filtered listing = %v, want only %s", got, mine)
			}
			if got := ids(t, k.call("GET", k.base()+"/recordings", admin, nil).dataList(t)); len(got) != 3 {
				t.Errorf("an admin sees %d recordings, want 3", len(got))
			}
			if r := k.call("GET", k.base()+"/users/"+k.user+"/recordings", user, nil); r.status != 200 {
				t.Errorf("own user listing: %d", r.status)
			}
			expectError(t, k.call("GET", k.base()+"/users/"+k.admin+"/recordings", user, nil), 403, "forbidden")
			if r := k.call("GET", k.base()+"/recordings/"+mine+"?accept=audio/mpeg", user, nil); r.status != 200 {
				t.Errorf("own recording: %d", r.status)
			}
			expectError(t, k.call("GET", k.base()+"/recordings/"+theirs, user, nil), 403, "forbidden")
			expectError(t, k.call("GET", k.base()+"/recordings/"+theirs+"?accept=audio/mpeg", user, nil), 403, "forbidden")
			expectError(t, k.call("DELETE", k.base()+"/recordings/"+theirs, user, nil), 403, "forbidden")
			expectError(t, k.call("PATCH", k.base()+"/recordings/"+theirs, user, `{"data":{"soft_delete":{}}}`), 403, "forbidden")
			if r := k.call("GET", k.base()+"/recordings/"+unowned, user, nil); r.status != 200 {
				t.Errorf("unowned recording without restrict_unowned: %d", r.status)
			}
			bulk := k.call("PATCH", k.base()+"/recordings/collection", user, map[string]any{"data": map[string]any{
				"recordings": []string{mine, theirs}, "soft_delete": map[string]any{}}})
			fails, _ := bulk.dataMap(t)["failure"].(map[string]any)
			if f, _ := fails[theirs].(map[string]any); f == nil || f["code"] != float64(403) {
				t.Errorf("bulk on another user's recording: %s", bulk.body)
			}
			stored, _ := k.store.Get(context.Background(), k.account, theirs)
			if stored.IsSoftDeleted() {
				t.Errorf("a forbidden bulk change was written")
			}
		}
	})
}
