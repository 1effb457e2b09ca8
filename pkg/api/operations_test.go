package api_test

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/api"
)

// Browsers' preflight is answered without a token; CORS headers come on answers and errors.
func TestCORS(t *testing.T) {
	f := newFixture(t, openEmbedded)
	id := f.addRecording(rec{audio: []byte("audio")})

	pre := f.call("OPTIONS", f.base()+"/recordings/"+id, "", nil,
		"Origin", "https://monster.example", "Access-Control-Request-Method", "PATCH", "Access-Control-Request-Headers", "x-auth-token")
	if pre.status != 200 {
		t.Fatalf("preflight: %d %s", pre.status, pre.body)
	}
	if got := pre.header.Get("Access-Control-Allow-Methods"); got != "DELETE, GET, HEAD, OPTIONS, PATCH" {
		t.Errorf("Allow-Methods = %q", got)
	}
	for _, h := range []string{"x-auth-token", "range"} {
		if !strings.Contains(pre.header.Get("Access-Control-Allow-Headers"), h) {
			t.Errorf("Allow-Headers lacks %s: %q", h, pre.header.Get("Access-Control-Allow-Headers"))
		}
	}
	if pre.header.Get("Access-Control-Allow-Origin") != "*" || pre.header.Get("Access-Control-Max-Age") != "86400" {
		t.Errorf("preflight headers: %v", pre.header)
	}
	ok := f.call("GET", f.base()+"/recordings/"+id, tokenAccount, nil, "Origin", "https://monster.example")
	if ok.status != 200 || ok.header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(ok.header.Get("Access-Control-Expose-Headers"), "x-request-id") {
		t.Errorf("CORS GET: %d %v", ok.status, ok.header)
	}
	denied := f.call("GET", f.base()+"/recordings/"+id, "", nil)
	if denied.status != 401 || denied.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("an error without Origin still carries CORS headers: %d %v", denied.status, denied.header)
	}
	// Without CORS headers, OPTIONS is just another method the resource does not have.
	expectError(t, f.call("OPTIONS", f.base()+"/recordings/"+id, tokenAccount, nil), 405, "invalid_method")
}

// JSON is gzipped for clients that accept it; audio never is.
func TestGzipAndPrettyPrint(t *testing.T) {
	f := newFixture(t, openEmbedded)
	audio := randBytes(50_000)
	id := f.addRecording(rec{audio: audio})
	get := func(path string, headers ...string) *http.Response {
		req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
		req.Header.Set("X-Auth-Token", tokenAccount)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		// A bare transport: Go's default one would ask for gzip and undo it silently.
		resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := get(f.base()+"/recordings/"+id, "Accept-Encoding", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("JSON not gzipped: %v", resp.Header)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]any
	if err := json.NewDecoder(zr).Decode(&env); err != nil || env["status"] != "success" {
		t.Fatalf("gzipped envelope: %v %v", err, env)
	}
	resp.Body.Close()

	resp = get(f.base()+"/recordings/"+id+"?accept=audio/mpeg", "Accept-Encoding", "gzip")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "" || len(body) != len(audio) {
		t.Errorf("audio: Content-Encoding %q, %d bytes", resp.Header.Get("Content-Encoding"), len(body))
	}

	resp = get(f.base()+"/recordings/"+id, "X-Pretty-Print", "true")
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "\n  \"data\"") {
		t.Errorf("X-Pretty-Print: body not indented: %.80s", body)
	}
}

// /healthz, /readyz and /metrics answer without a token.
func TestOperationsEndpoints(t *testing.T) {
	f := newFixture(t, openEmbedded)
	id := f.addRecording(rec{audio: randBytes(1234)})
	f.call("GET", f.base()+"/recordings/"+id+"?accept=audio/mpeg", tokenAccount, nil)

	for _, path := range []string{"/healthz", "/readyz"} {
		r := f.call("GET", path, "", nil)
		if r.status != 200 || r.env["status"] != "ok" {
			t.Errorf("%s: %d %s", path, r.status, r.body)
		}
	}
	m := f.call("GET", "/metrics", "", nil)
	for _, want := range []string{
		`recordingsd_http_requests_total{method="GET",route="/v2/accounts/{account_id}/recordings/{recording_id}",status="200"} 1`,
		`recordingsd_audio_bytes_streamed_total 1234`,
		`recordingsd_audio_streams_in_flight 0`,
		`recordingsd_store_request_duration_seconds_count{op="get"}`,
		`recordingsd_store_request_duration_seconds_count{op="open_attachment"} 1`,
	} {
		if !strings.Contains(string(m.body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// /readyz turns 503 when the store stops answering; /healthz stays 200.
func TestReadyzFollowsTheStore(t *testing.T) {
	f := newFixture(t, openEmbedded)
	if err := f.store.(interface{ Close() error }).Close(); err != nil {
		t.Fatal(err)
	}
	if r := f.call("GET", "/readyz", "", nil); r.status != 503 {
		t.Errorf("/readyz with the store closed: %d", r.status)
	}
	if r := f.call("GET", "/healthz", "", nil); r.status != 200 {
		t.Errorf("/healthz: %d", r.status)
	}
}

// Per-IP and per-account token buckets answer 429 with Retry-After once empty.
func TestRateLimits(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func(*api.Config)
	}{
		{"per ip", func(c *api.Config) { c.IPRateLimit = api.RateLimit{Rate: 0.001, Burst: 3} }},
		{"per account", func(c *api.Config) { c.AccountRateLimit = api.RateLimit{Rate: 0.001, Burst: 3} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, openEmbedded, tc.cfg)
			for i := 0; i < 3; i++ {
				if r := f.call("GET", f.base()+"/recordings", tokenAccount, nil); r.status != 200 {
					t.Fatalf("request %d within the burst: %d", i, r.status)
				}
			}
			r := f.call("GET", f.base()+"/recordings", tokenAccount, nil)
			expectError(t, r, 429, "too_many_requests")
			if r.header.Get("Retry-After") == "" {
				t.Errorf("429 without Retry-After")
			}
			if tc.name == "per account" {
				// another account has its own bucket
				if r := f.call("GET", "/v2/accounts/"+f.reseller+"/recordings", tokenReseller, nil); r.status != 200 {
					t.Errorf("other account limited too: %d", r.status)
				}
			}
			if r := f.call("GET", "/healthz", "", nil); r.status != 200 {
				t.Errorf("probes are not rate limited: %d", r.status)
			}
		})
	}
}

// A client that stops reading an audio stream is dropped after the stall timeout.
func TestStalledClientIsDropped(t *testing.T) {
	f := newFixture(t, openEmbedded, func(c *api.Config) { c.StallTimeout = 300 * time.Millisecond })
	id := f.addRecording(rec{audio: randBytes(32 << 20)})
	conn, err := net.Dial("tcp", f.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4096) // keep kernel buffers from absorbing the whole file
	}
	req := "GET " + f.base() + "/recordings/" + id + "?accept=audio/mpeg HTTP/1.1\r\nHost: x\r\nX-Auth-Token: " + tokenAccount + "\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	// Read nothing: the server's writes fill the socket buffers, block, and time out. The
	// handler must then give up, long before the client could have read the file.
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := f.call("GET", "/metrics", "", nil)
		if strings.Contains(string(m.body), "recordingsd_audio_streams_in_flight 0") &&
			strings.Contains(string(m.body), `recordingsd_http_requests_total{method="GET",route="/v2/accounts/{account_id}/recordings/{recording_id}",status="200"} 1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stalled download is still being served after 10 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	bytes := regexp.MustCompile(`recordingsd_audio_bytes_streamed_total (\S+)`).FindSubmatch(f.call("GET", "/metrics", "", nil).body)
	if bytes == nil || string(bytes[1]) == "3.3554432e+07" {
		t.Errorf("streamed bytes %q: the whole file went out to a client that read nothing", bytes)
	}
}
