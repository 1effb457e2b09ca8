package events_test

import (
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/events"
	"github.com/recordingsd/recordingsd/pkg/events/eventstest"
	"github.com/recordingsd/recordingsd/pkg/store/couch"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
)

// With one node of a three-node cluster stopped, the watcher on node 1 goes on: recordings
// written meanwhile (one into a month database created while the node is down) are announced,
// once each, and so are those written after the node is back. Runs only against a cluster
// whose nodes it may stop (couchtest.EnvClusterDir; .ci/run gives it a run of its own).
func TestClusterNodeDownEvents(t *testing.T) {
	c := couchtest.OpenCluster(t)
	s, err := couch.New(couch.Config{URL: c.NodeURL(1), RequestTimeout: 5 * time.Second, WriteQuorum: 2}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	r := newRig(t, eventstest.As[backend](t, s))
	r.watch("a", 10*time.Second)
	r.live()
	sub := r.tail.Subscribe("")

	before := newRecording(nil)
	r.attach(before.ID(), r.put(before))
	r.collect(sub, count(1))

	node2Back := c.NodeDown(2)
	want := map[string]bool{}
	for i := 0; i < 3; i++ {
		d := newRecording(nil)
		r.attach(d.ID(), r.put(d))
		want[d.ID()] = true
	}
	// a month database that does not exist yet, created while the node is down
	old := newRecording(nil)
	old["_id"] = "201901-" + couchtest.NewAccountID()
	r.attach(old.ID(), r.put(old))
	want[old.ID()] = true
	start := time.Now()
	got := r.collect(sub, count(len(want)))
	t.Logf("%d recordings announced with node 2 down within %v", len(got), time.Since(start))

	node2Back()
	after := newRecording(nil)
	r.attach(after.ID(), r.put(after))
	want[after.ID()] = true
	got = append(got, r.collect(sub, count(1))...)
	time.Sleep(2 * time.Second)
	got = append(got, r.drain(sub)...)

	seen := map[string]int{}
	for _, e := range got {
		if e.Type == events.Created {
			seen[e.RecordingID]++
		}
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("%s announced %d times, want once (events: %s)", id, seen[id], describe(got))
		}
	}
}
