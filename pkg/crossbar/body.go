package crossbar

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
)

// DecodeRequest reads a request envelope {"data": {...}, ...} of at most limit bytes.
// It returns the data object and the whole envelope (Kazoo also reads request values
// from the top level); numbers stay json.Number. Failures, in the order checked:
//   - more than limit bytes: PayloadTooLarge;
//   - malformed JSON, anything after the object, or a value that is not an object:
//     InvalidJSON, naming the byte offset;
//   - an empty body, or data missing or null: ValidationError data/required;
//   - data not an object: ValidationError data/type.
func DecodeRequest(r io.Reader, limit int64) (data map[string]any, whole map[string]any, err *APIError) {
	// One byte past the limit tells "exactly limit" from "too long" without reading the rest.
	body, readErr := io.ReadAll(io.LimitReader(r, min(limit, math.MaxInt64-1)+1))
	var maxBytes *http.MaxBytesError
	switch {
	case int64(len(body)) > limit, errors.As(readErr, &maxBytes):
		return nil, nil, PayloadTooLarge(limit)
	case readErr != nil:
		return nil, nil, InvalidJSON("could not read the request body")
	}
	if len(body) == skipJSONSpace(body, 0) {
		return nil, map[string]any{}, dataRequired()
	}

	value, decErr := decodeJSON(body)
	if decErr != nil {
		return nil, nil, InvalidJSON(describeJSONError(decErr, len(body)))
	}
	whole, ok := value.(map[string]any)
	if !ok {
		return nil, nil, InvalidJSON("the request body must be a JSON object")
	}
	switch d := whole["data"].(type) {
	case nil:
		return nil, whole, dataRequired()
	case map[string]any:
		return d, whole, nil
	default:
		return nil, whole, BadRequest("data", "type", "data must be an object")
	}
}

func dataRequired() *APIError { return BadRequest("data", "required", "data is required") }

// decodeJSON decodes exactly one JSON value, numbers as json.Number; anything but
// whitespace after the value is a *trailingDataError.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var value any
	if err := dec.Decode(&value); err != nil {
		return nil, err
	}
	if rest := skipJSONSpace(b, int(dec.InputOffset())); rest < len(b) {
		return nil, &trailingDataError{offset: rest + 1} // counted like json.SyntaxError.Offset
	}
	return value, nil
}

// trailingDataError reports data after a complete JSON value, which Decoder.Decode allows.
type trailingDataError struct{ offset int }

func (e *trailingDataError) Error() string { return "unexpected data after the JSON value" }

// describeJSONError phrases a decoder error as Kazoo does, "<what> around <where>";
// where counts the bytes read up to and including the offending one.
func describeJSONError(err error, size int) string {
	var syntax *json.SyntaxError
	var trailing *trailingDataError
	switch {
	case errors.As(err, &trailing):
		return fmt.Sprintf("%s around byte %d", trailing.Error(), trailing.offset)
	case errors.As(err, &syntax):
		return fmt.Sprintf("%s around byte %d", syntax.Error(), syntax.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Sprintf("unexpected end of JSON input around byte %d", size)
	default:
		return err.Error()
	}
}

// skipJSONSpace returns the index of the first byte at or after i that is not JSON
// whitespace (RFC 8259 allows only space, tab, LF and CR).
func skipJSONSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
