package main

import "testing"

func TestMetricValue(t *testing.T) {
	text := `# HELP recordingsd_webhook_queue_log_documents Event log documents the webhooks have not handled yet.
# TYPE recordingsd_webhook_queue_log_documents gauge
recordingsd_webhook_queue_log_documents_total 7
recordingsd_webhook_queue_log_documents{shard="a"} 8
recordingsd_webhook_queue_log_documents 1.5e+03 1712345678000
recordingsd_webhook_oldest_undelivered_seconds 0
`
	for _, c := range []struct {
		name string
		want float64
		ok   bool
	}{
		{"recordingsd_webhook_queue_log_documents", 1500, true},
		{"recordingsd_webhook_oldest_undelivered_seconds", 0, true},
		{"recordingsd_webhook_queue", 0, false},
		{"recordingsd_absent", 0, false},
	} {
		if got, ok := metricValue(text, c.name); got != c.want || ok != c.ok {
			t.Errorf("metricValue(%s) = %v, %v; want %v, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}
