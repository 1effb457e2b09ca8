package authz_test

import (
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/auth"
	"github.com/recordingsd/recordingsd/pkg/authz"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// The account tree of every case:
//
//	root (superduper admin)
//	reseller ── customer ── child
//	         └─ sibling
//	unrelated
//
// plus a disabled account below the reseller and one whose trial is over.
const (
	root      = "00000000000000000000000000000000"
	reseller  = "11111111111111111111111111111111"
	customer  = "22222222222222222222222222222222"
	child     = "33333333333333333333333333333333"
	sibling   = "44444444444444444444444444444444"
	unrelated = "55555555555555555555555555555555"
	disabled  = "66666666666666666666666666666666"
	expired   = "77777777777777777777777777777777"
	missing   = "88888888888888888888888888888888"

	alice = "a11ce000000000000000000000000000" // a user of customer
	bob   = "b0b00000000000000000000000000000" // another user of customer
)

var now = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

var accounts = map[string]recording.Doc{
	root:      {"pvt_superduper_admin": true, "pvt_tree": []any{}},
	reseller:  {"pvt_tree": []any{root}},
	customer:  {"pvt_tree": []any{root, reseller}, "pvt_enabled": true},
	child:     {"pvt_tree": []any{root, reseller, customer}},
	sibling:   {"pvt_tree": []any{root, reseller}},
	unrelated: {"pvt_tree": []any{}},
	disabled:  {"pvt_tree": []any{root, reseller}, "enabled": false},
	expired:   {"pvt_tree": []any{root, reseller}, "pvt_trial_expires": recording.ToGregorian(now.Add(-time.Minute))},
}

func account(id string) authz.Account { return authz.AccountOf(id, accounts[id]) }

// Callers.
func token(accountID string) authz.Caller {
	return caller(auth.Identity{AccountID: accountID, AccountAdmin: true, Method: "static"})
}
func user(accountID, userID string) authz.Caller {
	return caller(auth.Identity{AccountID: accountID, UserID: userID, Method: "kazoo_jwt"})
}
func admin(accountID, userID string) authz.Caller {
	return caller(auth.Identity{AccountID: accountID, UserID: userID, AccountAdmin: true, Method: "static"})
}
func caller(id auth.Identity) authz.Caller {
	return authz.Caller{Identity: id, Account: account(id.AccountID)}
}

var system = authz.Caller{Identity: auth.Identity{AllAccounts: true, Method: "static"}}

func owner(id string) *string { return &id }

var (
	kazoo           = authz.Policy{Now: func() time.Time { return now }}
	allowDisabled   = authz.Policy{AllowDisabledAccounts: true, Now: kazoo.Now}
	gatingFilter    = authz.Policy{OwnerGating: authz.OwnerGating{Enabled: true}, Now: kazoo.Now}
	gatingReject    = authz.Policy{OwnerGating: authz.OwnerGating{Enabled: true, Reject: true}, Now: kazoo.Now}
	gatingRestrictd = authz.Policy{OwnerGating: authz.OwnerGating{Enabled: true, RestrictUnowned: true}, Now: kazoo.Now}
)

func TestDecide(t *testing.T) {
	tests := []struct {
		name      string
		policy    authz.Policy
		caller    authz.Caller
		action    authz.Action
		target    string
		pathUser  string
		owner     *string
		allowed   bool
		reason    authz.Reason
		onlyOwner string
	}{
		// Reach: Kazoo's tree rule.
		{name: "own account", policy: kazoo, caller: token(customer), action: authz.List, target: customer, allowed: true},
		{name: "a descendant", policy: kazoo, caller: token(customer), action: authz.ReadAudio, target: child, allowed: true},
		{name: "a descendant two levels down", policy: kazoo, caller: token(reseller), action: authz.Delete, target: child, allowed: true},
		{name: "the parent", policy: kazoo, caller: token(customer), action: authz.List, target: reseller, reason: authz.OutsideReach},
		{name: "a sibling", policy: kazoo, caller: token(customer), action: authz.Read, target: sibling, reason: authz.OutsideReach},
		{name: "an unrelated account", policy: kazoo, caller: token(customer), action: authz.List, target: unrelated, reason: authz.OutsideReach},
		{name: "a user reaches descendants too", policy: kazoo, caller: user(customer, alice), action: authz.List, target: child, allowed: true},
		{name: "a user of a child cannot climb", policy: kazoo, caller: user(child, alice), action: authz.List, target: customer, reason: authz.OutsideReach},

		// admin: true is an account administrator, not a system token.
		{name: "account admin on its account", policy: kazoo, caller: admin(customer, alice), action: authz.Delete, target: customer, allowed: true},
		{name: "account admin on a child", policy: kazoo, caller: admin(customer, alice), action: authz.List, target: child, allowed: true},
		{name: "account admin on the parent", policy: kazoo, caller: admin(customer, alice), action: authz.List, target: reseller, reason: authz.OutsideReach},
		{name: "account admin on a sibling", policy: kazoo, caller: admin(customer, alice), action: authz.ReadAudio, target: sibling, reason: authz.OutsideReach},
		{name: "account admin on an unrelated account", policy: kazoo, caller: admin(customer, ""), action: authz.List, target: unrelated, reason: authz.OutsideReach},

		// Superduper admins and system tokens.
		{name: "superduper caller anywhere", policy: kazoo, caller: token(root), action: authz.Delete, target: unrelated, allowed: true},
		{name: "superduper user anywhere", policy: kazoo, caller: user(root, alice), action: authz.ManageLegalHold, target: unrelated, allowed: true},
		{name: "superduper caller on a disabled account", policy: kazoo, caller: token(root), action: authz.List, target: disabled, reason: authz.TargetDisabled},
		{name: "system token anywhere", policy: kazoo, caller: system, action: authz.Delete, target: unrelated, allowed: true},
		{name: "system token on a disabled account", policy: kazoo, caller: system, action: authz.List, target: disabled, allowed: true},
		{name: "system token, admin action", policy: kazoo, caller: system, action: authz.ReadAudit, target: customer, allowed: true},
		{name: "system token is never gated", policy: gatingReject, caller: system, action: authz.List, target: customer, allowed: true},

		// The caller's own account.
		{name: "caller's account does not exist", policy: kazoo, caller: token(missing), action: authz.List, target: customer, reason: authz.CallerAccountUnknown},
		{name: "caller's account is disabled", policy: kazoo, caller: token(disabled), action: authz.List, target: disabled, reason: authz.CallerDisabled},
		{name: "caller's account is disabled, allowed", policy: allowDisabled, caller: token(disabled), action: authz.List, target: disabled, allowed: true},
		{name: "caller's trial is over", policy: kazoo, caller: token(expired), action: authz.List, target: expired, reason: authz.TrialExpired},
		{name: "caller's trial is over, even with disabled accounts allowed", policy: allowDisabled, caller: user(expired, alice), action: authz.Read, target: expired, reason: authz.TrialExpired},
		{name: "an expired account below is still reachable", policy: kazoo, caller: token(reseller), action: authz.List, target: expired, allowed: true},

		// The target account.
		{name: "a disabled descendant", policy: kazoo, caller: token(reseller), action: authz.List, target: disabled, reason: authz.TargetDisabled},
		{name: "a disabled descendant, allowed", policy: allowDisabled, caller: token(reseller), action: authz.List, target: disabled, allowed: true},
		{name: "a disabled account out of reach says so, not that it is disabled", policy: kazoo, caller: token(unrelated), action: authz.List, target: disabled, reason: authz.OutsideReach},

		// Actions for administrators.
		{name: "user, legal hold", policy: kazoo, caller: user(customer, alice), action: authz.ManageLegalHold, target: customer, reason: authz.NotAccountAdmin},
		{name: "user, audit trail", policy: kazoo, caller: user(customer, alice), action: authz.ReadAudit, target: customer, reason: authz.NotAccountAdmin},
		{name: "user, webhooks", policy: kazoo, caller: user(customer, alice), action: authz.ManageWebhooks, target: customer, reason: authz.NotAccountAdmin},
		{name: "account admin, legal hold", policy: kazoo, caller: admin(customer, alice), action: authz.ManageLegalHold, target: child, allowed: true},
		{name: "account-level token, webhooks", policy: kazoo, caller: token(customer), action: authz.ManageWebhooks, target: customer, allowed: true},
		{name: "user, export (not an admin action)", policy: kazoo, caller: user(customer, alice), action: authz.Export, target: customer, allowed: true},

		// Owner gating, filter mode.
		{name: "gated user lists the account: narrowed to theirs", policy: gatingFilter, caller: user(customer, alice), action: authz.List, target: customer, allowed: true, onlyOwner: alice},
		{name: "gated user lists their own path", policy: gatingFilter, caller: user(customer, alice), action: authz.List, target: customer, pathUser: alice, allowed: true, onlyOwner: alice},
		{name: "gated user lists another user's path", policy: gatingFilter, caller: user(customer, alice), action: authz.List, target: customer, pathUser: bob, reason: authz.OtherUsersListing},
		{name: "gated user exports: narrowed to theirs", policy: gatingFilter, caller: user(customer, alice), action: authz.Export, target: customer, allowed: true, onlyOwner: alice},
		{name: "gated user reads their recording", policy: gatingFilter, caller: user(customer, alice), action: authz.ReadAudio, target: customer, owner: owner(alice), allowed: true},
		{name: "gated user reads another's recording", policy: gatingFilter, caller: user(customer, alice), action: authz.ReadMetadata, target: customer, owner: owner(bob), reason: authz.NotOwner},
		{name: "gated user soft deletes another's recording", policy: gatingFilter, caller: user(customer, alice), action: authz.SoftDelete, target: customer, owner: owner(bob), reason: authz.NotOwner},
		{name: "gated user restores another's recording", policy: gatingFilter, caller: user(customer, alice), action: authz.Restore, target: customer, owner: owner(bob), reason: authz.NotOwner},
		{name: "gated user deletes another's recording", policy: gatingFilter, caller: user(customer, alice), action: authz.Delete, target: customer, owner: owner(bob), reason: authz.NotOwner},
		{name: "gated user reads an unowned recording", policy: gatingFilter, caller: user(customer, alice), action: authz.Read, target: customer, owner: owner(""), allowed: true},
		{name: "gated user: the route's check waits for the recording", policy: gatingFilter, caller: user(customer, alice), action: authz.Delete, target: customer, allowed: true},
		{name: "gated user, bulk route", policy: gatingFilter, caller: user(customer, alice), action: authz.Bulk, target: customer, allowed: true},
		{name: "gated user is still bound by the tree", policy: gatingFilter, caller: user(customer, alice), action: authz.List, target: sibling, reason: authz.OutsideReach},

		// Owner gating, reject mode and restrict_unowned.
		{name: "reject: account listing refused", policy: gatingReject, caller: user(customer, alice), action: authz.List, target: customer, reason: authz.AccountListingGated},
		{name: "reject: own path allowed", policy: gatingReject, caller: user(customer, alice), action: authz.List, target: customer, pathUser: alice, allowed: true, onlyOwner: alice},
		{name: "restrict_unowned: an unowned recording", policy: gatingRestrictd, caller: user(customer, alice), action: authz.Read, target: customer, owner: owner(""), reason: authz.NotOwner},
		{name: "restrict_unowned: own recording", policy: gatingRestrictd, caller: user(customer, alice), action: authz.Read, target: customer, owner: owner(alice), allowed: true},

		// Who owner gating leaves alone.
		{name: "gating: account admin lists everything", policy: gatingReject, caller: admin(customer, alice), action: authz.List, target: customer, allowed: true},
		{name: "gating: account admin reads another's recording", policy: gatingRestrictd, caller: admin(customer, alice), action: authz.Read, target: customer, owner: owner(bob), allowed: true},
		{name: "gating: account-level token", policy: gatingReject, caller: token(customer), action: authz.List, target: customer, allowed: true},
		{name: "gating: a user of a superduper account", policy: gatingReject, caller: user(root, alice), action: authz.Delete, target: customer, owner: owner(bob), allowed: true},
		{name: "gating off: a user reads another's recording", policy: kazoo, caller: user(customer, alice), action: authz.Read, target: customer, owner: owner(bob), allowed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.policy.Decide(authz.Request{Caller: tt.caller, Action: tt.action, Target: account(tt.target),
				PathUser: tt.pathUser, Owner: tt.owner})
			if d.Allowed != tt.allowed || d.Reason != tt.reason || d.OnlyOwner != tt.onlyOwner {
				t.Errorf("Decide = %+v, want allowed %v, reason %q, only owner %q", d, tt.allowed, tt.reason, tt.onlyOwner)
			}
			if !d.Allowed && d.Reason.Message() == string(d.Reason) {
				t.Errorf("reason %q has no message", d.Reason)
			}
		})
	}
}

// AccountOf reads Kazoo's fields, JSON numbers included, and both enable switches.
func TestAccountOf(t *testing.T) {
	a := authz.AccountOf(customer, recording.Doc{"pvt_tree": []any{root, reseller, 7}, "pvt_superduper_admin": true,
		"pvt_enabled": false, "pvt_trial_expires": float64(63900000000)})
	if !a.Exists || len(a.Tree) != 2 || a.Tree[1] != reseller || !a.SuperDuper || !a.Disabled || a.TrialExpires != 63900000000 {
		t.Errorf("AccountOf = %+v", a)
	}
	if a := authz.AccountOf(customer, recording.Doc{"enabled": false}); !a.Disabled {
		t.Errorf("enabled: false not read as disabled: %+v", a)
	}
	if a := authz.AccountOf(customer, recording.Doc{"pvt_enabled": true, "enabled": "false"}); a.Disabled {
		t.Errorf("only the boolean false disables: %+v", a)
	}
	if a := authz.AccountOf(missing, nil); a.Exists {
		t.Errorf("a missing account exists: %+v", a)
	}
}
