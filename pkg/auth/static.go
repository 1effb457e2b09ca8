package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
)

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
			id:     Identity{AccountID: t.AccountID, UserID: t.UserID, Admin: t.Admin, Method: "static"},
		})
	}
	return s, nil
}

// Authenticate compares the token's digest with every entry, so timing reveals neither which
// entry matched nor how long the tokens are.
func (s *StaticTokens) Authenticate(_ context.Context, c Credentials) (Identity, error) {
	token := c.Token
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
	id := s.entries[found].id
	if c.AccountHeader != "" && c.AccountHeader != id.AccountID {
		return Identity{}, ErrInvalidToken
	}
	return id, nil
}
