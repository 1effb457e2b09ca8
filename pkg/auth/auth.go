// Package auth turns a request's credentials into an identity: static tokens from
// configuration, Kazoo's own JWTs (X-Auth-Token), and Kazoo's Basic credentials.
package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Identity is who a request speaks for. What it may do is pkg/authz's to decide.
type Identity struct {
	// AccountID is the account the credentials belong to; empty only for system tokens.
	AccountID string
	// UserID is the user they speak for; empty for account-level credentials.
	UserID string
	// AccountAdmin: the credentials speak for an administrator of AccountID (and of the
	// accounts below it): a user whose priv_level is "admin", a static token with admin: true,
	// or credentials without a user (Kazoo's default_priv_level for them is admin).
	AccountAdmin bool
	// AllAccounts: a system token (static, all_accounts: true) that acts on every account.
	AllAccounts bool
	// Method names how the identity was established: "static", "kazoo_jwt", "basic".
	Method string
	// KeyID is the signing key (kid) of a Kazoo JWT, for the logs; never the token.
	KeyID string
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

// Users loads user documents (recording.Store does).
type Users interface {
	// User returns the user document; ENotFound when there is no such user.
	User(ctx context.Context, accountID, userID string) (recording.Doc, error)
}

// ResolvePrivilege completes an identity's AccountAdmin the way Kazoo's is_account_admin does,
// whatever the kind of credentials: credentials without a user are admins (Kazoo's
// default_priv_level), a user is one when their document says priv_level "admin". A missing
// user is no admin; a store failure is returned (the caller answers 503).
func ResolvePrivilege(ctx context.Context, users Users, id Identity) (Identity, error) {
	switch {
	case id.AllAccounts || id.AccountAdmin:
		return id, nil
	case id.UserID == "":
		id.AccountAdmin = true
		return id, nil
	}
	doc, err := users.User(ctx, id.AccountID, id.UserID)
	switch {
	case recording.IsNotFound(err):
		return id, nil
	case err != nil:
		return Identity{}, err
	}
	id.AccountAdmin = doc.String("priv_level") == "admin"
	return id, nil
}
