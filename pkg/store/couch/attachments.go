package couch

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/recordingsd/recordingsd/internal/exactio"
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
	var conn net.Conn // the connection the answer comes on, for its low-water mark
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(c httptrace.GotConnInfo) { conn = c.Conn }})
	resp, err := s.do(ctx, http.MethodGet, []string{dbName, id, name}, nil, header, nil)
	if err != nil {
		return nil, couchError(err, what, dbName)
	}
	stream := newAttachmentStream(resp.Body, conn, resp.ContentLength, s.cfg.RequestTimeout, cancel)
	body, err := s.attachmentBody(resp, stream, r)
	if err != nil {
		stream.release()
		drainClose(resp.Body)
		return nil, couchError(err, what, dbName)
	}
	if !timer.Stop() {
		stream.release()
		_ = resp.Body.Close()
		return nil, couchError(context.DeadlineExceeded, what, dbName)
	}
	ok = true
	// From here on, RequestTimeout bounds each wait for CouchDB's next bytes instead.
	return &attachmentReader{Reader: body, stream: stream, body: resp.Body, cancel: cancel}, nil
}

const (
	// readLowWater is how many bytes a download waits for before its goroutine is woken.
	// CouchDB sends an attachment in pieces of a few KB, and waking for each one cost the
	// service several times more CPU than copying the bytes.
	readLowWater = 128 << 10
	// lowWaterPatience bounds the delay the mark adds when CouchDB sends slowly: after it,
	// the read takes whatever has come.
	lowWaterPatience = 100 * time.Millisecond
	// transportReadBuffer is the transport's read buffer (newHTTPClient): bytes of a body
	// that may have left the socket before the body is read.
	transportReadBuffer = 4 << 10
)

// attachmentStream reads an attachment's body. It cancels the download when CouchDB sends
// nothing for limit; only the wait inside Read counts, not a slow client's time between
// reads. On a plain TCP connection on Linux it also raises the socket's low-water mark
// (readLowWater) while more than that is still to come, so that each wake-up brings a large
// piece. It lowers the mark before any read that could end the body (the connection then
// goes back to the pool) and when CouchDB takes longer than lowWaterPatience to reach it.
type attachmentStream struct {
	body   io.Reader
	left   int64 // bytes of body still to come; -1: unknown, and the mark stays down
	limit  time.Duration
	cancel context.CancelFunc
	timer  *time.Timer

	mu       sync.Mutex // between Read and the timer's callback
	conn     net.Conn   // nil: no low-water mark
	reading  bool
	lowWater bool // the mark is raised on conn
}

func newAttachmentStream(body io.Reader, conn net.Conn, left int64, limit time.Duration, cancel context.CancelFunc) *attachmentStream {
	s := &attachmentStream{body: body, conn: conn, left: left, limit: limit, cancel: cancel}
	s.timer = time.AfterFunc(limit, s.expired)
	s.timer.Stop()
	return s
}

// patience is how long a read waits for the raised mark before taking what has come.
func (s *attachmentStream) patience() time.Duration { return min(lowWaterPatience, s.limit/2) }

func (s *attachmentStream) Read(p []byte) (int, error) {
	s.mu.Lock()
	// Raised only when this read cannot end the body, and when the mark can be reached even
	// if the transport has already buffered part of what is left.
	s.setLowWater(s.left > int64(len(p)) && s.left >= readLowWater+transportReadBuffer)
	wait := s.limit
	if s.lowWater {
		wait = s.patience()
	}
	s.reading = true
	s.timer.Reset(wait)
	s.mu.Unlock()

	n, err := s.body.Read(p)

	s.mu.Lock()
	s.reading = false
	s.timer.Stop()
	s.left -= int64(n)
	s.mu.Unlock()
	return n, err
}

// expired runs when a read has waited its time. With the mark raised, it lowers it (the
// read wakes if anything has come) and waits out the rest of limit; else CouchDB stalled.
func (s *attachmentStream) expired() {
	s.mu.Lock()
	stalled := s.reading && !s.lowWater // not reading: the read ended as the timer fired
	if s.reading && s.lowWater {
		s.setLowWater(false)
		s.timer.Reset(s.limit - s.patience())
	}
	s.mu.Unlock()
	if stalled {
		s.cancel()
	}
}

// release stops the timer and lowers the mark; call it before closing the body.
func (s *attachmentStream) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timer.Stop()
	s.setLowWater(false)
}

// setLowWater raises or lowers the mark; s.mu is held.
func (s *attachmentStream) setLowWater(on bool) {
	if on == s.lowWater || s.conn == nil {
		return
	}
	mark := 1
	if on {
		mark = readLowWater
	}
	if setReadLowWater(s.conn, mark) {
		s.lowWater = on
		return
	}
	if s.lowWater {
		// A connection left with a raised mark would hang the next request sent on it.
		_ = s.conn.Close()
	}
	s.conn, s.lowWater = nil, false
}

// attachmentBody checks the answer and positions body, which reads resp.Body, at the first
// requested byte.
func (s *Store) attachmentBody(resp *http.Response, body io.Reader, r *recording.Range) (io.Reader, error) {
	if err := statusErr(resp); err != nil {
		return nil, err
	}
	if enc := resp.Header.Get("Content-Encoding"); enc != "" && enc != "identity" {
		return nil, fmt.Errorf("attachment sent with Content-Encoding %q despite Accept-Encoding: identity", enc)
	}
	if r == nil {
		return body, nil
	}
	switch resp.StatusCode {
	case http.StatusPartialContent:
		want := fmt.Sprintf("bytes %d-%d/", r.Start, r.End)
		if got := resp.Header.Get("Content-Range"); !strings.HasPrefix(got, want) {
			return nil, fmt.Errorf("asked for %s, got Content-Range %q", want, got)
		}
	case http.StatusOK:
		if _, err := io.CopyN(io.Discard, body, r.Start); err != nil {
			return nil, fmt.Errorf("skip to byte %d: %w", r.Start, err)
		}
	default:
		return nil, fmt.Errorf("unexpected status %d for a range request", resp.StatusCode)
	}
	return exactio.NewReader(body, r.Len()), nil
}

// attachmentReader closes the response body and releases the request's context.
type attachmentReader struct {
	io.Reader
	stream *attachmentStream
	body   io.Closer
	cancel context.CancelFunc
}

func (a *attachmentReader) Close() error {
	a.stream.release()
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
	resp, err := s.doOK(ctx, http.MethodPut, []string{dbName, id, name}, s.writeQuery(query), header, body)
	if err != nil {
		return "", couchError(err, what, dbName)
	}
	defer drainClose(resp.Body)
	newRev, err := s.editResult(ctx, resp, dbName, id, false, what)
	if err != nil {
		return "", couchError(err, what, dbName)
	}
	return newRev, nil
}
