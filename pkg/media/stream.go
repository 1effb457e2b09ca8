package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/recordingsd/recordingsd/internal/exactio"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Timeouts bound a provider request: Request until the first byte we hand out (connecting,
// headers, skipping to a range), Idle for each wait on the provider during the transfer.
// Zero takes the default.
type Timeouts struct {
	Request time.Duration
	Idle    time.Duration
}

// Defaults: storage.request_timeout and storage.idle_timeout.
const (
	DefaultRequestTimeout = 10 * time.Second
	DefaultIdleTimeout    = 30 * time.Second
)

// WithDefaults fills zero durations.
func (t Timeouts) WithDefaults() Timeouts {
	if t.Request <= 0 {
		t.Request = DefaultRequestTimeout
	}
	if t.Idle <= 0 {
		t.Idle = DefaultIdleTimeout
	}
	return t
}

// Guard runs open under the request timeout, then hands out its body watched by the idle
// timeout: a provider that stops sending fails the read with ErrTimeout instead of hanging.
// Time the caller spends between reads (a slow client) does not count.
// When the request timeout passes, Guard's error is ErrTimeout, whatever open returned.
func Guard(ctx context.Context, t Timeouts, open func(ctx context.Context) (io.ReadCloser, error)) (io.ReadCloser, error) {
	t = t.WithDefaults()
	ctx, cancel := context.WithCancel(ctx)
	g := &guarded{cancel: cancel, idle: t.Idle}
	g.timer = time.AfterFunc(t.Request, func() {
		g.fired.Store(true)
		cancel()
	})
	body, err := open(ctx)
	g.timer.Stop()
	if g.fired.Load() {
		if body != nil {
			_ = body.Close()
		}
		cancel()
		return nil, ErrTimeout
	}
	if err != nil {
		cancel()
		return nil, err
	}
	g.body = body
	return g, nil
}

type guarded struct {
	body   io.ReadCloser
	timer  *time.Timer
	fired  atomic.Bool
	idle   time.Duration
	cancel context.CancelFunc
}

func (g *guarded) Read(p []byte) (int, error) {
	if g.fired.Load() {
		return 0, ErrTimeout
	}
	g.timer.Reset(g.idle)
	n, err := g.body.Read(p)
	g.timer.Stop()
	if err != nil && !errors.Is(err, io.EOF) && g.fired.Load() {
		err = ErrTimeout
	}
	return n, err
}

func (g *guarded) Close() error {
	g.timer.Stop()
	err := g.body.Close()
	g.cancel()
	return err
}

// Answer is what a provider said about the bytes it is sending.
type Answer struct {
	Partial       bool   // 206: only a part is coming
	ContentRange  string // "bytes S-E/TOTAL" of a partial answer
	ContentLength int64  // -1 when not given
}

// ErrSizeMismatch is the cause of an Unreachable "size_mismatch".
var ErrSizeMismatch = errors.New("the stored object's size differs from the recording's length")

// Fit positions body at the requested bytes and holds it to them. A provider that ignored
// the Range (answered the whole object) is skipped forward and cut short; an object whose
// size is not size (when both are known) is refused with ErrSizeMismatch. The result yields
// exactly the promised bytes or fails with io.ErrUnexpectedEOF. On error body is left open.
func Fit(body io.Reader, a Answer, rng *recording.Range, size int64) (io.Reader, error) {
	if a.Partial {
		if rng == nil {
			return nil, fmt.Errorf("the provider sent a part (%q) of an object asked for whole", a.ContentRange)
		}
		start, end, total, err := parseContentRange(a.ContentRange)
		if err != nil {
			return nil, err
		}
		if start != rng.Start || end != rng.End {
			return nil, fmt.Errorf("asked for bytes %d-%d, got Content-Range %q", rng.Start, rng.End, a.ContentRange)
		}
		if total >= 0 && size >= 0 && total != size {
			return nil, fmt.Errorf("%w: %d bytes stored, %d expected", ErrSizeMismatch, total, size)
		}
		return exactio.NewReader(body, rng.Len()), nil
	}
	if a.ContentLength >= 0 && size >= 0 && a.ContentLength != size {
		return nil, fmt.Errorf("%w: %d bytes stored, %d expected", ErrSizeMismatch, a.ContentLength, size)
	}
	if rng == nil {
		if size < 0 {
			return body, nil
		}
		return exactio.NewReader(body, size), nil
	}
	if _, err := io.CopyN(io.Discard, body, rng.Start); err != nil {
		return nil, fmt.Errorf("skip to byte %d: %w", rng.Start, err)
	}
	return exactio.NewReader(body, rng.Len()), nil
}

// parseContentRange reads "bytes S-E/TOTAL" (TOTAL may be "*": -1).
func parseContentRange(v string) (start, end, total int64, err error) {
	bad := fmt.Errorf("unreadable Content-Range %q", v)
	rest, ok := strings.CutPrefix(v, "bytes ")
	if !ok {
		return 0, 0, 0, bad
	}
	span, tot, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, 0, 0, bad
	}
	s, e, ok := strings.Cut(span, "-")
	if !ok {
		return 0, 0, 0, bad
	}
	if start, err = strconv.ParseInt(s, 10, 64); err != nil {
		return 0, 0, 0, bad
	}
	if end, err = strconv.ParseInt(e, 10, 64); err != nil {
		return 0, 0, 0, bad
	}
	total = -1
	if tot != "*" {
		if total, err = strconv.ParseInt(tot, 10, 64); err != nil {
			return 0, 0, 0, bad
		}
	}
	return start, end, total, nil
}

// ReadCloser joins a reader to the closer that releases it.
func ReadCloser(r io.Reader, c io.Closer) io.ReadCloser {
	return struct {
		io.Reader
		io.Closer
	}{r, c}
}

// NewHTTPClient is the client providers are reached with: connecting, TLS and waiting for
// response headers each bounded by the request timeout; no transparent gzip, which would
// make byte offsets meaningless.
func NewHTTPClient(t Timeouts) *http.Client {
	t = t.WithDefaults()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: t.Request, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = t.Request
	tr.ResponseHeaderTimeout = t.Request
	tr.DisableCompression = true
	tr.MaxIdleConnsPerHost = 32
	return &http.Client{Transport: tr}
}
