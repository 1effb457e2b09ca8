package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/recordingsd/recordingsd/pkg/events"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Events counts what the events watcher does; it implements events.Observer.
type Events struct {
	changes    prometheus.Counter
	logged     *prometheus.CounterVec
	lag        prometheus.Histogram
	leading    prometheus.Gauge
	feedErrors prometheus.Counter
}

// Events registers the watcher's collectors on first use.
func (m *Metrics) Events() *Events {
	m.eventsOnce.Do(func() {
		m.events = &Events{
			changes: prometheus.NewCounter(prometheus.CounterOpts{
				Name: "recordingsd_events_changes_total",
				Help: "Changes of recording documents read from the database's change feed.",
			}),
			logged: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "recordingsd_events_logged_total",
				Help: "Events written to the event log, by event.",
			}, []string{"event"}),
			lag: prometheus.NewHistogram(prometheus.HistogramOpts{
				Name:    "recordingsd_events_change_lag_seconds",
				Help:    "From a recording's write (its pvt_modified, whole seconds) to the watcher reading it.",
				Buckets: []float64{.25, .5, 1, 2, 3, 5, 10, 30, 60, 300},
			}),
			leading: prometheus.NewGauge(prometheus.GaugeOpts{
				Name: "recordingsd_events_watcher_leading",
				Help: "1 while this instance holds the events watcher's lease.",
			}),
			feedErrors: prometheus.NewCounter(prometheus.CounterOpts{
				Name: "recordingsd_events_watcher_restarts_total",
				Help: "Times the watcher stopped following the feed (database down, lease lost) and started again.",
			}),
		}
		e := m.events
		m.registry.MustRegister(e.changes, e.logged, e.lag, e.leading, e.feedErrors)
	})
	return m.events
}

// ChangeSeen implements events.Observer.
func (e *Events) ChangeSeen(c recording.Change, at time.Time) {
	e.changes.Inc()
	if c.Doc == nil {
		return
	}
	if m, ok := c.Doc.Int("pvt_modified"); ok {
		// pvt_modified has whole seconds: a lag under a second reads as up to one more
		if lag := recording.ToGregorian(at) - m; lag >= 0 && lag < 86400 {
			e.lag.Observe(float64(lag))
		}
	}
}

// EventLogged implements events.Observer.
func (e *Events) EventLogged(t events.Type) { e.logged.WithLabelValues(string(t)).Inc() }

// Leading implements events.Observer.
func (e *Events) Leading(on bool) {
	if on {
		e.leading.Set(1)
		return
	}
	e.leading.Set(0)
}

// FeedError implements events.Observer.
func (e *Events) FeedError() { e.feedErrors.Inc() }
