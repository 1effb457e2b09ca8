package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/recordingsd/recordingsd/pkg/audit"
)

var _ audit.Observer = (*Audit)(nil)

// Audit counts what the access trail's writer does; it implements audit.Observer.
type Audit struct {
	written prometheus.Counter
	lost    *prometheus.CounterVec
	flush   prometheus.Histogram
	buffer  prometheus.Gauge
}

// Audit registers the trail's collectors on first use.
func (m *Metrics) Audit() *Audit {
	m.auditOnce.Do(func() {
		m.audit = &Audit{
			written: prometheus.NewCounter(prometheus.CounterOpts{
				Name: "recordingsd_audit_entries_written_total",
				Help: "Access trail entries stored.",
			}),
			lost: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "recordingsd_audit_entries_lost_total",
				Help: "Access trail entries dropped, by reason: buffer_full, write_failed, shutdown, invalid, closed.",
			}, []string{"reason"}),
			flush: prometheus.NewHistogram(prometheus.HistogramOpts{
				Name:    "recordingsd_audit_flush_duration_seconds",
				Help:    "Time one attempt at writing a batch of entries took.",
				Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
			}),
			buffer: prometheus.NewGauge(prometheus.GaugeOpts{
				Name: "recordingsd_audit_buffer_entries",
				Help: "Access trail entries waiting to be written.",
			}),
		}
		a := m.audit
		for _, reason := range []string{audit.LostBufferFull, audit.LostWriteFailed, audit.LostShutdown, audit.LostInvalid, audit.LostClosed} {
			a.lost.WithLabelValues(reason) // every reason at 0, so an alert on any rate works from the start
		}
		m.registry.MustRegister(a.written, a.lost, a.flush, a.buffer)
	})
	return m.audit
}

// Written implements audit.Observer.
func (a *Audit) Written(n int) { a.written.Add(float64(n)) }

// Lost implements audit.Observer.
func (a *Audit) Lost(reason string, n int) { a.lost.WithLabelValues(reason).Add(float64(n)) }

// Flushed implements audit.Observer.
func (a *Audit) Flushed(took time.Duration) { a.flush.Observe(took.Seconds()) }

// Buffered implements audit.Observer.
func (a *Audit) Buffered(n int) { a.buffer.Set(float64(n)) }
