package api_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/recordingsd/recordingsd/pkg/api"
	"github.com/recordingsd/recordingsd/pkg/auth"
	"github.com/recordingsd/recordingsd/pkg/media"
	"github.com/recordingsd/recordingsd/pkg/media/mediatest"
	"github.com/recordingsd/recordingsd/pkg/media/s3media"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/embedded"
)

// s3Payload is what Kazoo 4.3's kz_att_s3 stores for an object it put in srv.
func s3Payload(srv *mediatest.S3, bucket, key string) map[string]any {
	return mediatest.KazooS3Payload(map[string]any{
		"key": s3DocKeyID, "secret": s3DocSecret, "bucket": bucket, "region": "us-east-1",
		"host": srv.Host, "scheme": "http", "port": srv.Port, "bucket_access_method": "path",
	}, key)
}

// Audio that kz_att_s3 stored in a bucket is served as inline audio is, the Range forwarded
// to S3; the document's own key pair signs the requests.
func TestExternalS3Audio(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		srv := mediatest.NewS3(t, s3DocKeyID, s3DocSecret)
		audio := randBytes(300_000)
		srv.Put(t, "recordings", "kazoo/rec/call.mp3", audio)
		f := newFixture(t, open, withMedia(t, media.Timeouts{Request: 2 * time.Second, Idle: 2 * time.Second}, s3media.Config{}))
		id := f.addRecording(rec{fields: externalAttachments("call.mp3", "audio/mpeg", int64(len(audio)), "kz_att_s3",
			s3Payload(srv, "recordings", "kazoo/rec/call.mp3"))})
		etag := f.call("HEAD", f.base()+"/recordings/"+id, tokenAccount, nil, "Accept", "audio/mpeg").header.Get("ETag")
		before := len(srv.Requests())
		checkAudio(t, f, id, fullAudioCases(audio, etag))

		var got []string
		for _, r := range srv.Requests()[before:] {
			if r.KeyID != s3DocKeyID || r.Path != "/recordings/kazoo/rec/call.mp3" {
				t.Errorf("S3 request %+v", r)
			}
			got = append(got, r.Method+" "+r.Range)
		}
		want := []string{"GET ", "GET bytes=1000-70999", "GET bytes=299500-299999", "GET bytes=299990-299999", "HEAD ", "HEAD "}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("S3 saw %q, want %q", got, want)
		}

		// The JSON document: content_types lists the external type; no payload anywhere.
		r := f.call("GET", f.base()+"/recordings/"+id, tokenAccount, nil)
		ct := r.dataMap(t)["_read_only"].(map[string]any)["content_types"].([]any)
		if len(ct) != 1 || ct[0] != "audio/mpeg" || strings.Contains(string(r.body), "pvt_attachments") || strings.Contains(string(r.body), "S3") {
			t.Errorf("document: %s", r.body)
		}
	})
}

// storage.s3.*: the configuration replaces the documents' pair, endpoint and addressing.
func TestExternalS3ConfiguredCredentials(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		srv := mediatest.NewS3(t, s3ConfKeyID, s3ConfSecret) // the documents' pair was rotated away
		audio := randBytes(20_000)
		srv.Put(t, "recordings", "call.mp3", audio)
		timeouts := media.Timeouts{Request: 2 * time.Second, Idle: 2 * time.Second}
		f := newFixture(t, open, withMedia(t, timeouts, s3media.Config{}))
		onAWS := f.addRecording(rec{fields: externalAttachments("call.mp3", "audio/mpeg", int64(len(audio)), "kz_att_s3",
			mediatest.KazooS3Payload(map[string]any{"key": s3DocKeyID, "secret": s3DocSecret, "bucket": "recordings", "region": "eu-west-1"}, "call.mp3"))})
		local := f.addRecording(rec{fields: externalAttachments("call.mp3", "audio/mpeg", int64(len(audio)), "kz_att_s3",
			s3Payload(srv, "recordings", "call.mp3"))})

		r := f.call("GET", f.base()+"/recordings/"+local, tokenAccount, nil, "Accept", "audio/mpeg")
		expectError(t, r, 502, "storage_unreachable")
		if cause := r.dataMap(t)["cause"]; cause != "provider_status_403" {
			t.Errorf("document pair refused: cause %v", cause)
		}

		cfg := f.cfg
		withMedia(t, timeouts, s3media.Config{Credentials: s3media.CredentialsConfig, AccessKeyID: s3ConfKeyID,
			SecretAccessKey: s3ConfSecret})(&cfg)
		f.restart(f.static, cfg, zap.NewNop())
		checkAudio(t, f, local, []audioCase{{"config pair", "GET", []string{"Range", "bytes=0-99"}, 206, audio[:100], "100", "bytes 0-99/20000"}})

		withMedia(t, timeouts, s3media.Config{Credentials: s3media.CredentialsConfig, AccessKeyID: s3ConfKeyID,
			SecretAccessKey: s3ConfSecret, Endpoint: srv.URL, BucketAccessMethod: "path"})(&cfg)
		f.restart(f.static, cfg, zap.NewNop())
		checkAudio(t, f, onAWS, []audioCase{{"bucket moved off AWS", "GET", nil, 200, audio, "20000", ""}})
		for _, req := range srv.Requests()[1:] {
			if req.KeyID != s3ConfKeyID {
				t.Errorf("signed with %q", req.KeyID)
			}
		}
	})
}

// S3 down or silent: 502 storage_unreachable within the timeout, for GET and HEAD.
func TestExternalS3Outage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		srv := mediatest.NewS3(t, s3DocKeyID, s3DocSecret)
		srv.Put(t, "recordings", "call.mp3", []byte("0123456789"))
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
		f := newFixture(t, open, withMedia(t, media.Timeouts{Request: storageTimeout, Idle: storageTimeout}, s3media.Config{}))
		up := f.addRecording(rec{fields: externalAttachments("call.mp3", "audio/mpeg", 10, "kz_att_s3", s3Payload(srv, "recordings", "call.mp3"))})
		missing := f.addRecording(rec{fields: externalAttachments("call.mp3", "audio/mpeg", 10, "kz_att_s3", s3Payload(srv, "recordings", "nope.mp3"))})
		mute := f.addRecording(rec{fields: externalAttachments("call.mp3", "audio/mpeg", 10, "kz_att_s3",
			mediatest.KazooS3Payload(map[string]any{"key": s3DocKeyID, "secret": s3DocSecret, "bucket": "recordings",
				"host": "127.0.0.1", "scheme": "http", "port": silent.Addr().(*net.TCPAddr).Port}, "call.mp3"))})
		checkAudio(t, f, up, []audioCase{{"up", "GET", nil, 200, []byte("0123456789"), "10", ""}})
		srv.Close()

		for _, c := range []struct{ name, id, cause string }{
			{"S3 down", up, "connection_failed"},
			{"S3 silent", mute, "timeout"},
		} {
			start := time.Now()
			r := f.call("GET", f.base()+"/recordings/"+c.id, tokenAccount, nil, "Accept", "audio/mpeg", "Range", "bytes=2-5")
			took := time.Since(start)
			expectError(t, r, 502, "storage_unreachable")
			if d := r.dataMap(t); d["cause"] != c.cause || d["handler"] != "kz_att_s3" || took > storageTimeout+time.Second {
				t.Errorf("%s: data %v after %v", c.name, d, took)
			}
			start = time.Now()
			if status, _ := headStatus(t, f, c.id); status != 502 || time.Since(start) > storageTimeout+time.Second {
				t.Errorf("%s HEAD: %d after %v", c.name, status, time.Since(start))
			}
		}
		_ = missing
	})
}

// No key material, URL password or signed query ever reaches a response or a log line: not
// through JSON (pvt_attachments, or a public copy of the URL), not through errors, not
// through the DELETE note.
func TestExternalMediaSecretsNeverLeak(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		srv := mediatest.NewS3(t, s3DocKeyID, s3DocSecret)
		audio := randBytes(5000)
		srv.Put(t, "recordings", "call.mp3", audio)
		provider := newMediaServer(t, audio, false)
		core, logs := observer.New(zap.DebugLevel)
		f := newFixture(t, open, withMedia(t, media.Timeouts{Request: storageTimeout, Idle: storageTimeout}, s3media.Config{}))
		f.restart(f.static, f.cfg, zap.New(core))

		badPair := mediatest.KazooS3Payload(map[string]any{"key": s3DocKeyID, "secret": s3ConfSecret, "bucket": "recordings",
			"host": srv.Host, "scheme": "http", "port": srv.Port}, "call.mp3")
		ids := []string{
			f.addRecording(rec{fields: externalAttachments("call.mp3", "audio/mpeg", 5000, "kz_att_s3", s3Payload(srv, "recordings", "call.mp3"))}),
			f.addRecording(rec{fields: externalAttachments("call.mp3", "audio/mpeg", 5000, "kz_att_s3", badPair)}),
			f.addRecording(rec{fields: externalAttachments("call.mp3", "audio/mpeg", 5000, "kz_att_s3", s3Payload(srv, "recordings", "gone.mp3"))}),
			// kz_att_http with document_url_field: Kazoo also copied the URL into a public field.
			f.addRecording(rec{fields: mergeDocs(externalAttachments("call.mp3", "audio/mpeg", 5000, "kz_att_http",
				map[string]any{"url": provider.url()}), recording.Doc{"recording_url": provider.url()})}),
			f.addRecording(rec{fields: externalAttachments("call.mp3", "audio/mpeg", 5000, "kz_att_http",
				map[string]any{"url": strings.Replace(provider.url(), provider.URL[7:], "127.0.0.1:1", 1)})}),
		}
		var out strings.Builder
		record := func(r response) {
			fmt.Fprintf(&out, "%d %v %s\n", r.status, r.header, r.body)
		}
		record(f.call("GET", f.base()+"/recordings?paginate=false", tokenAccount, nil))
		for i, id := range ids {
			doc := f.call("GET", f.base()+"/recordings/"+id, tokenAccount, nil)
			record(doc)
			if ct := doc.dataMap(t)["_read_only"].(map[string]any)["content_types"].([]any); len(ct) != 1 || ct[0] != "audio/mpeg" {
				t.Errorf("recording %d: content_types %v", i, ct)
			}
			// the public copy of the handler's URL is served without its password and signed query
			if got, want := doc.dataMap(t)["recording_url"], []any{nil, nil, nil, provider.URL + "/recordings/call.mp3", nil}[i]; got != want {
				t.Errorf("recording %d: recording_url = %v, want %v", i, got, want)
			}
			a := f.call("GET", f.base()+"/recordings/"+id, tokenAccount, nil, "Accept", "audio/mpeg", "Range", "bytes=0-9")
			record(a)
			if want := []int{206, 502, 502, 206, 502}[i]; a.status != want {
				t.Errorf("recording %d audio: %d, want %d: %s", i, a.status, want, a.body)
			}
			status, h := headStatus(t, f, id)
			fmt.Fprintf(&out, "%d %v\n", status, h)
			record(f.call("PATCH", f.base()+"/recordings/"+id, tokenAccount, map[string]any{"data": map[string]any{"soft_delete": map[string]any{}}}))
			record(f.call("PATCH", f.base()+"/recordings/collection", tokenAccount, map[string]any{"data": map[string]any{"recordings": []string{id}, "soft_restore": map[string]any{}}}))
			record(f.call("DELETE", f.base()+"/recordings/"+id, tokenAccount, nil))
		}
		if l := leaks(out.String()); len(l) > 0 {
			t.Errorf("responses hold secrets %v:\n%s", l, out.String())
		}
		var logText strings.Builder
		for _, e := range logs.All() {
			fmt.Fprintf(&logText, "%s %s %v\n", e.Level, e.Message, e.ContextMap())
		}
		if l := leaks(logText.String()); len(l) > 0 {
			t.Errorf("logs hold secrets %v:\n%s", l, logText.String())
		}
		for _, want := range []string{"provider_status_403", "provider_status_404", "connection_failed", "media on a storage provider retained"} {
			if !strings.Contains(logText.String(), want) {
				t.Errorf("the log does not say %q:\n%s", want, logText.String())
			}
		}
	})
}

func mergeDocs(docs ...recording.Doc) recording.Doc {
	out := recording.Doc{}
	for _, d := range docs {
		for k, v := range d {
			out[k] = v
		}
	}
	return out
}

// DELETE leaves media on storage providers in place, says which in the response, and logs
// where each one is (its document, which knew, is gone).
func TestDeleteNamesExternalMedia(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open openBackend) {
		srv := mediatest.NewS3(t, s3DocKeyID, s3DocSecret)
		provider := newMediaServer(t, []byte("x"), false)
		core, logs := observer.New(zap.InfoLevel)
		f := newFixture(t, open, withMedia(t, media.Timeouts{}, s3media.Config{}))
		f.restart(f.static, f.cfg, zap.New(core))
		both := recording.Doc{"pvt_attachments": map[string]any{
			"b.mp3": externalAttachments("b.mp3", "audio/mpeg", 1, "kz_att_http", map[string]any{"url": provider.url()})["pvt_attachments"].(map[string]any)["b.mp3"],
			"a.mp3": externalAttachments("a.mp3", "audio/mpeg", 1, "kz_att_s3", s3Payload(srv, "recordings", "kazoo/a.mp3"))["pvt_attachments"].(map[string]any)["a.mp3"],
		}}
		for _, soft := range []string{"false", "true"} {
			id := f.addRecording(rec{audio: []byte("inline"), fields: both})
			r := f.call("DELETE", f.base()+"/recordings/"+id+"?should_soft_delete="+soft, tokenAccount, nil)
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			ro := r.dataMap(t)["_read_only"].(map[string]any)
			if fmt.Sprint(ro["external_media_retained"]) != "[a.mp3 b.mp3]" || ro["deleted"] != true {
				t.Errorf("soft=%s: _read_only = %v", soft, ro)
			}
			var where []string
			for _, e := range logs.FilterField(zap.String("recording_id", id)).All() {
				where = append(where, fmt.Sprint(e.ContextMap()["handler"], " ", e.ContextMap()["location"]))
			}
			sort.Strings(where)
			want := []string{"kz_att_http " + provider.URL + "/recordings/call.mp3", "kz_att_s3 s3://recordings/kazoo/a.mp3 at " + srv.URL}
			if strings.Join(where, "|") != strings.Join(want, "|") {
				t.Errorf("soft=%s: logged %q, want %q", soft, where, want)
			}
		}
		plain := f.addRecording(rec{audio: []byte("inline")})
		r := f.call("DELETE", f.base()+"/recordings/"+plain, tokenAccount, nil)
		if _, ok := r.dataMap(t)["_read_only"].(map[string]any)["external_media_retained"]; ok {
			t.Errorf("inline-only recording: %s", r.body)
		}
		if n := len(srv.Requests()) + len(provider.seen()); n != 0 {
			t.Errorf("DELETE reached the providers %d times", n)
		}
	})
}

// BenchmarkExternalS3Download compares a 50 MB recording read through the service (S3 →
// recordingsd → client) with the same object read straight from the S3 server with the SDK.
// go test -run '^$' -bench ExternalS3Download -count 5 ./pkg/api/
func BenchmarkExternalS3Download(b *testing.B) {
	const size = 50 << 20
	srv := mediatest.NewS3(b, s3DocKeyID, s3DocSecret)
	audio := randBytes(size)
	srv.Put(b, "recordings", "big.mp3", audio)
	store, err := embedded.Open(filepath.Join(b.TempDir(), "recordings.db"), embedded.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	account := randHex(16)
	if err := store.PutAccount(ctx, recording.Doc{"_id": account, "pvt_type": "account", "pvt_tree": []any{}}); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	id := recording.NewRecordingID(now, randHex(16))
	doc := mergeDocs(recording.Doc{"_id": id, "pvt_type": "call_recording", "pvt_created": recording.ToGregorian(now)},
		externalAttachments("big.mp3", "audio/mpeg", size, "kz_att_s3", s3Payload(srv, "recordings", "big.mp3")))
	if _, err := store.PutRecording(ctx, account, doc); err != nil {
		b.Fatal(err)
	}
	s3src, err := s3media.New(ctx, s3media.Config{})
	if err != nil {
		b.Fatal(err)
	}
	authn, err := auth.NewStaticTokens([]auth.StaticToken{{Token: tokenAccount, AccountID: account}})
	if err != nil {
		b.Fatal(err)
	}
	service := httptest.NewServer(newHandler(b, zap.NewNop(), withSources(testConfig(), media.Sources{s3media.Handler: s3src}), store, authn))
	defer service.Close()
	url := service.URL + "/v2/accounts/" + account + "/recordings/" + id

	b.Run("service", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("X-Auth-Token", tokenAccount)
			req.Header.Set("Accept", "audio/mpeg")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || n != size {
				b.Fatalf("%d bytes, %v", n, err)
			}
		}
	})
	b.Run("direct", func(b *testing.B) {
		client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
			Credentials:                credentials.NewStaticCredentialsProvider(s3DocKeyID, s3DocSecret, ""),
			ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired})
		b.SetBytes(size)
		for b.Loop() {
			out, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("recordings"), Key: aws.String("big.mp3")})
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.Copy(io.Discard, out.Body)
			out.Body.Close()
			if err != nil || n != size {
				b.Fatalf("%d bytes, %v", n, err)
			}
		}
	})
}

func withSources(cfg api.Config, sources media.Sources) api.Config {
	cfg.Media = sources
	return cfg
}
