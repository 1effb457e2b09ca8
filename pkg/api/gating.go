package api

import (
	"net/http"

	"github.com/recordingsd/recordingsd/pkg/crossbar"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// gateOwners decides whether owner gating applies to this caller: gating is on, the caller
// speaks for a user, is not an admin token, its account is not superduper admin, and the
// user's priv_level is not "admin".
func (s *server) gateOwners(next http.Handler) http.Handler {
	if !s.cfg.OwnerGating.Enabled {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := reqCtx(r)
		id := rc.identity
		if id.UserID == "" || id.Admin {
			next.ServeHTTP(w, r)
			return
		}
		own, err := s.accounts.get(r.Context(), id.AccountID)
		if err != nil && !recording.IsNotFound(err) {
			s.fail(w, r, err, "")
			return
		}
		if own.Bool("pvt_superduper_admin") {
			next.ServeHTTP(w, r)
			return
		}
		user, err := s.store.User(r.Context(), id.AccountID, id.UserID)
		switch {
		case recording.IsNotFound(err):
			// a user that no longer exists is no admin
		case err != nil:
			s.fail(w, r, err, "")
			return
		}
		if user.String("priv_level") != "admin" {
			rc.gatedUser = id.UserID
		}
		next.ServeHTTP(w, r)
	})
}

// ownerOf is the recording's owner: owner_id (the field the owner index uses), else the
// owner the media server put into the channel variables.
func ownerOf(d recording.Doc) string {
	if o := d.String("owner_id"); o != "" {
		return o
	}
	ccv, _ := d["custom_channel_vars"].(map[string]any)
	for _, k := range []string{"owner_id", "Owner-ID"} {
		if o, _ := ccv[k].(string); o != "" {
			return o
		}
	}
	return ""
}

// mayTouch applies owner gating to one recording (EForbidden to refuse).
func (s *server) mayTouch(rc *requestContext, d recording.Doc) error {
	if rc.gatedUser == "" {
		return nil
	}
	owner := ownerOf(d)
	if owner == rc.gatedUser || (owner == "" && !s.cfg.OwnerGating.RestrictUnowned) {
		return nil
	}
	return recording.Errorf(recording.EForbidden, "recording %s belongs to another user", d.ID())
}

// gateListing narrows or refuses a listing for a gated caller; false means it answered.
func (s *server) gateListing(w http.ResponseWriter, r *http.Request, p *listParams) bool {
	rc := reqCtx(r)
	if rc.gatedUser == "" {
		return true
	}
	switch {
	case rc.userID != "" && rc.userID != rc.gatedUser:
		writeError(w, r, crossbar.Forbidden())
		return false
	case rc.userID == "" && s.cfg.OwnerGating.Reject:
		writeError(w, r, crossbar.Forbidden())
		return false
	}
	p.req.Owner = rc.gatedUser
	return true
}
