// Package authz decides who may do what: for an identity, an action and a target account (and
// recording), whether the request is allowed and, if not, why. It is the only place such rules
// live; the HTTP layer asks it and maps its reasons to status codes. No HTTP here, no store:
// callers load the documents and pass what the rules read.
//
// The rules, in the order they are applied:
//
//  1. A system token (all_accounts) may do everything, on every account.
//  2. The caller's own account must exist, its trial must not be over (423), and it must not
//     be disabled (unless disabled accounts are allowed).
//  3. Reach: the caller's own account, the accounts below it (their pvt_tree holds it), or
//     every account when the caller's account is a superduper admin (Kazoo's cb_simple_authz).
//  4. The target account must not be disabled (unless allowed).
//  5. Actions for administrators (legal holds, the access trail, webhooks) need an account
//     admin or a superduper admin.
//  6. Owner gating (when on): a user who is not an account admin, of an account that is not
//     superduper, sees and changes only the recordings they own.
package authz

import (
	"slices"
	"time"

	"github.com/recordingsd/recordingsd/pkg/auth"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Action is what a request does.
type Action string

// The actions of the API. A route declares one; a handler may ask again with a finer one once
// it knows the recording (ReadAudio or ReadMetadata, SoftDelete or Restore).
const (
	List         Action = "list"
	Read         Action = "read" // GET or HEAD of one recording, metadata or audio
	ReadMetadata Action = "read_metadata"
	ReadAudio    Action = "read_audio"
	Update       Action = "update" // PATCH of one recording: soft delete or restore
	SoftDelete   Action = "soft_delete"
	Restore      Action = "restore"
	Delete       Action = "delete"
	Bulk         Action = "bulk" // the collection PATCH; each recording is then asked for alone

	ManageWebhooks  Action = "manage_webhooks"
	ManageLegalHold Action = "manage_legal_hold"
	ReadAudit       Action = "read_audit"
	Export          Action = "export"
)

// adminActions need an account administrator (or a superduper admin, or a system token).
var adminActions = map[Action]bool{ManageWebhooks: true, ManageLegalHold: true, ReadAudit: true}

// recordingActions are decided per recording by owner gating.
var recordingActions = map[Action]bool{
	Read: true, ReadMetadata: true, ReadAudio: true, Update: true, SoftDelete: true,
	Restore: true, Delete: true,
}

// listingActions read many recordings; owner gating narrows them to the caller's own.
var listingActions = map[Action]bool{List: true, Export: true}

// Account is what the rules read of a Kazoo account document.
type Account struct {
	ID           string
	Exists       bool
	Tree         []string // pvt_tree: ancestors, root first; the account itself is not in it
	SuperDuper   bool     // pvt_superduper_admin
	Disabled     bool     // pvt_enabled or enabled is false
	TrialExpires int64    // pvt_trial_expires, gregorian seconds; 0: no trial
}

// AccountOf reads an account document (nil when it does not exist).
func AccountOf(id string, doc recording.Doc) Account {
	a := Account{ID: id, Exists: doc != nil}
	if doc == nil {
		return a
	}
	tree, _ := doc["pvt_tree"].([]any)
	for _, t := range tree {
		if s, ok := t.(string); ok {
			a.Tree = append(a.Tree, s)
		}
	}
	a.SuperDuper = doc.Bool("pvt_superduper_admin")
	a.Disabled = doc["pvt_enabled"] == false || doc["enabled"] == false
	a.TrialExpires, _ = doc.Int("pvt_trial_expires")
	return a
}

// Below reports whether the account sits below ancestor (ancestor is in its pvt_tree).
func (a Account) Below(ancestor string) bool { return slices.Contains(a.Tree, ancestor) }

// Caller is an authenticated identity with its own account.
type Caller struct {
	auth.Identity
	Account Account // the identity's account; unused for system tokens
}

// Request is one question to the policy.
type Request struct {
	Caller Caller
	Action Action
	Target Account // the account of the path
	// PathUser is the user of a /users/{user_id}/… path ("" for account paths).
	PathUser string
	// Owner is the recording's owner, for recording actions once the recording is known;
	// nil while it is not (the route's check).
	Owner *string
}

// Reason says why a request is refused.
type Reason string

// The reasons; Message gives each its sentence.
const (
	CallerAccountUnknown Reason = "caller_account_unknown"
	TrialExpired         Reason = "account_expired"
	CallerDisabled       Reason = "caller_account_disabled"
	OutsideReach         Reason = "account_outside_reach"
	TargetDisabled       Reason = "account_disabled"
	NotAccountAdmin      Reason = "not_account_admin"
	OtherUsersListing    Reason = "other_users_recordings"
	AccountListingGated  Reason = "listing_needs_user_path"
	NotOwner             Reason = "recording_of_another_user"
)

// Message is the reason in words, for the error envelope and the log.
func (r Reason) Message() string {
	switch r {
	case CallerAccountUnknown:
		return "the credentials' account does not exist"
	case TrialExpired:
		return "account expired"
	case CallerDisabled:
		return "the credentials' account is disabled"
	case OutsideReach:
		return "the account is neither the credentials' account nor below it"
	case TargetDisabled:
		return "the account is disabled"
	case NotAccountAdmin:
		return "only account administrators may do this"
	case OtherUsersListing:
		return "users may list only their own recordings"
	case AccountListingGated:
		return "users list their recordings under /users/{their user id}/recordings"
	case NotOwner:
		return "the recording belongs to another user"
	}
	return string(r)
}

// Decision is the policy's answer.
type Decision struct {
	Allowed bool
	Reason  Reason // why not, when not allowed
	// OnlyOwner narrows an allowed listing to this owner's recordings (owner gating).
	OnlyOwner string
}

// OwnerGating is the cloudpbx/openkazoo owner rule.
type OwnerGating struct {
	Enabled bool
	// RestrictUnowned also keeps recordings without an owner from gated users.
	RestrictUnowned bool
	// Reject refuses an account-wide listing to gated users instead of narrowing it.
	Reject bool
}

// Policy holds the deployment's choices; its zero value is Kazoo's rules with disabled
// accounts refused and no owner gating.
type Policy struct {
	// AllowDisabledAccounts lets requests act on, or come from, disabled accounts (Kazoo
	// checks pvt_enabled only at password login).
	AllowDisabledAccounts bool
	OwnerGating           OwnerGating
	Now                   func() time.Time
}

// Decide answers one request.
func (p Policy) Decide(q Request) Decision {
	c := q.Caller
	if c.AllAccounts {
		return allow()
	}
	if why, ok := p.callerMayAct(c); !ok {
		return deny(why)
	}
	if !reaches(c, q.Target) {
		return deny(OutsideReach)
	}
	if q.Target.Disabled && !p.AllowDisabledAccounts {
		return deny(TargetDisabled)
	}
	if adminActions[q.Action] && !isAdmin(c) {
		return deny(NotAccountAdmin)
	}
	if !p.gates(c) {
		return allow()
	}
	return p.gated(c, q)
}

// callerMayAct checks the caller's own account.
func (p Policy) callerMayAct(c Caller) (Reason, bool) {
	switch {
	case !c.Account.Exists || c.Account.ID != c.AccountID:
		return CallerAccountUnknown, false
	case c.Account.TrialExpires > 0 && c.Account.TrialExpires <= recording.ToGregorian(p.now()):
		return TrialExpired, false
	case c.Account.Disabled && !p.AllowDisabledAccounts:
		return CallerDisabled, false
	}
	return "", true
}

// reaches is Kazoo's tree rule: own account, a descendant, or anything for a superduper admin.
func reaches(c Caller, target Account) bool {
	return c.Account.SuperDuper || target.ID == c.AccountID || slices.Contains(target.Tree, c.AccountID)
}

// isAdmin: an account administrator, or a superduper admin account's credentials.
func isAdmin(c Caller) bool { return c.AccountAdmin || c.Account.SuperDuper }

// gates reports whether owner gating narrows this caller: a user, not an administrator.
func (p Policy) gates(c Caller) bool {
	return p.OwnerGating.Enabled && c.UserID != "" && !isAdmin(c)
}

// gated applies owner gating to a caller it narrows.
func (p Policy) gated(c Caller, q Request) Decision {
	switch {
	case listingActions[q.Action] && q.PathUser != "" && q.PathUser != c.UserID:
		return deny(OtherUsersListing)
	case listingActions[q.Action] && q.PathUser == "" && p.OwnerGating.Reject:
		return deny(AccountListingGated)
	case listingActions[q.Action]:
		return Decision{Allowed: true, OnlyOwner: c.UserID}
	case recordingActions[q.Action] && q.Owner != nil:
		owner := *q.Owner
		if owner == c.UserID || (owner == "" && !p.OwnerGating.RestrictUnowned) {
			return allow()
		}
		return deny(NotOwner)
	}
	return allow() // the route's check; each recording is asked again
}

func (p Policy) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func allow() Decision          { return Decision{Allowed: true} }
func deny(why Reason) Decision { return Decision{Reason: why} }
