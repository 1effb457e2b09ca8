package httpmedia_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/media"
	"github.com/recordingsd/recordingsd/pkg/media/httpmedia"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// provider is a web server holding one file, the way a kz_att_http storage URL would.
type provider struct {
	*httptest.Server
	mu     sync.Mutex
	ranges []string
	auth   []string
}

func newProvider(t *testing.T, data []byte, ignoreRange bool) *provider {
	p := &provider{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.ranges = append(p.ranges, r.Header.Get("Range"))
		user, pass, _ := r.BasicAuth()
		p.auth = append(p.auth, user+":"+pass)
		p.mu.Unlock()
		if ignoreRange {
			r.Header.Del("Range")
		}
		http.ServeContent(w, r, "call.mp3", time.Time{}, bytes.NewReader(data))
	}))
	t.Cleanup(p.Close)
	return p
}

func attachment(url string, length int64) media.Attachment {
	return media.Attachment{AccountID: "0123456789abcdef0123456789abcdef", RecordingID: "202601-0123456789abcdef0123456789abcdef",
		Name: "call.mp3", Handler: httpmedia.Handler, Payload: map[string]any{"url": url}, Length: length}
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// read returns a reader of Open's results: read(t)(src.Open(…)).
func read(t *testing.T) func(io.ReadCloser, error) []byte {
	return func(rc io.ReadCloser, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

func reason(t *testing.T, err error, want string) {
	t.Helper()
	var se *media.Error
	if !errors.As(err, &se) || se.Reason != want {
		t.Fatalf("err = %v, want reason %q", err, want)
	}
	if strings.Contains(se.Error(), "hunter2") || strings.Contains(se.Error(), "tok3n") {
		t.Fatalf("error holds the URL's secrets: %v", se)
	}
}

func TestOpenForwardsRange(t *testing.T) {
	audio := randBytes(200_000)
	for _, ignore := range []bool{false, true} {
		p := newProvider(t, audio, ignore)
		src := httpmedia.New(media.Timeouts{Request: time.Second, Idle: time.Second}, nil)
		att := attachment(p.URL+"/recordings/call.mp3?sig=tok3n", int64(len(audio)))
		ctx := context.Background()
		if got := read(t)(src.Open(ctx, att, nil)); !bytes.Equal(got, audio) {
			t.Fatalf("whole: %d bytes", len(got))
		}
		got := read(t)(src.Open(ctx, att, &recording.Range{Start: 150_000, End: 199_999}))
		if !bytes.Equal(got, audio[150_000:]) {
			t.Fatalf("ignoreRange=%v: range gave %d bytes", ignore, len(got))
		}
		if p.ranges[1] != "bytes=150000-199999" {
			t.Errorf("Range sent: %q", p.ranges[1])
		}
		info, err := src.Stat(ctx, att)
		if err != nil || info.Size != int64(len(audio)) {
			t.Errorf("Stat = %+v, %v", info, err)
		}
		_, err = src.Open(ctx, attachment(att.Payload["url"].(string), 99), nil)
		reason(t, err, "size_mismatch")
	}
}

// user:password in the stored URL authenticates, and stays out of errors and locations.
func TestURLCredentials(t *testing.T) {
	audio := randBytes(1000)
	p := newProvider(t, audio, false)
	src := httpmedia.New(media.Timeouts{}, nil)
	url := strings.Replace(p.URL, "http://", "http://kazoo:hunter2@", 1) + "/a/call.mp3?token=tok3n"
	read(t)(src.Open(context.Background(), attachment(url, 1000), nil))
	if p.auth[0] != "kazoo:hunter2" {
		t.Errorf("basic auth = %q", p.auth[0])
	}
	where, err := src.Locate(attachment(url, 1000))
	if err != nil || where != p.URL+"/a/call.mp3" {
		t.Errorf("Locate = %q, %v", where, err)
	}
	p.Close()
	_, err = src.Open(context.Background(), attachment(url, 1000), nil)
	reason(t, err, "connection_failed")
	_, err = src.Stat(context.Background(), attachment(url, 1000))
	reason(t, err, "connection_failed")
}

func TestProviderAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/gone":
			http.NotFound(w, r)
		case "/nohead":
			if r.Method == http.MethodHead {
				w.WriteHeader(http.StatusMethodNotAllowed)
				return
			}
			_, _ = w.Write([]byte("abc"))
		case "/slow":
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
		case "/stall":
			w.Header().Set("Content-Length", "100")
			_, _ = w.Write([]byte("0123456789"))
			w.(http.Flusher).Flush()
			select { // until the reader gives up; bounded, so closing the server cannot hang
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}
	}))
	defer srv.Close()
	src := httpmedia.New(media.Timeouts{Request: 300 * time.Millisecond, Idle: 300 * time.Millisecond}, nil)
	ctx := context.Background()

	_, err := src.Open(ctx, attachment(srv.URL+"/gone", 3), nil)
	reason(t, err, "provider_status_404")
	_, err = src.Stat(ctx, attachment(srv.URL+"/gone", 3))
	reason(t, err, "provider_status_404")

	info, err := src.Stat(ctx, attachment(srv.URL+"/nohead", -1))
	if err != nil || info.Size != -1 {
		t.Errorf("Stat of a server without HEAD = %+v, %v; want size -1", info, err)
	}
	if got := read(t)(src.Open(ctx, attachment(srv.URL+"/nohead", -1), nil)); string(got) != "abc" {
		t.Errorf("unknown length: got %q", got)
	}

	for _, call := range []func() error{
		func() error { _, err := src.Open(ctx, attachment(srv.URL+"/slow", 3), nil); return err },
		func() error { _, err := src.Stat(ctx, attachment(srv.URL+"/slow", 3)); return err },
	} {
		start := time.Now()
		reason(t, call(), "timeout")
		if took := time.Since(start); took > time.Second {
			t.Errorf("timeout after %v", took)
		}
	}

	rc, err := src.Open(ctx, attachment(srv.URL+"/stall", 100), nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, rc)
	rc.Close()
	if n != 10 || !errors.Is(err, media.ErrTimeout) {
		t.Errorf("stalled transfer: %d bytes, %v", n, err)
	}
}

func TestInvalidPayloads(t *testing.T) {
	src := httpmedia.New(media.Timeouts{}, nil)
	for _, url := range []string{"", "ftp://host/file", "/relative", "http://"} {
		_, err := src.Open(context.Background(), attachment(url, 1), nil)
		var se *media.Error
		if !errors.As(err, &se) || se.Kind != media.Invalid {
			t.Errorf("url %q: err = %v, want Invalid", url, err)
		}
		err = src.Delete(context.Background(), attachment(url, 1))
		if !errors.As(err, &se) || se.Kind != media.Invalid {
			t.Errorf("url %q: Delete err = %v, want Invalid", url, err)
		}
	}
}

// store is a web server whose files DELETE removes, as a kz_att_http provider that allows it.
type store struct {
	*httptest.Server
	mu    sync.Mutex
	files map[string][]byte
	seen  []string // "METHOD /path user:password"
}

func newStore(t *testing.T, files map[string][]byte) *store {
	s := &store{files: files}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		s.mu.Lock()
		defer s.mu.Unlock()
		s.seen = append(s.seen, r.Method+" "+r.URL.Path+" "+user+":"+pass)
		data, ok := s.files[r.URL.Path]
		switch {
		case !ok:
			http.NotFound(w, r)
		case r.Method == http.MethodDelete:
			delete(s.files, r.URL.Path)
			w.WriteHeader(http.StatusNoContent)
		default:
			http.ServeContent(w, r, "call.mp3", time.Time{}, bytes.NewReader(data))
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *store) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

func TestDeleteRemovesTheObject(t *testing.T) {
	audio := randBytes(1000)
	p := newStore(t, map[string][]byte{"/recordings/call.mp3": audio, "/recordings/other.mp3": audio})
	src := httpmedia.New(media.Timeouts{Request: time.Second, Idle: time.Second}, nil)
	base := strings.Replace(p.URL, "http://", "http://kazoo:hunter2@", 1) + "/recordings/"
	att := attachment(base+"call.mp3?token=tok3n", int64(len(audio)))
	ctx := context.Background()

	if err := src.Delete(ctx, att); err != nil {
		t.Fatal(err)
	}
	if got, want := p.requests(), []string{"DELETE /recordings/call.mp3 kazoo:hunter2"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("the provider saw %q, want %q", got, want)
	}
	_, err := src.Stat(ctx, att)
	reason(t, err, "provider_status_404")
	_, err = src.Open(ctx, att, nil)
	reason(t, err, "provider_status_404")
	if got := read(t)(src.Open(ctx, attachment(base+"other.mp3", int64(len(audio))), nil)); !bytes.Equal(got, audio) {
		t.Errorf("the other object: %d bytes", len(got))
	}

	// Again, as a sweep that failed after the first call would: the provider answers 404.
	if err := src.Delete(ctx, att); err != nil {
		t.Errorf("second Delete: %v", err)
	}
	if seen := p.requests(); seen[len(seen)-1] != "DELETE /recordings/call.mp3 kazoo:hunter2" {
		t.Errorf("second Delete reached the provider as %q", seen[len(seen)-1])
	}
}

func TestDeleteAnswers(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path)
		mu.Unlock()
		switch r.URL.Path {
		case "/slow":
			select { // bounded, so closing the server cannot hang
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
		case "/found":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		case "/temporary":
			http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
		case "/elsewhere":
			if r.Method == http.MethodDelete {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			_, _ = w.Write([]byte("still here"))
		default: // /status/NNN
			var code int
			if _, err := fmt.Sscanf(r.URL.Path, "/status/%d", &code); err != nil {
				t.Errorf("unexpected path %s", r.URL.Path)
				code = http.StatusTeapot
			}
			w.WriteHeader(code)
			_, _ = w.Write([]byte("the provider's own words"))
		}
	}))
	defer srv.Close()
	src := httpmedia.New(media.Timeouts{Request: 300 * time.Millisecond, Idle: 300 * time.Millisecond}, nil)
	// Every URL carries secrets: reason checks that no error shows them.
	base := strings.Replace(srv.URL, "http://", "http://kazoo:hunter2@", 1)

	tests := []struct {
		path   string
		reason string // "" for success
		seen   []string
	}{
		{"/status/200", "", []string{"DELETE /status/200"}},
		{"/status/202", "", []string{"DELETE /status/202"}},
		{"/status/204", "", []string{"DELETE /status/204"}},
		{"/status/404", "", []string{"DELETE /status/404"}},
		{"/status/410", "", []string{"DELETE /status/410"}},
		{"/status/500", "provider_status_500", []string{"DELETE /status/500"}},
		{"/status/403", "provider_status_403", []string{"DELETE /status/403"}},
		{"/status/405", "provider_status_405", []string{"DELETE /status/405"}},
		// A 302 would turn the DELETE into a GET, whose 200 deletes nothing: not followed.
		{"/found", "provider_status_302", []string{"DELETE /found"}},
		{"/temporary", "", []string{"DELETE /temporary", "DELETE /elsewhere"}},
		{"/slow", "timeout", []string{"DELETE /slow"}},
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(tt.path, "/"), func(t *testing.T) {
			mu.Lock()
			seen = nil
			mu.Unlock()
			start := time.Now()
			err := src.Delete(context.Background(), attachment(base+tt.path+"?token=tok3n", -1))
			if took := time.Since(start); took > time.Second {
				t.Errorf("Delete took %v", took)
			}
			if tt.reason == "" {
				if err != nil {
					t.Errorf("err = %v, want success", err)
				}
			} else {
				reason(t, err, tt.reason)
				if se := (*media.Error)(nil); errors.As(err, &se) && se.Kind != media.Unreachable {
					t.Errorf("kind = %v, want Unreachable", se.Kind)
				}
			}
			mu.Lock()
			got := append([]string(nil), seen...)
			mu.Unlock()
			if strings.Join(got, ",") != strings.Join(tt.seen, ",") {
				t.Errorf("the provider saw %q, want %q", got, tt.seen)
			}
		})
	}

	// Outage: nothing listens any more.
	srv.Close()
	err := src.Delete(context.Background(), attachment(base+"/status/204?token=tok3n", -1))
	reason(t, err, "connection_failed")
}
