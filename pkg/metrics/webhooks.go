package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/recordingsd/recordingsd/pkg/webhooks"
)

// Webhooks counts what the webhook deliverer does; it implements webhooks.Observer.
type Webhooks struct {
	attempts *prometheus.CounterVec
	latency  prometheus.Histogram
	backlog  prometheus.Gauge
	oldest   prometheus.Gauge
}

// Webhooks registers the deliverer's collectors on first use.
func (m *Metrics) Webhooks() *Webhooks {
	m.webhooksOnce.Do(func() {
		m.webhooks = &Webhooks{
			attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "recordingsd_webhook_deliveries_total",
				Help: "Webhook delivery attempts by result: ok, or the cause of the failure (timeout, http_500, …).",
			}, []string{"result"}),
			latency: prometheus.NewHistogram(prometheus.HistogramOpts{
				Name:    "recordingsd_webhook_delivery_duration_seconds",
				Help:    "Time a receiver took to answer a delivery.",
				Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
			}),
			backlog: prometheus.NewGauge(prometheus.GaugeOpts{
				Name: "recordingsd_webhook_queue_log_documents",
				Help: "Event log documents the webhooks have not handled yet, summed over webhooks (on the instance that delivers).",
			}),
			oldest: prometheus.NewGauge(prometheus.GaugeOpts{
				Name: "recordingsd_webhook_oldest_undelivered_seconds",
				Help: "Age of the oldest event still being retried (0: none).",
			}),
		}
		w := m.webhooks
		m.registry.MustRegister(w.attempts, w.latency, w.backlog, w.oldest)
	})
	return m.webhooks
}

// Attempted implements webhooks.Observer.
func (w *Webhooks) Attempted(r webhooks.Result) {
	result := r.Err
	if r.OK() {
		result = "ok"
	}
	if len(result) > 5 && result[:5] == "http_" {
		result = result[:6] + "xx" // http_5xx: one series per class, not per status
	}
	w.attempts.WithLabelValues(result).Inc()
	if r.Status > 0 {
		w.latency.Observe(r.Latency.Seconds())
	}
}

// Backlog implements webhooks.Observer.
func (w *Webhooks) Backlog(batches int64, oldest time.Duration) {
	w.backlog.Set(float64(batches))
	w.oldest.Set(oldest.Seconds())
}
