package crossbar

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"time"
)

// APIError is one Kazoo error response: the HTTP status, the envelope's message and its data.
type APIError struct {
	Status  int
	Message string
	Data    any
	// RetryAfter, when positive, is sent as the Retry-After header (whole seconds, rounded up).
	RetryAfter time.Duration
}

// Error renders the whole response body's gist, data included, for logs.
func (e *APIError) Error() string {
	if data, err := json.Marshal(e.Data); err == nil && e.Data != nil {
		return fmt.Sprintf("%d %s %s", e.Status, e.Message, data)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Message)
}

// systemError is the shape of Kazoo's cb_context:add_system_error: message is the error's
// name, data a {"message": text} object plus any extra keys.
func systemError(status int, name, text string, extra map[string]any) *APIError {
	data := make(map[string]any, len(extra)+1)
	for k, v := range extra {
		data[k] = v
	}
	data["message"] = text
	return &APIError{Status: status, Message: name, Data: data}
}

// BadIdentifier is crossbar_util's answer to a malformed id: 404 "bad identifier", data ["<id>"].
func BadIdentifier(id string) *APIError {
	return &APIError{Status: http.StatusNotFound, Message: "bad identifier", Data: []string{id}}
}

// BadIdentifierCause answers a well-formed id whose account, user or recording does not
// exist (or is deleted): 404 "bad_identifier", data {"cause": id, "message": "bad identifier"}.
func BadIdentifierCause(id string) *APIError {
	return systemError(http.StatusNotFound, "bad_identifier", "bad identifier", map[string]any{"cause": id})
}

// NoAttachment answers a request for the audio of a recording that has none:
// 404 "bad_identifier", data {"details": id, "message": "bad identifier"}.
func NoAttachment(id string) *APIError {
	return systemError(http.StatusNotFound, "bad_identifier", "bad identifier", map[string]any{"details": id})
}

// InvalidCredentials is 401: no token, or one that is unknown or expired.
func InvalidCredentials() *APIError {
	return systemError(http.StatusUnauthorized, "invalid_credentials", "invalid credentials", nil)
}

// Forbidden is 403: the credentials are good but do not reach this account or recording.
func Forbidden() *APIError {
	return systemError(http.StatusForbidden, "forbidden", "forbidden", nil)
}

// ForbiddenBecause is 403 with the reason, in the shape Kazoo's token restrictions use:
// data {"cause": cause, "message": "forbidden"}.
func ForbiddenBecause(cause string) *APIError {
	return systemError(http.StatusForbidden, "forbidden", "forbidden", map[string]any{"cause": cause})
}

// AccountExpired is Kazoo's 423 for an account whose trial is over; expiredAt is its
// pvt_trial_expires (gregorian seconds).
func AccountExpired(expiredAt int64) *APIError {
	return &APIError{Status: http.StatusLocked, Message: "locked", Data: map[string]any{
		"account": map[string]any{"expired": map[string]any{"message": "account expired", "cause": expiredAt}},
	}}
}

// InvalidMethod is 405. Kazoo sends no Allow header with it.
func InvalidMethod() *APIError {
	return systemError(http.StatusMethodNotAllowed, "invalid_method", "method not allowed", nil)
}

// NotAcceptable is 406: no representation matches the Accept header; detail says which.
func NotAcceptable(detail string) *APIError {
	var extra map[string]any
	if detail != "" {
		extra = map[string]any{"details": detail}
	}
	return systemError(http.StatusNotAcceptable, "not_acceptable", "not acceptable", extra)
}

// Conflict is 409: the document changed under us.
func Conflict() *APIError {
	return systemError(http.StatusConflict, "datastore_conflict", "conflicting documents", nil)
}

// PayloadTooLarge is 413: the request body is longer than limit bytes.
func PayloadTooLarge(limit int64) *APIError {
	return systemError(http.StatusRequestEntityTooLarge, "payload_too_large", "payload too large",
		map[string]any{"limit": limit})
}

// RangeNotSatisfiable is 416: the Range header starts beyond an attachment of size bytes.
func RangeNotSatisfiable(size int64) *APIError {
	return systemError(http.StatusRequestedRangeNotSatisfiable, "range_not_satisfiable", "range not satisfiable",
		map[string]any{"size": size})
}

// DatastoreUnreachable is 503: the datastore did not answer.
func DatastoreUnreachable() *APIError {
	return systemError(http.StatusServiceUnavailable, "datastore_unreachable", "datastore unreachable", nil)
}

// DatastoreBusy is 503 for a datastore that answers but cannot serve this request yet (an
// index being built); text says what is going on, retryAfter when to come back.
func DatastoreBusy(text string, retryAfter time.Duration) *APIError {
	e := systemError(http.StatusServiceUnavailable, "datastore_busy", text,
		map[string]any{"retry_after": retryAfterSeconds(retryAfter)})
	e.RetryAfter = retryAfter
	return e
}

// retryAfterSeconds is a Retry-After value: whole seconds, rounded up, at least 1.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// Internal is 500. It never carries details: those belong in the log, not the response.
func Internal() *APIError {
	return systemError(http.StatusInternalServerError, "internal_error", "internal error", nil)
}

// NotFound is 404 for a path that names nothing.
func NotFound() *APIError {
	return systemError(http.StatusNotFound, "not_found", "not found", nil)
}

// InvalidJSON is 400 for a body that is not the JSON object expected; detail is the
// decoder's complaint and where it happened.
func InvalidJSON(detail string) *APIError {
	return &APIError{
		Status:  http.StatusBadRequest,
		Message: "invalid JSON in request body",
		Data: map[string]any{"json": map[string]any{"invalid": map[string]any{
			"message": detail,
			"target":  "body",
		}}},
	}
}

// ValidationError is 400 "validation error" for one field:
// data {"<field>": {"<code>": {"message": message, ...extra}}}.
func ValidationError(field, code, message string, extra map[string]any) *APIError {
	return Validation().Add(field, code, message, extra).Err()
}

// BadRequest is ValidationError without extra keys.
func BadRequest(field, code, message string) *APIError {
	return ValidationError(field, code, message, nil)
}

// ValidationErrors collects the failures of one request, so a client learns about every
// bad field at once, as Kazoo's schema validation reports them.
type ValidationErrors struct {
	failures []validationFailure
}

type validationFailure struct {
	field, code, message string
	extra                map[string]any
}

// Validation starts an empty collection.
func Validation() *ValidationErrors { return &ValidationErrors{} }

// Add records that field failed the check named code. A field may fail several codes;
// adding the same field and code again replaces the earlier entry.
func (v *ValidationErrors) Add(field, code, message string, extra map[string]any) *ValidationErrors {
	v.failures = append(v.failures, validationFailure{field, code, message, extra})
	return v
}

// Empty reports whether nothing failed.
func (v *ValidationErrors) Empty() bool { return len(v.failures) == 0 }

// Err is the 400 response for the failures so far, or nil when there are none.
// Each call builds fresh data, so later Adds do not change an error already returned.
func (v *ValidationErrors) Err() *APIError {
	if v.Empty() {
		return nil
	}
	data := map[string]any{}
	for _, f := range v.failures {
		codes, _ := data[f.field].(map[string]any)
		if codes == nil {
			codes = map[string]any{}
			data[f.field] = codes
		}
		detail := make(map[string]any, len(f.extra)+1)
		for k, x := range f.extra {
			detail[k] = x
		}
		detail["message"] = f.message
		codes[f.code] = detail
	}
	return &APIError{Status: http.StatusBadRequest, Message: "validation error", Data: data}
}
