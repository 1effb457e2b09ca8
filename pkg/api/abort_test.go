package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/store/couch"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
	"github.com/recordingsd/recordingsd/pkg/store/embedded"
)

// Audio big enough that a download cannot fit in the sockets' buffers (a few MB on
// loopback): a client that stops reading leaves the handler mid-stream.
const abortAudioSize = 8 << 20

// abortedDownloads is how many clients read a few KB of the audio and hang up, all at once.
const abortedDownloads = 50

// A client that hangs up mid-download releases everything at once: the handler ends, the
// CouchDB connection that carried the attachment is closed (not left with unread data), no
// goroutine stays behind, and the store goes on working.
func TestAbortedDownloadsReleaseTheStore(t *testing.T) {
	t.Run("couchdb", func(t *testing.T) {
		// A server of its own: fifty 8 MB answers at once are no load for the shared one.
		srv := couchtest.StartServer(t)
		var proxy *couchProxy
		f := newFixture(t, func(t *testing.T) backend {
			proxy = startCouchProxy(t, srv.URL())
			s, err := couch.New(couch.Config{URL: proxy.URL()}, zap.NewNop())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		})
		a := newAbortRun(t, f, proxy)
		a.run()
		a.downloadWhole()
	})
	t.Run("embedded", func(t *testing.T) {
		var store *embedded.Store
		f := newFixture(t, func(t *testing.T) backend {
			b := openEmbedded(t)
			store = b.(*embedded.Store)
			return b
		})
		a := newAbortRun(t, f, nil)
		a.run()
		a.downloadWhole()
		// Nothing holds a transaction: the store takes a write and closes promptly.
		more := f.addRecording(rec{audio: randBytes(1 << 20)})
		if r := f.call("GET", f.base()+"/recordings/"+more, tokenAccount, nil); r.status != http.StatusOK {
			t.Fatalf("GET after the aborted downloads: %d %s", r.status, r.body)
		}
		closed := make(chan error, 1)
		go func() { closed <- store.Close() }()
		select {
		case err := <-closed:
			if err != nil {
				t.Errorf("Close: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the store did not close within 10s: something still holds a transaction")
		}
	})
}

// abortRun is one round of aborted downloads against a fixture, watched from outside.
type abortRun struct {
	t      *testing.T
	f      *fixture
	proxy  *couchProxy // nil for the embedded store
	id     string
	audio  []byte
	client *http.Client

	running atomic.Int64 // API handlers in progress
	aborted atomic.Int64 // API handlers ended by http.ErrAbortHandler (a cut stream)
}

func newAbortRun(t *testing.T, f *fixture, proxy *couchProxy) *abortRun {
	a := &abortRun{t: t, f: f, proxy: proxy, audio: randBytes(abortAudioSize)}
	a.id = f.addRecording(rec{audio: a.audio})
	// The same API, its handlers counted.
	api := f.srv.Config.Handler
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.running.Add(1)
		defer a.running.Add(-1)
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					a.aborted.Add(1)
				}
				panic(p)
			}
		}()
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	a.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: abortedDownloads}}
	t.Cleanup(a.client.CloseIdleConnections)
	return a
}

func (a *abortRun) run() {
	t := a.t
	// Warm up with the same concurrency, so that connection pools have their working size.
	a.concurrently(func(i int) error {
		r, err := a.get("", "")
		if err == nil {
			r.Body.Close()
		}
		return err
	})
	baseline := a.settledGoroutines()

	started := time.Now()
	a.concurrently(func(i int) error {
		// A connection of its own, closed with most of the body unread: the client is gone.
		r, err := a.get("audio/mpeg", "close")
		if err != nil {
			return err
		}
		defer r.Body.Close()
		if r.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", r.StatusCode)
		}
		_, err = io.ReadFull(r.Body, make([]byte, 4<<10))
		return err
	})
	hungUp := time.Now()

	// Released: no handler left, and no CouchDB connection busy or still open after
	// carrying an attachment (unread, it cannot be reused: it must be closed).
	var conns connCounts
	released := waitFor(5*time.Second, func() bool {
		if a.proxy != nil {
			conns = a.proxy.connCounts()
		}
		return a.running.Load() == 0 && conns.busy == 0 && conns.attachment == 0
	})
	if !released {
		t.Fatalf("5s after %d clients hung up: %d handlers still running; CouchDB connections: %d busy, %d open that carried an attachment\n%s",
			abortedDownloads, a.running.Load(), conns.busy, conns.attachment, stacksMatching("recordingsd"))
	}
	releasedAfter := time.Since(hungUp)
	if a.proxy != nil {
		t.Logf("CouchDB connections once released: %d opened in all; %d still open (idle, reusable), %d busy, %d that carried an attachment",
			conns.opened, conns.open, conns.busy, conns.attachment)
	}
	if n := a.aborted.Load(); n != abortedDownloads {
		t.Errorf("%d of %d downloads were cut short by the server, want all: the audio fits in the socket buffers?", n, abortedDownloads)
	}
	if s := stacksMatching("serveAudio", "OpenAttachment", "attachmentReader"); s != "" {
		t.Errorf("goroutines still streaming audio:\n%s", s)
	}
	after := a.settledGoroutines()
	ok := waitFor(3*time.Second, func() bool { after = a.settledGoroutines(); return after <= baseline+5 })
	t.Logf("%d downloads of %d MB cut after 4 KB in %v; handlers done and store released %v later; "+
		"goroutines: %d before, %d after", abortedDownloads, abortAudioSize>>20, hungUp.Sub(started).Round(time.Millisecond),
		releasedAfter.Round(time.Millisecond), baseline, after)
	if !ok {
		t.Errorf("goroutines did not return to the baseline: %d before, %d after\n%s", baseline, after, stacksMatching("recordingsd", "net/http"))
	}
}

// downloadWhole checks that the audio still comes whole afterwards.
func (a *abortRun) downloadWhole() {
	r, err := a.get("audio/mpeg", "")
	if err != nil {
		a.t.Fatal(err)
	}
	defer r.Body.Close()
	got, err := io.ReadAll(r.Body)
	if err != nil || r.StatusCode != http.StatusOK || !bytes.Equal(got, a.audio) {
		a.t.Fatalf("download after the aborted ones: %d, %d bytes (sha256 %x), %v; want %d bytes",
			r.StatusCode, len(got), sha256.Sum256(got), err, len(a.audio))
	}
}

func (a *abortRun) get(accept, connection string) (*http.Response, error) {
	req, err := http.NewRequest("GET", a.f.srv.URL+a.f.base()+"/recordings/"+a.id, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Auth-Token", tokenAccount)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	req.Close = connection == "close"
	return a.client.Do(req)
}

// concurrently runs do abortedDownloads times at once and fails the test on any error.
func (a *abortRun) concurrently(do func(i int) error) {
	a.t.Helper()
	errs := make([]error, abortedDownloads)
	var wg sync.WaitGroup
	for i := range abortedDownloads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = do(i)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			a.t.Fatalf("client %d: %v", i, err)
		}
	}
}

// settledGoroutines closes the idle connections of every client and server the test owns,
// so their goroutines go, and counts the goroutines left once the count stops falling.
func (a *abortRun) settledGoroutines() int {
	a.client.CloseIdleConnections()
	a.f.srv.CloseClientConnections()
	if a.proxy != nil {
		// The store's idle connections end when the proxy closes its side.
		a.proxy.srv.CloseClientConnections()
	}
	n := runtime.NumGoroutine()
	for range 50 {
		time.Sleep(20 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m >= n {
			return m
		}
		n = m
	}
	return n
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			return cond()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return true
}

// stacksMatching returns the stacks of the goroutines that mention any of words.
func stacksMatching(words ...string) string {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "stacksMatching") {
			continue
		}
		for _, w := range words {
			if strings.Contains(g, w) {
				out = append(out, g)
				break
			}
		}
	}
	return strings.Join(out, "\n\n")
}
