package retention_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/recordingsd/recordingsd/pkg/media"
	"github.com/recordingsd/recordingsd/pkg/media/httpmedia"
	"github.com/recordingsd/recordingsd/pkg/media/mediatest"
	"github.com/recordingsd/recordingsd/pkg/media/s3media"
	"github.com/recordingsd/recordingsd/pkg/retention"
)

const (
	s3KeyID  = "AKIARETENTIONTEST001"
	s3Secret = "retention-secret-never-logged"
	httpPass = "http-password-never-logged"
)

// external is pvt_attachments with one entry on a provider.
func external(name, module string, payload map[string]any) map[string]any {
	return map[string]any{"pvt_attachments": map[string]any{name: map[string]any{
		"content_type": "audio/mpeg", "length": 5,
		"handler": map[string]any{module: payload},
	}}}
}

func merge(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

type mediaWorld struct {
	d     *dataset
	web   *mediatest.Web
	s3    *mediatest.S3
	media media.Sources
	logs  *observer.ObservedLogs
	log   *zap.Logger
}

// newMediaWorld loads, in one month database, a purgeable recording on each provider, and a live
// one sharing the web server.
func newMediaWorld(t *testing.T, w *world, c *clock) *mediaWorld {
	mw := &mediaWorld{d: newDataset(w, c), web: mediatest.NewWeb(t), s3: mediatest.NewS3(t, s3KeyID, s3Secret)}
	t.Cleanup(mw.s3.Close)
	acc := mw.d.account("a")
	mw.web.Put("/rec/old.mp3", []byte("audio"))
	mw.web.Put("/rec/live.mp3", []byte("audio"))
	mw.s3.Put(t, "calls", "kazoo/old.mp3", []byte("audio"))
	deleted := map[string]any{"pvt_deleted": true, "pvt_modified": c.ago(2 * day)}
	mw.d.put("on-web", acc, may, merge(deleted, external("call.mp3", httpmedia.Handler, map[string]any{"url": mw.web.URLOf("/rec/old.mp3", httpPass)})))
	mw.d.put("on-s3", acc, may, merge(deleted, external("call.mp3", s3media.Handler, s3Payload(mw, "kazoo/old.mp3"))))
	mw.d.put("live-on-web", acc, may, external("call.mp3", httpmedia.Handler, map[string]any{"url": mw.web.URLOf("/rec/live.mp3", httpPass)}))

	timeouts := media.Timeouts{Request: 5 * time.Second, Idle: 5 * time.Second}
	s3src, err := s3media.New(context.Background(), s3media.Config{Timeouts: timeouts, Credentials: "document"})
	if err != nil {
		t.Fatal(err)
	}
	mw.media = media.Sources{httpmedia.Handler: httpmedia.New(timeouts, nil), s3media.Handler: s3src}
	core, logs := observer.New(zapcore.InfoLevel)
	mw.logs, mw.log = logs, zap.New(core)
	return mw
}

// s3Payload is the storage payload Kazoo writes for an object of the world's S3 bucket.
func s3Payload(mw *mediaWorld, key string) map[string]any {
	return mediatest.KazooS3Payload(map[string]any{
		"key": s3KeyID, "secret": s3Secret, "bucket": "calls", "region": "us-east-1",
		"host": mw.s3.Host, "scheme": "http", "port": mw.s3.Port, "bucket_access_method": "path",
	}, key)
}

func (mw *mediaWorld) sweeper(t *testing.T, c *clock, deleteMedia bool, obs retention.Observer) *retention.Sweeper {
	cfg := config(c, retention.Policy{DeletedAfter: day, SoftDeletedAfter: retention.Never, DeleteExternalMedia: deleteMedia}, "one")
	s, err := retention.New(mw.d.w.store, mw.media, cfg, mw.log, obs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// noSecrets checks that no log line holds a credential.
func (mw *mediaWorld) noSecrets(t *testing.T) {
	t.Helper()
	for _, e := range mw.logs.All() {
		line, _ := json.Marshal(map[string]any{"msg": e.Message, "fields": e.ContextMap()})
		for _, secret := range []string{s3Secret, httpPass} {
			if strings.Contains(string(line), secret) {
				t.Fatalf("log line holds a secret: %s", line)
			}
		}
	}
}

// By default, purging a recording leaves its media on the provider (as DELETE does) and the
// log says where each object stays.
func TestPurgeRetainsExternalMediaByDefault(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		c := newClock()
		mw := newMediaWorld(t, w, c)
		r := mustSweep(t, mw.sweeper(t, c, false, nil))
		mw.d.check("on-web", "on-s3")
		if r.MediaKept != 2 || r.MediaDeleted != 0 {
			t.Fatalf("report %+v, want 2 objects retained", r)
		}
		if !mw.web.Has("/rec/old.mp3") || !mw.s3.Has(t, "calls", "kazoo/old.mp3") || mw.web.Deletes() != 0 {
			t.Fatal("an object was deleted though the policy keeps external media")
		}
		for _, e := range mw.s3.Requests() {
			if e.Method == http.MethodDelete {
				t.Fatalf("S3 saw %s %s", e.Method, e.Path)
			}
		}
		retained := mw.logs.FilterMessageSnippet("media on a storage provider is retained").All()
		if len(retained) != 2 {
			t.Fatalf("%d retained-media log lines, want 2", len(retained))
		}
		for _, e := range retained {
			if loc, _ := e.ContextMap()["location"].(string); loc == "" {
				t.Fatalf("retained-media log line without a location: %v", e.ContextMap())
			}
		}
		mw.noSecrets(t)
	})
}

// With delete_external_media, the objects go first, then the recordings; the live
// recording's object stays.
func TestPurgeDeletesExternalMediaWhenAsked(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		c := newClock()
		mw := newMediaWorld(t, w, c)
		obs := newRecorder()
		r := mustSweep(t, mw.sweeper(t, c, true, obs))
		mw.d.check("on-web", "on-s3")
		if r.MediaDeleted != 2 || obs.media[httpmedia.Handler] != 1 || obs.media[s3media.Handler] != 1 {
			t.Fatalf("report %+v, observed %v: want one object deleted on each provider", r, obs.media)
		}
		if mw.web.Has("/rec/old.mp3") || mw.s3.Has(t, "calls", "kazoo/old.mp3") {
			t.Fatal("a purged recording's object is still on its provider")
		}
		if !mw.web.Has("/rec/live.mp3") {
			t.Fatal("the live recording's object was deleted")
		}
		mw.noSecrets(t)
	})
}

// A provider that refuses the delete keeps the recording (its document is the only record
// of where the object is); the next sweep, once the provider accepts, purges it.
func TestMediaFailureKeepsTheRecording(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		c := newClock()
		mw := newMediaWorld(t, w, c)
		mw.web.RefuseDeletes(true)
		obs := newRecorder()
		s := mw.sweeper(t, c, true, obs)
		r := mustSweep(t, s)
		mw.d.check("on-s3")
		if r.Failed != 1 || obs.failed["deleted/media"] != 1 {
			t.Fatalf("report %+v, failures %v: want the web one failed for its media", r, obs.failed)
		}
		if !mw.web.Has("/rec/old.mp3") {
			t.Fatal("the refused object is gone")
		}
		mw.web.RefuseDeletes(false)
		c.Advance(2 * time.Hour)
		mustSweep(t, s)
		mw.d.check("on-s3", "on-web")
		if mw.web.Has("/rec/old.mp3") {
			t.Fatal("the object is still there after the second sweep")
		}
		mw.noSecrets(t)
	})
}
