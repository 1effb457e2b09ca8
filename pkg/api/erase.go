package api

import (
	"context"
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/crossbar"
	"github.com/recordingsd/recordingsd/pkg/media"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// erasedObject is an object a DELETE ?purge_media=true removed from a storage provider,
// told without credentials.
type erasedObject struct {
	Attachment string `json:"attachment"`
	Handler    string `json:"handler"`
	Location   string `json:"location"`
}

// erasureError is a storage provider's refusal to delete one of a recording's objects: the
// document, which still says where every object is, stays.
type erasureError struct {
	attachment string
	handler    string
	erased     []erasedObject // objects deleted before the failure
	err        error          // a *media.Error
}

func (e *erasureError) Error() string { return "erasing " + e.attachment + ": " + e.err.Error() }
func (e *erasureError) Unwrap() error { return e.err }

// eraseMedia deletes each of the recording's objects on storage providers, in attachment
// order, stopping at the first failure. Deleting an object already gone succeeds, so a
// retried erasure completes what a failed one began.
func (s *server) eraseMedia(ctx context.Context, accountID, id string, doc recording.Doc) ([]erasedObject, error) {
	rc := requestContextFrom(ctx)
	var out []erasedObject
	for _, att := range doc.Attachments() {
		if !att.External {
			continue
		}
		src, ext, err := s.externalMedia(accountID, id, doc, att)
		where := ""
		if err == nil {
			where, err = src.Locate(ext)
		}
		if err == nil {
			err = src.Delete(ctx, ext)
		}
		if err != nil {
			return out, &erasureError{attachment: att.Name, handler: ext.Handler, erased: out, err: err}
		}
		s.log.Info("recording's media erased from its storage provider", zap.String("request_id", rc.meta.RequestID),
			zap.String("account_id", accountID), zap.String("recording_id", id), zap.String("attachment", att.Name),
			zap.String("handler", ext.Handler), zap.String("location", where))
		out = append(out, erasedObject{Attachment: att.Name, Handler: ext.Handler, Location: where})
	}
	return out, nil
}

// erasedList is the response's list of erased objects: empty, not null, when the recording
// had none on a provider.
func erasedList(objs []erasedObject) []erasedObject {
	if objs == nil {
		return []erasedObject{}
	}
	return objs
}

// erasureFailed is the answer to a refused erasure: 502 when the provider failed, 501 when
// no configured provider reads the handler. Reason is a fixed phrase, never a URL or a key.
func erasureFailed(e *erasureError, id string) *crossbar.APIError {
	status, reason := http.StatusBadGateway, "request_failed"
	var se *media.Error
	if errors.As(e.err, &se) {
		reason = se.Reason
		if se.Kind == media.Unsupported {
			status = http.StatusNotImplemented
		}
	}
	return &crossbar.APIError{Status: status, Message: "media_erasure_failed", Data: map[string]any{
		"message": "a storage provider did not delete this recording's audio: the recording was kept",
		"details": id, "attachment": e.attachment, "handler": e.handler, "cause": reason,
		"erased_media": erasedList(e.erased)}}
}
