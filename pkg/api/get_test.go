package api_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// GET /v2/accounts/{ACCOUNT_ID}/recordings/{RECORDING_ID} returns the document.
func TestGetRecordingDocument(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		f := newFixture(t, open)
		id := f.addRecording(rec{audio: []byte("audio"), fields: recording.Doc{"pvt_node": "secret", "custom": "kept"}})

		r := f.call("GET", f.base()+"/recordings/"+id, tokenAccount, nil)
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		doc := r.dataMap(t)
		if doc["id"] != id || doc["custom"] != "kept" || doc["direction"] != "inbound" {
			t.Errorf("document = %v", doc)
		}
		if _, ok := doc["pvt_node"]; ok {
			t.Errorf("private field exposed: %v", doc)
		}
		rev, _ := r.env["revision"].(string)
		if rev == "" || r.header.Get("ETag") != `"`+rev+`"` {
			t.Errorf("revision %q, ETag %q", rev, r.header.Get("ETag"))
		}
		if r304 := f.call("GET", f.base()+"/recordings/"+id, tokenAccount, nil, "If-None-Match", `"`+rev+`"`); r304.status != 304 {
			t.Errorf("If-None-Match current revision: status %d, want 304", r304.status)
		}
		// A user path reads the same recording.
		if ru := f.call("GET", f.base()+"/users/"+f.user+"/recordings/"+id, tokenAccount, nil); ru.status != 200 {
			t.Errorf("user path: %d %s", ru.status, ru.body)
		}
	})
}

// The audio comes back when the client asks for it, streamed with its stored type.
func TestGetRecordingAudio(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		f := newFixture(t, open)
		audio := randBytes(300_000)
		id := f.addRecording(rec{audio: audio, name: "call one.mp3"})
		wav := f.addRecording(rec{audio: []byte("RIFFwav"), ctype: "audio/wav", name: "x.wav"})
		bare := f.addRecording(rec{})

		tests := []struct {
			name        string
			path        string
			headers     []string
			status      int
			ctype       string
			disposition string
			body        []byte
		}{
			{"Accept header", "/recordings/" + id, []string{"Accept", "audio/mpeg"}, 200, "audio/mpeg", `attachment; filename="call one.mp3"`, audio},
			{"accept query wins over the header", "/recordings/" + id + "?accept=audio/mpeg", []string{"Accept", "application/json"}, 200, "audio/mpeg", `attachment; filename="call one.mp3"`, audio},
			{"inline=true", "/recordings/" + id + "?accept=audio/mpeg&inline=true", nil, 200, "audio/mpeg", `inline; filename="call one.mp3"`, audio},
			{"audio/mp3 alias", "/recordings/" + id, []string{"Accept", "audio/mp3"}, 200, "audio/mpeg", "", audio},
			{"audio/* wildcard", "/recordings/" + id, []string{"Accept", "audio/*"}, 200, "audio/mpeg", "", audio},
			{"q-values: audio preferred", "/recordings/" + id, []string{"Accept", "application/json;q=0.5, audio/mpeg"}, 200, "audio/mpeg", "", audio},
			{"the attachment's own type", "/recordings/" + wav, []string{"Accept", "audio/wav"}, 200, "audio/wav", "", []byte("RIFFwav")},
			{"range", "/recordings/" + id, []string{"Accept", "audio/mpeg", "Range", "bytes=100-199"}, 206, "audio/mpeg", "", audio[100:200]},
			{"suffix range", "/recordings/" + id, []string{"Accept", "audio/mpeg", "Range", "bytes=-1000"}, 206, "audio/mpeg", "", audio[len(audio)-1000:]},
			{"open range", "/recordings/" + id, []string{"Accept", "audio/mpeg", "Range", "bytes=299990-"}, 206, "audio/mpeg", "", audio[299990:]},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := f.call("GET", f.base()+tt.path, tokenAccount, nil, tt.headers...)
				if r.status != tt.status {
					t.Fatalf("status %d, want %d: %.200s", r.status, tt.status, r.body)
				}
				if got := r.header.Get("Content-Type"); got != tt.ctype {
					t.Errorf("Content-Type %q, want %q", got, tt.ctype)
				}
				if tt.disposition != "" && r.header.Get("Content-Disposition") != tt.disposition {
					t.Errorf("Content-Disposition %q, want %q", r.header.Get("Content-Disposition"), tt.disposition)
				}
				if !bytes.Equal(r.body, tt.body) {
					t.Errorf("body: %d bytes, want %d (content differs)", len(r.body), len(tt.body))
				}
				if r.header.Get("Content-Length") != strconv.Itoa(len(tt.body)) {
					t.Errorf("Content-Length %q, want %d", r.header.Get("Content-Length"), len(tt.body))
				}
				if r.header.Get("Accept-Ranges") != "bytes" || r.header.Get("ETag") == "" {
					t.Errorf("Accept-Ranges %q ETag %q", r.header.Get("Accept-Ranges"), r.header.Get("ETag"))
				}
			})
		}

		r := f.call("GET", f.base()+"/recordings/"+id, tokenAccount, nil, "Accept", "audio/mpeg", "Range", "bytes=100-199")
		if cr := r.header.Get("Content-Range"); cr != "bytes 100-199/300000" {
			t.Errorf("Content-Range %q", cr)
		}
		head := f.call("HEAD", f.base()+"/recordings/"+id+"?accept=audio/mpeg", tokenAccount, nil)
		if head.status != 200 || head.header.Get("Content-Length") != "300000" || len(head.body) != 0 {
			t.Errorf("HEAD: %d, Content-Length %q, %d body bytes", head.status, head.header.Get("Content-Length"), len(head.body))
		}
		etag := r.header.Get("ETag")
		if r := f.call("GET", f.base()+"/recordings/"+id+"?accept=audio/mpeg", tokenAccount, nil, "If-None-Match", etag); r.status != 304 {
			t.Errorf("If-None-Match on audio: %d, want 304", r.status)
		}
		r416 := f.call("GET", f.base()+"/recordings/"+id, tokenAccount, nil, "Accept", "audio/mpeg", "Range", "bytes=300000-")
		expectError(t, r416, 416, "range_not_satisfiable")
		if cr := r416.header.Get("Content-Range"); cr != "bytes */300000" {
			t.Errorf("416 Content-Range %q", cr)
		}
		noAudio := f.call("GET", f.base()+"/recordings/"+bare+"?accept=audio/mpeg", tokenAccount, nil)
		expectError(t, noAudio, 404, "bad_identifier")
		if noAudio.dataMap(t)["details"] != bare {
			t.Errorf("no attachment: data %v", noAudio.data())
		}
		expectError(t, f.call("GET", f.base()+"/recordings/"+id, tokenAccount, nil, "Accept", "text/html"), 406, "not_acceptable")
		expectError(t, f.call("GET", f.base()+"/recordings/"+id, tokenAccount, nil, "Accept", "audio/wav"), 406, "not_acceptable")
	})
}

// Missing, deleted and malformed recordings are 404s in Kazoo's two shapes.
func TestGetRecordingNotFound(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		f := newFixture(t, open)
		gone := f.addRecording(rec{fields: recording.Doc{"pvt_deleted": true}})
		other := f.addRecording(rec{fields: recording.Doc{"pvt_type": "cdr"}})
		missing := recording.MonthOf(f.now).String() + "-" + randHex(16)
		noMonthDB := "200001-" + randHex(16)
		for _, id := range []string{gone, other, missing, noMonthDB} {
			for _, accept := range []string{"application/json", "audio/mpeg"} {
				r := f.call("GET", f.base()+"/recordings/"+id, tokenAccount, nil, "Accept", accept)
				expectError(t, r, 404, "bad_identifier")
				if r.dataMap(t)["cause"] != id {
					t.Errorf("%s: cause = %v", id, r.data())
				}
			}
		}
		for _, id := range []string{"nodate", "202613-abc", "abcdef-abc", "202611-a%2Fb", "_design%2Frecordingsd", "202611-a%20b"} {
			for _, accept := range []string{"application/json", "audio/mpeg"} {
				r := f.call("GET", f.base()+"/recordings/"+id, tokenAccount, nil, "Accept", accept)
				expectError(t, r, 404, "bad identifier")
				if l, ok := r.data().([]any); !ok || len(l) != 1 {
					t.Errorf("%s: data = %v, want [id]", id, r.data())
				}
			}
		}
	})
}

// Kazoo's public url field (where kz_att_http's document_url_field puts the location) is
// served as stored, in the listing and the document, except for credentials in it.
func TestPublicURLField(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		f := newFixture(t, open)
		plain := f.addRecording(rec{fields: recording.Doc{"url": "http://host/path"}})
		secret := f.addRecording(rec{fields: recording.Doc{"url": "http://user:secret@host/path"}})
		want := map[string]string{plain: "http://host/path", secret: "http://host/path"}
		list := f.call("GET", f.base()+"/recordings", tokenAccount, nil)
		if list.status != 200 || strings.Contains(string(list.body), "secret") {
			t.Fatalf("listing: %d %s", list.status, list.body)
		}
		seen := 0
		for _, item := range list.env["data"].([]any) {
			m := item.(map[string]any)
			if w, ok := want[m["id"].(string)]; ok {
				seen++
				if m["url"] != w {
					t.Errorf("listing: %s url = %v, want %s", m["id"], m["url"], w)
				}
			}
		}
		if seen != 2 {
			t.Errorf("listing shows %d of the 2 recordings: %s", seen, list.body)
		}
		for id, w := range want {
			r := f.call("GET", f.base()+"/recordings/"+id, tokenAccount, nil)
			if got := r.dataMap(t)["url"]; got != w || strings.Contains(string(r.body), "secret") {
				t.Errorf("document %s: url = %v, want %s; %s", id, got, w, r.body)
			}
		}
	})
}
