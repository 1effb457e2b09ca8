package api_test

import (
	"bytes"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
)

// With one node of a three-node cluster (q=2, n=3) stopped, the service on node 1 goes on:
// listing, a document, audio with Range, PATCH, collection PATCH, DELETE, a legal hold, and
// recordings Kazoo writes meanwhile (one in a month database created while the node is down).
// Back, the stopped node serves every one of those writes. Runs only against a cluster whose nodes it
// may stop (couchtest.EnvClusterDir; .ci/run gives it a run of its own).
func TestClusterNodeDown(t *testing.T) {
	c := couchtest.OpenCluster(t)
	const requestTimeout = 5 * time.Second
	// Seeded without a tight bound, then served with the timeout of a production config.
	f := newFixture(t, openCouchAt(c.NodeURL(1), time.Minute))
	audio := randBytes(1 << 20)
	withAudio := f.addRecording(rec{audio: audio})
	softDeleted := f.addRecording(rec{})
	bulk := []string{f.addRecording(rec{}), f.addRecording(rec{})}
	deleted := f.addRecording(rec{})
	held := f.addRecording(rec{})
	f.serveStore(openCouchAt(c.NodeURL(1), requestTimeout)(t))

	node2Back := c.NodeDown(2)

	// Every answer comes within the request timeout: no hang, and no 5xx.
	call := func(what, method, path string, body any, want int, headers ...string) response {
		t.Helper()
		start := time.Now()
		r := f.call(method, path, tokenAccount, body, headers...)
		if took := time.Since(start); took > requestTimeout+2*time.Second {
			t.Errorf("%s with node 2 down took %v", what, took)
		}
		if r.status != want {
			t.Fatalf("%s with node 2 down: %d, want %d: %.400s", what, r.status, want, r.body)
		}
		return r
	}
	base := f.base() + "/recordings"

	got := ids(t, call("listing", "GET", base, nil, http.StatusOK).dataList(t))
	for _, id := range append([]string{withAudio, softDeleted, deleted}, bulk...) {
		if !slices.Contains(got, id) {
			t.Errorf("listing with node 2 down lacks %s: %v", id, got)
		}
	}
	if doc := call("document", "GET", base+"/"+withAudio, nil, http.StatusOK).dataMap(t); doc["id"] != withAudio {
		t.Errorf("document with node 2 down: id %v", doc["id"])
	}
	r := call("audio range", "GET", base+"/"+withAudio, nil, http.StatusPartialContent, "Accept", "audio/mpeg", "Range", "bytes=1000-1999")
	if !bytes.Equal(r.body, audio[1000:2000]) {
		t.Errorf("audio range with node 2 down: %d bytes, not bytes 1000-1999 of the audio", len(r.body))
	}
	r = call("whole audio", "GET", base+"/"+withAudio, nil, http.StatusOK, "Accept", "audio/mpeg")
	if !bytes.Equal(r.body, audio) {
		t.Errorf("audio with node 2 down: %d bytes, not the %d stored", len(r.body), len(audio))
	}
	call("PATCH soft_delete", "PATCH", base+"/"+softDeleted, `{"data":{"soft_delete":{}}}`, http.StatusOK)
	success := call("collection PATCH", "PATCH", base+"/collection",
		map[string]any{"data": map[string]any{"recordings": bulk, "soft_delete": map[string]any{}}}, http.StatusOK).dataMap(t)["success"].(map[string]any)
	for _, id := range bulk {
		if _, ok := success[id]; !ok {
			t.Errorf("collection PATCH with node 2 down: %s not in success %v", id, success)
		}
	}
	call("DELETE", "DELETE", base+"/"+deleted, nil, http.StatusOK)
	call("PATCH legal_hold", "PATCH", base+"/"+held, `{"data":{"legal_hold":{"reason":"node down"}}}`, http.StatusOK)
	call("DELETE of a held recording", "DELETE", base+"/"+held, nil, http.StatusLocked)
	// Kazoo goes on recording: into this month's database, and into one created now.
	fresh := f.addRecording(rec{})
	oldMonth := f.now.AddDate(0, -5, 0)
	inNewDB := f.addRecording(rec{created: oldMonth})
	got = ids(t, call("listing after the writes", "GET", base, nil, http.StatusOK).dataList(t))
	if !slices.Contains(got, fresh) || slices.Contains(got, softDeleted) || slices.Contains(got, deleted) || slices.Contains(got, bulk[0]) {
		t.Errorf("listing after the writes, node 2 down: %v", got)
	}

	node2Back()
	back := time.Now()
	f.serveStore(openCouchAt(c.NodeURL(2), requestTimeout)(t))
	// Documents are read from a quorum of copies, so node 2 serves them at once. A listing
	// reads one copy of each shard, possibly node 2's own while it catches up: it must agree
	// within seconds.
	want := []string{withAudio, fresh, held}
	slices.Sort(want)
	for {
		got = ids(t, call("listing through node 2", "GET", base, nil, http.StatusOK).dataList(t))
		slices.Sort(got)
		if slices.Equal(got, want) {
			t.Logf("node 2 lists the writes made without it %v after it answered again", time.Since(back).Round(time.Millisecond))
			break
		}
		if time.Since(back) > 10*time.Second {
			t.Fatalf("listing through node 2, 10 s after it came back: %v, want %v", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	got = ids(t, call("listing through node 2, soft-deleted included", "GET", base+"?include=soft_delete", nil, http.StatusOK).dataList(t))
	for _, id := range append([]string{softDeleted}, bulk...) {
		if !slices.Contains(got, id) {
			t.Errorf("listing through node 2 with include=soft_delete lacks %s", id)
		}
	}
	if doc := call("soft-deleted document through node 2", "GET", base+"/"+softDeleted, nil, http.StatusOK).dataMap(t); doc["soft_delete"] == nil {
		t.Errorf("through node 2, %s has no soft_delete: %v", softDeleted, doc)
	}
	call("deleted document through node 2", "GET", base+"/"+deleted, nil, http.StatusNotFound)
	call("soft delete of the held recording through node 2", "PATCH", base+"/"+held, `{"data":{"soft_delete":{}}}`, http.StatusLocked)
	call("recording of the new month database through node 2", "GET", base+"/"+inNewDB, nil, http.StatusOK)
	month := recording.MonthOf(oldMonth)
	got = ids(t, call("listing of the new month database through node 2", "GET",
		base+"?created_from="+itoa(recording.ToGregorian(month.Start()))+"&created_to="+itoa(recording.ToGregorian(month.Next().Start())-1),
		nil, http.StatusOK).dataList(t))
	if !slices.Contains(got, inNewDB) {
		t.Errorf("listing of %s through node 2 lacks %s: %v", month, inNewDB, got)
	}
	r = call("audio range through node 2", "GET", base+"/"+withAudio, nil, http.StatusPartialContent, "Accept", "audio/mpeg", "Range", "bytes=-4096")
	if !bytes.Equal(r.body, audio[len(audio)-4096:]) {
		t.Errorf("audio range through node 2: not the last 4096 bytes")
	}
}
