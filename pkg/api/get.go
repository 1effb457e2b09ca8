package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/authz"
	"github.com/recordingsd/recordingsd/pkg/crossbar"
	"github.com/recordingsd/recordingsd/pkg/media"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// handleGet serves GET and HEAD /recordings/{id}: the document, or its audio when the client
// asks for audio (Accept header, or ?accept= which wins for clients that cannot set headers).
func (s *server) handleGet() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := reqCtx(r)
		id, ok := recordingIDFromPath(r)
		if !ok {
			writeError(w, r, crossbar.BadIdentifier(id))
			return
		}
		doc, err := s.service.Get(r.Context(), rc.accountID, id)
		if err == nil {
			err = s.mayTouch(rc, authz.Read, doc)
		}
		if err != nil {
			s.fail(w, r, err, id)
			return
		}
		atts := doc.Attachments()
		audioType := ""
		if len(atts) > 0 {
			audioType = atts[0].ContentType
		}
		accept := r.Header.Get("Accept")
		if v, ok := r.URL.Query()["accept"]; ok && len(v) > 0 {
			accept = v[0]
		}
		w.Header().Add("Vary", "Accept")
		rep, ok := crossbar.Negotiate(accept, audioType)
		if !ok {
			writeError(w, r, crossbar.NotAcceptable("this recording is available as application/json or "+orDefault(audioType, "audio/mpeg")))
			return
		}
		if rep == crossbar.RepAudio {
			if len(atts) == 0 {
				writeError(w, r, crossbar.NoAttachment(id))
				return
			}
			s.serveAudio(w, r, id, doc, atts[0])
			return
		}
		etag := `"` + doc.Rev() + `"`
		w.Header().Set("ETag", etag)
		if etagMatches(r.Header.Get("If-None-Match"), etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		writeData(w, r, crossbar.Envelope{Data: doc.Public(), Revision: doc.Rev()})
	})
}

// serveAudio streams one attachment, from the store or from the storage provider that holds
// it (pvt_attachments): Range by seeking, never the whole file in memory; HEAD gets the same
// headers without a body.
func (s *server) serveAudio(w http.ResponseWriter, r *http.Request, id string, doc recording.Doc, att recording.Attachment) {
	rc := reqCtx(r)
	var (
		src media.Source
		ext media.Attachment
	)
	size := att.Length
	if att.External {
		var err error
		if src, ext, err = s.externalMedia(rc.accountID, id, doc, att); err != nil {
			s.fail(w, r, err, id)
			return
		}
		size = ext.Length
	}
	etag := `"` + att.Digest + `"`
	if att.Digest == "" {
		etag = `"` + id + "-" + strconv.FormatInt(att.Length, 10) + `"`
	}
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Accept-Ranges", "bytes")
	h.Set("Content-Type", orDefault(att.ContentType, "application/octet-stream"))
	h.Set("Content-Disposition", contentDisposition(r.URL.Query().Get("inline") == "true", att.Name))
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if src != nil && (size < 0 || r.Method == http.MethodHead) {
		// The provider is asked whenever its answer shapes the response: a HEAD promises
		// what a GET would get, and a document without a length leaves the size to it.
		info, err := src.Stat(r.Context(), ext)
		if err == nil && size >= 0 && info.Size >= 0 && info.Size != size {
			err = &media.Error{Kind: media.Unreachable, Handler: ext.Handler, Reason: "size_mismatch",
				Err: fmt.Errorf("%w: the provider has %d bytes, the document says %d", media.ErrSizeMismatch, info.Size, size)}
		}
		if err != nil {
			clearAudioHeaders(h)
			s.fail(w, r, err, id)
			return
		}
		if size < 0 {
			size = info.Size
			ext.Length = size
		}
	}
	if size < 0 {
		// Neither the document nor the provider tells the size: the whole object, streamed
		// without Content-Length, and no ranges.
		h.Set("Accept-Ranges", "none")
		s.streamAudio(w, r, id, http.StatusOK, -1, func() (io.ReadCloser, error) { return src.Open(r.Context(), ext, nil) })
		return
	}
	var rng *recording.Range
	if hdr := r.Header.Get("Range"); hdr != "" && ifRangeAllows(r.Header.Get("If-Range"), etag) {
		parsed, err := crossbar.ParseRange(hdr, size)
		if errors.Is(err, crossbar.ErrUnsatisfiable) {
			h.Set("Content-Range", crossbar.ContentRange(nil, size))
			h.Del("Content-Disposition")
			writeError(w, r, crossbar.RangeNotSatisfiable(size))
			return
		}
		rng = parsed
	}
	status, length := http.StatusOK, size
	if rng != nil {
		status, length = http.StatusPartialContent, rng.Len()
		h.Set("Content-Range", crossbar.ContentRange(rng, size))
	}
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	s.streamAudio(w, r, id, status, length, func() (io.ReadCloser, error) {
		if src != nil {
			return src.Open(r.Context(), ext, rng)
		}
		return s.store.OpenAttachment(r.Context(), rc.accountID, id, att.Name, rng)
	})
}

// streamAudio opens the body and copies it out with the headers already set: length bytes
// exactly (-1: whatever comes). HEAD stops before opening.
func (s *server) streamAudio(w http.ResponseWriter, r *http.Request, id string, status int, length int64, open func() (io.ReadCloser, error)) {
	rc := reqCtx(r)
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	body, err := open()
	if err != nil {
		clearAudioHeaders(w.Header())
		s.fail(w, r, err, id)
		return
	}
	defer body.Close()
	defer s.metrics.StreamStarted()()
	w.WriteHeader(status)
	n, err := copyAudio(w, body)
	s.metrics.AudioBytes(n)
	if err != nil || (length >= 0 && n != length) {
		// Headers are out: the only signal left is a cut connection, never a short "success".
		s.log.Warn("audio stream cut short", zap.String("request_id", rc.meta.RequestID),
			zap.String("recording_id", id), zap.Int64("sent", n), zap.Int64("want", length), zap.Error(err))
		panic(http.ErrAbortHandler)
	}
}

const (
	// audioBufferSize is the copy buffer of one audio stream.
	audioBufferSize = 256 << 10
	// audioWriteMin is how much copyAudio gathers before it writes.
	audioWriteMin = 128 << 10
)

// audioBuffers are pooled, so that short Range requests do not allocate one each.
var audioBuffers = sync.Pool{New: func() any { b := make([]byte, audioBufferSize); return &b }}

// copyAudio is io.Copy with writes of at least audioWriteMin: reads from a socket bring a few
// KB each, and writing each piece as it comes cost a syscall and a wake-up of the client per
// piece. Only the first bytes go out at once, so the time to the first byte stays the
// source's. (http.response's ReadFrom is no faster here: it copies 32 KB at a time.)
func copyAudio(dst io.Writer, src io.Reader) (written int64, err error) {
	bp := audioBuffers.Get().(*[]byte)
	defer audioBuffers.Put(bp)
	buf := *bp
	for {
		n, rerr := src.Read(buf)
		for written > 0 && n < audioWriteMin && rerr == nil {
			var more int
			more, rerr = src.Read(buf[n:])
			n += more
		}
		if n > 0 {
			w, werr := dst.Write(buf[:n])
			written += int64(w)
			if werr == nil && w < n {
				werr = io.ErrShortWrite
			}
			if werr != nil {
				return written, werr
			}
		}
		if rerr == io.EOF {
			return written, nil
		}
		if rerr != nil {
			return written, rerr
		}
	}
}

// clearAudioHeaders takes back the audio's headers before an error envelope replaces it.
func clearAudioHeaders(h http.Header) {
	for _, k := range []string{"Content-Length", "Content-Range", "Content-Disposition", "Accept-Ranges", "ETag"} {
		h.Del(k)
	}
}

// externalMedia finds the Source of a pvt_attachments entry and what it needs to read it.
// Errors: storage Unsupported (no Source for the handler) or Invalid (no handler payload).
func (s *server) externalMedia(accountID, id string, doc recording.Doc, att recording.Attachment) (media.Source, media.Attachment, error) {
	ext, err := media.FromDocument(accountID, id, doc, att.Name)
	if err != nil {
		return nil, ext, err
	}
	src, err := s.cfg.Media.For(ext.Handler)
	return src, ext, err
}

// recordingIDFromPath returns the decoded {recording_id}; ok only for a well-formed id.
func recordingIDFromPath(r *http.Request) (string, bool) {
	id, ok := pathVar(r, "recording_id")
	if !ok {
		return id, false
	}
	_, ok = recording.ParseRecordingID(id)
	return id, ok
}

// contentDisposition names the file: an ASCII filename="…" every client reads (quotes and
// control characters replaced), plus RFC 6266 filename* when the name is not plain ASCII.
func contentDisposition(inline bool, name string) string {
	kind := "attachment"
	if inline {
		kind = "inline"
	}
	var b strings.Builder
	ascii := true
	for _, c := range name {
		switch {
		case c > 0x7e:
			ascii = false
			b.WriteByte('_')
		case c < 0x20 || c == 0x7f || c == '"' || c == '\\':
			b.WriteByte('_')
		default:
			b.WriteRune(c)
		}
	}
	out := kind + `; filename="` + b.String() + `"`
	if !ascii && utf8.ValidString(name) {
		out += "; filename*=UTF-8''" + rfc5987Escape(name)
	}
	return out
}

// rfc5987Escape percent-encodes every byte that is not an RFC 5987 attr-char.
func rfc5987Escape(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// etagMatches implements If-None-Match (weak comparison, lists and "*").
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, part := range strings.Split(header, ",") {
		part = strings.TrimSpace(part)
		if part == "*" || strings.TrimPrefix(part, "W/") == etag {
			return true
		}
	}
	return false
}

// ifRangeAllows applies If-Range: a Range is honoured only for the current entity tag.
func ifRangeAllows(ifRange, etag string) bool {
	return ifRange == "" || ifRange == etag
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
