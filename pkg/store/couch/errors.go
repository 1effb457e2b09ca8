package couch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	kivik "github.com/go-kivik/kivik/v4"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// couchError is the one place where CouchDB and network failures become recording errors.
// what names the object for the client ("recording 202401-…"); where names the database
// (or path) for the log only.
func couchError(err error, what, where string) error {
	if err == nil {
		return nil
	}
	var already *recording.Error
	if errors.As(err, &already) {
		return err
	}
	cause := fmt.Errorf("%s in %s: %w", what, where, err)
	switch code := errorCode(err); code {
	case recording.ENotFound:
		return recording.Wrap(code, cause, "%s not found", what)
	case recording.EConflict:
		return recording.Wrap(code, cause, "%s: document update conflict", what)
	case recording.EUnavailable:
		return recording.Wrap(code, cause, "datastore unreachable")
	default:
		return recording.Wrap(recording.EInternal, cause, "datastore error")
	}
}

func errorCode(err error) string {
	// A timeout or a cancelled caller is not a bug of ours or of the server's data.
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return recording.EUnavailable
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return recording.EUnavailable
	}
	switch kivik.HTTPStatus(err) {
	case http.StatusNotFound:
		return recording.ENotFound
	case http.StatusConflict:
		return recording.EConflict
	// kivik reports transport failures as 502. A server refusing our credentials is equally
	// unusable until an operator fixes the configuration: 503, with the cause in the log.
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout,
		http.StatusUnauthorized, http.StatusForbidden:
		return recording.EUnavailable
	}
	return recording.EInternal
}

func isStatus(err error, status int) bool {
	return err != nil && kivik.HTTPStatus(err) == status
}
