package couch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// OpenAttachment streams an inline attachment, or only the bytes of r. It bypasses kivik,
// which can neither send a Range header nor tell a 206 from a 200. CouchDB answers a range
// with 206; pouchdb-server ignores Range and sends the whole body (200), in which case we
// skip to the start ourselves. Nothing is buffered in memory either way.
func (s *Store) OpenAttachment(ctx context.Context, accountID, id, name string, r *recording.Range) (io.ReadCloser, error) {
	dbName, err := recording.RecordingDatabase(accountID, id)
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("attachment %s of recording %s", name, id)
	if name == "" {
		return nil, recording.Errorf(recording.ENotFound, "%s not found", what)
	}
	if r != nil && (r.Start < 0 || r.End < r.Start) {
		return nil, recording.Errorf(recording.EInvalid, "invalid byte range %d-%d", r.Start, r.End)
	}

	// RequestTimeout bounds everything up to the first byte we hand out (connecting,
	// headers, skipping to the range); the transfer itself may take as long as it takes.
	ctx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(s.cfg.RequestTimeout, cancel)
	ok := false
	defer func() {
		timer.Stop()
		if !ok {
			cancel()
		}
	}()

	header := http.Header{
		// Identity only: a gzip-encoded answer would make byte offsets meaningless.
		"Accept-Encoding": {"identity"},
	}
	if r != nil {
		header.Set("Range", fmt.Sprintf("bytes=%d-%d", r.Start, r.End))
	}
	resp, err := s.do(ctx, http.MethodGet, []string{dbName, id, name}, nil, header, nil)
	if err != nil {
		return nil, couchError(err, what, dbName)
	}
	body, err := s.attachmentBody(resp, r)
	if err != nil {
		drainClose(resp.Body)
		return nil, couchError(err, what, dbName)
	}
	if !timer.Stop() {
		_ = resp.Body.Close()
		return nil, couchError(context.DeadlineExceeded, what, dbName)
	}
	ok = true
	// From here on, RequestTimeout bounds each wait for CouchDB's next bytes instead.
	stall := time.AfterFunc(s.cfg.RequestTimeout, cancel)
	stall.Stop()
	return &attachmentReader{Reader: &stallReader{r: body, timer: stall, limit: s.cfg.RequestTimeout}, body: resp.Body, cancel: cancel}, nil
}

// stallReader cancels a download when CouchDB sends nothing for limit. Only the wait inside
// Read counts, not a slow client's time between reads.
type stallReader struct {
	r     io.Reader
	timer *time.Timer
	limit time.Duration
}

func (s *stallReader) Read(p []byte) (int, error) {
	s.timer.Reset(s.limit)
	n, err := s.r.Read(p)
	s.timer.Stop()
	return n, err
}

// attachmentBody checks the answer and positions its body at the first requested byte.
func (s *Store) attachmentBody(resp *http.Response, r *recording.Range) (io.Reader, error) {
	if err := statusErr(resp); err != nil {
		return nil, err
	}
	if enc := resp.Header.Get("Content-Encoding"); enc != "" && enc != "identity" {
		return nil, fmt.Errorf("attachment sent with Content-Encoding %q despite Accept-Encoding: identity", enc)
	}
	if r == nil {
		return resp.Body, nil
	}
	switch resp.StatusCode {
	case http.StatusPartialContent:
		want := fmt.Sprintf("bytes %d-%d/", r.Start, r.End)
		if got := resp.Header.Get("Content-Range"); !strings.HasPrefix(got, want) {
			return nil, fmt.Errorf("asked for %s, got Content-Range %q", want, got)
		}
	case http.StatusOK:
		if _, err := io.CopyN(io.Discard, resp.Body, r.Start); err != nil {
			return nil, fmt.Errorf("skip to byte %d: %w", r.Start, err)
		}
	default:
		return nil, fmt.Errorf("unexpected status %d for a range request", resp.StatusCode)
	}
	return recording.ExactReader(resp.Body, r.Len()), nil
}

// attachmentReader closes the response body and releases the request's context.
type attachmentReader struct {
	io.Reader
	body   io.Closer
	cancel context.CancelFunc
}

func (a *attachmentReader) Close() error {
	err := a.body.Close()
	a.cancel()
	return err
}

// PutAttachment streams body into an attachment of document id at revision rev. The body
// goes out as is: no Content-Encoding (pouchdb-server would store gzip bytes verbatim), and
// chunked unless its length is known (bytes and strings readers).
func (s *Store) PutAttachment(ctx context.Context, accountID, id, rev, name, contentType string, body io.Reader) (string, error) {
	dbName, err := recording.RecordingDatabase(accountID, id)
	if err != nil {
		return "", err
	}
	what := fmt.Sprintf("attachment %s of recording %s", name, id)
	return s.putAttachment(ctx, dbName, id, rev, name, contentType, body, what)
}

// putAttachment is PUT /db/id/name?rev=rev with body sent as is.
func (s *Store) putAttachment(ctx context.Context, dbName, id, rev, name, contentType string, body io.Reader, what string) (string, error) {
	if name == "" {
		return "", recording.Errorf(recording.EInvalid, "attachment name is empty")
	}
	defer s.ranges.forget(dbName) // it may create the document
	if _, isCloser := body.(io.Closer); isCloser {
		// The transport closes request bodies; the caller's file or pipe is theirs to close.
		body = struct{ io.Reader }{body}
	}
	query := url.Values{}
	if rev != "" {
		query.Set("rev", rev)
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	header := http.Header{"Content-Type": {contentType}, "Accept": {"application/json"}}
	resp, err := s.do(ctx, http.MethodPut, []string{dbName, id, name}, s.writeQuery(query), header, body)
	if err != nil {
		return "", couchError(err, what, dbName)
	}
	defer drainClose(resp.Body)
	if err := statusErr(resp); err != nil {
		return "", couchError(err, what, dbName)
	}
	var result struct {
		Rev string `json:"rev"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&result); err != nil || result.Rev == "" {
		return "", couchError(fmt.Errorf("decode answer: %v (rev %q)", err, result.Rev), what, dbName)
	}
	if resp.StatusCode == http.StatusAccepted {
		return s.settleAccepted(ctx, dbName, id, result.Rev, false, what)
	}
	return result.Rev, nil
}
