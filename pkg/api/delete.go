package api

import (
	"net/http"

	"github.com/recordingsd/recordingsd/pkg/crossbar"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// handleDelete serves DELETE /recordings/{id}. Hard by default (document and inline audio go
// now); ?should_soft_delete=true, or recordings.delete_default: kazoo_soft, marks it
// pvt_deleted as Kazoo does. Media on a storage provider is never touched.
func (s *server) handleDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := reqCtx(r)
		id, ok := recordingIDFromPath(r)
		if !ok {
			writeError(w, r, crossbar.BadIdentifier(id))
			return
		}
		soft := s.cfg.SoftDeleteByDefault
		switch r.URL.Query().Get("should_soft_delete") {
		case "true":
			soft = true
		case "false":
			soft = false
		case "":
		default:
			writeError(w, r, crossbar.ValidationError("should_soft_delete", "type", "should_soft_delete must be true or false", nil))
			return
		}
		doc, err := s.service.Delete(r.Context(), rc.accountID, id, soft, s.callerOf(r))
		if err != nil {
			s.fail(w, r, err, id)
			return
		}
		out := doc.Public()
		out["_read_only"].(map[string]any)["deleted"] = true
		writeData(w, r, crossbar.Envelope{Data: out, Revision: doc.Rev()})
	})
}

// callerOf is who the request acts as, for audit stamps.
func (s *server) callerOf(r *http.Request) recording.Caller {
	rc := reqCtx(r)
	c := recording.Caller{AccountID: rc.identity.AccountID, UserID: rc.identity.UserID, RequestID: rc.meta.RequestID}
	if rc.gatedUser != "" {
		c.MayChange = func(d recording.Doc) error { return s.mayTouch(rc, d) }
	}
	return c
}
