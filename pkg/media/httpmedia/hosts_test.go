package httpmedia_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/media"
	"github.com/recordingsd/recordingsd/pkg/media/httpmedia"
)

// With an allow list, media is read and deleted only on the hosts it names: a stored URL or a
// redirect elsewhere is refused (host_not_allowed) before anything reaches that host.
func TestAllowedHosts(t *testing.T) {
	audio := randBytes(2000)
	inside := newProvider(t, audio, false)
	outside := newProvider(t, audio, false)
	// The same loopback server under two names: "localhost" is allowed, 127.0.0.1 is not.
	insideURL, _ := url.Parse(inside.URL)
	allowedURL := "http://localhost:" + insideURL.Port() + "/call.mp3"
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, outside.URL+"/call.mp3", http.StatusTemporaryRedirect) // 307: a DELETE stays a DELETE
	}))
	defer redirect.Close()
	redirectURL, _ := url.Parse(redirect.URL)
	viaRedirect := "http://localhost:" + redirectURL.Port() + "/call.mp3"

	src := httpmedia.New(media.Timeouts{}, nil, httpmedia.AllowHosts("localhost", "*.media.example"))
	ctx := context.Background()
	if got := read(t)(src.Open(ctx, attachment(allowedURL, int64(len(audio))), nil)); len(got) != len(audio) {
		t.Fatalf("allowed host: %d bytes, want %d", len(got), len(audio))
	}
	for name, u := range map[string]string{"stored URL": outside.URL + "/call.mp3", "redirect": viaRedirect} {
		att := attachment(u, int64(len(audio)))
		_, err := src.Open(ctx, att, nil)
		reason(t, err, "host_not_allowed")
		_, err = src.Stat(ctx, att)
		reason(t, err, "host_not_allowed")
		reason(t, src.Delete(ctx, att), "host_not_allowed")
		outside.mu.Lock()
		n := len(outside.ranges)
		outside.mu.Unlock()
		if n != 0 {
			t.Fatalf("%s: the host outside the list got %d requests", name, n)
		}
	}
	// Without a list, any host, as Kazoo.
	open := httpmedia.New(media.Timeouts{}, nil)
	if got := read(t)(open.Open(ctx, attachment(outside.URL+"/call.mp3", int64(len(audio))), nil)); len(got) != len(audio) {
		t.Fatalf("no allow list: %d bytes", len(got))
	}
}
