package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// StaticToken is one configured token.
type StaticToken struct {
	Token     string `mapstructure:"token"`
	AccountID string `mapstructure:"account_id"`
	UserID    string `mapstructure:"user_id"`
	// Admin: the token speaks for an administrator of its account (owner gating does not
	// narrow it); it reaches its account and the accounts below it, nothing else.
	Admin bool `mapstructure:"admin"`
	// AllAccounts: a system token, acting on every account; it names no account or user.
	AllAccounts bool `mapstructure:"all_accounts"`
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
		if err := t.validate(); err != nil {
			return nil, fmt.Errorf("auth.tokens: entry %d: %w", i, err)
		}
		s.entries = append(s.entries, staticEntry{
			digest: sha256.Sum256([]byte(t.Token)),
			id: Identity{AccountID: t.AccountID, UserID: t.UserID, AccountAdmin: t.Admin,
				AllAccounts: t.AllAccounts, Method: "static"},
		})
	}
	return s, nil
}

// validate refuses the entries whose reach would be ambiguous.
func (t StaticToken) validate() error {
	switch {
	case t.AllAccounts && (t.AccountID != "" || t.UserID != ""):
		return fmt.Errorf("all_accounts acts on every account: drop account_id and user_id")
	case t.AllAccounts:
		return nil
	case t.AccountID == "" && t.Admin:
		return fmt.Errorf("admin: true makes an administrator of account_id, which is missing; a token for every account says all_accounts: true")
	case t.AccountID == "":
		return fmt.Errorf("needs an account_id (or all_accounts: true for a system token)")
	case !recording.ValidAccountID(t.AccountID):
		return fmt.Errorf("account_id %q is not a 32-hex account id", t.AccountID)
	}
	return nil
}

// SystemTokens counts the tokens that act on every account.
func SystemTokens(tokens []StaticToken) int {
	n := 0
	for _, t := range tokens {
		if t.AllAccounts {
			n++
		}
	}
	return n
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
	// X-Auth-Account-Id must name the token's account; a system token has none to contradict
	if c.AccountHeader != "" && !id.AllAccounts && c.AccountHeader != id.AccountID {
		return Identity{}, ErrInvalidToken
	}
	return id, nil
}
