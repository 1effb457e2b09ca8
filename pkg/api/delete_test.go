package api_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/api"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// DELETE removes the document and its audio; the response is the document, marked deleted.
func TestDeleteRecording(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		f := newFixture(t, open)
		id := f.addRecording(rec{audio: []byte("audio")})
		r := f.call("DELETE", f.base()+"/recordings/"+id, tokenAccount, nil)
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		doc := r.dataMap(t)
		if doc["id"] != id || doc["_read_only"].(map[string]any)["deleted"] != true {
			t.Errorf("response data = %v", doc)
		}
		if _, err := f.store.Get(t.Context(), f.account, id); !recording.IsNotFound(err) {
			t.Errorf("document still stored after a hard delete: err = %v", err)
		}
		expectError(t, f.call("GET", f.base()+"/recordings/"+id, tokenAccount, nil), 404, "bad_identifier")
		expectError(t, f.call("DELETE", f.base()+"/recordings/"+id, tokenAccount, nil), 404, "bad_identifier")
		expectError(t, f.call("DELETE", f.base()+"/recordings/not-an-id", tokenAccount, nil), 404, "bad identifier")
	})
}

// ?should_soft_delete=true marks the document pvt_deleted as Kazoo does; it disappears everywhere.
func TestDeleteKazooSoft(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		for _, tc := range []struct {
			name  string
			query string
			cfg   func(*api.Config)
		}{
			{"query", "?should_soft_delete=true", func(*api.Config) {}},
			{"config kazoo_soft", "", func(c *api.Config) { c.SoftDeleteByDefault = true }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				f := newFixture(t, open, tc.cfg)
				id := f.addRecording(rec{audio: []byte("audio")})
				if r := f.call("DELETE", f.base()+"/recordings/"+id+tc.query, tokenAccount, nil); r.status != 200 {
					t.Fatalf("%d %s", r.status, r.body)
				}
				stored, err := f.store.Get(t.Context(), f.account, id)
				if err != nil || !stored.IsDeleted() || len(stored.Attachments()) != 1 {
					t.Fatalf("stored = %v, err %v; want pvt_deleted with its audio kept", stored, err)
				}
				expectError(t, f.call("GET", f.base()+"/recordings/"+id, tokenAccount, nil), 404, "bad_identifier")
				if got := ids(t, f.call("GET", f.base()+"/recordings?include=soft_delete", tokenAccount, nil).dataList(t)); len(got) != 0 {
					t.Errorf("pvt_deleted recording listed: %v", got)
				}
			})
		}
		f := newFixture(t, open, func(c *api.Config) { c.SoftDeleteByDefault = true })
		id := f.addRecording(rec{})
		f.call("DELETE", f.base()+"/recordings/"+id+"?should_soft_delete=false", tokenAccount, nil)
		if _, err := f.store.Get(t.Context(), f.account, id); !recording.IsNotFound(err) {
			t.Errorf("should_soft_delete=false did not hard-delete: %v", err)
		}
		expectError(t, f.call("DELETE", f.base()+"/recordings/"+id+"?should_soft_delete=maybe", tokenAccount, nil), 400, "validation error")
	})
}

// A recording whose audio is on a storage provider keeps that media: only the document goes.
func TestDeleteKeepsExternalMedia(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		f := newFixture(t, open)
		var hits atomic.Int32
		provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
		defer provider.Close()
		id := f.addRecording(rec{fields: recording.Doc{"pvt_attachments": map[string]any{
			"call.mp3": map[string]any{"content_type": "audio/mpeg", "length": 10, "handler": map[string]any{"kz_att_http": map[string]any{"url": provider.URL + "/call.mp3"}}},
		}}})
		r := f.call("DELETE", f.base()+"/recordings/"+id, tokenAccount, nil)
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if ct := r.dataMap(t)["_read_only"].(map[string]any)["content_types"]; len(ct.([]any)) != 1 {
			t.Errorf("content_types = %v", ct)
		}
		if n := hits.Load(); n != 0 {
			t.Errorf("the storage provider received %d requests during DELETE", n)
		}
	})
}
