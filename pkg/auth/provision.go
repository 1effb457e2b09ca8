package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// ProvisionStore is a store the token command can read and complete.
type ProvisionStore interface {
	recording.AuthStore
	recording.AuthLoader
}

// MintRequest asks for a token for an account, optionally a user of it.
type MintRequest struct {
	AccountID string
	UserID    string
	// Admin insists on an admin: the user's priv_level must be "admin" (an account-level
	// token, without a user, counts as admin in Kazoo).
	Admin bool
	TTL   time.Duration
}

// MintFor mints a Kazoo token the verifier accepts against this store. It is a development
// tool: what a token needs and is missing — the system secret, a signing key in system_auth
// (Kazoo's layout), the identity's pvt_signature_secret — is created, as Kazoo does on its
// first login. Verification never creates anything.
func MintFor(ctx context.Context, s ProvisionStore, req MintRequest) (string, error) {
	if !recording.ValidAccountID(req.AccountID) {
		return "", fmt.Errorf("account id %q is not 32 lower-case hex characters", req.AccountID)
	}
	if _, err := s.AccountDoc(ctx, req.AccountID, req.AccountID); err != nil {
		return "", fmt.Errorf("account %s: %w", req.AccountID, err)
	}
	identity := req.AccountID
	if req.UserID != "" {
		identity = req.UserID
	}
	doc, err := s.AccountDoc(ctx, req.AccountID, identity)
	if err != nil {
		return "", fmt.Errorf("identity %s in account %s: %w", identity, req.AccountID, err)
	}
	if req.UserID != "" && req.Admin && doc.String("priv_level") != "admin" {
		return "", fmt.Errorf("user %s is not an account admin (priv_level %q)", req.UserID, doc.String("priv_level"))
	}
	personal := doc.String("pvt_signature_secret")
	if personal == "" {
		personal = randomHex(16)
		doc["pvt_signature_secret"] = personal
		if err := s.PutAccountDoc(ctx, req.AccountID, doc); err != nil {
			return "", fmt.Errorf("store the identity secret of %s: %w", identity, err)
		}
	}
	kid, key, system, err := ensureSystemKey(ctx, s)
	if err != nil {
		return "", err
	}
	ttl := req.TTL
	if ttl <= 0 {
		ttl = time.Hour
	}
	return Mint(Token{
		Kid: kid, Key: key, AccountID: req.AccountID, OwnerID: req.UserID,
		Expires: time.Now().Add(ttl), IdentitySecret: personal, SystemSecret: system,
	})
}

// ensureSystemKey finds (or makes) system_config/auth's system key and signature secret, and
// the key's private_key.pem in system_auth.
func ensureSystemKey(ctx context.Context, s ProvisionStore) (string, *rsa.PrivateKey, string, error) {
	cfg, err := s.SystemDoc(ctx, recording.SystemConfigDB, "auth")
	switch {
	case recording.IsNotFound(err):
		cfg = recording.Doc{"_id": "auth"}
	case err != nil:
		return "", nil, "", fmt.Errorf("read system_config/auth: %w", err)
	}
	def, _ := cfg["default"].(map[string]any)
	if def == nil {
		def = map[string]any{}
	}
	kid, _ := def["system_key"].(string)
	system, _ := def["secret_for_user_signature"].(string)
	if kid == "" || system == "" {
		if kid == "" {
			kid = randomHex(16)
			def["system_key"] = kid
		}
		if system == "" {
			system = randomHex(16)
			def["secret_for_user_signature"] = system
		}
		cfg["default"] = def
		if _, err := s.PutSystemDoc(ctx, recording.SystemConfigDB, cfg); err != nil {
			return "", nil, "", fmt.Errorf("write system_config/auth: %w", err)
		}
	}
	pemBytes, err := s.SystemAttachment(ctx, recording.SystemAuthDB, kid, SigningKeyAttachment, 64<<10)
	if err == nil {
		key, err := ParsePrivateKeyPEM(pemBytes)
		if err != nil {
			return "", nil, "", fmt.Errorf("system_auth/%s: %w", kid, err)
		}
		return kid, key, system, nil
	}
	if !recording.IsNotFound(err) {
		return "", nil, "", fmt.Errorf("read system_auth/%s: %w", kid, err)
	}
	key, pemBytes, err := NewSigningKey()
	if err != nil {
		return "", nil, "", err
	}
	g := recording.ToGregorian(time.Now())
	rev, err := s.PutSystemDoc(ctx, recording.SystemAuthDB, recording.Doc{
		"_id": kid, "pvt_type": "system_key", "pvt_account_db": recording.SystemAuthDB, "pvt_created": g, "pvt_modified": g,
	})
	if err != nil {
		return "", nil, "", fmt.Errorf("write system_auth/%s: %w", kid, err)
	}
	if _, err := s.PutSystemAttachment(ctx, recording.SystemAuthDB, kid, rev, SigningKeyAttachment, "application/x-pem-file", pemBytes); err != nil {
		return "", nil, "", fmt.Errorf("write system_auth/%s/%s: %w", kid, SigningKeyAttachment, err)
	}
	return kid, key, system, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
