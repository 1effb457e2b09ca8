package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// queueMetric is the webhooks' backlog: event log documents not yet handled, on the
// instance that delivers (the events watcher's lease holder).
const queueMetric = "recordingsd_webhook_queue_log_documents"

// queueSample is the backlog at one moment.
type queueSample struct {
	at   time.Time
	docs float64
}

// queueWatch reads the backlog from /metrics once a second until stopped.
type queueWatch struct {
	stopped chan struct{}
	done    chan struct{}
	samples []queueSample
}

func (b *bench) watchWebhookQueue(ctx context.Context) *queueWatch {
	q := &queueWatch{stopped: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(q.done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			if docs, err := b.webhookQueue(ctx); err == nil {
				q.samples = append(q.samples, queueSample{time.Now(), docs})
			} else if ctx.Err() == nil {
				b.logf("webhook queue: %v", err)
			}
			select {
			case <-q.stopped:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return q
}

func (q *queueWatch) stop() []queueSample {
	close(q.stopped)
	<-q.done
	return q.samples
}

// webhookQueue sums the backlog over the services on CouchDB: whichever holds the lease
// delivers (the proxied one may, once started), the others report none.
func (b *bench) webhookQueue(ctx context.Context) (float64, error) {
	var sum float64
	for _, s := range []*service{b.svcCouch, b.svcProxy} {
		if s == nil {
			continue
		}
		text, err := b.metricsText(ctx, s)
		if err != nil {
			return 0, err
		}
		v, _ := metricValue(text, queueMetric) // absent: that instance never delivered
		sum += v
	}
	return sum, nil
}

func (b *bench) metricsText(ctx context.Context, s *service) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/metrics", nil)
	if err != nil {
		return "", err
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /metrics: HTTP %d", resp.StatusCode)
	}
	return string(data), nil
}

// metricValue is the value of the unlabelled sample name in Prometheus's text format.
func metricValue(text, name string) (float64, bool) {
	for _, line := range strings.Split(text, "\n") {
		rest, ok := strings.CutPrefix(line, name)
		// a space must follow: name_total or name{…} is another series
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '\t') {
			continue
		}
		fields := strings.Fields(rest) // value, then an optional timestamp
		if v, err := strconv.ParseFloat(fields[0], 64); err == nil {
			return v, true
		}
	}
	return 0, false
}

// queueSummary: the highest backlog sampled, and the last sample before writesEnded.
func queueSummary(samples []queueSample, writesEnded time.Time) string {
	if len(samples) == 0 {
		return "webhook queue not sampled"
	}
	var peak float64
	end := samples[0].docs
	for _, s := range samples {
		peak = max(peak, s.docs)
		if !s.at.After(writesEnded) {
			end = s.docs
		}
	}
	return fmt.Sprintf("webhook queue (%s, %d samples) max %.0f, %.0f when the writes ended", queueMetric, len(samples), peak, end)
}

// lastWrite is when the last of a phase's writes finished.
func lastWrite(written []time.Time) time.Time {
	var last time.Time
	for _, t := range written {
		if t.After(last) {
			last = t
		}
	}
	return last
}
