package webhooks_test

import (
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/events/eventstest"
	"github.com/recordingsd/recordingsd/pkg/store/couch"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
)

// With node 2 of a three-node cluster stopped, deliveries go on through node 1: recordings
// written meanwhile reach the webhook once each, and so do those written after the node is
// back. Runs only against a cluster whose nodes it may stop (couchtest.EnvClusterDir; .ci/run
// gives it a run of its own).
func TestClusterNodeDownWebhooks(t *testing.T) {
	c := couchtest.OpenCluster(t)
	s, err := couch.New(couch.Config{URL: c.NodeURL(1), RequestTimeout: 5 * time.Second, WriteQuorum: 2}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	r := newRig(t, eventstest.As[backend](t, s))
	rc := newEndpoint(t, nil)
	r.create(r.customer, map[string]any{"name": "crm", "uri": rc.URL})
	r.instance("a", nil)
	r.live()
	want := []string{r.record(r.customer)}
	waitFor(t, 30*time.Second, "the first delivery", func() bool { return len(rc.createdFor(want[0])) == 1 })

	node2Back := c.NodeDown(2)
	start := time.Now()
	var during []string
	for range 3 {
		during = append(during, r.record(r.customer))
	}
	t.Logf("3 recordings written with node 2 down in %v", time.Since(start))
	waitFor(t, 60*time.Second, "the deliveries with node 2 down", func() bool { return rc.gotAll(during...) })
	t.Logf("%d recordings delivered with node 2 down within %v of the first write", len(during), time.Since(start))

	node2Back()
	after := r.record(r.customer)
	waitFor(t, 60*time.Second, "the delivery after node 2 is back", func() bool { return len(rc.createdFor(after)) == 1 })
	time.Sleep(time.Second)
	for _, id := range append(append(want, during...), after) {
		if n := len(rc.createdFor(id)); n != 1 {
			t.Errorf("%s accepted %d times, want once", id, n)
		}
	}
}
