package api

import (
	"context"
	"net/http"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/authz"
	"github.com/recordingsd/recordingsd/pkg/crossbar"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// handleDelete serves DELETE /recordings/{id}. Hard by default (document and inline audio go
// now); ?should_soft_delete=true, or recordings.delete_default: kazoo_soft, marks it
// pvt_deleted as Kazoo does. Media on a storage provider stays, as in Kazoo: the response
// names it (_read_only.external_media_retained) and the log says where it is. With
// ?purge_media=true it goes first (erasure): the document is removed only once every object
// is gone, and _read_only.erased_media says what was erased where. A recording on legal hold
// answers 423.
func (s *server) handleDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := reqCtx(r)
		id, ok := recordingIDFromPath(r)
		if !ok {
			writeError(w, r, crossbar.BadIdentifier(id))
			return
		}
		soft, explicit, apiErr := boolParam(r.URL.Query(), "should_soft_delete", s.cfg.SoftDeleteByDefault)
		if apiErr != nil {
			writeError(w, r, apiErr)
			return
		}
		purgeMedia, _, apiErr := boolParam(r.URL.Query(), "purge_media", false)
		if apiErr != nil {
			writeError(w, r, apiErr)
			return
		}
		mode := recording.DeleteMode{Soft: soft}
		var erased []erasedObject
		if purgeMedia {
			if soft && explicit {
				writeError(w, r, crossbar.ValidationError("purge_media", "conflict", "purge_media erases: it cannot go with should_soft_delete=true", nil))
				return
			}
			mode.Soft, soft = false, false // erasure is a hard delete, whatever the default
			mode.BeforeRemove = func(ctx context.Context, doc recording.Doc) (err error) {
				erased, err = s.eraseMedia(ctx, rc.accountID, id, doc)
				return err
			}
		}
		doc, err := s.service.Delete(r.Context(), rc.accountID, id, mode, s.callerOf(r, authz.Delete))
		if err != nil {
			s.fail(w, r, err, id)
			return
		}
		out := doc.Public()
		readOnly := out["_read_only"].(map[string]any)
		readOnly["deleted"] = true
		if purgeMedia {
			readOnly["erased_media"] = erasedList(erased)
		} else if retained := s.noteRetainedMedia(r, id, doc, soft); len(retained) > 0 {
			readOnly["external_media_retained"] = retained
		}
		writeData(w, r, crossbar.Envelope{Data: out, Revision: doc.Rev()})
	})
}

// noteRetainedMedia lists the recording's media on storage providers and logs where each one
// is (no credentials: Locate leaves them out).
func (s *server) noteRetainedMedia(r *http.Request, id string, doc recording.Doc, soft bool) []string {
	rc := reqCtx(r)
	var names []string
	for _, att := range doc.Attachments() {
		if !att.External {
			continue
		}
		names = append(names, att.Name)
		fields := []zap.Field{zap.String("request_id", rc.meta.RequestID), zap.String("account_id", rc.accountID),
			zap.String("recording_id", id), zap.String("attachment", att.Name), zap.Bool("soft", soft)}
		src, ext, err := s.externalMedia(rc.accountID, id, doc, att)
		if err == nil {
			var where string
			if where, err = src.Locate(ext); err == nil {
				fields = append(fields, zap.String("location", where))
			}
		}
		fields = append(fields, zap.String("handler", ext.Handler))
		if err != nil {
			fields = append(fields, zap.NamedError("location_error", err))
		}
		s.log.Info("recording deleted, its media on a storage provider retained", fields...)
	}
	return names
}

// callerOf is who the request acts as, for audit stamps; the service asks the policy about
// each document it is about to change, as read inside its retries.
func (s *server) callerOf(r *http.Request, action authz.Action) recording.Caller {
	rc := reqCtx(r)
	id := rc.caller.Identity
	return recording.Caller{AccountID: id.AccountID, UserID: id.UserID, RequestID: rc.meta.RequestID,
		MayChange: func(d recording.Doc) error { return s.mayTouch(rc, action, d) }}
}
