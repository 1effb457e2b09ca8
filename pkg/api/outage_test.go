package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/store/couch"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
)

// When CouchDB goes away under traffic, every request fails fast with 503
// datastore_unreachable (bounded by couchdb.request_timeout), none hangs, nothing else breaks,
// and the service is back within a second of CouchDB answering again. Two outages: the
// server killed (connections refused) and the server frozen (connections accepted, nothing
// answered: only the request timeout ends a request).
func TestCouchDBOutage(t *testing.T) {
	srv := couchtest.StartServer(t)
	const requestTimeout = time.Second
	// Seeded without a tight bound (creating databases on a busy machine can take seconds),
	// then served with the short request timeout under test.
	f := newFixture(t, openCouchAt(srv.URL(), time.Minute))
	var ids []string
	for range 3 {
		ids = append(ids, f.addRecording(rec{audio: randBytes(32 << 10)}))
	}
	f.serveStore(openCouchAt(srv.URL(), requestTimeout)(t))

	outages := []struct {
		name         string
		down, up     func()
		length       time.Duration
		inFlightTime time.Duration // bound for requests caught by the outage's start
	}{
		// Killed: refused connections fail at once; a download cut mid-body is a cut connection.
		{"killed", srv.Stop, srv.Start, 2 * time.Second, requestTimeout + 2*time.Second},
		// Frozen: each CouchDB call waits request_timeout. A request caught with some calls
		// done waits at most once more; a body already streaming is cut after request_timeout
		// of silence (TestCouchDBFrozenMidDownload), or resumes if the thaw comes first.
		{"frozen", srv.Pause, srv.Resume, 3 * time.Second, 3*time.Second + requestTimeout + 2*time.Second},
	}
	for _, o := range outages {
		t.Run(o.name, func(t *testing.T) {
			tr := startTraffic(f, 6, ids)
			time.Sleep(time.Second)
			downCalled := time.Now()
			o.down()
			// Past this instant a request cannot reach a working CouchDB anywhere.
			strictFrom := time.Now().Add(50 * time.Millisecond)
			time.Sleep(o.length)
			o.up()
			backAt := time.Now() // CouchDB answers GET / again
			time.Sleep(2 * time.Second)
			results := tr.stop()

			var counts struct{ total, ok, unavailable, other5xx, cut, late int }
			statuses := map[string]int{}
			var firstOK time.Time
			var slowest time.Duration // of the requests wholly inside the outage
			for _, r := range results {
				counts.total++
				statuses[r.statusText()]++
				duration := r.end.Sub(r.start)
				switch {
				case r.err != nil:
					counts.cut++
				case r.status == http.StatusOK:
					counts.ok++
				case r.status == http.StatusServiceUnavailable:
					counts.unavailable++
				case r.status >= 500:
					counts.other5xx++
				}
				if r.status >= 500 && r.status != http.StatusServiceUnavailable {
					t.Errorf("%s: %d %s, want no 5xx but 503", r, r.status, r.message)
				}
				// datastore_busy: a CouchDB killed before it saved its index catches up after the
				// restart, and a listing meeting that build says so rather than wait.
				busy := r.message == "datastore_busy" && r.kind == "list"
				if r.status == http.StatusServiceUnavailable && (r.message != "datastore_unreachable" && !busy || r.errorField != "503") {
					t.Errorf("%s: 503 with error %q message %q, want 503 datastore_unreachable", r, r.errorField, r.message)
				}
				switch {
				case r.end.Before(downCalled):
					// before the outage: all must work
					if r.status != http.StatusOK || r.err != nil {
						t.Errorf("%s before the outage: %d %v", r, r.status, r.err)
					}
				case !r.start.Before(strictFrom) && r.end.Before(backAt):
					// wholly inside the outage: 503 within request_timeout, nothing else
					if r.err != nil || r.status != http.StatusServiceUnavailable {
						t.Errorf("%s during the outage: %d %q %v, want 503 datastore_unreachable", r, r.status, r.message, r.err)
					}
					slowest = max(slowest, duration)
					if duration > requestTimeout+time.Second {
						counts.late++
						t.Errorf("%s during the outage took %v, more than request_timeout %v + 1s", r, duration, requestTimeout)
					}
				case r.start.Before(strictFrom) && !r.end.Before(downCalled):
					// caught by the outage's start: done, failed, or (audio) cut mid-body
					if r.err != nil && r.kind != "audio" {
						t.Errorf("%s caught by the outage: %v", r, r.err)
					}
					if duration > o.inFlightTime {
						counts.late++
						t.Errorf("%s caught by the outage took %v, more than %v", r, duration, o.inFlightTime)
					}
				default:
					// ends after CouchDB is back
					if r.err != nil {
						t.Errorf("%s after the outage: %v", r, r.err)
					}
					if !r.start.Before(backAt.Add(time.Second)) && r.status != http.StatusOK {
						t.Errorf("%s, more than 1s after CouchDB came back: %d %s", r, r.status, r.message)
					}
				}
				if r.status == http.StatusOK && !r.start.Before(strictFrom) && (firstOK.IsZero() || r.end.Before(firstOK)) {
					firstOK = r.end
				}
			}
			if firstOK.IsZero() {
				t.Fatalf("no request succeeded after CouchDB came back (%d requests: %v)", counts.total, statuses)
			}
			recovery := firstOK.Sub(backAt)
			t.Logf("CouchDB %s for %v (request_timeout %v): %d requests: %d × 200, %d × 503 datastore_unreachable, "+
				"%d other 5xx, %d cut downloads, %d over their time bound; slowest 503 inside the outage %v; "+
				"first 200 %v after CouchDB answered again",
				o.name, o.length, requestTimeout, counts.total, counts.ok, counts.unavailable, counts.other5xx, counts.cut,
				counts.late, slowest.Round(time.Millisecond), recovery.Round(time.Millisecond))
			if counts.unavailable == 0 {
				t.Errorf("no request saw the outage: %v", statuses)
			}
			if recovery >= time.Second {
				t.Errorf("service came back %v after CouchDB, want under 1s", recovery)
			}
		})
	}
	// The data survived: every recording is still there.
	for _, id := range ids {
		if r := f.call("GET", f.base()+"/recordings/"+id, tokenAccount, nil); r.status != http.StatusOK {
			t.Errorf("after the outages, GET %s: %d %s", id, r.status, r.body)
		}
	}
}

// A download that is streaming when CouchDB hangs is cut within request_timeout of CouchDB's
// last bytes: not held until CouchDB comes back, or until TCP gives up minutes later.
func TestCouchDBFrozenMidDownload(t *testing.T) {
	srv := couchtest.StartServer(t)
	const requestTimeout = 2 * time.Second
	// More audio than every socket buffer on the way can hold, written by a store with a
	// longer timeout (storing it takes more than request_timeout), then served by one with
	// the timeout under test.
	f := newFixture(t, openCouchAt(srv.URL(), time.Minute))
	id := f.addRecording(rec{})
	doc, err := f.store.Get(t.Context(), f.account, id)
	if err != nil {
		t.Fatal(err)
	}
	const size = 24 << 20
	if _, err := f.store.PutAttachment(t.Context(), f.account, id, doc.Rev(), "a.mp3", "audio/mpeg", bytes.NewReader(randBytes(size))); err != nil {
		t.Fatal(err)
	}
	f.serveStore(openCouchAt(srv.URL(), requestTimeout)(t))

	req, err := http.NewRequest("GET", f.srv.URL+f.base()+"/recordings/"+id, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", tokenAccount)
	req.Header.Set("Accept", "audio/mpeg")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadFull(resp.Body, make([]byte, 64<<10)); err != nil {
		t.Fatal(err)
	}

	srv.Pause()
	frozen := time.Now()
	type result struct {
		n   int64
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := io.Copy(io.Discard, resp.Body)
		done <- result{n, err}
	}()
	select {
	case r := <-done:
		switch {
		case r.err == nil:
			t.Fatalf("the whole audio arrived although CouchDB froze: make it bigger than the socket buffers")
		default:
			t.Logf("download cut %v after CouchDB froze (request_timeout %v): %v", time.Since(frozen).Round(time.Millisecond), requestTimeout, r.err)
		}
	case <-time.After(requestTimeout + 3*time.Second):
		srv.Resume()
		r := <-done
		t.Fatalf("download still blocked %v after CouchDB froze (request_timeout %v); it went on when CouchDB came back (%d more bytes, %v)",
			requestTimeout+3*time.Second, requestTimeout, r.n, r.err)
	}
	srv.Resume()
}

// openCouchAt opens CouchDB stores on the server at url with the given request timeout.
func openCouchAt(url string, requestTimeout time.Duration) openBackend {
	return func(t *testing.T) backend {
		t.Helper()
		s, err := couch.New(couch.Config{URL: url, RequestTimeout: requestTimeout}, zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
}

// traffic is a few clients looping over a listing, a document and its audio.
type traffic struct {
	done    chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	results []outcome
}

// outcome is one request of the traffic.
type outcome struct {
	kind       string // list, json, audio
	worker     int
	start, end time.Time
	status     int
	errorField string // the envelope's "error" and "message"
	message    string
	err        error // no complete answer: a cut body, or the client gave up (a hang)
}

func (o outcome) String() string {
	return fmt.Sprintf("%s request of worker %d at %s", o.kind, o.worker, o.start.Format("15:04:05.000"))
}

func (o outcome) statusText() string {
	if o.err != nil {
		return "cut"
	}
	return strconv.Itoa(o.status)
}

func startTraffic(f *fixture, workers int, ids []string) *traffic {
	tr := &traffic{done: make(chan struct{})}
	// Generous: a request this slow hangs, and is reported as such.
	client := &http.Client{Timeout: 30 * time.Second}
	for w := range workers {
		tr.wg.Add(1)
		go func() {
			defer tr.wg.Done()
			for i := w; ; i++ {
				select {
				case <-tr.done:
					return
				default:
				}
				var o outcome
				switch id := ids[i%len(ids)]; i % 3 {
				case 0:
					o = trafficRequest(client, "list", f.srv.URL+f.base()+"/recordings", "")
				case 1:
					o = trafficRequest(client, "json", f.srv.URL+f.base()+"/recordings/"+id, "")
				default:
					o = trafficRequest(client, "audio", f.srv.URL+f.base()+"/recordings/"+id, "audio/mpeg")
				}
				o.worker = w
				tr.mu.Lock()
				tr.results = append(tr.results, o)
				tr.mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	return tr
}

// stop ends the traffic and returns every outcome, in order of start.
func (tr *traffic) stop() []outcome {
	close(tr.done)
	tr.wg.Wait()
	sort.Slice(tr.results, func(i, j int) bool { return tr.results[i].start.Before(tr.results[j].start) })
	return tr.results
}

func trafficRequest(client *http.Client, kind, url, accept string) outcome {
	o := outcome{kind: kind, start: time.Now()}
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		panic(err)
	}
	req.Header.Set("X-Auth-Token", tokenAccount)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := client.Do(req)
	if err != nil {
		o.err, o.end = err, time.Now()
		return o
	}
	defer resp.Body.Close()
	o.status = resp.StatusCode
	body, err := io.ReadAll(resp.Body)
	o.end = time.Now()
	switch {
	case err != nil:
		o.err = fmt.Errorf("%d, body cut after %d bytes: %w", resp.StatusCode, len(body), err)
	case resp.ContentLength >= 0 && int64(len(body)) != resp.ContentLength:
		o.err = fmt.Errorf("%d, %d bytes of %d", resp.StatusCode, len(body), resp.ContentLength)
	case strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json"):
		var env struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			o.err = fmt.Errorf("%d, invalid JSON: %w", resp.StatusCode, err)
		}
		o.errorField, o.message = env.Error, env.Message
	}
	return o
}
