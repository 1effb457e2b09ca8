// Package auth turns a request's credentials into an identity: static tokens from
// configuration, Kazoo's own JWTs (X-Auth-Token), and Kazoo's Basic credentials.
package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Identity is who a request speaks for.
type Identity struct {
	AccountID string
	UserID    string // empty for account-level tokens
	// Admin tokens may act on every account (operators' and integrators' system tokens).
	Admin bool
	// Method names how the identity was established: "static", "kazoo_jwt", "basic".
	Method string
	// OriginalAccountID is the token's own account when an "as" claim masquerades as another.
	OriginalAccountID string
}

// Credentials are what a request presents.
type Credentials struct {
	Token         string // X-Auth-Token header, else the auth_token query value
	AccountHeader string // X-Auth-Account-Id: when set, must name the token's account
	Basic         *BasicCredentials
}

// BasicCredentials come from "Authorization: Basic base64(account_id:secret)".
type BasicCredentials struct {
	AccountID string
	Secret    string // md5 (or sha1) hex of "username:password", as Kazoo's clients send
}

// ErrInvalidToken means the credentials are unknown, malformed, expired or refused.
var ErrInvalidToken = errors.New("invalid credentials")

// AccountExpiredError means the account's trial is over (Kazoo answers 423).
type AccountExpiredError struct {
	AccountID string
	ExpiredAt int64 // pvt_trial_expires, gregorian seconds
}

func (e *AccountExpiredError) Error() string {
	return fmt.Sprintf("account %s expired at %d", e.AccountID, e.ExpiredAt)
}

// Authenticator validates credentials.
type Authenticator interface {
	// Authenticate returns the identity, ErrInvalidToken, *AccountExpiredError, or another
	// error when the check itself could not be made (e.g. the datastore is down).
	Authenticate(ctx context.Context, c Credentials) (Identity, error)
}

// Chain tries the configured authenticators the way crossbar picks one: a token goes to the
// static list, then (when it has a JWT's shape) to Kazoo's verifier; Basic credentials go to
// Basic. Nil members are off.
type Chain struct {
	Static *StaticTokens
	Kazoo  *Kazoo
	Basic  *Basic
}

// Authenticate implements Authenticator.
func (c Chain) Authenticate(ctx context.Context, cr Credentials) (Identity, error) {
	switch {
	case cr.Token != "":
		if c.Static != nil {
			if id, err := c.Static.Authenticate(ctx, cr); err == nil {
				return id, nil
			}
		}
		if c.Kazoo != nil && strings.Count(cr.Token, ".") == 2 {
			return c.Kazoo.Authenticate(ctx, cr)
		}
	case cr.Basic != nil && c.Basic != nil:
		return c.Basic.Authenticate(ctx, cr)
	}
	return Identity{}, ErrInvalidToken
}
