// Package media reads recordings' audio that Kazoo stored on a storage provider instead of
// in CouchDB: the document lists it under pvt_attachments, each entry naming the Kazoo handler
// module that wrote it (kz_att_s3, kz_att_http, …) and that handler's payload. One Source per
// handler (subpackages s3media and httpmedia) reads the bytes back.
//
// Payloads hold credentials (an S3 key pair, a URL's user and password): nothing here puts
// them in an error message, a log line or a response.
package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Attachment is one media file on a storage provider, as a recording's pvt_attachments
// describes it.
type Attachment struct {
	AccountID   string
	RecordingID string
	Name        string // the attachment's name (the key in pvt_attachments)
	Handler     string // Kazoo's handler module, e.g. kz_att_s3
	// Payload is the handler's object from pvt_attachments.<name>.handler.<module>.
	// It holds secrets: never log it.
	Payload map[string]any
	// Length is the size in bytes the caller expects (from the document or a Stat);
	// -1 when unknown. Open refuses an object of another size.
	Length int64
	// Fields are the recording's public fields: Kazoo builds some object names from them.
	Fields map[string]any
}

// Info is what a provider says about an object without sending it.
type Info struct {
	Size int64 // -1 when the provider does not say
}

// Source reads, and deletes, media stored by one Kazoo handler.
type Source interface {
	// Stat asks the provider for the object's size. Errors: *Error (Unreachable when the
	// provider fails, times out or has no such object; Invalid for an unreadable payload).
	Stat(ctx context.Context, att Attachment) (Info, error)
	// Open streams the whole object (rng nil) or exactly the bytes of rng, which the caller
	// has checked against att.Length. The reader fails rather than yield fewer bytes, or
	// stall past the idle timeout. Errors: as Stat, plus Unreachable "size_mismatch" when
	// the provider's object is not att.Length bytes long.
	Open(ctx context.Context, att Attachment, rng *recording.Range) (io.ReadCloser, error)
	// Locate describes where the object is, for operators' logs: no credentials, no query
	// string. Errors: Invalid for an unreadable payload.
	Locate(att Attachment) (string, error)
	// Delete removes the object from the provider. An object that is already gone (the
	// provider answers 404 / NoSuchKey) is not an error: deleting is idempotent, so a sweep
	// that failed after this call can run again. Errors: as Stat.
	Delete(ctx context.Context, att Attachment) error
}

// Sources are the readers of each handler module, by module name.
type Sources map[string]Source

// For returns the Source of a handler module. Errors: Unsupported when none reads it.
func (s Sources) For(handler string) (Source, error) {
	if src, ok := s[handler]; ok && src != nil {
		return src, nil
	}
	return nil, &Error{Kind: Unsupported, Handler: handler, Reason: "unsupported_handler"}
}

// Handlers lists the modules read, sorted.
func (s Sources) Handlers() []string {
	out := make([]string, 0, len(s))
	for h := range s {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

// Kind classifies provider errors; the HTTP layer maps each kind to one status.
type Kind int

const (
	// Unreachable: the provider failed, timed out, refused us or has no such object.
	Unreachable Kind = iota + 1
	// Unsupported: no Source reads this handler module.
	Unsupported
	// Invalid: the document's payload cannot be read (corrupt, or a shape Kazoo never wrote).
	Invalid
)

// Error is a storage failure. Reason is a short, fixed word or phrase that is safe to show a
// client ("timeout", "connection_failed", "provider_status_404", "size_mismatch", …); Err is the
// cause for the log, already stripped of credentials.
type Error struct {
	Kind    Kind
	Handler string
	Reason  string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("storage %s: %s: %v", e.Handler, e.Reason, e.Err)
	}
	return fmt.Sprintf("storage %s: %s", e.Handler, e.Reason)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrTimeout is the cause of an Unreachable "timeout": the provider did not answer, or
// stopped sending, within the configured time.
var ErrTimeout = errors.New("the storage provider did not answer in time")

// Failure is the Unreachable error for a provider request that failed with err, its reason
// told from the cause; the secrets are scrubbed from the message.
func Failure(handler string, err error, secrets ...string) *Error {
	reason := "request_failed"
	var netErr *net.OpError
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		reason = "timeout"
	case errors.Is(err, ErrSizeMismatch):
		reason = "size_mismatch"
	case errors.As(err, &netErr), errors.As(err, &dnsErr):
		reason = "connection_failed"
	}
	return &Error{Kind: Unreachable, Handler: handler, Reason: reason, Err: Scrub(err, secrets...)}
}

// Scrub returns err with every occurrence of the secrets replaced. The result still answers
// errors.Is for its causes (a timeout, a cancelled request) but does not unwrap to them, so
// nothing can print the original message. Empty secrets are ignored.
func Scrub(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	changed := false
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
			changed = true
		}
	}
	if !changed {
		return err
	}
	return &scrubbed{msg: msg, cause: err}
}

type scrubbed struct {
	msg   string
	cause error
}

func (s *scrubbed) Error() string        { return s.msg }
func (s *scrubbed) Is(target error) bool { return errors.Is(s.cause, target) }

// Text reads a payload value as a string: JSON strings only.
func Text(payload map[string]any, key string) string {
	s, _ := payload[key].(string)
	return s
}
