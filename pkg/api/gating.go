package api

import (
	"net/http"

	"github.com/recordingsd/recordingsd/pkg/authz"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// mayTouch asks the policy about one recording the request has read (EForbidden to refuse).
func (s *server) mayTouch(rc *requestContext, action authz.Action, d recording.Doc) error {
	owner := d.Owner()
	decision := s.policy.Decide(authz.Request{Caller: rc.caller, Action: action,
		Target: authz.AccountOf(rc.accountID, rc.account), PathUser: rc.userID, Owner: &owner})
	if decision.Allowed {
		return nil
	}
	return recording.Errorf(recording.EForbidden, "recording %s: %s", d.ID(), decision.Reason.Message())
}

// gateListing narrows a listing to the owner the policy allowed (owner gating).
func gateListing(r *http.Request, p *listParams) {
	if owner := reqCtx(r).onlyOwner; owner != "" {
		p.req.Owner = owner
	}
}
