package s3media_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/media"
	"github.com/recordingsd/recordingsd/pkg/media/erlterm"
	"github.com/recordingsd/recordingsd/pkg/media/mediatest"
	"github.com/recordingsd/recordingsd/pkg/media/s3media"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

const (
	account   = "0123456789abcdef0123456789abcdef"
	recID     = "202601-fedcba9876543210fedcba9876543210"
	docKey    = "AKIADOCUMENTKEY00001"
	docSecret = "document/secret+KEY0000000000000000000001"
)

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func attachment(payload map[string]any, length int64) media.Attachment {
	return media.Attachment{AccountID: account, RecordingID: recID, Name: "call.mp3", Handler: s3media.Handler,
		Payload: payload, Length: length, Fields: map[string]any{"owner_id": "0000000000000000000000000000000a"}}
}

func newSource(t *testing.T, cfg s3media.Config) *s3media.Source {
	t.Helper()
	if cfg.Timeouts.Request == 0 {
		cfg.Timeouts = media.Timeouts{Request: 2 * time.Second, Idle: 2 * time.Second}
	}
	src, err := s3media.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// docPayload is what Kazoo 4.3 stores for an object in srv, written with the document's pair.
func docPayload(srv *mediatest.S3, bucket, key string) map[string]any {
	return mediatest.KazooS3Payload(map[string]any{
		"key": docKey, "secret": docSecret, "bucket": bucket,
		"host": srv.Host, "scheme": "http", "port": srv.Port, "folder_base_path": "kazoo",
	}, key)
}

func readAll(t *testing.T, rc io.ReadCloser, err error) []byte {
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

func storageErr(t *testing.T, err error, reason string) *media.Error {
	t.Helper()
	var se *media.Error
	if !errors.As(err, &se) {
		t.Fatalf("err = %v (%T), want a *media.Error", err, err)
	}
	if se.Reason != reason {
		t.Fatalf("reason = %q (%v), want %q", se.Reason, se, reason)
	}
	for _, secret := range []string{docSecret, "config/secret", "environment/secret"} {
		if strings.Contains(se.Error(), secret) {
			t.Fatalf("error message holds a secret: %v", se)
		}
	}
	return se
}

func TestOpenWholeRangeAndStat(t *testing.T) {
	srv := mediatest.NewS3(t, docKey, docSecret)
	audio := randBytes(300_000)
	key := "kazoo/account%2F01%2F23%2F456789abcdef0123456789abcdef-202601/" + recID + "_call.mp3"
	srv.Put(t, "recordings", key, audio)
	src := newSource(t, s3media.Config{})
	att := attachment(docPayload(srv, "recordings", key), int64(len(audio)))
	ctx := context.Background()

	rc, err := src.Open(ctx, att, nil)
	if got := readAll(t, rc, err); !bytes.Equal(got, audio) {
		t.Fatalf("whole object: %d bytes, want %d", len(got), len(audio))
	}
	rc, err = src.Open(ctx, att, &recording.Range{Start: 1000, End: 70_999})
	if got := readAll(t, rc, err); !bytes.Equal(got, audio[1000:71_000]) {
		t.Fatalf("range: %d bytes, want 70000 from offset 1000", len(got))
	}
	reqs := srv.Requests()
	if last := reqs[len(reqs)-1]; last.Range != "bytes=1000-70999" || last.KeyID != docKey || last.Path != "/recordings/"+strings.ReplaceAll(key, "%", "%25") {
		t.Errorf("the range request reached S3 as %+v", last)
	}
	info, err := src.Stat(ctx, att)
	if err != nil || info.Size != int64(len(audio)) {
		t.Fatalf("Stat = %+v, %v", info, err)
	}
	where, err := src.Locate(att)
	if err != nil || where != "s3://recordings/"+key+" at "+srv.URL || strings.Contains(where, docSecret) {
		t.Errorf("Locate = %q, %v", where, err)
	}

	// The document's length disagrees with the object: refused before a byte is sent.
	_, err = src.Open(ctx, attachment(att.Payload, 12), nil)
	storageErr(t, err, "size_mismatch")
	_, err = src.Open(ctx, attachment(att.Payload, 12), &recording.Range{Start: 0, End: 9})
	storageErr(t, err, "size_mismatch")
}

func TestProviderErrors(t *testing.T) {
	srv := mediatest.NewS3(t, docKey, docSecret)
	srv.Put(t, "recordings", "there.mp3", []byte("x"))
	src := newSource(t, s3media.Config{})
	ctx := context.Background()

	_, err := src.Open(ctx, attachment(docPayload(srv, "recordings", "missing.mp3"), 10), nil)
	storageErr(t, err, "provider_status_404")
	_, err = src.Stat(ctx, attachment(docPayload(srv, "recordings", "missing.mp3"), 10))
	storageErr(t, err, "provider_status_404")

	// A key pair the server does not accept.
	bad := mediatest.KazooS3Payload(map[string]any{"key": "AKIAOTHER", "secret": docSecret, "bucket": "recordings",
		"host": srv.Host, "scheme": "http", "port": srv.Port}, "there.mp3")
	_, err = src.Open(ctx, attachment(bad, 1), nil)
	storageErr(t, err, "provider_status_403")

	// Outage: nothing listens any more.
	payload := docPayload(srv, "recordings", "there.mp3")
	srv.Close()
	start := time.Now()
	_, err = src.Open(ctx, attachment(payload, 1), nil)
	storageErr(t, err, "connection_failed")
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("outage took %v to report", took)
	}
}

// A provider that accepts connections but never answers: a timeout within request_timeout.
func TestProviderSilentTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	payload := mediatest.KazooS3Payload(map[string]any{"key": docKey, "secret": docSecret, "bucket": "recordings",
		"host": "127.0.0.1", "scheme": "http", "port": port}, "x.mp3")
	src := newSource(t, s3media.Config{Timeouts: media.Timeouts{Request: 300 * time.Millisecond, Idle: time.Second}})
	for name, call := range map[string]func() error{
		"open":   func() error { _, err := src.Open(context.Background(), attachment(payload, 1), nil); return err },
		"stat":   func() error { _, err := src.Stat(context.Background(), attachment(payload, 1)); return err },
		"delete": func() error { return src.Delete(context.Background(), attachment(payload, 1)) },
	} {
		start := time.Now()
		err := call()
		storageErr(t, err, "timeout")
		if took := time.Since(start); took > 5*time.Second { // bounded, not timed: the idle timeout is 300 ms
			t.Errorf("%s: timeout took %v", name, took)
		}
	}
}

// A provider that stops sending mid-object: the read fails after idle_timeout, no hang.
func TestProviderStallCutsTheStream(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(make([]byte, 400))
		w.(http.Flusher).Flush()
		select { // until the reader gives up; bounded, so closing the server cannot hang
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	defer srv.Close()
	payload := mediatest.KazooS3Payload(map[string]any{"key": docKey, "secret": docSecret, "bucket": "recordings",
		"host": "127.0.0.1", "scheme": "http", "port": srv.Listener.Addr().(*net.TCPAddr).Port}, "x.mp3")
	src := newSource(t, s3media.Config{Timeouts: media.Timeouts{Request: time.Second, Idle: 300 * time.Millisecond}})
	rc, err := src.Open(context.Background(), attachment(payload, 1000), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	start := time.Now()
	n, err := io.Copy(io.Discard, rc)
	if n != 400 || !errors.Is(err, media.ErrTimeout) {
		t.Fatalf("read %d bytes, err %v; want 400 then ErrTimeout", n, err)
	}
	if took := time.Since(start); took > 5*time.Second { // bounded, not timed: the idle timeout is 300 ms
		t.Errorf("stall detected after %v", took)
	}
}

func TestDelete(t *testing.T) {
	srv := mediatest.NewS3(t, docKey, docSecret)
	key := "kazoo/account%2F01%2F23%2F456789abcdef0123456789abcdef-202601/" + recID + "_call.mp3"
	srv.Put(t, "recordings", key, randBytes(1000))
	srv.Put(t, "recordings", "other.mp3", []byte("x"))
	src := newSource(t, s3media.Config{})
	att := attachment(docPayload(srv, "recordings", key), 1000)
	ctx := context.Background()

	if err := src.Delete(ctx, att); err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if want := (mediatest.Request{Method: http.MethodDelete, Path: "/recordings/" + strings.ReplaceAll(key, "%", "%25"), KeyID: docKey}); len(reqs) != 1 || reqs[0] != want {
		t.Errorf("S3 saw %+v, want one %+v", reqs, want)
	}
	if srv.Has(t, "recordings", key) {
		t.Fatal("the object is still stored")
	}
	if !srv.Has(t, "recordings", "other.mp3") {
		t.Error("the bucket's other object went too")
	}
	_, err := src.Stat(ctx, att)
	storageErr(t, err, "provider_status_404")
	_, err = src.Open(ctx, att, nil)
	storageErr(t, err, "provider_status_404")

	// Again, as a sweep that failed after the first call would: S3 answers 204 for a missing key.
	if err := src.Delete(ctx, att); err != nil {
		t.Errorf("second Delete: %v", err)
	}
	reqs = srv.Requests()
	if last := reqs[len(reqs)-1]; last.Method != http.MethodDelete {
		t.Errorf("second Delete reached S3 as %+v", last)
	}

	// A missing bucket is a wrong location, not a deleted object.
	err = src.Delete(ctx, attachment(docPayload(srv, "elsewhere", key), 1000))
	storageErr(t, err, "provider_status_404")

	// A key pair the server does not accept: refused, nothing deleted, no secret in the error.
	bad := mediatest.KazooS3Payload(map[string]any{"key": "AKIAOTHER", "secret": docSecret, "bucket": "recordings",
		"host": srv.Host, "scheme": "http", "port": srv.Port}, "other.mp3")
	err = src.Delete(ctx, attachment(bad, 1))
	if se := storageErr(t, err, "provider_status_403"); se.Kind != media.Unreachable {
		t.Errorf("kind = %v, want Unreachable", se.Kind)
	}
	if !srv.Has(t, "recordings", "other.mp3") {
		t.Error("a refused Delete removed the object")
	}

	// Outage: nothing listens any more.
	payload := docPayload(srv, "recordings", "other.mp3")
	srv.Close()
	err = src.Delete(ctx, attachment(payload, 1))
	if se := storageErr(t, err, "connection_failed"); se.Kind != media.Unreachable {
		t.Errorf("kind = %v, want Unreachable", se.Kind)
	}

	err = src.Delete(ctx, attachment(map[string]any{"S3": "%%%"}, 1))
	if se := (*media.Error)(nil); !errors.As(err, &se) || se.Kind != media.Invalid {
		t.Errorf("unreadable payload: Delete err = %v, want Invalid", err)
	}
}

// What S3-speaking servers other than S3 answer for a missing key: 404 NoSuchKey is a deletion.
func TestDeleteProviderAnswers(t *testing.T) {
	tests := []struct {
		name   string
		status int
		code   string // the S3 error code in the body; "" for none
		reason string // "" for success
	}{
		{"no such key", http.StatusNotFound, "NoSuchKey", ""},
		{"bare 404", http.StatusNotFound, "", ""},
		{"no such bucket", http.StatusNotFound, "NoSuchBucket", "provider_status_404"},
		{"access denied", http.StatusForbidden, "AccessDenied", "provider_status_403"},
		{"not implemented", http.StatusNotImplemented, "NotImplemented", "provider_status_501"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen []string
			var mu sync.Mutex
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen = append(seen, r.Method+" "+r.URL.EscapedPath())
				mu.Unlock()
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(tt.status)
				if tt.code != "" {
					fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>m</Message></Error>`, tt.code)
				}
			}))
			defer srv.Close()
			payload := mediatest.KazooS3Payload(map[string]any{"key": docKey, "secret": docSecret, "bucket": "recordings",
				"host": "127.0.0.1", "scheme": "http", "port": srv.Listener.Addr().(*net.TCPAddr).Port}, "x.mp3")
			err := newSource(t, s3media.Config{}).Delete(context.Background(), attachment(payload, 1))
			if tt.reason == "" {
				if err != nil {
					t.Errorf("err = %v, want success", err)
				}
			} else {
				storageErr(t, err, tt.reason)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(seen) != 1 || seen[0] != "DELETE /recordings/x.mp3" {
				t.Errorf("the provider saw %q", seen)
			}
		})
	}
}

// storage.s3.credentials and the overrides: the pair that reaches S3 is the configured one.
func TestCredentialsAndOverrides(t *testing.T) {
	const confKey, confSecret = "AKIACONFIGKEY0000001", "config/secret+KEY00000000000000000000001"
	srv := mediatest.NewS3(t, confKey, confSecret)
	audio := randBytes(5000)
	srv.Put(t, "recordings", "a.mp3", audio)
	ctx := context.Background()
	att := attachment(docPayload(srv, "recordings", "a.mp3"), int64(len(audio)))

	_, err := newSource(t, s3media.Config{}).Open(ctx, att, nil)
	storageErr(t, err, "provider_status_403") // the document's pair is not accepted any more

	replaced := newSource(t, s3media.Config{Credentials: s3media.CredentialsConfig, AccessKeyID: confKey, SecretAccessKey: confSecret})
	rc, err := replaced.Open(ctx, att, nil)
	if got := readAll(t, rc, err); !bytes.Equal(got, audio) {
		t.Fatal("config credentials: wrong bytes")
	}

	// A document without a pair takes the configured one in document mode.
	noPair := attachment(mediatest.KazooS3Payload(map[string]any{"bucket": "recordings",
		"host": srv.Host, "scheme": "http", "port": srv.Port}, "a.mp3"), int64(len(audio)))
	fallback := newSource(t, s3media.Config{AccessKeyID: confKey, SecretAccessKey: confSecret})
	rc, err = fallback.Open(ctx, noPair, nil)
	readAll(t, rc, err)
	_, err = newSource(t, s3media.Config{}).Open(ctx, noPair, nil)
	storageErr(t, err, "missing_credentials")

	// The bucket moved: the document still says AWS eu-west-1, the configuration says where.
	onAWS := attachment(mediatest.KazooS3Payload(map[string]any{"key": docKey, "secret": docSecret,
		"bucket": "recordings", "region": "eu-west-1"}, "a.mp3"), int64(len(audio)))
	moved := newSource(t, s3media.Config{Credentials: s3media.CredentialsConfig, AccessKeyID: confKey, SecretAccessKey: confSecret,
		Endpoint: srv.URL, BucketAccessMethod: "path"})
	rc, err = moved.Open(ctx, onAWS, &recording.Range{Start: 10, End: 19})
	if got := readAll(t, rc, err); !bytes.Equal(got, audio[10:20]) {
		t.Fatal("endpoint override: wrong bytes")
	}

	// The SDK's default chain, here from the environment.
	srv.AddKey("AKIAENVIRONMENT00001", "environment/secret+KEY000000000000000001")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00001")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "environment/secret+KEY000000000000000001")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	chain := newSource(t, s3media.Config{Credentials: s3media.CredentialsDefaultChain})
	rc, err = chain.Open(ctx, att, nil)
	readAll(t, rc, err)

	var ids []string
	for _, r := range srv.Requests() {
		ids = append(ids, r.KeyID)
	}
	want := []string{docKey, confKey, confKey, confKey, "AKIAENVIRONMENT00001"}
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Errorf("key ids seen by S3: %v, want %v", ids, want)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []s3media.Config{
		{Credentials: "iam"},
		{Credentials: s3media.CredentialsConfig},
		{AccessKeyID: "only-the-id"},
		{Endpoint: "minio:9000"},
		{Endpoint: "http://user:pass@minio:9000"},
		{BucketAccessMethod: "dns"},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v validated", c)
		}
	}
	if err := (s3media.Config{Credentials: s3media.CredentialsConfig, AccessKeyID: "a", SecretAccessKey: "b", Endpoint: "https://minio:9000"}).Validate(); err != nil {
		t.Error(err)
	}
}

// Every payload shape kz_att_s3:decode_retrieval/1 reads.
func TestParseLocation(t *testing.T) {
	att := func(term any) media.Attachment {
		return attachment(map[string]any{"S3": mediatest.EncodeS3Term(term)}, 1)
	}
	db := "account%2F01%2F23%2F456789abcdef0123456789abcdef-202601"
	tests := []struct {
		name string
		att  media.Attachment
		want s3media.Location
	}{
		{"kazoo 4.3, written by a real Erlang", attachment(map[string]any{"S3": otpPayload(t, "kazoo43")}, 1), s3media.Location{
			Bucket: "recordings", Key: "kazoo/account%2F12%2F34%2Frest-202601/202601-abc_call.mp3", Scheme: "http",
			Host: "127.0.0.1", Port: 9000, Region: "us-east-1", AccessMethod: "path",
			AccessKeyID: "AKIAEXAMPLEKEY", SecretAccessKey: "s3cr3t/Key+Value"}},
		{"{Key, Secret, Bucket, Path}", att(erlterm.Tuple{"AK", "SK", "bucket", "base/"}), s3media.Location{
			Bucket: "bucket", Key: "base/" + db + "/" + recID + "_call.mp3", Scheme: "https", Host: "s3.amazonaws.com",
			Port: 443, AccessMethod: "path", AccessKeyID: "AK", SecretAccessKey: "SK"}},
		{"{Key, Secret, {Scheme, Host, Port}, Bucket, undefined}", att(erlterm.Tuple{"AK", "SK", erlterm.Tuple{"http", "minio.local", int64(9000)}, "bucket", erlterm.Atom("undefined")}), s3media.Location{
			Bucket: "bucket", Key: db + "/" + recID + "_call.mp3", Scheme: "http", Host: "minio.local",
			Port: 9000, AccessMethod: "path", AccessKeyID: "AK", SecretAccessKey: "SK"}},
		{"{Key, Secret, Host, Bucket, Path}", att(erlterm.Tuple{erlterm.Charlist("AK"), "SK", "s3.eu-west-1.amazonaws.com", "bucket", "p"}), s3media.Location{
			Bucket: "bucket", Key: "p/" + db + "/" + recID + "_call.mp3", Scheme: "https", Host: "s3.eu-west-1.amazonaws.com",
			Port: 443, AccessMethod: "path", AccessKeyID: "AK", SecretAccessKey: "SK"}},
		{"a bare map with a field list", att(mediatest.SettingsMap(map[string]any{
			"key": "AK", "secret": "SK", "bucket": "b", "region": "eu-central-1", "scheme": "https://", "port": "8443",
			"folder_base_path": "calls", "folder_path": "in", "field_separator": "-",
			"field_list": erlterm.List{
				erlterm.Map{{Key: "arg", Value: "account_id"}},
				erlterm.Map{{Key: "field", Value: "owner_id"}},
				erlterm.Map{{Key: "group", Value: erlterm.List{erlterm.Map{{Key: "arg", Value: "id"}}, erlterm.Map{{Key: "const", Value: ".x"}}}}},
				erlterm.Map{{Key: "field", Value: "missing"}},
			},
		})), s3media.Location{
			Bucket: "b", Key: "calls/in/" + account + "-0000000000000000000000000000000a-" + recID + ".x", Scheme: "https",
			Host: "s3.eu-central-1.amazonaws.com", Port: 8443, Region: "eu-central-1", AccessMethod: "auto",
			AccessKeyID: "AK", SecretAccessKey: "SK"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s3media.ParseLocation(tt.att)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseLocationRefusesGarbage(t *testing.T) {
	for name, payload := range map[string]map[string]any{
		"no S3":         {"metadata": map[string]any{}},
		"not base64":    {"S3": "%%%"},
		"not a term":    {"S3": base64.StdEncoding.EncodeToString([]byte("hello"))},
		"a 3-tuple":     {"S3": mediatest.EncodeS3Term(erlterm.Tuple{"a", "b", "c"})},
		"no bucket":     {"S3": mediatest.EncodeS3Term(erlterm.Tuple{mediatest.SettingsMap(map[string]any{"key": "a"}), "f"})},
		"ftp scheme":    {"S3": mediatest.EncodeS3Term(erlterm.Tuple{mediatest.SettingsMap(map[string]any{"bucket": "b", "scheme": "ftp"}), "f"})},
		"port too high": {"S3": mediatest.EncodeS3Term(erlterm.Tuple{mediatest.SettingsMap(map[string]any{"bucket": "b", "port": 70000}), "f"})},
	} {
		_, err := s3media.ParseLocation(attachment(payload, 1))
		var se *media.Error
		if !errors.As(err, &se) || se.Kind != media.Invalid {
			t.Errorf("%s: err = %v, want Invalid", name, err)
		}
	}
}

// otpPayload is a payload from testdata written by Erlang itself, base64-encoded as Kazoo does.
func otpPayload(t *testing.T, name string) string {
	t.Helper()
	f, err := os.Open("../erlterm/testdata/otp25.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if n, hx, _ := strings.Cut(sc.Text(), " "); n == name {
			b, err := hex.DecodeString(hx)
			if err != nil {
				t.Fatal(err)
			}
			return base64.StdEncoding.EncodeToString(b)
		}
	}
	t.Fatalf("no fixture %s", name)
	return ""
}
