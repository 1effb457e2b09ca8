package api

import (
	"context"
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/crossbar"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// apiError maps an application error to its crossbar error: the only place where error codes
// become HTTP statuses. id names the thing the request was about.
func apiError(err error, id string) *crossbar.APIError {
	var fe *recording.FieldError
	if errors.As(err, &fe) {
		return crossbar.ValidationError(fe.Field, fe.Code, fe.Message, nil)
	}
	switch recording.ErrorCode(err) {
	case recording.EMalformedID:
		return crossbar.BadIdentifier(id)
	case recording.ENotFound:
		return crossbar.BadIdentifierCause(id)
	case recording.EConflict:
		return crossbar.Conflict()
	case recording.EForbidden:
		return crossbar.Forbidden()
	case recording.EUnavailable:
		return crossbar.DatastoreUnreachable()
	default:
		return crossbar.Internal()
	}
}

// fail answers with the crossbar error for err and logs what the client does not see.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error, id string) {
	e := apiError(err, id)
	rc := reqCtx(r)
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
