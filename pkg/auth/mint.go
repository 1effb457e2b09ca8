package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Token describes a Kazoo JWT to mint: what crossbar's user_auth / api_auth would issue.
type Token struct {
	Kid            string
	Key            *rsa.PrivateKey
	AccountID      string
	OwnerID        string // empty: an account-level (api_auth style) token
	Method         string // default cb_user_auth, or cb_api_auth without an owner
	Expires        time.Time
	IdentitySecret string // pvt_signature_secret of the user (or of the account without owner)
	SystemSecret   string // system_config/auth default.secret_for_user_signature
	// AsAccountID/AsOwnerID add an "as" claim (masquerade).
	AsAccountID, AsOwnerID string
}

// Mint signs t with RS256 and Kazoo's claims, including identity_sig.
func Mint(t Token) (string, error) {
	method := t.Method
	if method == "" {
		method = "cb_user_auth"
		if t.OwnerID == "" {
			method = "cb_api_auth"
		}
	}
	claims := jwt.MapClaims{"account_id": t.AccountID, "method": method, "iss": "kazoo"}
	identity := t.AccountID
	if t.OwnerID != "" {
		claims["owner_id"] = t.OwnerID
		identity = t.OwnerID
	}
	if !t.Expires.IsZero() {
		claims["exp"] = t.Expires.Unix()
	}
	if t.AsAccountID != "" || t.AsOwnerID != "" {
		claims["as"] = map[string]string{"account_id": t.AsAccountID, "owner_id": t.AsOwnerID}
	}
	if t.IdentitySecret != "" {
		claims["identity_sig"] = IdentitySignature(t.IdentitySecret, t.SystemSecret, identity)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = t.Kid
	return tok.SignedString(t.Key)
}

// IdentitySignature is Kazoo's identity_sig: base64url(HMAC-SHA256(personal ‖ system, identity)).
func IdentitySignature(personalSecret, systemSecret, identity string) string {
	mac := hmac.New(sha256.New, []byte(personalSecret+systemSecret))
	mac.Write([]byte(identity))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// NewSigningKey makes a 2048-bit RSA key and its PKCS#1 PEM, the form Kazoo stores.
func NewSigningKey() (*rsa.PrivateKey, []byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), nil
}
