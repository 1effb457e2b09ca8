package api_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/internal/testnet"
	"github.com/recordingsd/recordingsd/pkg/media"
	"github.com/recordingsd/recordingsd/pkg/media/s3media"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Audio that kz_att_http stored on a web server is served as inline audio is: same headers,
// Range (forwarded to the server), HEAD, 304.
func TestExternalHTTPAudio(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		audio := randBytes(300_000)
		for _, ignoreRange := range []bool{false, true} {
			provider := newMediaServer(t, audio, ignoreRange)
			f := newFixture(t, open, withMedia(t, media.Timeouts{Request: 2 * time.Second, Idle: 2 * time.Second}, s3media.Config{}))
			id := f.addRecording(rec{fields: externalAttachments("call.mp3", "audio/mpeg", int64(len(audio)), "kz_att_http",
				map[string]any{"url": provider.url()})})
			etag := f.call("HEAD", f.base()+"/recordings/"+id, tokenAccount, nil, "Accept", "audio/mpeg").header.Get("ETag")
			before := len(provider.seen())
			checkAudio(t, f, id, fullAudioCases(audio, etag))

			// What reached the provider: each GET once, with its range (an unsatisfiable
			// range, and a 304, never leave the service); HEAD as HEAD.
			want := []string{"GET ", "GET bytes=1000-70999", "GET bytes=299500-299999", "GET bytes=299990-299999", "HEAD ", "HEAD "}
			if got := provider.seen()[before:]; strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("ignoreRange=%v: provider saw %q, want %q", ignoreRange, got, want)
			}

			// ?accept= as browsers' <audio> elements use it.
			r := f.call("GET", f.base()+"/recordings/"+id+"?accept=audio/mpeg&inline=true", tokenAccount, nil)
			if r.status != 200 || len(r.body) != len(audio) || r.header.Get("Content-Disposition") != `inline; filename="call.mp3"` {
				t.Errorf("?accept=audio/mpeg: %d, %d bytes, %v", r.status, len(r.body), r.header)
			}
		}
	})
}

// A document without a length: the provider is asked (HEAD) first; a provider that cannot
// say either gets its object streamed whole, without Content-Length and without ranges.
func TestExternalHTTPAudioWithoutLength(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		audio := randBytes(100_000)
		provider := newMediaServer(t, audio, false)
		noHead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodHead {
				w.WriteHeader(http.StatusMethodNotAllowed)
				return
			}
			w.Header().Set("Content-Type", "audio/mpeg")
			_, _ = w.Write(audio[:50_000])
			w.(http.Flusher).Flush() // chunked: no length announced
			_, _ = w.Write(audio[50_000:])
		}))
		defer noHead.Close()
		f := newFixture(t, open, withMedia(t, media.Timeouts{Request: 2 * time.Second, Idle: 2 * time.Second}, s3media.Config{}))
		id := f.addRecording(rec{fields: externalAttachments("call.mp3", "audio/mpeg", -1, "kz_att_http", map[string]any{"url": provider.url()})})
		checkAudio(t, f, id, []audioCase{
			{"whole", "GET", nil, 200, audio, "100000", ""},
			{"range", "GET", []string{"Range", "bytes=10-19"}, 206, audio[10:20], "10", "bytes 10-19/100000"},
		})
		unknown := f.addRecording(rec{fields: externalAttachments("call.mp3", "audio/mpeg", -1, "kz_att_http", map[string]any{"url": noHead.URL + "/x"})})
		r := f.call("GET", f.base()+"/recordings/"+unknown, tokenAccount, nil, "Accept", "audio/mpeg", "Range", "bytes=10-19")
		if r.status != 200 || string(r.body) != string(audio) || r.header.Get("Accept-Ranges") != "none" || r.header.Get("Content-Length") != "" {
			t.Errorf("size unknown everywhere: %d, %d bytes, %v", r.status, len(r.body), r.header)
		}
	})
}

// A provider that is down, silent, refusing or stalling: a 502 storage_unreachable within the
// timeout (or, once the audio has started, a cut connection), never a hang.
func TestExternalHTTPOutage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		audio := randBytes(10_000)
		// A port held shut for the whole test: a closed server's port could be handed to the
		// servers below, and "server down" would then be answered.
		goneURL := "http://kazoo:" + urlPassword + "@" + testnet.RefusedAddr(t) + "/recordings/call.mp3?token=" + urlQueryToken
		silent, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer silent.Close()
		go func() {
			for {
				c, err := silent.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}()
		stall := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "10000")
			_, _ = w.Write(audio[:3000])
			w.(http.Flusher).Flush()
			select { // until the reader gives up; bounded, so closing the server cannot hang
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}))
		defer stall.Close()
		refusing := newMediaServer(t, audio, false)

		f := newFixture(t, open, withMedia(t, media.Timeouts{Request: storageTimeout, Idle: storageTimeout}, s3media.Config{}))
		for _, c := range []struct{ name, url, cause string }{
			{"server down", goneURL, "connection_failed"},
			{"server silent", "http://" + silent.Addr().String() + "/call.mp3", "timeout"},
			{"server refuses", refusing.URL + "/call.mp3", "provider_status_401"},
		} {
			id := f.addRecording(rec{fields: externalAttachments("call.mp3", "audio/mpeg", 10_000, "kz_att_http", map[string]any{"url": c.url})})
			start := time.Now()
			r := f.call("GET", f.base()+"/recordings/"+id, tokenAccount, nil, "Accept", "audio/mpeg")
			if took := time.Since(start); took > storageTimeout+time.Second {
				t.Errorf("%s: answered after %v", c.name, took)
			}
			expectError(t, r, 502, "storage_unreachable")
			if d := r.dataMap(t); d["cause"] != c.cause || d["handler"] != "kz_att_http" || d["details"] != id {
				t.Errorf("%s: data %v", c.name, d)
			}
			if l := leaks(string(r.body)); len(l) > 0 {
				t.Errorf("%s: response leaks %v", c.name, l)
			}
			start = time.Now()
			if status, h := headStatus(t, f, id); status != 502 || h.Get("Accept-Ranges") != "" || time.Since(start) > storageTimeout+time.Second {
				t.Errorf("%s HEAD: %d %v after %v", c.name, status, h, time.Since(start))
			}
			// The GET and the HEAD are both counted for operators.
			want := `recordingsd_media_errors_total{handler="kz_att_http",reason="` + c.cause + `"} 2`
			if m := f.call("GET", "/metrics", "", nil); !strings.Contains(string(m.body), want) {
				t.Errorf("%s: /metrics lacks %s", c.name, want)
			}
		}

		// The provider stalls after the headers went out: the client sees a cut connection
		// after the idle timeout, not a short 200 and not a hang.
		id := f.addRecording(rec{fields: externalAttachments("call.mp3", "audio/mpeg", 10_000, "kz_att_http", map[string]any{"url": stall.URL + "/x"})})
		req, _ := http.NewRequest("GET", f.srv.URL+f.base()+"/recordings/"+id, nil)
		req.Header.Set("X-Auth-Token", tokenAccount)
		req.Header.Set("Accept", "audio/mpeg")
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || n != 3000 || err == nil {
			t.Errorf("stalled provider: status %d, %d bytes, err %v; want 200, 3000 bytes, a cut", resp.StatusCode, n, err)
		}
		if took := time.Since(start); took > storageTimeout+2*time.Second {
			t.Errorf("stall noticed after %v", took)
		}
	})
}

// A handler nobody reads yet, or a payload that names none: 501 and 500, never a crash.
func TestExternalUnsupportedOrBroken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		f := newFixture(t, open, withMedia(t, media.Timeouts{}, s3media.Config{}))
		ftp := f.addRecording(rec{fields: externalAttachments("call.mp3", "audio/mpeg", 10, "kz_att_ftp", map[string]any{"url": "ftp://x/y"})})
		r := f.call("GET", f.base()+"/recordings/"+ftp, tokenAccount, nil, "Accept", "audio/mpeg")
		expectError(t, r, 501, "storage_provider_unsupported")
		if d := r.dataMap(t); d["handler"] != "kz_att_ftp" {
			t.Errorf("data %v", d)
		}
		// A handler name read from a document is not a label of its own.
		want := `recordingsd_media_errors_total{handler="other",reason="unsupported_handler"} 1`
		if m := f.call("GET", "/metrics", "", nil); !strings.Contains(string(m.body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
		broken := f.addRecording(rec{fields: recording.Doc{"pvt_attachments": map[string]any{
			"call.mp3": map[string]any{"content_type": "audio/mpeg", "length": 10, "handler": "kz_att_s3"}}}})
		expectError(t, f.call("GET", f.base()+"/recordings/"+broken, tokenAccount, nil, "Accept", "audio/mpeg"), 500, "internal_error")
		garbled := f.addRecording(rec{fields: externalAttachments("call.mp3", "audio/mpeg", 10, "kz_att_s3", map[string]any{"S3": "bm90IGEgdGVybQ=="})})
		expectError(t, f.call("GET", f.base()+"/recordings/"+garbled, tokenAccount, nil, "Accept", "audio/mpeg"), 500, "internal_error")
		// Both still list and read as JSON, with their content types.
		r = f.call("GET", f.base()+"/recordings/"+garbled, tokenAccount, nil)
		if r.status != 200 || len(r.dataMap(t)["_read_only"].(map[string]any)["content_types"].([]any)) != 1 {
			t.Errorf("JSON of a recording with a garbled payload: %d %s", r.status, r.body)
		}
	})
}
