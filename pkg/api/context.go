package api

import (
	"context"
	"net/http"

	"github.com/recordingsd/recordingsd/pkg/authz"
	"github.com/recordingsd/recordingsd/pkg/crossbar"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// requestContext is what the middleware learns about a request, shared with handlers.
type requestContext struct {
	meta      crossbar.Meta
	caller    authz.Caller // the identity, then its own account once authorized
	accountID string
	account   recording.Doc
	userID    string // from /users/{user_id}/…
	onlyOwner string // owner gating: a listing shows this owner's recordings only
	status    int    // for the access log
	bytes     int64
	route     string
}

type ctxKey struct{}

func withRequestContext(ctx context.Context, rc *requestContext) context.Context {
	return context.WithValue(ctx, ctxKey{}, rc)
}

// requestContextFrom never returns nil, so handlers need no checks.
func requestContextFrom(ctx context.Context) *requestContext {
	if rc, ok := ctx.Value(ctxKey{}).(*requestContext); ok {
		return rc
	}
	return &requestContext{}
}

func reqCtx(r *http.Request) *requestContext { return requestContextFrom(r.Context()) }

// writeError answers with a crossbar error envelope.
func writeError(w http.ResponseWriter, r *http.Request, e *crossbar.APIError) {
	crossbar.WriteError(w, reqCtx(r).meta, e)
}

// writeData answers 200 with a crossbar success envelope.
func writeData(w http.ResponseWriter, r *http.Request, e crossbar.Envelope) {
	crossbar.WriteSuccess(w, http.StatusOK, reqCtx(r).meta, e)
}
