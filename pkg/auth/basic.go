package auth

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Basic checks crossbar's Basic credentials: the user name is the account id, the password
// the md5 hex of "username:password" (or its sha1 hex), matching exactly one enabled user.
type Basic struct {
	store recording.AuthStore
	now   func() time.Time
}

// NewBasic returns the Basic authenticator.
func NewBasic(store recording.AuthStore, now func() time.Time) *Basic {
	if now == nil {
		now = time.Now
	}
	return &Basic{store: store, now: now}
}

// Authenticate implements Authenticator for c.Basic.
func (b *Basic) Authenticate(ctx context.Context, c Credentials) (Identity, error) {
	if c.Basic == nil || !recording.ValidAccountID(c.Basic.AccountID) || c.Basic.Secret == "" {
		return Identity{}, ErrInvalidToken
	}
	field, hash := credentialHash(c.Basic.Secret)
	users, err := b.store.UsersByCredentials(ctx, c.Basic.AccountID, field, hash)
	if err != nil {
		return Identity{}, err
	}
	if len(users) != 1 {
		return Identity{}, ErrInvalidToken
	}
	user := users[0]
	accountID := user.String("pvt_account_id")
	if accountID == "" {
		accountID = c.Basic.AccountID
	}
	if c.AccountHeader != "" && c.AccountHeader != accountID {
		return Identity{}, ErrInvalidToken
	}
	account, err := b.store.AccountDoc(ctx, accountID, accountID)
	switch {
	case recording.IsNotFound(err):
	case err != nil:
		return Identity{}, err
	default:
		if err := trialCheck(account, accountID, b.now()); err != nil {
			return Identity{}, err
		}
	}
	return Identity{AccountID: accountID, UserID: user.ID(), Method: "basic"}, nil
}

// credentialHash picks the view: 40 hex characters are a sha1, 32 an md5; anything else is
// taken as a plain "username:password" and hashed with md5, as crossbar's fallback does.
func credentialHash(secret string) (field, hash string) {
	switch {
	case isHex(secret, 40):
		return "pvt_sha1_auth", toLower(secret)
	case isHex(secret, 32):
		return "pvt_md5_auth", toLower(secret)
	default:
		sum := md5.Sum([]byte(secret))
		return "pvt_md5_auth", hex.EncodeToString(sum[:])
	}
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
