package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/auth"
	"github.com/recordingsd/recordingsd/pkg/crossbar"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/embedded"
)

// Fixed ids, so that the seed corpus names things that exist.
const (
	fuzzAccount  = "f0220000000000000000000000000001"
	fuzzReseller = "f0220000000000000000000000000002"
	fuzzUser     = "f0220000000000000000000000000003"
	fuzzRecAudio = "202611-f0220000000000000000000000000010"
	fuzzRecPlain = "202611-f0220000000000000000000000000011"
)

var fuzzNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// fuzzTokens are chosen by the fuzzer's token byte: none, the account's, its user's, the
// reseller's, an admin's, and one that does not exist.
var fuzzTokens = []string{"", "fz-account", "fz-user", "fz-reseller", "fz-admin", "fz-bogus"}

// FuzzAPI sends fuzzed requests (method, target with path and query, token, Accept, Range,
// body) through the real handler over an embedded store. Whatever the request: no panic, never
// a 5xx, every rejection a crossbar error envelope ("status": "error", "error" the status
// code, a message), and the only redirects are the router's own to a cleaned local path.
func FuzzAPI(f *testing.F) {
	a := "/v2/accounts/" + fuzzAccount
	seeds := []struct {
		method, target string
		token          uint8
		accept, rng    string
		body           string
	}{
		{"GET", a + "/recordings", 1, "", "", ""},
		{"GET", a + "/recordings?descending=true&page_size=1&include=soft_delete&filter_direction=inbound", 1, "", "", ""},
		{"GET", a + "/recordings?paginate=false&created_from=63967892400&created_to=63967896000", 3, "", "", ""},
		{"GET", a + "/recordings?start_key=" + crossbar.EncodeStartKey(recording.ListKey{Created: recording.ToGregorian(fuzzNow.Add(-time.Hour)), ID: fuzzRecAudio}), 1, "", "", ""},
		{"GET", a + "/users/" + fuzzUser + "/recordings?page_size=1000", 2, "", "", ""},
		{"GET", a + "/recordings/" + fuzzRecAudio, 1, "audio/mpeg", "bytes=10-20", ""},
		{"GET", a + "/recordings/" + fuzzRecAudio + "?accept=audio/*&inline=true&auth_token=fz-account", 0, "", "bytes=-5", ""},
		{"GET", a + "/recordings/" + fuzzRecAudio, 1, "audio/mpeg;q=0, application/json;q=0", "", ""},
		{"GET", a + "/recordings/" + fuzzRecPlain, 1, "audio/mpeg", "", ""},
		{"HEAD", a + "/recordings/" + fuzzRecAudio, 4, "audio/mpeg", "bytes=999-", ""},
		{"PATCH", a + "/recordings/" + fuzzRecAudio, 1, "", "", `{"data":{"description":"x","meta":{"a":null}}}`},
		{"PATCH", a + "/recordings/" + fuzzRecAudio, 2, "", "", `{"data":{"soft_delete":{"deleted_at":"63755032655"}}}`},
		{"PATCH", a + "/recordings/" + fuzzRecPlain, 1, "", "", `{"data":{"soft_restore":{}}}`},
		{"PATCH", a + "/recordings/collection", 1, "", "", `{"data":{"recordings":["` + fuzzRecAudio + `","` + fuzzRecPlain + `","x"],"soft_delete":{}}}`},
		{"DELETE", a + "/recordings/" + fuzzRecPlain + "?should_soft_delete=true", 1, "", "", ""},
		{"DELETE", a + "/recordings/" + fuzzRecAudio, 3, "", "", ""},
		{"GET", a + "/recordings/_design%2Frecordingsd", 1, "", "", ""},
		{"GET", a + "/recordings/../../" + fuzzReseller + "/recordings", 1, "", "", ""},
		{"GET", "//evil.example/..", 1, "", "", ""},
		{"GET", "/v2/accounts/" + fuzzReseller + "/recordings", 1, "", "", ""},
		{"PUT", a + "/recordings/" + fuzzRecAudio, 5, "", "", `{"data":{}}`},
		{"OPTIONS", "*", 0, "", "", ""},
		{"GET", "/ui/", 0, "", "", ""},
		{"POST", a + "/recordings?pretty_print=true", 1, "text/html", "", "x"},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, s.token, s.accept, s.rng, []byte(s.body))
	}

	store, err := embedded.Open(filepath.Join(f.TempDir(), "fuzz.db"), embedded.Options{NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = store.Close() })
	seedFuzzStore(f, store)
	authn, err := auth.NewStaticTokens([]auth.StaticToken{
		{Token: "fz-account", AccountID: fuzzAccount},
		{Token: "fz-user", AccountID: fuzzAccount, UserID: fuzzUser},
		{Token: "fz-reseller", AccountID: fuzzReseller},
		{Token: "fz-admin", AllAccounts: true},
	})
	if err != nil {
		f.Fatal(err)
	}
	cfg := testConfig()
	cfg.Now, cfg.Node = func() time.Time { return fuzzNow }, "fuzz"
	handler := newHandler(f, zap.NewNop(), cfg, store, authn)

	f.Fuzz(func(t *testing.T, method, target string, token uint8, accept, rng string, body []byte) {
		req := fuzzRequest(method, target, fuzzTokens[int(token)%len(fuzzTokens)], accept, rng, body)
		if req == nil {
			return // net/http's server would have refused it before any handler
		}
		rec := httptest.NewRecorder()
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("%s %s: panic %v", req.Method, req.RequestURI, p)
				}
			}()
			handler.ServeHTTP(rec, req)
		}()
		checkFuzzResponse(t, req, rec.Result())
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			seedFuzzStore(t, store) // bring back what a PATCH or DELETE changed
		}
	})
}

// fuzzRequest builds the request a server would read from the wire, or nil when net/http's
// server would refuse it itself (a malformed request line, a header value with controls).
func fuzzRequest(method, target, token, accept, rng string, body []byte) *http.Request {
	for _, v := range []string{token, accept, rng} {
		for i := 0; i < len(v); i++ {
			if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
				return nil
			}
		}
	}
	var raw bytes.Buffer
	fmt.Fprintf(&raw, "%s %s HTTP/1.1\r\nHost: api.example\r\n", method, target)
	for _, h := range [][2]string{{"X-Auth-Token", token}, {"Accept", accept}, {"Range", rng}} {
		if h[1] != "" {
			fmt.Fprintf(&raw, "%s: %s\r\n", h[0], h[1])
		}
	}
	fmt.Fprintf(&raw, "Content-Length: %d\r\n\r\n", len(body))
	raw.Write(body)
	req, err := http.ReadRequest(bufio.NewReader(&raw))
	if err != nil || req.Method != method || req.RequestURI != target || strings.ContainsAny(req.Method, " \t") {
		return nil
	}
	if req.Method == http.MethodOptions && req.RequestURI == "*" {
		return nil // net/http's server answers OPTIONS * itself
	}
	return req.WithContext(context.Background())
}

// checkFuzzResponse holds every response to what the API promises.
func checkFuzzResponse(t *testing.T, req *http.Request, resp *http.Response) {
	t.Helper()
	what := req.Method + " " + req.RequestURI
	body := new(bytes.Buffer)
	_, _ = body.ReadFrom(resp.Body)
	switch code := resp.StatusCode; {
	case code >= 500:
		t.Fatalf("%s: %d %s", what, code, body)
	case code >= 300 && code < 400 && code != http.StatusNotModified:
		// Only the router's redirect of an unclean path, to a path of ours.
		loc := resp.Header.Get("Location")
		if code != http.StatusMovedPermanently || !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") {
			t.Fatalf("%s: %d to %q", what, code, loc)
		}
		if p := req.URL.EscapedPath(); strings.HasPrefix(p, "/") && path.Clean(p) == p {
			t.Fatalf("%s: %d to %q for a clean path", what, code, loc)
		}
	case code >= 400:
		if req.Method == http.MethodHead && body.Len() == 0 {
			return
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("%s: %d with Content-Type %q: %s", what, code, ct, body)
		}
		var env struct {
			Status  string `json:"status"`
			Error   string `json:"error"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(body.Bytes(), &env); err != nil {
			t.Fatalf("%s: %d, body is no envelope (%v): %s", what, code, err, body)
		}
		if env.Status != "error" || env.Error != strconv.Itoa(code) || env.Message == "" {
			t.Fatalf("%s: %d with envelope status %q error %q message %q", what, code, env.Status, env.Error, env.Message)
		}
	case strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && req.Method != http.MethodHead:
		var env struct {
			Status string `json:"status"`
		}
		if err := json.Unmarshal(body.Bytes(), &env); err != nil || env.Status != "success" {
			t.Fatalf("%s: %d, envelope status %q (%v): %s", what, code, env.Status, err, body)
		}
	}
}

// seedFuzzStore writes (again) the accounts, the user and two recordings, one with audio.
func seedFuzzStore(tb testing.TB, store *embedded.Store) {
	tb.Helper()
	ctx := context.Background()
	created := recording.ToGregorian(fuzzNow.Add(-time.Hour))
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	must(store.PutAccount(ctx, recording.Doc{"_id": fuzzReseller, "pvt_type": "account", "pvt_tree": []any{}}))
	must(store.PutAccount(ctx, recording.Doc{"_id": fuzzAccount, "pvt_type": "account", "pvt_tree": []any{fuzzReseller}}))
	must(store.PutUser(ctx, fuzzAccount, recording.Doc{"_id": fuzzUser, "pvt_type": "user"}))
	for _, id := range []string{fuzzRecAudio, fuzzRecPlain} {
		rev, err := store.PutRecording(ctx, fuzzAccount, recording.Doc{
			"_id": id, "pvt_type": "call_recording", "pvt_created": created, "pvt_modified": created,
			"owner_id": fuzzUser, "direction": "inbound", "name": "call.mp3",
		})
		must(err)
		if id == fuzzRecAudio {
			_, err := store.PutAttachment(ctx, fuzzAccount, id, rev, "call.mp3", "audio/mpeg", strings.NewReader("ID3 fuzz audio, 32 bytes long..."))
			must(err)
		}
	}
}
