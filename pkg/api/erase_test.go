package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/media"
	"github.com/recordingsd/recordingsd/pkg/media/mediatest"
	"github.com/recordingsd/recordingsd/pkg/media/s3media"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// erasable is a recording with one object on S3 and one on a web server.
func erasable(f *fixture, s3 *mediatest.S3, web *mediatest.Web, name string) string {
	s3.Put(f.t, "recordings", "kazoo/"+name+".mp3", []byte("s3 audio"))
	web.Put("/rec/"+name+".mp3", []byte("web audio"))
	return f.addRecording(rec{audio: []byte("inline"), fields: recording.Doc{"pvt_attachments": map[string]any{
		"a.mp3": externalAttachments("a.mp3", "audio/mpeg", 8, "kz_att_s3", s3Payload(s3, "recordings", "kazoo/"+name+".mp3"))["pvt_attachments"].(map[string]any)["a.mp3"],
		"b.mp3": externalAttachments("b.mp3", "audio/mpeg", 9, "kz_att_http", map[string]any{"url": web.URLOf("/rec/"+name+".mp3", urlPassword)})["pvt_attachments"].(map[string]any)["b.mp3"],
	}}})
}

// DELETE ?purge_media=true erases the recording's objects on their storage providers, then
// the recording; the response says what was erased where, without credentials.
func TestDeletePurgeMedia(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		s3 := mediatest.NewS3(t, s3DocKeyID, s3DocSecret)
		web := mediatest.NewWeb(t)
		f := newFixture(t, open, withMedia(t, media.Timeouts{}, s3media.Config{}))
		id := erasable(f, s3, web, "one")

		r := f.call("DELETE", f.base()+"/recordings/"+id+"?purge_media=true", tokenAccount, nil)
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if s3.Has(t, "recordings", "kazoo/one.mp3") || web.Has("/rec/one.mp3") {
			t.Fatal("an object is still on its provider after purge_media=true")
		}
		expectError(t, f.call("GET", f.base()+"/recordings/"+id, tokenAccount, nil), 404, "bad_identifier")
		erased := fmt.Sprint(r.dataMap(t)["_read_only"].(map[string]any)["erased_media"])
		for _, want := range []string{"attachment:a.mp3 handler:kz_att_s3 location:s3://recordings/kazoo/one.mp3 at " + s3.URL,
			"attachment:b.mp3 handler:kz_att_http location:" + web.URL + "/rec/one.mp3"} {
			if !strings.Contains(erased, want) {
				t.Errorf("erased_media %s does not say %q", erased, want)
			}
		}
		if l := leaks(string(r.body)); len(l) > 0 {
			t.Fatalf("the response holds %v: %s", l, r.body)
		}

		// purge_media goes with a hard delete only; without objects it is a plain delete.
		kept := erasable(f, s3, web, "two")
		expectError(t, f.call("DELETE", f.base()+"/recordings/"+kept+"?purge_media=true&should_soft_delete=true", tokenAccount, nil), 400, "validation error")
		expectError(t, f.call("DELETE", f.base()+"/recordings/"+kept+"?purge_media=yes", tokenAccount, nil), 400, "validation error")
		if !s3.Has(t, "recordings", "kazoo/two.mp3") || !web.Has("/rec/two.mp3") {
			t.Fatal("a refused request deleted an object")
		}
		plain := f.addRecording(rec{audio: []byte("inline")})
		r = f.call("DELETE", f.base()+"/recordings/"+plain+"?purge_media=true", tokenAccount, nil)
		if r.status != 200 || fmt.Sprint(r.dataMap(t)["_read_only"].(map[string]any)["erased_media"]) != "[]" {
			t.Fatalf("inline-only recording: %d %s", r.status, r.body)
		}
	})
}

// A provider that refuses the delete keeps the recording and the other objects' record of
// where they are: 502 naming the provider's failure, no credentials; once the provider
// accepts, the same request completes the erasure.
func TestDeletePurgeMediaRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		s3 := mediatest.NewS3(t, s3DocKeyID, s3DocSecret)
		web := mediatest.NewWeb(t)
		f := newFixture(t, open, withMedia(t, media.Timeouts{}, s3media.Config{}))
		id := erasable(f, s3, web, "refused")
		web.RefuseDeletes(true)

		r := f.call("DELETE", f.base()+"/recordings/"+id+"?purge_media=true", tokenAccount, nil)
		expectError(t, r, 502, "media_erasure_failed")
		data := r.dataMap(t)
		if data["handler"] != "kz_att_http" || data["attachment"] != "b.mp3" || data["cause"] != "provider_status_403" {
			t.Fatalf("502 data %v, want the web provider's refusal", data)
		}
		if l := leaks(string(r.body)); len(l) > 0 {
			t.Fatalf("the response holds %v: %s", l, r.body)
		}
		if got := f.call("GET", f.base()+"/recordings/"+id, tokenAccount, nil); got.status != 200 {
			t.Fatalf("the recording went though its media could not: %d", got.status)
		}
		if !web.Has("/rec/refused.mp3") {
			t.Fatal("the refused object is gone")
		}

		web.RefuseDeletes(false)
		if r := f.call("DELETE", f.base()+"/recordings/"+id+"?purge_media=true", tokenAccount, nil); r.status != 200 {
			t.Fatalf("retried erasure: %d %s", r.status, r.body)
		}
		if s3.Has(t, "recordings", "kazoo/refused.mp3") || web.Has("/rec/refused.mp3") {
			t.Fatal("an object survived the retried erasure")
		}

		// A recording on hold is not erased: 423, its objects untouched.
		held := erasable(f, s3, web, "held")
		f.call("PATCH", f.base()+"/recordings/"+held, tokenAccount, `{"data":{"legal_hold":{"reason":"case"}}}`)
		expectError(t, f.call("DELETE", f.base()+"/recordings/"+held+"?purge_media=true", tokenAccount, nil), 423, "locked")
		if !s3.Has(t, "recordings", "kazoo/held.mp3") || !web.Has("/rec/held.mp3") {
			t.Fatal("a held recording's object was deleted")
		}
	})
}
