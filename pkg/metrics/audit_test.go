package metrics_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/audit"
	"github.com/recordingsd/recordingsd/pkg/metrics"
)

// The trail's counters show on /metrics, every loss reason from zero.
func TestAuditMetrics(t *testing.T) {
	m := metrics.New()
	a := m.Audit()
	a.Written(7)
	a.Lost(audit.LostBufferFull, 2)
	a.Buffered(3)
	a.Flushed(20 * time.Millisecond)

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		"recordingsd_audit_entries_written_total 7",
		`recordingsd_audit_entries_lost_total{reason="buffer_full"} 2`,
		`recordingsd_audit_entries_lost_total{reason="write_failed"} 0`,
		"recordingsd_audit_buffer_entries 3",
		"recordingsd_audit_flush_duration_seconds_count 1",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if m.Audit() != a {
		t.Error("a second call registered the collectors again")
	}
}
