package api_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/api"
	"github.com/recordingsd/recordingsd/pkg/media"
	"github.com/recordingsd/recordingsd/pkg/media/httpmedia"
	"github.com/recordingsd/recordingsd/pkg/media/s3media"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Secrets the storage tests plant in documents and configuration; no response or log line
// may ever hold one.
const (
	s3DocKeyID     = "AKIAKAZOODOCUMENT001"
	s3DocSecret    = "kazoo/document+secret0000000000000000001"
	s3ConfKeyID    = "AKIARECORDINGSDCONF1"
	s3ConfSecret   = "recordingsd/config+secret000000000000001"
	urlPassword    = "pr0vider-passw0rd"
	urlQueryToken  = "signed-t0ken-4567"
	storageTimeout = 500 * time.Millisecond
)

// withMedia serves kz_att_http and kz_att_s3 media; cfg may change the S3 settings.
func withMedia(t *testing.T, timeouts media.Timeouts, cfg s3media.Config) func(*api.Config) {
	t.Helper()
	cfg.Timeouts = timeouts
	s3src, err := s3media.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return func(c *api.Config) {
		c.Media = media.Sources{httpmedia.Handler: httpmedia.New(timeouts, nil), s3media.Handler: s3src}
	}
}

// externalAttachments is pvt_attachments with one entry, as kzs_attachments writes it.
func externalAttachments(name, ctype string, length int64, module string, payload map[string]any) recording.Doc {
	entry := map[string]any{"content_type": ctype, "stub": false, "handler": map[string]any{module: payload}}
	if length >= 0 {
		entry["length"] = length
	}
	return recording.Doc{"pvt_attachments": map[string]any{name: entry}}
}

// mediaServer is a web server holding one file for kz_att_http, counting what it is asked.
type mediaServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string // "METHOD range"
}

func newMediaServer(t *testing.T, data []byte, ignoreRange bool) *mediaServer {
	m := &mediaServer{}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.requests = append(m.requests, r.Method+" "+r.Header.Get("Range"))
		m.mu.Unlock()
		if user, pass, _ := r.BasicAuth(); user != "kazoo" || pass != urlPassword || r.URL.Query().Get("token") != urlQueryToken {
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		if ignoreRange {
			r.Header.Del("Range")
		}
		http.ServeContent(w, r, "call.mp3", time.Time{}, bytes.NewReader(data))
	}))
	t.Cleanup(m.Close)
	return m
}

// url is where kz_att_http stored the file: with a password and a signed query, as some
// storage endpoints want.
func (m *mediaServer) url() string {
	return strings.Replace(m.URL, "http://", "http://kazoo:"+urlPassword+"@", 1) + "/recordings/call.mp3?token=" + urlQueryToken
}

func (m *mediaServer) seen() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.requests...)
}

// audioCase is one request for external audio and what must come back.
type audioCase struct {
	name    string
	method  string
	headers []string
	status  int
	body    []byte // nil: not checked (HEAD, 304)
	length  string // Content-Length, "" for none
	crange  string // Content-Range
}

// checkAudio runs the cases against one recording, with the contract of inline audio.
func checkAudio(t *testing.T, f *fixture, id string, cases []audioCase) {
	t.Helper()
	for _, c := range cases {
		r := f.call(c.method, f.base()+"/recordings/"+id, tokenAccount, nil, append([]string{"Accept", "audio/mpeg"}, c.headers...)...)
		if r.status != c.status {
			t.Fatalf("%s: status %d, want %d; body %.300s", c.name, r.status, c.status, r.body)
		}
		if c.body != nil && !bytes.Equal(r.body, c.body) {
			t.Errorf("%s: %d bytes, want %d", c.name, len(r.body), len(c.body))
		}
		if c.method == http.MethodHead && len(r.body) != 0 {
			t.Errorf("%s: HEAD has a body", c.name)
		}
		if got := r.header.Get("Content-Length"); (c.status == 200 || c.status == 206) && got != c.length {
			t.Errorf("%s: Content-Length %q, want %q", c.name, got, c.length)
		}
		if got := r.header.Get("Content-Range"); got != c.crange {
			t.Errorf("%s: Content-Range %q, want %q", c.name, got, c.crange)
		}
		if c.status == 200 || c.status == 206 {
			if r.header.Get("Content-Type") != "audio/mpeg" || r.header.Get("Content-Disposition") != `attachment; filename="call.mp3"` ||
				r.header.Get("ETag") == "" {
				t.Errorf("%s: headers %v", c.name, r.header)
			}
		}
	}
}

// fullAudioCases: whole, ranges, suffix, 416, HEAD and 304, for an object of len(audio) bytes.
func fullAudioCases(audio []byte, etag string) []audioCase {
	n := len(audio)
	size := strconv.Itoa(n)
	return []audioCase{
		{"whole", "GET", nil, 200, audio, size, ""},
		{"range", "GET", []string{"Range", "bytes=1000-70999"}, 206, audio[1000:71000], "70000", "bytes 1000-70999/" + size},
		{"suffix range", "GET", []string{"Range", "bytes=-500"}, 206, audio[n-500:], "500", "bytes " + strconv.Itoa(n-500) + "-" + strconv.Itoa(n-1) + "/" + size},
		{"open range", "GET", []string{"Range", "bytes=" + strconv.Itoa(n-10) + "-"}, 206, audio[n-10:], "10", "bytes " + strconv.Itoa(n-10) + "-" + strconv.Itoa(n-1) + "/" + size},
		{"unsatisfiable", "GET", []string{"Range", "bytes=" + size + "-"}, 416, nil, "", "bytes */" + size},
		{"HEAD", "HEAD", nil, 200, nil, size, ""},
		{"HEAD range", "HEAD", []string{"Range", "bytes=0-9"}, 206, nil, "10", "bytes 0-9/" + size},
		{"304", "GET", []string{"If-None-Match", etag}, 304, nil, "", ""},
	}
}

// headStatus sends HEAD for the audio; f.call would choke on a JSON type without a body.
func headStatus(t *testing.T, f *fixture, id string) (int, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("HEAD", f.srv.URL+f.base()+"/recordings/"+id, nil)
	req.Header.Set("X-Auth-Token", tokenAccount)
	req.Header.Set("Accept", "audio/mpeg")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// leaks names the planted secrets found in s.
func leaks(s string) []string {
	var out []string
	for _, secret := range []string{s3DocKeyID, s3DocSecret, s3ConfKeyID, s3ConfSecret, urlPassword, urlQueryToken} {
		if strings.Contains(s, secret) {
			out = append(out, secret)
		}
	}
	return out
}
