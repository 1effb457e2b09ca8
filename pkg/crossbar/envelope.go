package crossbar

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Meta is what every response envelope repeats about the request and the server.
type Meta struct {
	RequestID string
	AuthToken string // echoed back as Kazoo does; "" when the request had none
	Version   string
	Node      string
	Pretty    bool // X-Pretty-Print / pretty_print: indent the JSON
}

// Envelope is Kazoo's response envelope. The field order is the order on the wire.
// The writers fill status, error, message, request_id, version, node and auth_token;
// the caller fills data, the paging fields and revision.
type Envelope struct {
	Data         any    `json:"data"`
	Status       string `json:"status"`            // "success" or "error"
	Error        string `json:"error,omitempty"`   // errors only: the HTTP status as a string
	Message      string `json:"message,omitempty"` // errors only
	PageSize     *int   `json:"page_size,omitempty"`
	StartKey     string `json:"start_key,omitempty"`
	NextStartKey string `json:"next_start_key,omitempty"` // absent on the last page
	Revision     string `json:"revision,omitempty"`
	RequestID    string `json:"request_id"`
	Timestamp    string `json:"timestamp"` // filled with the current time when empty
	Version      string `json:"version"`
	Node         string `json:"node"`
	AuthToken    string `json:"auth_token"`
}

const (
	statusSuccess = "success"
	statusError   = "error"
	contentJSON   = "application/json"
	indentUnit    = "  "
)

// WriteSuccess writes a success envelope with the given HTTP status.
// The body is encoded before anything is sent, so a value that cannot be encoded
// still yields a clean 500 instead of a half-written 200.
func WriteSuccess(w http.ResponseWriter, status int, meta Meta, e Envelope) {
	e.Status = statusSuccess
	e.Error, e.Message = "", ""
	body, err := encodeEnvelope(meta, e)
	if err != nil {
		WriteError(w, meta, Internal())
		return
	}
	writeBody(w, status, meta, body)
}

// WriteError writes err as Kazoo's error envelope; a nil err is an internal error.
func WriteError(w http.ResponseWriter, meta Meta, err *APIError) {
	if err == nil {
		err = Internal()
	}
	e := Envelope{
		Data:    err.Data,
		Status:  statusError,
		Error:   strconv.Itoa(err.Status),
		Message: err.Message,
	}
	body, encErr := encodeEnvelope(meta, e)
	if encErr != nil {
		WriteError(w, meta, Internal()) // Internal's data always encodes: no loop
		return
	}
	if err.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(err.RetryAfter)))
	}
	writeBody(w, err.Status, meta, body)
}

// now is the clock of envelope timestamps; tests stop it.
var now = time.Now

// encodeEnvelope completes e with meta and renders it: the one place envelopes are encoded.
func encodeEnvelope(meta Meta, e Envelope) ([]byte, error) {
	if e.Data == nil {
		e.Data = struct{}{} // Kazoo's default response data is an empty object
	}
	e.RequestID, e.AuthToken, e.Version, e.Node = meta.RequestID, meta.AuthToken, meta.Version, meta.Node
	if e.Timestamp == "" {
		e.Timestamp = Timestamp(now())
	}
	var buf bytes.Buffer
	if err := newJSONEncoder(&buf, meta.Pretty, "").Encode(e); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// newJSONEncoder is the one JSON configuration of responses. HTML escaping is off because
// Kazoo sends "<", ">" and "&" verbatim. With pretty, lines after the first start with
// prefix, so a value can be indented to the depth it is embedded at.
func newJSONEncoder(w io.Writer, pretty bool, prefix string) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if pretty {
		enc.SetIndent(prefix, indentUnit)
	}
	return enc
}

// writeHeader sends the headers every JSON response carries, then the status.
func writeHeader(w http.ResponseWriter, status int, meta Meta) {
	h := w.Header()
	h.Set("Content-Type", contentJSON)
	if meta.RequestID != "" {
		h.Set("X-Request-ID", meta.RequestID)
	}
	w.WriteHeader(status)
}

func writeBody(w http.ResponseWriter, status int, meta Meta, body []byte) {
	writeHeader(w, status, meta)
	_, _ = w.Write(body) // a client that went away is the only failure left here
}

// listFlushEvery is how many streamed items go out between flushes: often enough that a
// slow listing reaches the client steadily, rarely enough that flushes cost nothing.
const listFlushEvery = 64

// ListStream writes an unpaginated listing item by item, so memory stays flat however
// long the list. The result is the same JSON WriteSuccess would write with data = the
// list, byte for byte. Nothing is sent before the first Item or Close, so a handler can
// still answer with WriteError until then.
type ListStream struct {
	w     http.ResponseWriter
	meta  Meta
	rc    *http.ResponseController
	buf   *bytes.Buffer // one item, encoded by enc
	enc   *json.Encoder
	items int
	begun bool
	err   error
}

// NewListStream prepares a 200 streamed listing on w.
func NewListStream(w http.ResponseWriter, meta Meta) *ListStream {
	s := &ListStream{w: w, meta: meta, rc: http.NewResponseController(w), buf: new(bytes.Buffer)}
	s.enc = newJSONEncoder(s.buf, meta.Pretty, s.itemPrefix())
	return s
}

// Started reports whether the response has begun. After that an error can no longer be
// reported as an envelope; a handler that cannot finish the list should break the
// connection (panic(http.ErrAbortHandler)) so the client sees a cut, not a short list.
func (s *ListStream) Started() bool { return s.begun }

// Item appends one element to data. An error (a value that cannot be encoded, a client
// that went away) is returned and stays: every later call returns it too.
func (s *ListStream) Item(v any) error {
	if s.err != nil {
		return s.err
	}
	s.buf.Reset()
	if err := s.enc.Encode(v); err != nil {
		s.err = err
		return err
	}
	sep := ","
	if s.items == 0 {
		sep = ""
	}
	if s.meta.Pretty {
		sep += "\n" + s.itemPrefix()
	}
	if err := s.write([]byte(sep), bytes.TrimSuffix(s.buf.Bytes(), []byte("\n"))); err != nil {
		return err
	}
	s.items++
	if s.items%listFlushEvery == 0 {
		_ = s.rc.Flush() // not every writer can flush; then net/http's buffer decides
	}
	return nil
}

// Close ends data and writes the rest of trailer (status, request_id, timestamp, …).
// Paging fields are dropped: a streamed listing is never paginated.
func (s *ListStream) Close(trailer Envelope) error {
	if s.err != nil {
		return s.err
	}
	trailer.Status = statusSuccess
	trailer.Error, trailer.Message = "", ""
	trailer.PageSize, trailer.StartKey, trailer.NextStartKey = nil, "", ""
	// Encoding the trailer with an empty list and cutting after its "[]" reuses the one
	// envelope encoder, so the trailer cannot drift from what WriteSuccess writes.
	trailer.Data = json.RawMessage("[]")
	body, err := encodeEnvelope(s.meta, trailer)
	if err != nil {
		s.err = err
		return err
	}
	head := s.opening() + "]"
	if !bytes.HasPrefix(body, []byte(head)) {
		s.err = errors.New("crossbar: envelope does not start with data")
		return s.err
	}
	end := "]"
	if s.meta.Pretty && s.items > 0 {
		end = "\n" + indentUnit + "]"
	}
	if err := s.write([]byte(end), body[len(head):]); err != nil {
		return err
	}
	s.err = errors.New("crossbar: list stream closed")
	return nil
}

// write sends parts, preceded once by the headers and the opening of the envelope.
func (s *ListStream) write(parts ...[]byte) error {
	if !s.begun {
		s.begun = true
		writeHeader(s.w, http.StatusOK, s.meta)
		parts = append([][]byte{[]byte(s.opening())}, parts...)
	}
	for _, p := range parts {
		if _, err := s.w.Write(p); err != nil {
			s.err = err
			return err
		}
	}
	return nil
}

// opening is how an encoded envelope starts, up to and including data's "[".
func (s *ListStream) opening() string {
	if s.meta.Pretty {
		return "{\n" + indentUnit + `"data": [`
	}
	return `{"data":[`
}

// itemPrefix is the indentation of an element of data in pretty output.
func (s *ListStream) itemPrefix() string {
	if s.meta.Pretty {
		return indentUnit + indentUnit
	}
	return ""
}
