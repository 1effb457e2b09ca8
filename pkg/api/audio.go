package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/crossbar"
	"github.com/recordingsd/recordingsd/pkg/media"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// serveAudio streams one attachment, from the store or from the storage provider that holds
// it (pvt_attachments): Range by seeking, never the whole file in memory; HEAD gets the same
// headers without a body. Its steps: the source, the headers, 304, the size, the range, the bytes.
func (s *server) serveAudio(w http.ResponseWriter, r *http.Request, id string, doc recording.Doc, att recording.Attachment) {
	rc := reqCtx(r)
	source, err := s.audioSourceOf(rc.accountID, id, doc, att)
	if err != nil {
		s.fail(w, r, err, id)
		return
	}
	etag := audioETag(id, att)
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Accept-Ranges", "bytes")
	h.Set("Content-Type", orDefault(att.ContentType, "application/octet-stream"))
	h.Set("Content-Disposition", contentDisposition(r.URL.Query().Get("inline") == "true", att.Name))
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if err := source.settleSize(r.Context(), r.Method == http.MethodHead); err != nil {
		clearAudioHeaders(h)
		s.fail(w, r, err, id)
		return
	}
	if source.size < 0 {
		// Neither the document nor the provider tells the size: the whole object, streamed
		// without Content-Length, and no ranges.
		h.Set("Accept-Ranges", "none")
		s.streamAudio(w, r, id, http.StatusOK, -1, func() (io.ReadCloser, error) { return source.open(r.Context(), nil) })
		return
	}
	rng, ok := requestedRange(w, r, etag, source.size)
	if !ok {
		return
	}
	status, length := http.StatusOK, source.size
	if rng != nil {
		status, length = http.StatusPartialContent, rng.Len()
		h.Set("Content-Range", crossbar.ContentRange(rng, source.size))
	}
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	s.streamAudio(w, r, id, status, length, func() (io.ReadCloser, error) { return source.open(r.Context(), rng) })
}

// audioSource is where one attachment's bytes come from: the store, or the storage provider
// its pvt_attachments entry names.
type audioSource struct {
	size      int64        // -1: unknown until the provider says
	provider  media.Source // nil: the store
	ext       media.Attachment
	fromStore func(ctx context.Context, rng *recording.Range) (io.ReadCloser, error)
}

func (s *server) audioSourceOf(accountID, id string, doc recording.Doc, att recording.Attachment) (*audioSource, error) {
	if !att.External {
		return &audioSource{size: att.Length, fromStore: func(ctx context.Context, rng *recording.Range) (io.ReadCloser, error) {
			return s.store.OpenAttachment(ctx, accountID, id, att.Name, rng)
		}}, nil
	}
	src, ext, err := s.externalMedia(accountID, id, doc, att)
	if err != nil {
		return nil, err
	}
	return &audioSource{size: ext.Length, provider: src, ext: ext}, nil
}

// settleSize asks the provider whenever its answer shapes the response: a HEAD promises what
// a GET would get, and a document without a length leaves the size to it. A provider whose
// size disagrees with the document's is an error (502), not a truncated or padded file.
func (a *audioSource) settleSize(ctx context.Context, head bool) error {
	if a.provider == nil || (a.size >= 0 && !head) {
		return nil
	}
	info, err := a.provider.Stat(ctx, a.ext)
	if err != nil {
		return err
	}
	if a.size >= 0 && info.Size >= 0 && info.Size != a.size {
		return &media.Error{Kind: media.Unreachable, Handler: a.ext.Handler, Reason: "size_mismatch",
			Err: fmt.Errorf("%w: the provider has %d bytes, the document says %d", media.ErrSizeMismatch, info.Size, a.size)}
	}
	if a.size < 0 {
		a.size = info.Size
		a.ext.Length = info.Size
	}
	return nil
}

// open reads the bytes of rng (nil: all of them).
func (a *audioSource) open(ctx context.Context, rng *recording.Range) (io.ReadCloser, error) {
	if a.provider != nil {
		return a.provider.Open(ctx, a.ext, rng)
	}
	return a.fromStore(ctx, rng)
}

// audioETag is the attachment's digest (a PATCH of the document does not change it), else
// the id and length for provider objects without one.
func audioETag(id string, att recording.Attachment) string {
	if att.Digest == "" {
		return `"` + id + "-" + strconv.FormatInt(att.Length, 10) + `"`
	}
	return `"` + att.Digest + `"`
}

// requestedRange reads Range (honoured only while If-Range names the current entity tag); a
// range past the end answers 416 and ok is false.
func requestedRange(w http.ResponseWriter, r *http.Request, etag string, size int64) (rng *recording.Range, ok bool) {
	hdr := r.Header.Get("Range")
	if hdr == "" || !ifRangeAllows(r.Header.Get("If-Range"), etag) {
		return nil, true
	}
	parsed, err := crossbar.ParseRange(hdr, size)
	if errors.Is(err, crossbar.ErrUnsatisfiable) {
		w.Header().Set("Content-Range", crossbar.ContentRange(nil, size))
		w.Header().Del("Content-Disposition")
		writeError(w, r, crossbar.RangeNotSatisfiable(size))
		return nil, false
	}
	return parsed, true
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

// ifRangeAllows applies If-Range: a Range is honoured only for the current entity tag.
func ifRangeAllows(ifRange, etag string) bool {
	return ifRange == "" || ifRange == etag
}
