package recording

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. The HTTP layer maps each code to a status in exactly one place.
const (
	ENotFound    = "not_found"   // account, month database, document or attachment missing
	EConflict    = "conflict"    // stale revision; another writer got there first
	EInvalid     = "invalid"     // the request itself is wrong
	EForbidden   = "forbidden"   // the caller may not touch this document
	EUnavailable = "unavailable" // the datastore cannot be reached or timed out
	EInternal    = "internal"    // anything else; details only in the log
)

// EMalformedID marks an id that cannot be a recording id (Kazoo's "bad identifier").
const EMalformedID = "malformed_id"

// Error is the application error: a machine code and a message fit for a client.
type Error struct {
	Code    string
	Message string
	Err     error // underlying cause, for logs only
	// RetryAfter, when positive, says the same request should succeed after about this long
	// (an index being built): the HTTP layer sends it as Retry-After.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error with a formatted client message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap attaches a code and message to an underlying error.
func Wrap(code string, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, or EInternal.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the client-facing message of err, hiding internal details.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != EInternal {
		return e.Message
	}
	return "internal error"
}

// RetryAfter returns the retry hint of the first *Error in err's chain, 0 when there is none.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// IsNotFound reports whether err carries ENotFound.
func IsNotFound(err error) bool { return ErrorCode(err) == ENotFound }

// IsConflict reports whether err carries EConflict.
func IsConflict(err error) bool { return ErrorCode(err) == EConflict }
