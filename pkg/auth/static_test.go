package auth_test

import (
	"context"
	"strings"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/auth"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

const acct = "0123456789abcdef0123456789abcdef"

// Static tokens say their reach: an account (admin or not), or all accounts, never both.
func TestStaticTokenEntries(t *testing.T) {
	tests := []struct {
		name  string
		token auth.StaticToken
		want  auth.Identity
		err   string // a word the refusal must name
	}{
		{name: "an account token", token: auth.StaticToken{Token: "t", AccountID: acct},
			want: auth.Identity{AccountID: acct, Method: "static"}},
		{name: "an account admin", token: auth.StaticToken{Token: "t", AccountID: acct, UserID: "u1", Admin: true},
			want: auth.Identity{AccountID: acct, UserID: "u1", AccountAdmin: true, Method: "static"}},
		{name: "a system token", token: auth.StaticToken{Token: "t", AllAccounts: true},
			want: auth.Identity{AllAccounts: true, Method: "static"}},
		{name: "admin without an account", token: auth.StaticToken{Token: "t", Admin: true}, err: "all_accounts"},
		{name: "no account at all", token: auth.StaticToken{Token: "t"}, err: "account_id"},
		{name: "all_accounts with an account", token: auth.StaticToken{Token: "t", AllAccounts: true, AccountID: acct}, err: "drop account_id"},
		{name: "all_accounts with a user", token: auth.StaticToken{Token: "t", AllAccounts: true, UserID: "u1"}, err: "user_id"},
		{name: "an account id that is not one", token: auth.StaticToken{Token: "t", AccountID: "ACCT"}, err: "32-hex"},
		{name: "an empty token", token: auth.StaticToken{AccountID: acct}, err: "empty token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := auth.NewStaticTokens([]auth.StaticToken{tt.token})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "entry 0") {
					t.Fatalf("error = %v, want one naming entry 0 and %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			id, err := s.Authenticate(context.Background(), auth.Credentials{Token: "t"})
			if err != nil || id != tt.want {
				t.Errorf("identity = %+v, %v; want %+v", id, err, tt.want)
			}
		})
	}
	if n := auth.SystemTokens([]auth.StaticToken{{AllAccounts: true}, {AccountID: acct, Admin: true}, {AllAccounts: true}}); n != 2 {
		t.Errorf("SystemTokens = %d, want 2", n)
	}
}

// users is a user directory for ResolvePrivilege.
type users map[string]recording.Doc

func (u users) User(_ context.Context, accountID, userID string) (recording.Doc, error) {
	if userID == "broken" {
		return nil, recording.Errorf(recording.EUnavailable, "store down")
	}
	if d, ok := u[accountID+"/"+userID]; ok {
		return d, nil
	}
	return nil, recording.Errorf(recording.ENotFound, "no user %s", userID)
}

// Every kind of credentials gets its privilege the same way: Kazoo's priv_level.
func TestResolvePrivilege(t *testing.T) {
	dir := users{acct + "/boss": {"priv_level": "admin"}, acct + "/staff": {"priv_level": "user"}, acct + "/plain": {}}
	tests := []struct {
		name  string
		id    auth.Identity
		admin bool
		err   bool
	}{
		{name: "a user whose priv_level is admin", id: auth.Identity{AccountID: acct, UserID: "boss", Method: "kazoo_jwt"}, admin: true},
		{name: "a user whose priv_level is user", id: auth.Identity{AccountID: acct, UserID: "staff", Method: "basic"}},
		{name: "a user without priv_level", id: auth.Identity{AccountID: acct, UserID: "plain", Method: "static"}},
		{name: "a user that does not exist", id: auth.Identity{AccountID: acct, UserID: "ghost", Method: "kazoo_jwt"}},
		{name: "credentials without a user", id: auth.Identity{AccountID: acct, Method: "kazoo_jwt"}, admin: true},
		{name: "a static admin token for a plain user", id: auth.Identity{AccountID: acct, UserID: "staff", AccountAdmin: true}, admin: true},
		{name: "a system token", id: auth.Identity{AllAccounts: true}},
		{name: "the store is down", id: auth.Identity{AccountID: acct, UserID: "broken"}, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := auth.ResolvePrivilege(context.Background(), dir, tt.id)
			if tt.err {
				if recording.ErrorCode(err) != recording.EUnavailable {
					t.Fatalf("error = %v, want the store's EUnavailable", err)
				}
				return
			}
			if err != nil || id.AccountAdmin != tt.admin || id.AccountID != tt.id.AccountID || id.UserID != tt.id.UserID {
				t.Errorf("ResolvePrivilege = %+v, %v; want AccountAdmin %v", id, err, tt.admin)
			}
		})
	}
}
