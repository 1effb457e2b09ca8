package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// caseEvents: from a recording written straight into CouchDB (one PUT with its audio inline,
// as Kazoo writes a short recording) to its recording.created on the service's event stream.
// The lag at a trickle (10 a second), then at 100 a second for -events-duration, where the
// lag of the last ten seconds against the first ten says whether a queue builds up.
func (b *bench) caseEvents(ctx context.Context) error {
	if b.pouch != nil {
		b.note("Case events", "skipped: pouchdb-server has no _db_updates (run with -couch)")
		return nil
	}
	stream, err := b.openEventStream(ctx)
	if err != nil {
		return err
	}
	defer stream.close()
	time.Sleep(2 * time.Second) // the watcher follows the new month database

	trickle, err := b.eventsPhase(ctx, stream, 10, 20*time.Second)
	if err != nil {
		return err
	}
	b.note("Events, 10 recordings/s for 20 s", "%s", trickle.summary("the stream"))
	sustained, err := b.eventsPhase(ctx, stream, 100, b.cfg.eventsDur)
	if err != nil {
		return err
	}
	b.note(fmt.Sprintf("Events, 100 recordings/s for %v", b.cfg.eventsDur), "%s", sustained.summary("the stream"))
	return nil
}

// receipts says when a recording's recording.created reached the bench: the event stream,
// or the webhook receiver.
type receipts interface {
	receivedAt(id string) (time.Time, bool)
}

// eventStream reads recording.created events and notes when each recording's came.
type eventStream struct {
	resp *http.Response
	mu   sync.Mutex
	got  map[string]time.Time
}

func (b *bench) openEventStream(ctx context.Context) (*eventStream, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", b.svcCouch.base+"/v2/accounts/"+b.set.accountID+"/recordings/events", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Auth-Token", benchToken)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		resp.Body.Close()
		return nil, fmt.Errorf("event stream: HTTP %d", resp.StatusCode)
	}
	s := &eventStream{resp: resp, got: map[string]time.Time{}}
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if !strings.HasPrefix(line, "data: ") {
				continue
			}
			at := time.Now()
			var e struct {
				Event       string `json:"event"`
				RecordingID string `json:"recording_id"`
			}
			if json.Unmarshal([]byte(line[6:]), &e) == nil && e.Event == "recording.created" {
				s.mu.Lock()
				s.got[e.RecordingID] = at
				s.mu.Unlock()
			}
		}
	}()
	return s, nil
}

func (s *eventStream) close() { s.resp.Body.Close() }

func (s *eventStream) receivedAt(id string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.got[id]
	return t, ok
}

// eventsRun is one phase's writes and when their events came.
type eventsRun struct {
	rate     int
	written  []time.Time
	lags     []time.Duration // by write order; -1: never came
	firstTen []time.Duration
	lastTen  []time.Duration
}

// eventsPhase writes rate recordings a second for d, then waits for their events.
func (b *bench) eventsPhase(ctx context.Context, s receipts, rate int, d time.Duration) (*eventsRun, error) {
	month := recording.MonthOf(time.Now().UTC())
	db := recording.MonthDBName(b.set.accountID, month)
	audio := base64.StdEncoding.EncodeToString([]byte("ID3\x03\x00\x00\x00\x00\x00\x00 bench audio"))
	n := rate * int(d/time.Second)
	ids := make([]string, n)
	done := make([]time.Time, n)
	start := time.Now()
	jobs := make(chan int)
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var firstErr error
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				now := time.Now().UTC()
				id := month.String() + "-" + randomHex32()
				doc := map[string]any{"_id": id, "pvt_type": "call_recording", "pvt_created": recording.ToGregorian(now),
					"pvt_modified": recording.ToGregorian(now), "pvt_account_id": b.set.accountID, "media_type": "mp3",
					"caller_id_number": "+15550001", "callee_id_number": "+15550002", "name": "bench.mp3",
					"_attachments": map[string]any{"bench.mp3": map[string]any{"content_type": "audio/mpeg", "data": audio}}}
				if _, err := b.couch.doJSON(ctx, http.MethodPut, []string{db, id}, nil, doc, nil); err != nil {
					errMu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					errMu.Unlock()
					continue
				}
				ids[i], done[i] = id, time.Now()
			}
		}()
	}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	for i := 0; i < n; i++ {
		jobs <- i
		if i < n-1 {
			<-tick.C
		}
	}
	tick.Stop()
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	// every event, or 30 s after the last write
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		all := true
		for _, id := range ids {
			if _, ok := s.receivedAt(id); !ok {
				all = false
				break
			}
		}
		if all {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	r := &eventsRun{rate: rate, written: done}
	for i, id := range ids {
		lag := time.Duration(-1)
		if at, ok := s.receivedAt(id); ok {
			lag = at.Sub(done[i])
		}
		r.lags = append(r.lags, lag)
		switch since := done[i].Sub(start); {
		case since < 10*time.Second:
			r.firstTen = append(r.firstTen, lag)
		case since >= d-10*time.Second:
			r.lastTen = append(r.lastTen, lag)
		}
	}
	return r, nil
}

// summary names where the events were received: "the stream", "the webhook".
func (r *eventsRun) summary(to string) string {
	all, missing := quantiles(r.lags)
	out := fmt.Sprintf("%d written; lag from the write to %s p50 %s, p99 %s, max %s", len(r.lags), to, all[0], all[1], all[2])
	if missing > 0 {
		out += fmt.Sprintf("; %d never came", missing)
	}
	if len(r.lastTen) > 0 && len(r.firstTen) > 0 {
		first, _ := quantiles(r.firstTen)
		last, _ := quantiles(r.lastTen)
		out += fmt.Sprintf("; first 10 s p50 %s p99 %s, last 10 s p50 %s p99 %s", first[0], first[1], last[0], last[1])
	}
	return out
}

// quantiles gives p50, p99 and max of the lags that came, and how many did not.
func quantiles(lags []time.Duration) ([3]time.Duration, int) {
	var came []time.Duration
	missing := 0
	for _, l := range lags {
		if l < 0 {
			missing++
			continue
		}
		came = append(came, l)
	}
	if len(came) == 0 {
		return [3]time.Duration{}, missing
	}
	sort.Slice(came, func(i, j int) bool { return came[i] < came[j] })
	at := func(q float64) time.Duration {
		return came[min(len(came)-1, int(q*float64(len(came))))].Round(time.Millisecond)
	}
	return [3]time.Duration{at(0.5), at(0.99), came[len(came)-1].Round(time.Millisecond)}, missing
}

// randomHex32 is 32 random lower-case hex digits, the shape of Kazoo's ids.
func randomHex32() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
