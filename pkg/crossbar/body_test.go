package crossbar

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestDecodeRequest(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		limit     int64
		wantData  string // JSON of data when there is no error
		wantWhole string // JSON of the whole envelope, "" for nil
		wantErr   string // JSON of {status, message, data} of the error
	}{
		{
			name: "an envelope", body: `{"data":{"soft_delete":{"deleted_at":63755032655}},"verb":"PATCH"}`, limit: 1000,
			wantData:  `{"soft_delete":{"deleted_at":63755032655}}`,
			wantWhole: `{"data":{"soft_delete":{"deleted_at":63755032655}},"verb":"PATCH"}`,
		},
		{
			name: "surrounding whitespace is fine", body: " \r\n\t{\"data\":{}}\n ", limit: 1000,
			wantData: `{}`, wantWhole: `{"data":{}}`,
		},
		{
			name: "exactly the limit", body: `{"data":{"a":1}}`, limit: 16,
			wantData: `{"a":1}`, wantWhole: `{"data":{"a":1}}`,
		},
		{
			name: "one byte over the limit", body: `{"data":{"a":1}} `, limit: 16,
			wantErr: `[413,"payload_too_large",{"limit":16,"message":"payload too large"}]`,
		},
		{
			name: "empty body", body: "", limit: 1000, wantWhole: `{}`,
			wantErr: `[400,"validation error",{"data":{"required":{"message":"data is required"}}}]`,
		},
		{
			name: "blank body", body: " \n", limit: 1000, wantWhole: `{}`,
			wantErr: `[400,"validation error",{"data":{"required":{"message":"data is required"}}}]`,
		},
		{
			name: "no data", body: `{"recordings":[]}`, limit: 1000, wantWhole: `{"recordings":[]}`,
			wantErr: `[400,"validation error",{"data":{"required":{"message":"data is required"}}}]`,
		},
		{
			name: "null data", body: `{"data":null}`, limit: 1000, wantWhole: `{"data":null}`,
			wantErr: `[400,"validation error",{"data":{"required":{"message":"data is required"}}}]`,
		},
		{
			name: "data is a list", body: `{"data":[1]}`, limit: 1000, wantWhole: `{"data":[1]}`,
			wantErr: `[400,"validation error",{"data":{"type":{"message":"data must be an object"}}}]`,
		},
		{
			name: "not JSON", body: `{"data": x}`, limit: 1000,
			wantErr: `[400,"invalid JSON in request body",{"json":{"invalid":{"message":"invalid character 'x' looking for beginning of value around byte 10","target":"body"}}}]`,
		},
		{
			name: "cut short", body: `{"data":{"a":`, limit: 1000,
			wantErr: `[400,"invalid JSON in request body",{"json":{"invalid":{"message":"unexpected end of JSON input around byte 13","target":"body"}}}]`,
		},
		{
			name: "a second object after the first", body: `{"data":{}} {"data":{}}`, limit: 1000,
			wantErr: `[400,"invalid JSON in request body",{"json":{"invalid":{"message":"unexpected data after the JSON value around byte 13","target":"body"}}}]`,
		},
		{
			name: "a stray brace after the object", body: `{"data":{}}}`, limit: 1000,
			wantErr: `[400,"invalid JSON in request body",{"json":{"invalid":{"message":"unexpected data after the JSON value around byte 12","target":"body"}}}]`,
		},
		{
			name: "not an object", body: `["data"]`, limit: 1000,
			wantErr: `[400,"invalid JSON in request body",{"json":{"invalid":{"message":"the request body must be a JSON object","target":"body"}}}]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, whole, apiErr := DecodeRequest(strings.NewReader(tt.body), tt.limit)
			if got := marshalOrEmpty(t, whole); got != tt.wantWhole {
				t.Errorf("whole = %s, want %s", got, tt.wantWhole)
			}
			if tt.wantErr != "" {
				if got := marshalOrEmpty(t, []any{apiErr.Status, apiErr.Message, apiErr.Data}); apiErr == nil || got != tt.wantErr {
					t.Errorf("error = %s, want %s", got, tt.wantErr)
				}
				if data != nil {
					t.Errorf("data = %v with an error", data)
				}
				return
			}
			if apiErr != nil {
				t.Fatalf("unexpected error %v %v", apiErr, apiErr.Data)
			}
			if got := marshalOrEmpty(t, data); got != tt.wantData {
				t.Errorf("data = %s, want %s", got, tt.wantData)
			}
		})
	}
}

func TestDecodeRequestKeepsNumbersExact(t *testing.T) {
	data, _, err := DecodeRequest(strings.NewReader(`{"data":{"big":9007199254740993,"f":1.50}}`), 1000)
	if err != nil {
		t.Fatal(err)
	}
	if data["big"] != json.Number("9007199254740993") || data["f"] != json.Number("1.50") {
		t.Errorf("numbers = %#v %#v, want json.Number verbatim", data["big"], data["f"])
	}
}

func TestDecodeRequestUnderMaxBytesReader(t *testing.T) {
	// A server-wide http.MaxBytesReader smaller than our limit still means 413.
	body := http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(strings.NewReader(`{"data":{"a":"long"}}`)), 5)
	if _, _, err := DecodeRequest(body, 1000); err == nil || err.Status != 413 {
		t.Errorf("got %v, want 413", err)
	}
}

func TestDecodeRequestWhenReadingFails(t *testing.T) {
	body := io.MultiReader(strings.NewReader(`{"da`), errReader{errors.New("connection reset")})
	_, _, err := DecodeRequest(body, 1000)
	if err == nil || err.Status != 400 || strings.Contains(marshalOrEmpty(t, err.Data), "reset") {
		t.Errorf("got %v %v, want 400 without the cause", err, err.Data)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func marshalOrEmpty(t *testing.T, v any) string {
	t.Helper()
	if m, ok := v.(map[string]any); ok && m == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
