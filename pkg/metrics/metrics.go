// Package metrics holds the service's Prometheus collectors, one registry per server so tests
// (and two servers in one process) do not collide.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the collectors the API and the store report to.
type Metrics struct {
	registry        *prometheus.Registry
	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	audioBytes      prometheus.Counter
	streamsInFlight prometheus.Gauge
	storeDuration   *prometheus.HistogramVec
	storeErrors     *prometheus.CounterVec
	rateLimited     *prometheus.CounterVec
	mediaErrors     *prometheus.CounterVec

	retentionOnce sync.Once
	retention     *Retention
	eventsOnce    sync.Once
	events        *Events
	webhooksOnce  sync.Once
	webhooks      *Webhooks
	auditOnce     sync.Once
	audit         *Audit
}

// New registers every collector, plus the Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recordingsd_http_requests_total",
			Help: "HTTP requests by route template, method and status.",
		}, []string{"route", "method", "status"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "recordingsd_http_request_duration_seconds",
			Help:    "Time to serve a request, until its last byte, by route template and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"route", "method"}),
		audioBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "recordingsd_audio_bytes_streamed_total",
			Help: "Audio bytes sent to clients.",
		}),
		streamsInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "recordingsd_audio_streams_in_flight",
			Help: "Audio downloads being streamed right now.",
		}),
		storeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "recordingsd_store_request_duration_seconds",
			Help:    "Datastore (CouchDB or embedded) calls by operation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"op"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recordingsd_store_errors_total",
			Help: "Datastore calls that failed, by operation and error code (not_found included).",
		}, []string{"op", "code"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recordingsd_rate_limited_total",
			Help: "Requests refused with 429, by limit (ip or account).",
		}, []string{"limit"}),
		mediaErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recordingsd_media_errors_total",
			Help: "Audio requests a storage provider failed (or a payload no reader handles), by handler and reason.",
		}, []string{"handler", "reason"}),
	}
	m.registry.MustRegister(m.requests, m.requestDuration, m.audioBytes, m.streamsInFlight,
		m.storeDuration, m.storeErrors, m.rateLimited, m.mediaErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// ObserveRequest counts one finished request.
func (m *Metrics) ObserveRequest(route, method string, status int, took time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.requestDuration.WithLabelValues(route, method).Observe(took.Seconds())
}

// StreamStarted marks an audio stream in flight; call the returned func when it ends.
func (m *Metrics) StreamStarted() (done func()) {
	m.streamsInFlight.Inc()
	return m.streamsInFlight.Dec
}

// AudioBytes counts streamed audio.
func (m *Metrics) AudioBytes(n int64) { m.audioBytes.Add(float64(n)) }

// MediaError counts a storage provider's failure to serve audio. reason is one of the
// provider package's fixed phrases (timeout, provider_status_404, …), so the label set stays small.
func (m *Metrics) MediaError(handler, reason string) {
	m.mediaErrors.WithLabelValues(handler, reason).Inc()
}

// RateLimited counts a 429.
func (m *Metrics) RateLimited(limit string) { m.rateLimited.WithLabelValues(limit).Inc() }
