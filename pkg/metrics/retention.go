package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Retention counts what the retention sweeper does; it implements retention.Observer.
type Retention struct {
	purged       *prometheus.CounterVec
	failed       *prometheus.CounterVec
	held         *prometheus.CounterVec
	mediaDeleted *prometheus.CounterVec
	sweeps       *prometheus.CounterVec
	lastSweep    *prometheus.GaugeVec
	sweepSeconds prometheus.Histogram
}

// Retention registers the sweeper's collectors on first use: a service without retention
// does not show them.
func (m *Metrics) Retention() *Retention {
	m.retentionOnce.Do(func() {
		m.retention = &Retention{
			purged: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "recordingsd_retention_purged_total",
				Help: "Recordings hard-deleted by the retention sweeper, by reason (deleted, soft_deleted).",
			}, []string{"reason"}),
			failed: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "recordingsd_retention_purge_failures_total",
				Help: "Purge candidates left in place, by reason and cause (conflict, media, store).",
			}, []string{"reason", "cause"}),
			held: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "recordingsd_retention_held_total",
				Help: "Purge candidates kept because they are on legal hold, by reason; counted at every sweep that meets them.",
			}, []string{"reason"}),
			mediaDeleted: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "recordingsd_retention_external_media_deleted_total",
				Help: "Objects deleted from storage providers with their recordings, by handler.",
			}, []string{"handler"}),
			sweeps: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "recordingsd_retention_sweeps_total",
				Help: "Retention sweeps by result (completed, failed, busy).",
			}, []string{"result"}),
			lastSweep: prometheus.NewGaugeVec(prometheus.GaugeOpts{
				Name: "recordingsd_retention_last_sweep_timestamp_seconds",
				Help: "When a sweep last ended, by result: alert when completed falls behind.",
			}, []string{"result"}),
			sweepSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
				Name:    "recordingsd_retention_sweep_duration_seconds",
				Help:    "Time a sweep ran, completed or not.",
				Buckets: []float64{.1, 1, 10, 60, 300, 900, 3600, 4 * 3600},
			}),
		}
		r := m.retention
		m.registry.MustRegister(r.purged, r.failed, r.held, r.mediaDeleted, r.sweeps, r.lastSweep, r.sweepSeconds)
	})
	return m.retention
}

// Purged counts one purged recording.
func (r *Retention) Purged(reason recording.PurgeReason) {
	r.purged.WithLabelValues(string(reason)).Inc()
}

// PurgeFailed counts one candidate left in place.
func (r *Retention) PurgeFailed(reason recording.PurgeReason, cause string) {
	r.failed.WithLabelValues(string(reason), cause).Inc()
}

// Held counts one candidate kept on legal hold.
func (r *Retention) Held(reason recording.PurgeReason) { r.held.WithLabelValues(string(reason)).Inc() }

// MediaDeleted counts one object deleted from a provider.
func (r *Retention) MediaDeleted(handler string) { r.mediaDeleted.WithLabelValues(handler).Inc() }

// SweepEnded records how a sweep ended.
func (r *Retention) SweepEnded(result string, at time.Time, took time.Duration) {
	r.sweeps.WithLabelValues(result).Inc()
	r.lastSweep.WithLabelValues(result).Set(float64(at.Unix()))
	if result != "busy" {
		r.sweepSeconds.Observe(took.Seconds())
	}
}
