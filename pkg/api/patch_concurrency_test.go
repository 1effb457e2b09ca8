package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/store/couch"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
)

// Twenty clients PATCH one recording at once with the default recordings.conflict_retries:
// each gets 200, or 409 datastore_conflict once its retries are spent, and the document ends
// up holding exactly the changes that were answered 200: none lost, none applied in secret.
// On a CouchDB cluster one exception is CouchDB's own: each copy judges a write by itself, so
// a write one copy took and the others refused is answered 409, and that copy's revision may
// win once the copies sync; such a change is counted, not refused.
func TestPatchTwentyConcurrentWriters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		f := newFixture(t, open) // ConflictRetries left at its default
		_, onCouch := f.store.(*couch.Store)
		cluster := onCouch && couchtest.IsCluster(t, couchtest.URL(t))
		id := f.addRecording(rec{})
		const writers = 20
		responses := make([]response, writers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				// Each writer adds its own key and bumps a key they all share.
				body := fmt.Sprintf(`{"data":{"tags":{"w%d":true},"last_writer":%d}}`, i, i)
				responses[i] = f.callFromGoroutine("PATCH", f.base()+"/recordings/"+id, tokenAccount, body)
			}()
		}
		close(start)
		wg.Wait()

		doc := f.call("GET", f.base()+"/recordings/"+id, tokenAccount, nil).dataMap(t)
		tags, _ := doc["tags"].(map[string]any)
		ok, conflicts, copyTook := 0, 0, 0
		for i, r := range responses {
			_, applied := tags[fmt.Sprintf("w%d", i)]
			switch r.status {
			case http.StatusOK:
				ok++
				if !applied {
					t.Errorf("writer %d got 200 but its change is lost", i)
				}
			case http.StatusConflict:
				conflicts++
				expectError(t, r, http.StatusConflict, "datastore_conflict")
				switch {
				case applied && cluster:
					copyTook++
					t.Logf("writer %d got 409 and one copy's acceptance of its change won", i)
				case applied:
					t.Errorf("writer %d got 409 but its change was applied", i)
				}
			default:
				t.Errorf("writer %d: %d %s, want 200 or 409", i, r.status, r.body)
			}
		}
		if len(tags) != ok+copyTook {
			t.Errorf("%d tags in the document, %d writers answered 200: %v", len(tags), ok, tags)
		}
		if w, _ := doc["last_writer"].(float64); ok > 0 && tags[fmt.Sprintf("w%d", int(w))] == nil {
			t.Errorf("last_writer %v is not a writer that succeeded", doc["last_writer"])
		}
		t.Logf("%d concurrent PATCHes: %d × 200, %d × 409", writers, ok, conflicts)
	})
}

// callFromGoroutine is call for goroutines other than the test's: a failure to talk to the
// server is a response with status 0 and the error as its body, never a t.Fatal.
func (f *fixture) callFromGoroutine(method, path, token, body string) response {
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		return response{body: []byte(err.Error())}
	}
	req.Header.Set("X-Auth-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{body: []byte(err.Error())}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{body: []byte(err.Error())}
	}
	out := response{status: resp.StatusCode, header: resp.Header, body: raw}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out.env); err != nil {
			out.status = 0
		}
	}
	return out
}
