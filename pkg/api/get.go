package api

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/crossbar"
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
			err = s.mayTouch(rc, doc)
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
			s.serveAudio(w, r, id, atts[0])
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

// serveAudio streams one attachment: Range by seeking in the store, never the whole file in
// memory; HEAD gets the same headers without a body.
func (s *server) serveAudio(w http.ResponseWriter, r *http.Request, id string, att recording.Attachment) {
	rc := reqCtx(r)
	if att.External {
		// Storage-provider media is read by a later release; say so rather than pretend it is missing.
		writeError(w, r, &crossbar.APIError{Status: http.StatusNotImplemented, Message: "storage_provider_unsupported",
			Data: map[string]any{"message": "the audio of this recording is on a storage provider, which this service does not read yet", "details": id}})
		return
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
	size := att.Length
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
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	body, err := s.store.OpenAttachment(r.Context(), rc.accountID, id, att.Name, rng)
	if err != nil {
		for _, k := range []string{"Content-Length", "Content-Range", "Content-Disposition", "Accept-Ranges", "ETag"} {
			h.Del(k)
		}
		s.fail(w, r, err, id)
		return
	}
	defer body.Close()
	defer s.metrics.StreamStarted()()
	w.WriteHeader(status)
	buf := make([]byte, 64<<10)
	n, err := io.CopyBuffer(w, body, buf)
	s.metrics.AudioBytes(n)
	if err != nil || n != length {
		// Headers are out: the only signal left is a cut connection, never a short "success".
		s.log.Warn("audio stream cut short", zap.String("request_id", rc.meta.RequestID),
			zap.String("recording_id", id), zap.Int64("sent", n), zap.Int64("want", length), zap.Error(err))
		panic(http.ErrAbortHandler)
	}
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
