package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// caseWebhooks is the events case with a webhook in place of the stream: from a recording
// written straight into CouchDB to its recording.created POSTed to a receiver of ours, through
// the log and the deliverer, which posts one event at a time per webhook. The deliverer's
// queue, sampled each second at 100 a second, says whether that keeps up.
func (b *bench) caseWebhooks(ctx context.Context) (err error) {
	if b.pouch != nil {
		b.note("Case webhooks", "skipped: pouchdb-server has no _db_updates (run with -couch)")
		return nil
	}
	recv, err := startWebhookReceiver()
	if err != nil {
		return err
	}
	defer recv.close()
	id, err := b.createWebhook(ctx, recv.url())
	if err != nil {
		return err
	}
	defer func() { // before the receiver closes, so that no delivery fails meanwhile
		if derr := b.deleteWebhook(id); derr != nil && err == nil {
			err = derr
		}
	}()
	time.Sleep(2 * time.Second) // the watcher follows the new month database, the deliverer starts

	dups := recv.duplicates()
	trickle, err := b.eventsPhase(ctx, recv, 10, 20*time.Second)
	if err != nil {
		return err
	}
	b.note("Webhooks, 10 recordings/s for 20 s", "%s; %d duplicates", trickle.summary("the webhook"), recv.duplicates()-dups)

	dups = recv.duplicates()
	queue := b.watchWebhookQueue(ctx)
	sustained, err := b.eventsPhase(ctx, recv, 100, b.cfg.eventsDur)
	samples := queue.stop()
	if err != nil {
		return err
	}
	b.note(fmt.Sprintf("Webhooks, 100 recordings/s for %v", b.cfg.eventsDur), "%s; %d duplicates; %s",
		sustained.summary("the webhook"), recv.duplicates()-dups, queueSummary(samples, lastWrite(sustained.written)))
	return nil
}

// webhookReceiver answers every delivery 200 and notes when each recording's
// recording.created first came, and how often an event id came again.
type webhookReceiver struct {
	srv  *http.Server
	addr string
	mu   sync.Mutex
	got  map[string]time.Time // by recording id
	seen map[string]bool      // event ids
	dups int
}

func startWebhookReceiver() (*webhookReceiver, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &webhookReceiver{addr: l.Addr().String(), got: map[string]time.Time{}, seen: map[string]bool{}}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(l) }()
	return r, nil
}

func (r *webhookReceiver) url() string { return "http://" + r.addr + "/hook" }

func (r *webhookReceiver) close() { _ = r.srv.Close() }

func (r *webhookReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	at := time.Now()
	var e struct {
		EventID     string `json:"event_id"`
		Event       string `json:"event"`
		RecordingID string `json:"recording_id"`
	}
	// 200 even to a body we cannot read: a refusal would only hold the queue back.
	if json.NewDecoder(io.LimitReader(req.Body, 1<<20)).Decode(&e) == nil {
		r.mu.Lock()
		if r.seen[e.EventID] {
			r.dups++
		}
		r.seen[e.EventID] = true
		if _, ok := r.got[e.RecordingID]; !ok && e.Event == "recording.created" {
			r.got[e.RecordingID] = at
		}
		r.mu.Unlock()
	}
	w.WriteHeader(http.StatusOK)
}

func (r *webhookReceiver) receivedAt(id string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.got[id]
	return t, ok
}

func (r *webhookReceiver) duplicates() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dups
}

// createWebhook registers uri for the bench account's recording.created; it returns its id.
func (b *bench) createWebhook(ctx context.Context, uri string) (string, error) {
	in := map[string]any{"data": map[string]any{"name": "recbench", "uri": uri, "events": []string{"recording.created"}}}
	var out struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := b.svcJSON(ctx, http.MethodPut, b.webhooksPath(), in, http.StatusCreated, &out); err != nil {
		return "", fmt.Errorf("create the webhook: %w", err)
	}
	return out.Data.ID, nil
}

// deleteWebhook removes it even when the run was interrupted.
func (b *bench) deleteWebhook(id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.svcJSON(ctx, http.MethodDelete, b.webhooksPath()+"/"+id, nil, http.StatusOK, nil); err != nil {
		return fmt.Errorf("delete the webhook %s: %w", id, err)
	}
	return nil
}

func (b *bench) webhooksPath() string {
	return "/v2/accounts/" + b.set.accountID + "/recording_webhooks"
}

// svcJSON is one call to the service on CouchDB with the bench token: in as the body (nil:
// none), the answer's body into out (nil: discarded).
func (b *bench) svcJSON(ctx context.Context, method, path string, in any, want int, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.svcCouch.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("X-Auth-Token", benchToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: HTTP %d: %.300s", method, path, resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}
