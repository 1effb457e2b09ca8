package crossbar

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestErrorShapes lists every error this package makes, as the client sees it:
// the HTTP status, the envelope's message and its data.
func TestErrorShapes(t *testing.T) {
	tests := []struct {
		err         *APIError
		wantStatus  int
		wantMessage string
		wantData    string
	}{
		{BadIdentifier("foo"), 404, "bad identifier", `["foo"]`},
		{BadIdentifierCause("202005-abc"), 404, "bad_identifier", `{"cause":"202005-abc","message":"bad identifier"}`},
		{NoAttachment("202005-abc"), 404, "bad_identifier", `{"details":"202005-abc","message":"bad identifier"}`},
		{InvalidCredentials(), 401, "invalid_credentials", `{"message":"invalid credentials"}`},
		{Forbidden(), 403, "forbidden", `{"message":"forbidden"}`},
		{InvalidMethod(), 405, "invalid_method", `{"message":"method not allowed"}`},
		{NotAcceptable("text/html"), 406, "not_acceptable", `{"details":"text/html","message":"not acceptable"}`},
		{NotAcceptable(""), 406, "not_acceptable", `{"message":"not acceptable"}`},
		{Conflict(), 409, "datastore_conflict", `{"message":"conflicting documents"}`},
		{PayloadTooLarge(1024), 413, "payload_too_large", `{"limit":1024,"message":"payload too large"}`},
		{RangeNotSatisfiable(5000), 416, "range_not_satisfiable", `{"message":"range not satisfiable","size":5000}`},
		{DatastoreUnreachable(), 503, "datastore_unreachable", `{"message":"datastore unreachable"}`},
		{DatastoreBusy("the listing index of 2024-02 is being built", 1500*time.Millisecond), 503, "datastore_busy",
			`{"message":"the listing index of 2024-02 is being built","retry_after":2}`},
		{Internal(), 500, "internal_error", `{"message":"internal error"}`},
		{NotFound(), 404, "not_found", `{"message":"not found"}`},
		{InvalidJSON("invalid character 'x' around byte 3"), 400, "invalid JSON in request body",
			`{"json":{"invalid":{"message":"invalid character 'x' around byte 3","target":"body"}}}`},
		{ValidationError("created_from", "date_range", "created_to 2 is prior to created_from 3", map[string]any{"cause": 3}),
			400, "validation error", `{"created_from":{"date_range":{"cause":3,"message":"created_to 2 is prior to created_from 3"}}}`},
		{ValidationError("f", "c", "the message wins", map[string]any{"message": "extra loses"}),
			400, "validation error", `{"f":{"c":{"message":"the message wins"}}}`},
		{BadRequest("page_size", "minimum", "page size must be at least 1"),
			400, "validation error", `{"page_size":{"minimum":{"message":"page size must be at least 1"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.err.Message, func(t *testing.T) {
			data, err := json.Marshal(tt.err.Data)
			if err != nil {
				t.Fatal(err)
			}
			if tt.err.Status != tt.wantStatus || tt.err.Message != tt.wantMessage || string(data) != tt.wantData ||
				tt.err.Error() != fmt.Sprintf("%d %s %s", tt.wantStatus, tt.wantMessage, tt.wantData) {
				t.Errorf("got %d %q %s\nwant %d %q %s", tt.err.Status, tt.err.Message, data, tt.wantStatus, tt.wantMessage, tt.wantData)
			}
		})
	}
}

func TestValidationCollectsEveryFailure(t *testing.T) {
	v := Validation()
	if !v.Empty() || v.Err() != nil {
		t.Fatal("a new collection must be empty, with no error")
	}
	v.Add("recordings", "minimum", "minimum 1 recording required", nil).
		Add("soft_delete", "type", "soft_delete must be an object", nil).
		Add("recordings", "uniqueItems", "first try", nil).
		Add("recordings", "uniqueItems", "some recordings appear twice", map[string]any{"value": []any{"a", "a"}})
	err := v.Err()
	first, _ := json.Marshal(err.Data)

	v.Add("later", "required", "added after Err", nil)
	again, _ := json.Marshal(err.Data)

	want := `{"recordings":{"minimum":{"message":"minimum 1 recording required"},"uniqueItems":{"message":"some recordings appear twice","value":["a","a"]}},"soft_delete":{"type":{"message":"soft_delete must be an object"}}}`
	if string(first) != want {
		t.Errorf("data\n got %s\nwant %s", first, want)
	}
	if string(again) != want {
		t.Errorf("an Add after Err changed the returned error: %s", again)
	}
	if err.Status != 400 || err.Message != "validation error" || !strings.HasPrefix(err.Error(), "400 validation error {\"recordings\":") {
		t.Errorf("got %d %q %q", err.Status, err.Message, err.Error())
	}
}

func TestAPIErrorWithoutData(t *testing.T) {
	if got := (&APIError{Status: 418, Message: "teapot"}).Error(); got != "418 teapot" {
		t.Errorf("Error() = %q", got)
	}
}
