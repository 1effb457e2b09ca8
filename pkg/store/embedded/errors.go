package embedded

import (
	"context"
	"errors"
	"fmt"

	berrors "go.etcd.io/bbolt/errors"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// storeError is the one place where bbolt and file failures become recording errors, with
// the codes and client messages the CouchDB backend uses. Errors that already carry a code
// pass through.
func (s *Store) storeError(err error, what string) error {
	if err == nil {
		return nil
	}
	var already *recording.Error
	if errors.As(err, &already) {
		return err
	}
	cause := fmt.Errorf("%s in %s: %w", what, s.path, err)
	if errors.Is(err, berrors.ErrDatabaseNotOpen) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return unavailable(cause)
	}
	return recording.Wrap(recording.EInternal, cause, "datastore error")
}

func unavailable(cause error) error {
	return recording.Wrap(recording.EUnavailable, cause, "datastore unreachable")
}

func notFound(what string) error {
	return recording.Errorf(recording.ENotFound, "%s not found", what)
}

func conflict(what string) error {
	return recording.Errorf(recording.EConflict, "%s: document update conflict", what)
}

func invalid(format string, args ...any) error {
	return recording.Errorf(recording.EInvalid, format, args...)
}

// orNotFound is err, or ENotFound for what when there is no error but nothing was found.
func orNotFound(err error, what string) error {
	if err != nil {
		return err
	}
	return notFound(what)
}
