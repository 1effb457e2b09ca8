package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// KazooOptions tune the verifier; zero values take the defaults.
type KazooOptions struct {
	// AllowMissingIdentitySig accepts tokens without identity_sig, as Kazoo does. Off by
	// default: such a token cannot be revoked by rotating the user's secret.
	AllowMissingIdentitySig bool
	// Leeway tolerates clock skew on exp (Kazoo: none).
	Leeway time.Duration
	// KeyRetry bounds how often an unknown kid (or a key whose signature fails) is looked up
	// again: at most once per KeyRetry per kid (default 1 minute).
	KeyRetry time.Duration
	// KeyTTL is how long a signing key and the system secret are reused (default 5 minutes),
	// so deleting a key or rotating the secret takes effect without a restart.
	KeyTTL time.Duration
	Now    func() time.Time
}

// Kazoo verifies the JWTs Kazoo 4.x issues, step for step as crossbar does.
type Kazoo struct {
	store recording.AuthStore
	opts  KazooOptions

	mu     sync.Mutex
	keys   map[string]cachedKey
	secret cachedSecret
}

type cachedSecret struct {
	value   string
	fetched time.Time
}

// kazooAlgorithms are the only algorithms Kazoo verifies; "none" and HS* never are.
var kazooAlgorithms = []string{"RS256", "RS384", "RS512"}

// NewKazoo returns a verifier reading keys and secrets from the store.
func NewKazoo(store recording.AuthStore, opts KazooOptions) *Kazoo {
	if opts.KeyRetry <= 0 {
		opts.KeyRetry = time.Minute
	}
	if opts.KeyTTL <= 0 {
		opts.KeyTTL = 5 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Kazoo{store: store, opts: opts, keys: map[string]cachedKey{}}
}

// kazooClaims are the claims crossbar reads.
type kazooClaims struct {
	Issuer      string          `json:"iss"`
	AccountID   string          `json:"account_id"`
	OwnerID     string          `json:"owner_id"`
	DeviceID    string          `json:"device_id"`
	Exp         json.RawMessage `json:"exp"`
	IdentitySig *string         `json:"identity_sig"`
	As          *struct {
		AccountID string `json:"account_id"`
		OwnerID   string `json:"owner_id"`
	} `json:"as"`
	kid string // the header's key id, verified with the signature
}

// Authenticate verifies c.Token. Any flaw in the token is ErrInvalidToken; a datastore
// failure is returned as is (the caller answers 503, not 401).
func (k *Kazoo) Authenticate(ctx context.Context, c Credentials) (Identity, error) {
	claims, err := k.verify(ctx, c.Token)
	if err != nil {
		return Identity{}, err
	}
	if c.AccountHeader != "" && c.AccountHeader != claims.AccountID {
		return Identity{}, ErrInvalidToken
	}
	if err := k.checkTrial(ctx, claims.AccountID); err != nil {
		return Identity{}, err
	}
	id := Identity{AccountID: claims.AccountID, UserID: claims.OwnerID, Method: "kazoo_jwt", KeyID: claims.kid}
	if claims.As != nil && claims.As.AccountID != "" && claims.As.OwnerID != "" {
		if err := k.checkDescendant(ctx, claims.AccountID, claims.As.AccountID); err != nil {
			return Identity{}, err
		}
		id = Identity{AccountID: claims.As.AccountID, UserID: claims.As.OwnerID, Method: "kazoo_jwt", KeyID: claims.kid, OriginalAccountID: claims.AccountID}
	}
	return id, nil
}

// verify checks shape, algorithm, key, signature, issuer, expiry and identity signature.
func (k *Kazoo) verify(ctx context.Context, token string) (*kazooClaims, error) {
	var storeErr error
	var kid string
	keyFor := func(t *jwt.Token) (any, error) {
		kid, _ = t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("no kid")
		}
		if iss, _ := t.Claims.(jwt.MapClaims)["iss"].(string); iss != "kazoo" {
			return nil, errors.New("issuer is not kazoo")
		}
		key, err := k.publicKey(ctx, kid, false)
		if err != nil && !errors.Is(err, ErrInvalidToken) {
			storeErr = err
		}
		return key, err
	}
	parser := jwt.NewParser(jwt.WithValidMethods(kazooAlgorithms), jwt.WithJSONNumber(), jwt.WithoutClaimsValidation())
	parsed, err := parser.Parse(token, keyFor)
	if storeErr != nil {
		return nil, storeErr
	}
	if errors.Is(err, jwt.ErrTokenSignatureInvalid) && kid != "" {
		// The key may have been replaced under the same kid: look once more, then give up.
		if _, kerr := k.publicKey(ctx, kid, true); kerr == nil {
			parsed, err = parser.Parse(token, keyFor)
		}
		if storeErr != nil {
			return nil, storeErr
		}
	}
	if err != nil || !parsed.Valid {
		return nil, ErrInvalidToken
	}
	claims, err := decodeClaims(token)
	if err != nil {
		return nil, ErrInvalidToken
	}
	claims.kid = kid
	if !k.notExpired(claims.Exp) || !recording.ValidAccountID(claims.AccountID) {
		return nil, ErrInvalidToken
	}
	if claims.IdentitySig == nil {
		if !k.opts.AllowMissingIdentitySig {
			return nil, ErrInvalidToken
		}
		return claims, nil
	}
	if err := k.checkIdentity(ctx, claims); err != nil {
		return nil, err
	}
	return claims, nil
}

// decodeClaims reads the payload segment again into the typed claims (already verified).
func decodeClaims(token string) (*kazooClaims, error) {
	parts := splitJWT(token)
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var c kazooClaims
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

func splitJWT(token string) [3]string {
	var out [3]string
	i := 0
	start := 0
	for j := 0; j < len(token) && i < 2; j++ {
		if token[j] == '.' {
			out[i] = token[start:j]
			i++
			start = j + 1
		}
	}
	out[i] = token[start:]
	return out
}

// notExpired applies Kazoo's rule: no exp never expires; otherwise exp must be a number
// strictly in the future (plus the configured leeway).
func (k *Kazoo) notExpired(raw json.RawMessage) bool {
	if len(raw) == 0 || string(raw) == "null" {
		return true
	}
	var exp json.Number
	if err := json.Unmarshal(raw, &exp); err != nil {
		return false
	}
	f, err := exp.Float64()
	if err != nil {
		return false
	}
	now := float64(k.opts.Now().Unix()) - k.opts.Leeway.Seconds()
	return f-now > 0
}

// checkIdentity recomputes identity_sig: HMAC-SHA256 keyed with the identity document's
// pvt_signature_secret followed by the system secret, over the identity's id.
func (k *Kazoo) checkIdentity(ctx context.Context, c *kazooClaims) error {
	sig, err := base64.RawURLEncoding.DecodeString(trimPadding(*c.IdentitySig))
	if err != nil || len(sig) == 0 {
		return ErrInvalidToken
	}
	identity := c.AccountID
	switch {
	case c.DeviceID != "":
		identity = c.DeviceID
	case c.OwnerID != "":
		identity = c.OwnerID
	}
	doc, err := k.store.AccountDoc(ctx, c.AccountID, identity)
	switch {
	case recording.IsNotFound(err):
		return ErrInvalidToken
	case err != nil:
		return err
	}
	personal := doc.String("pvt_signature_secret")
	system, err := k.systemSecret(ctx)
	if err != nil {
		return err
	}
	if personal == "" || system == "" {
		return ErrInvalidToken
	}
	mac := hmac.New(sha256.New, []byte(personal+system))
	mac.Write([]byte(identity))
	if !hmac.Equal(mac.Sum(nil), sig) {
		return ErrInvalidToken
	}
	return nil
}

func trimPadding(s string) string {
	for len(s) > 0 && s[len(s)-1] == '=' {
		s = s[:len(s)-1]
	}
	return s
}

// systemSecret reads system_config/auth default.secret_for_user_signature, cached for KeyTTL.
func (k *Kazoo) systemSecret(ctx context.Context) (string, error) {
	now := k.opts.Now()
	k.mu.Lock()
	cached := k.secret
	k.mu.Unlock()
	if cached.value != "" && now.Sub(cached.fetched) < k.opts.KeyTTL {
		return cached.value, nil
	}
	doc, err := k.store.SystemDoc(ctx, recording.SystemConfigDB, "auth")
	switch {
	case recording.IsNotFound(err):
		return "", nil
	case err != nil:
		return "", err
	}
	def, _ := doc["default"].(map[string]any)
	secret, _ := def["secret_for_user_signature"].(string)
	k.mu.Lock()
	k.secret = cachedSecret{value: secret, fetched: now}
	k.mu.Unlock()
	return secret, nil
}

// checkTrial refuses accounts whose pvt_trial_expires has passed (Kazoo: 423). A missing
// account document is not expired, as in Kazoo.
func (k *Kazoo) checkTrial(ctx context.Context, accountID string) error {
	doc, err := k.store.AccountDoc(ctx, accountID, accountID)
	switch {
	case recording.IsNotFound(err):
		return nil
	case err != nil:
		return err
	}
	return trialCheck(doc, accountID, k.opts.Now())
}

func trialCheck(account recording.Doc, accountID string, now time.Time) error {
	if exp, ok := account.Int("pvt_trial_expires"); ok && exp-recording.ToGregorian(now) <= 0 {
		return &AccountExpiredError{AccountID: accountID, ExpiredAt: exp}
	}
	return nil
}

// checkDescendant allows "as" only towards a strict, non-deleted descendant account.
func (k *Kazoo) checkDescendant(ctx context.Context, ancestor, target string) error {
	if !recording.ValidAccountID(target) || target == ancestor {
		return ErrInvalidToken
	}
	doc, err := k.store.AccountDoc(ctx, target, target)
	switch {
	case recording.IsNotFound(err):
		return ErrInvalidToken
	case err != nil:
		return err
	}
	if doc.Type() != "account" || doc.IsDeleted() {
		return ErrInvalidToken
	}
	tree, _ := doc["pvt_tree"].([]any)
	for _, a := range tree {
		if a == ancestor {
			return nil
		}
	}
	return ErrInvalidToken
}
