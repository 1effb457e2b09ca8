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

// apiError maps an application error to its crossbar error: the only place where error codes
// become HTTP statuses. id names the thing the request was about.
func apiError(err error, id string) *crossbar.APIError {
	var fe *recording.FieldError
	if errors.As(err, &fe) {
		return crossbar.ValidationError(fe.Field, fe.Code, fe.Message, nil)
	}
	var ee *erasureError
	if errors.As(err, &ee) {
		return erasureFailed(ee, id)
	}
	var se *media.Error
	if errors.As(err, &se) {
		return storageError(se, id)
	}
	switch recording.ErrorCode(err) {
	case recording.ELocked:
		return onHold(err, id)
	case recording.EMalformedID:
		return crossbar.BadIdentifier(id)
	case recording.ENotFound:
		return crossbar.BadIdentifierCause(id)
	case recording.EConflict:
		return crossbar.Conflict()
	case recording.EForbidden:
		return crossbar.Forbidden()
	case recording.EUnavailable:
		if wait := recording.RetryAfter(err); wait > 0 {
			return crossbar.DatastoreBusy(recording.ErrorMessage(err), wait)
		}
		return crossbar.DatastoreUnreachable()
	default:
		return crossbar.Internal()
	}
}

// storageError maps a storage provider's failure. Reason is a fixed phrase (timeout,
// connection_failed, provider_status_404, …), never a URL or a key.
func storageError(se *media.Error, id string) *crossbar.APIError {
	switch se.Kind {
	case media.Unreachable:
		return &crossbar.APIError{Status: http.StatusBadGateway, Message: "storage_unreachable", Data: map[string]any{
			"message": "the storage provider holding this recording's audio failed", "details": id,
			"handler": se.Handler, "cause": se.Reason}}
	case media.Unsupported:
		return &crossbar.APIError{Status: http.StatusNotImplemented, Message: "storage_provider_unsupported", Data: map[string]any{
			"message": "the audio of this recording is on a storage provider this service does not read", "details": id,
			"handler": se.Handler}}
	default:
		return crossbar.Internal()
	}
}

// fail answers with the crossbar error for err and logs what the client does not see.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error, id string) {
	e := apiError(err, id)
	rc := reqCtx(r)
	if se := (*media.Error)(nil); errors.As(err, &se) {
		// Handler names come from documents: only the ones we read get a label of their own.
		handler, reason := se.Handler, se.Reason
		if _, known := s.cfg.Media[handler]; !known {
			handler = "other"
		}
		if se.Kind == media.Unsupported {
			reason = "unsupported_handler"
		}
		s.metrics.MediaError(handler, reason)
	}
	switch {
	case errors.Is(err, context.Canceled):
		s.log.Debug("client went away", zap.String("request_id", rc.meta.RequestID), zap.Error(err))
	case e.Status >= 500:
		s.log.Error("request failed", zap.String("request_id", rc.meta.RequestID),
			zap.String("account_id", rc.accountID), zap.Error(err))
	}
	writeError(w, r, e)
}

func errInvalidMethod() *crossbar.APIError { return crossbar.InvalidMethod() }

// handleNotFound answers paths outside the API surface.
func (s *server) handleNotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, crossbar.NotFound())
	})
}
