// Package auth turns a request's token into an identity. The first authenticator is a list of
// static tokens from configuration; Kazoo's own JWTs plug in behind the same interface.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
)

// Identity is who a token speaks for.
type Identity struct {
	AccountID string
	UserID    string // empty for account-level tokens
	// Admin tokens may act on every account (operators' and integrators' system tokens).
	Admin bool
}

// ErrInvalidToken means the token is unknown, malformed or expired.
var ErrInvalidToken = errors.New("invalid credentials")

// Authenticator validates a token.
type Authenticator interface {
	// Authenticate returns the token's identity, ErrInvalidToken, or another error when the
	// check itself could not be made (e.g. the datastore is down).
	Authenticate(ctx context.Context, token string) (Identity, error)
}

// StaticToken is one configured token.
type StaticToken struct {
	Token     string `mapstructure:"token"`
	AccountID string `mapstructure:"account_id"`
	UserID    string `mapstructure:"user_id"`
	Admin     bool   `mapstructure:"admin"`
}

// StaticTokens authenticates against a fixed list, comparing in constant time.
type StaticTokens struct {
	entries []staticEntry
}

type staticEntry struct {
	digest [32]byte
	id     Identity
}

// NewStaticTokens builds the authenticator; empty tokens are refused.
func NewStaticTokens(tokens []StaticToken) (*StaticTokens, error) {
	s := &StaticTokens{}
	for i, t := range tokens {
		if t.Token == "" {
			return nil, fmt.Errorf("auth.tokens: entry %d has an empty token", i)
		}
		if t.AccountID == "" && !t.Admin {
			return nil, fmt.Errorf("auth.tokens: entry %d needs an account_id", i)
		}
		s.entries = append(s.entries, staticEntry{
			digest: sha256.Sum256([]byte(t.Token)),
			id:     Identity{AccountID: t.AccountID, UserID: t.UserID, Admin: t.Admin},
		})
	}
	return s, nil
}

// Authenticate compares the token's digest with every entry, so timing reveals neither which
// entry matched nor how long the tokens are.
func (s *StaticTokens) Authenticate(_ context.Context, token string) (Identity, error) {
	d := sha256.Sum256([]byte(token))
	found := -1
	for i := range s.entries {
		if subtle.ConstantTimeCompare(d[:], s.entries[i].digest[:]) == 1 {
			found = i
		}
	}
	if token == "" || found < 0 {
		return Identity{}, ErrInvalidToken
	}
	return s.entries[found].id, nil
}
