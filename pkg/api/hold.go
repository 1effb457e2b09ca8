package api

import (
	"errors"
	"net/http"

	"github.com/recordingsd/recordingsd/pkg/authz"
	"github.com/recordingsd/recordingsd/pkg/crossbar"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// onHold is 423 for a recording on legal hold, with the hold's reason and time: Kazoo's
// "locked", which its clients already handle for expired accounts.
func onHold(err error, id string) *crossbar.APIError {
	hold := map[string]any{"message": "the recording is on legal hold", "details": id}
	var he *recording.HeldError
	if errors.As(err, &he) {
		hold["reason"] = he.Hold.Reason
		hold["held_at"] = he.Hold.HeldAt
	}
	return &crossbar.APIError{Status: http.StatusLocked, Message: "locked", Data: map[string]any{"legal_hold": hold}}
}

// mayManageHold asks the policy whether the caller may set or release legal holds on the
// account: account administrators and system tokens only, never owner-gated users.
func (s *server) mayManageHold(r *http.Request) *crossbar.APIError {
	rc := reqCtx(r)
	pathUser, _ := pathVar(r, "user_id")
	d := s.policy.Decide(authz.Request{Caller: rc.caller, Action: authz.ManageLegalHold,
		Target: authz.AccountOf(rc.accountID, rc.account), PathUser: pathUser})
	if !d.Allowed {
		return refusal(d.Reason, rc.caller.Account)
	}
	return nil
}
