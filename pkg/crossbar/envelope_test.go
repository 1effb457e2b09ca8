package crossbar

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"
)

// stopClock makes every envelope timestamp 2020-05-12T15:36:52Z for the test.
func stopClock(t *testing.T) {
	t.Helper()
	saved := now
	now = func() time.Time { return time.Date(2020, 5, 12, 15, 36, 52, 999, time.UTC) }
	t.Cleanup(func() { now = saved })
}

var testMeta = Meta{RequestID: "req-1", AuthToken: "tok", Version: "4.3.142", Node: "bm9kZQ"}

func intPtr(n int) *int { return &n }

func TestWriteSuccess(t *testing.T) {
	stopClock(t)
	tests := []struct {
		name   string
		status int
		meta   Meta
		in     Envelope
		want   string
	}{
		{
			name: "one document with its revision", status: 200, meta: testMeta,
			in:   Envelope{Data: map[string]any{"id": "202005-ab"}, Revision: "2-c0ffee"},
			want: `{"data":{"id":"202005-ab"},"status":"success","revision":"2-c0ffee","request_id":"req-1","timestamp":"2020-05-12T15:36:52Z","version":"4.3.142","node":"bm9kZQ","auth_token":"tok"}` + "\n",
		},
		{
			name: "a page with a next page", status: 200, meta: testMeta,
			in:   Envelope{Data: []any{1, 2}, PageSize: intPtr(2), StartKey: "s1", NextStartKey: "s2"},
			want: `{"data":[1,2],"status":"success","page_size":2,"start_key":"s1","next_start_key":"s2","request_id":"req-1","timestamp":"2020-05-12T15:36:52Z","version":"4.3.142","node":"bm9kZQ","auth_token":"tok"}` + "\n",
		},
		{
			name: "the last page: an empty list, page_size 0, no next_start_key", status: 200, meta: Meta{RequestID: "r"},
			in:   Envelope{Data: []any{}, PageSize: intPtr(0)},
			want: `{"data":[],"status":"success","page_size":0,"request_id":"r","timestamp":"2020-05-12T15:36:52Z","version":"","node":"","auth_token":""}` + "\n",
		},
		{
			name: "no data is an empty object; error fields set by mistake are dropped", status: 200, meta: Meta{RequestID: "r"},
			in:   Envelope{Status: "error", Error: "500", Message: "oops"},
			want: `{"data":{},"status":"success","request_id":"r","timestamp":"2020-05-12T15:36:52Z","version":"","node":"","auth_token":""}` + "\n",
		},
		{
			name: "HTML characters are not escaped; a given timestamp is kept", status: 201, meta: Meta{RequestID: "r"},
			in:   Envelope{Data: map[string]any{"name": "<a&b>"}, Timestamp: "2021-01-01T00:00:00Z"},
			want: `{"data":{"name":"<a&b>"},"status":"success","request_id":"r","timestamp":"2021-01-01T00:00:00Z","version":"","node":"","auth_token":""}` + "\n",
		},
		{
			name: "pretty", status: 200, meta: Meta{RequestID: "r", Pretty: true},
			in: Envelope{Data: map[string]any{"a": []any{1}}},
			want: `{
  "data": {
    "a": [
      1
    ]
  },
  "status": "success",
  "request_id": "r",
  "timestamp": "2020-05-12T15:36:52Z",
  "version": "",
  "node": "",
  "auth_token": ""
}
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			WriteSuccess(rec, tt.status, tt.meta, tt.in)
			if rec.Code != tt.status {
				t.Errorf("status = %d, want %d", rec.Code, tt.status)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q", got)
			}
			if got := rec.Header().Get("X-Request-ID"); got != tt.meta.RequestID {
				t.Errorf("X-Request-ID = %q, want %q", got, tt.meta.RequestID)
			}
			if got := rec.Body.String(); got != tt.want {
				t.Errorf("body\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestWriteSuccessWithUnencodableDataIsInternalError(t *testing.T) {
	stopClock(t)
	rec := httptest.NewRecorder()
	WriteSuccess(rec, 200, Meta{RequestID: "r"}, Envelope{Data: map[string]any{"n": json.Number("not a number")}})
	want := `{"data":{"message":"internal error"},"status":"error","error":"500","message":"internal_error","request_id":"r","timestamp":"2020-05-12T15:36:52Z","version":"","node":"","auth_token":""}` + "\n"
	if rec.Code != 500 || rec.Body.String() != want {
		t.Errorf("got %d %s\nwant 500 %s", rec.Code, rec.Body.String(), want)
	}
}

func TestWriteSuccessStampsTheCurrentTime(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteSuccess(rec, 200, Meta{}, Envelope{})
	var body struct{ Timestamp string }
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	stamped, err := time.Parse(time.RFC3339, body.Timestamp)
	if err != nil || time.Since(stamped) > time.Minute || !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`).MatchString(body.Timestamp) {
		t.Errorf("timestamp %q is not the current time in ISO 8601 UTC seconds", body.Timestamp)
	}
}

func TestWriteError(t *testing.T) {
	stopClock(t)
	tests := []struct {
		name           string
		err            *APIError
		wantStatus     int
		wantRetryAfter string
		want           string
	}{
		{
			name: "malformed recording id", err: BadIdentifier("foo"), wantStatus: 404,
			want: `{"data":["foo"],"status":"error","error":"404","message":"bad identifier","request_id":"req-1","timestamp":"2020-05-12T15:36:52Z","version":"4.3.142","node":"bm9kZQ","auth_token":"tok"}` + "\n",
		},
		{
			name: "no error is an internal error", err: nil, wantStatus: 500,
			want: `{"data":{"message":"internal error"},"status":"error","error":"500","message":"internal_error","request_id":"req-1","timestamp":"2020-05-12T15:36:52Z","version":"4.3.142","node":"bm9kZQ","auth_token":"tok"}` + "\n",
		},
		{
			name: "data that cannot be encoded becomes an internal error", err: &APIError{Status: 400, Message: "x", Data: func() {}}, wantStatus: 500,
			want: `{"data":{"message":"internal error"},"status":"error","error":"500","message":"internal_error","request_id":"req-1","timestamp":"2020-05-12T15:36:52Z","version":"4.3.142","node":"bm9kZQ","auth_token":"tok"}` + "\n",
		},
		{
			name: "no data is an empty object", err: &APIError{Status: 418, Message: "teapot"}, wantStatus: 418,
			want: `{"data":{},"status":"error","error":"418","message":"teapot","request_id":"req-1","timestamp":"2020-05-12T15:36:52Z","version":"4.3.142","node":"bm9kZQ","auth_token":"tok"}` + "\n",
		},
		{
			name: "a busy datastore says when to retry", err: DatastoreBusy("index being built", 2100*time.Millisecond), wantStatus: 503,
			wantRetryAfter: "3",
			want:           `{"data":{"message":"index being built","retry_after":3},"status":"error","error":"503","message":"datastore_busy","request_id":"req-1","timestamp":"2020-05-12T15:36:52Z","version":"4.3.142","node":"bm9kZQ","auth_token":"tok"}` + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			WriteError(rec, testMeta, tt.err)
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("X-Request-ID") != "req-1" {
				t.Errorf("headers = %v", rec.Header())
			}
			if got := rec.Header().Get("Retry-After"); got != tt.wantRetryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.wantRetryAfter)
			}
			if got := rec.Body.String(); got != tt.want {
				t.Errorf("body\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestListStreamMatchesWriteSuccess: streaming a list yields exactly what WriteSuccess
// writes for the same list, compact and pretty, empty or long enough to flush.
func TestListStreamMatchesWriteSuccess(t *testing.T) {
	stopClock(t)
	trailer := Envelope{Revision: "d41d8cd9", PageSize: intPtr(3), StartKey: "s", NextStartKey: "n"}
	for _, pretty := range []bool{false, true} {
		for _, count := range []int{0, 1, 3, 2*listFlushEvery + 1} {
			t.Run(fmt.Sprintf("pretty=%v/items=%d", pretty, count), func(t *testing.T) {
				meta := testMeta
				meta.Pretty = pretty
				items := make([]any, count)
				for i := range items {
					items[i] = map[string]any{"id": fmt.Sprintf("202005-%d", i), "tags": []any{"<x>", i}, "empty": map[string]any{}}
				}

				streamed := httptest.NewRecorder()
				s := NewListStream(streamed, meta)
				for _, item := range items {
					if err := s.Item(item); err != nil {
						t.Fatal(err)
					}
				}
				if err := s.Close(trailer); err != nil {
					t.Fatal(err)
				}

				whole := httptest.NewRecorder()
				WriteSuccess(whole, 200, meta, Envelope{Data: items, Revision: trailer.Revision})

				if streamed.Body.String() != whole.Body.String() {
					t.Errorf("streamed\n%s\nwant\n%s", streamed.Body.String(), whole.Body.String())
				}
				if streamed.Code != 200 || streamed.Header().Get("Content-Type") != "application/json" ||
					streamed.Header().Get("X-Request-ID") != meta.RequestID {
					t.Errorf("got %d %v", streamed.Code, streamed.Header())
				}
				if !json.Valid(streamed.Body.Bytes()) {
					t.Error("not valid JSON")
				}
			})
		}
	}
}

func TestListStreamSendsNothingBeforeTheFirstItem(t *testing.T) {
	rec := httptest.NewRecorder()
	s := NewListStream(rec, testMeta)
	if s.Started() || rec.Body.Len() > 0 || len(rec.Header()) > 0 {
		t.Fatal("the stream began before its first item")
	}
	WriteError(rec, testMeta, DatastoreUnreachable()) // still possible
	if rec.Code != 503 {
		t.Errorf("status = %d, want 503", rec.Code)
	}
	if err := s.Item(1); err != nil || !s.Started() {
		t.Errorf("Item: %v, started %v", err, s.Started())
	}
}

func TestListStreamFlushesEveryFewItems(t *testing.T) {
	rec := httptest.NewRecorder()
	s := NewListStream(rec, testMeta)
	for i := 1; i <= listFlushEvery; i++ {
		if rec.Flushed {
			t.Fatalf("flushed after %d items, want after %d", i-1, listFlushEvery)
		}
		if err := s.Item(i); err != nil {
			t.Fatal(err)
		}
	}
	if !rec.Flushed {
		t.Errorf("not flushed after %d items", listFlushEvery)
	}
}

// goneWriter is a client that hangs up after limit bytes.
type goneWriter struct {
	httptest.ResponseRecorder
	limit int
}

var errGone = errors.New("client gone")

func (w *goneWriter) Write(p []byte) (int, error) {
	if w.Body.Len()+len(p) > w.limit {
		return 0, errGone
	}
	return w.ResponseRecorder.Write(p)
}

func TestListStreamStopsWhenTheClientIsGone(t *testing.T) {
	w := &goneWriter{ResponseRecorder: *httptest.NewRecorder(), limit: 20}
	s := NewListStream(w, testMeta)
	var err error
	for i := 0; i < 10 && err == nil; i++ {
		err = s.Item("0123456789")
	}
	if !errors.Is(err, errGone) {
		t.Fatalf("Item error = %v, want %v", err, errGone)
	}
	if err := s.Item("more"); !errors.Is(err, errGone) {
		t.Errorf("Item after failure = %v, want %v", err, errGone)
	}
	if err := s.Close(Envelope{}); !errors.Is(err, errGone) {
		t.Errorf("Close after failure = %v, want %v", err, errGone)
	}
}

func TestListStreamItemThatCannotBeEncoded(t *testing.T) {
	rec := httptest.NewRecorder()
	s := NewListStream(rec, testMeta)
	if err := s.Item(func() {}); err == nil {
		t.Fatal("want an error for a func item")
	}
	if s.Started() || rec.Body.Len() > 0 {
		t.Error("a failed first item must send nothing, so the handler can still answer with an error")
	}
}

func TestListStreamRefusesUseAfterClose(t *testing.T) {
	s := NewListStream(httptest.NewRecorder(), testMeta)
	if err := s.Close(Envelope{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Item(1); err == nil {
		t.Error("Item after Close succeeded")
	}
	if err := s.Close(Envelope{}); err == nil {
		t.Error("second Close succeeded")
	}
}
