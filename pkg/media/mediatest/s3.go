// Package mediatest starts storage providers for tests: an S3 server (gofakes3, in memory,
// behind a real SigV4 check) and Kazoo's handler payloads that point at it.
package mediatest

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/recordingsd/recordingsd/pkg/media/erlterm"
)

// S3 is an S3 server for one test. Requests must be signed (AWS SigV4) with one of its key
// pairs; others get 403 SignatureDoesNotMatch, as from AWS.
type S3 struct {
	URL     string // http://127.0.0.1:port
	Host    string // 127.0.0.1
	Port    int
	backend *s3mem.Backend
	srv     *httptest.Server

	mu       sync.Mutex
	keys     map[string]string // access key id → secret
	requests []Request
}

// Request is what the server saw of one request.
type Request struct {
	Method, Path, Range, KeyID string
}

// NewS3 starts a server accepting the key pair keyID/secret; it stops with the test.
func NewS3(t testing.TB, keyID, secret string) *S3 {
	t.Helper()
	s := &S3{backend: s3mem.New(), keys: map[string]string{keyID: secret}}
	faker := gofakes3.New(s.backend)
	s.srv = httptest.NewServer(s.authenticate(faker.Server()))
	t.Cleanup(s.srv.Close)
	s.URL = s.srv.URL
	u, _ := url.Parse(s.URL)
	s.Host = u.Hostname()
	fmt.Sscan(u.Port(), &s.Port)
	return s
}

// AddKey accepts another key pair.
func (s *S3) AddKey(keyID, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[keyID] = secret
}

// Put stores an object, creating its bucket if needed.
func (s *S3) Put(t testing.TB, bucket, key string, data []byte) {
	t.Helper()
	if ok, _ := s.backend.BucketExists(bucket); !ok {
		if err := s.backend.CreateBucket(bucket); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.backend.PutObject(bucket, key, map[string]string{"Content-Type": "audio/mpeg"},
		bytes.NewReader(data), int64(len(data)), nil); err != nil {
		t.Fatal(err)
	}
}

// Has tells whether the object is stored, without a request that would show in Requests.
func (s *S3) Has(t testing.TB, bucket, key string) bool {
	t.Helper()
	obj, err := s.backend.HeadObject(bucket, key)
	switch {
	case err == nil:
		_ = obj.Contents.Close()
		return true
	case gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchKey), gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchBucket):
		return false
	}
	t.Fatal(err)
	return false
}

// Requests lists what the server received so far.
func (s *S3) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Close stops the server: an outage.
func (s *S3) Close() { s.srv.Close() }

// authenticate checks each request's SigV4 signature by signing it again with the secret of
// its access key id.
func (s *S3) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		keyID, err := s.verify(r)
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.EscapedPath(), Range: r.Header.Get("Range"), KeyID: keyID})
		s.mu.Unlock()
		if err != nil {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code><Message>%s</Message></Error>`, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *S3) verify(r *http.Request) (string, error) {
	authz := r.Header.Get("Authorization")
	cred, signed, ok := parseAuthorization(authz)
	if !ok {
		return "", fmt.Errorf("no SigV4 Authorization header")
	}
	scope := strings.Split(cred, "/") // keyID/date/region/s3/aws4_request
	if len(scope) != 5 {
		return "", fmt.Errorf("bad credential scope")
	}
	keyID, region := scope[0], scope[2]
	s.mu.Lock()
	secret, known := s.keys[keyID]
	s.mu.Unlock()
	if !known {
		return keyID, fmt.Errorf("unknown access key id")
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return keyID, fmt.Errorf("bad X-Amz-Date")
	}
	u, err := url.ParseRequestURI(r.RequestURI)
	if err != nil {
		return keyID, err
	}
	u.Scheme, u.Host = "http", r.Host
	again, _ := http.NewRequest(r.Method, u.String(), nil)
	again.Host = r.Host
	for _, h := range signed {
		if h != "host" {
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err := signer.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}, again,
		r.Header.Get("X-Amz-Content-Sha256"), "s3", region, when); err != nil {
		return keyID, err
	}
	if again.Header.Get("Authorization") != authz {
		return keyID, fmt.Errorf("the request signature we calculated does not match the signature you provided")
	}
	return keyID, nil
}

// parseAuthorization reads "AWS4-HMAC-SHA256 Credential=…, SignedHeaders=a;b, Signature=…".
func parseAuthorization(h string) (credential string, signed []string, ok bool) {
	rest, ok := strings.CutPrefix(h, "AWS4-HMAC-SHA256 ")
	if !ok {
		return "", nil, false
	}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			credential = v
		case "SignedHeaders":
			signed = strings.Split(v, ";")
		}
	}
	return credential, signed, credential != "" && len(signed) > 0
}

// KazooS3Payload is the pvt_attachments handler payload kz_att_s3 (Kazoo 4.1 to 4.3) writes
// for an object stored at file with these storage settings (the storage plan's JSON object,
// e.g. key, secret, bucket, host, scheme, port, region, bucket_access_method):
// {"S3": base64(term_to_binary({SettingsMap, File})), "metadata": {"etag": …}}.
// String values become binaries, keys atoms, as kz_maps:keys_to_atoms/1 leaves them.
func KazooS3Payload(settings map[string]any, file string) map[string]any {
	return map[string]any{"S3": EncodeS3Term(erlterm.Tuple{SettingsMap(settings), file}),
		"metadata": map[string]any{"etag": "0123456789abcdef0123456789abcdef"}}
}

// EncodeS3Term is base64(term_to_binary(term)), the S3 value of a payload.
func EncodeS3Term(term any) string {
	b, err := erlterm.Encode(term)
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// SettingsMap turns storage settings into the Erlang map Kazoo keeps: atom keys, sorted.
func SettingsMap(settings map[string]any) erlterm.Map {
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	m := make(erlterm.Map, 0, len(keys))
	for _, k := range keys {
		m = append(m, erlterm.Pair{Key: erlterm.Atom(k), Value: settings[k]})
	}
	return m
}
