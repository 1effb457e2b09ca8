package api_test

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/api"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// PATCH /recordings/{id} with soft_delete hides the recording; soft_restore brings it back.
func TestPatchSoftDeleteAndRestore(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		f := newFixture(t, open)
		id := f.addRecording(rec{})
		listed := func(query string) bool {
			for _, got := range ids(t, f.call("GET", f.base()+"/recordings"+query, tokenAccount, nil).dataList(t)) {
				if got == id {
					return true
				}
			}
			return false
		}

		r := f.call("PATCH", f.base()+"/recordings/"+id, tokenUser, `{"data":{"soft_delete":{"deleted_at":"63755032655"}}}`)
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		sd := r.dataMap(t)["soft_delete"].(map[string]any)
		want := map[string]any{"deleted_at": float64(63755032655), "deleted_by": map[string]any{"account_id": f.account, "user_id": f.user}}
		if !reflect.DeepEqual(sd, want) {
			t.Errorf("soft_delete = %v, want %v", sd, want)
		}
		rev1, _ := r.env["revision"].(string)
		if rev1 == "" {
			t.Errorf("no revision: %s", r.body)
		}
		if listed("") || !listed("?include=soft_delete") {
			t.Errorf("soft-deleted recording: listed=%v, listed with include=%v", listed(""), listed("?include=soft_delete"))
		}
		if g := f.call("GET", f.base()+"/recordings/"+id, tokenAccount, nil); g.status != 200 {
			t.Errorf("a soft-deleted recording is still readable by id: %d", g.status)
		}

		r = f.call("PATCH", f.base()+"/recordings/"+id, tokenAccount, `{"data":{"soft_restore":{}}}`)
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		doc := r.dataMap(t)
		if _, ok := doc["soft_delete"]; ok {
			t.Errorf("soft_delete still present after restore")
		}
		sr := doc["soft_restore"].(map[string]any)
		if !reflect.DeepEqual(sr["delete_data"], want) || sr["restored_at"] != float64(recording.ToGregorian(f.now)) {
			t.Errorf("soft_restore = %v", sr)
		}
		if r.env["revision"] == rev1 {
			t.Errorf("revision did not change")
		}
		if !listed("") {
			t.Errorf("restored recording is not listed")
		}
	})
}

// PATCH merges public fields; private keys and malformed bodies are refused before any write.
func TestPatchValidation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		f := newFixture(t, open)
		id := f.addRecording(rec{fields: recording.Doc{"description": "old", "meta": map[string]any{"a": 1, "b": 2}}})

		r := f.call("PATCH", f.base()+"/recordings/"+id, tokenAccount, `{"data":{"description":"new","meta":{"a":null,"c":3}}}`)
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		doc := r.dataMap(t)
		if doc["description"] != "new" || !reflect.DeepEqual(doc["meta"], map[string]any{"b": float64(2), "c": float64(3)}) {
			t.Errorf("merged doc: description %v meta %v", doc["description"], doc["meta"])
		}

		tests := []struct {
			name, body string
			status     int
			message    string
		}{
			{"private field", `{"data":{"pvt_deleted":true}}`, 400, "validation error"},
			{"underscore field", `{"data":{"_rev":"1-x"}}`, 400, "validation error"},
			{"soft_delete not an object", `{"data":{"soft_delete":"yes"}}`, 400, "validation error"},
			{"both soft_delete and soft_restore", `{"data":{"soft_delete":{},"soft_restore":{}}}`, 400, "validation error"},
			{"malformed JSON", `{"data":{"description":`, 400, "invalid JSON in request body"},
			{"not an object", `[1,2]`, 400, "invalid JSON in request body"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				expectError(t, f.call("PATCH", f.base()+"/recordings/"+id, tokenAccount, tt.body), tt.status, tt.message)
			})
		}
		after := f.call("GET", f.base()+"/recordings/"+id, tokenAccount, nil).dataMap(t)
		if after["description"] != "new" {
			t.Errorf("a refused PATCH changed the document: %v", after)
		}
		expectError(t, f.call("PATCH", f.base()+"/recordings/"+recording.MonthOf(f.now).String()+"-"+randHex(16), tokenAccount, `{"data":{}}`), 404, "bad_identifier")
		expectError(t, f.call("PATCH", f.base()+"/recordings/bad-id", tokenAccount, `{"data":{}}`), 404, "bad identifier")
	})
}

// Concurrent PATCHes of one recording all land: conflicts are retried, no update is lost.
// With at least as many retries as writers, every writer must succeed (each round has a winner).
func TestPatchConcurrentWriters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		f := newFixture(t, open, func(c *api.Config) { c.ConflictRetries = 8 })
		id := f.addRecording(rec{})
		const writers = 8
		var wg sync.WaitGroup
		statuses := make([]int, writers)
		for i := 0; i < writers; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				statuses[i] = f.call("PATCH", f.base()+"/recordings/"+id, tokenAccount, fmt.Sprintf(`{"data":{"tags":{"w%d":true}}}`, i)).status
			}(i)
		}
		wg.Wait()
		tags := f.call("GET", f.base()+"/recordings/"+id, tokenAccount, nil).dataMap(t)["tags"].(map[string]any)
		for i, st := range statuses {
			_, applied := tags[fmt.Sprintf("w%d", i)]
			if st == 200 && !applied {
				t.Errorf("writer %d got 200 but its change is lost", i)
			}
			if st != 200 {
				t.Errorf("writer %d got %d, want 200 after retries", i, st)
			}
		}
	})
}

// PATCH /recordings/collection applies one patch to many recordings, per-id outcomes.
func TestPatchCollection(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		f := newFixture(t, open)
		thisMonth := f.addRecording(rec{})
		lastMonth := f.addRecording(rec{created: f.now.Add(-20 * 24 * time.Hour), month: recording.MonthOf(f.now).Prev().String()})
		missing := recording.MonthOf(f.now).String() + "-" + randHex(16)
		deleted := f.addRecording(rec{fields: recording.Doc{"pvt_deleted": true}})

		body := map[string]any{"data": map[string]any{
			"recordings":  []string{thisMonth, lastMonth, missing, "garbage", deleted},
			"soft_delete": map[string]any{},
		}}
		r := f.call("PATCH", f.base()+"/recordings/collection", tokenAccount, body)
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		data := r.dataMap(t)
		success := data["success"].(map[string]any)
		failure := data["failure"].(map[string]any)
		for _, id := range []string{thisMonth, lastMonth} {
			doc, ok := success[id].(map[string]any)
			if !ok || doc["soft_delete"] == nil {
				t.Errorf("success[%s] = %v", id, success[id])
			}
		}
		wantFail := map[string][2]any{
			missing:   {float64(404), "bad_identifier"},
			deleted:   {float64(404), "bad_identifier"},
			"garbage": {float64(404), "bad identifier"},
		}
		for id, w := range wantFail {
			fe, ok := failure[id].(map[string]any)
			if !ok || fe["cause"] != id || fe["code"] != w[0] || fe["message"] != w[1] {
				t.Errorf("failure[%s] = %v, want code %v message %v", id, failure[id], w[0], w[1])
			}
		}
		if got := ids(t, f.call("GET", f.base()+"/recordings", tokenAccount, nil).dataList(t)); len(got) != 0 {
			t.Errorf("still listed after bulk soft delete: %v", got)
		}

		restore := map[string]any{"data": map[string]any{"recordings": []string{thisMonth, lastMonth}, "soft_restore": map[string]any{}}}
		r = f.call("PATCH", f.base()+"/recordings/collection", tokenAccount, restore)
		if _, ok := r.dataMap(t)["failure"]; ok || len(r.dataMap(t)["success"].(map[string]any)) != 2 {
			t.Errorf("bulk restore: %s", r.body)
		}

		invalid := []struct {
			name, body, code, message string
		}{
			{"missing list", `{"data":{"soft_delete":{}}}`, "required", "list of recordings missing"},
			{"empty list", `{"data":{"recordings":[]}}`, "minimum", "minimum 1 recording required"},
			{"not a list", `{"data":{"recordings":"x"}}`, "type", "recordings must be a list"},
			{"duplicates", fmt.Sprintf(`{"data":{"recordings":["%s","%s"]}}`, thisMonth, thisMonth), "uniqueItems", "some recordings appear twice"},
		}
		for _, tt := range invalid {
			t.Run(tt.name, func(t *testing.T) {
				r := f.call("PATCH", f.base()+"/recordings/collection", tokenAccount, tt.body)
				expectError(t, r, 400, "validation error")
				got := r.dataMap(t)["recordings"].(map[string]any)[tt.code].(map[string]any)["message"]
				if got != tt.message {
					t.Errorf("message %q, want %q", got, tt.message)
				}
			})
		}
		many := make([]string, recording.MaxCollection+1)
		for i := range many {
			many[i] = fmt.Sprintf("202611-%d", i)
		}
		expectError(t, f.call("PATCH", f.base()+"/recordings/collection", tokenAccount, map[string]any{"data": map[string]any{"recordings": many}}), 400, "validation error")
		for _, m := range []string{"GET", "DELETE", "PUT", "POST"} {
			expectError(t, f.call(m, f.base()+"/recordings/collection", tokenAccount, nil), 405, "invalid_method")
		}
	})
}
