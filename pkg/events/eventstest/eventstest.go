// Package eventstest holds what the tests of events and of their users share: a run on each
// store that has a change feed, and a wait until a watcher follows it.
package eventstest

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/events"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
	"github.com/recordingsd/recordingsd/pkg/store/embedded"
)

// ForEachStore runs test on a fresh embedded store and on the CouchDB of couchtest, each seen
// as B (what the test needs of a store). pouchdb-server has no _db_updates: there the CouchDB
// run is skipped, and runs on Apache CouchDB (make test-couchdb, CI).
func ForEachStore[B any](t *testing.T, test func(t *testing.T, s B)) {
	t.Run("embedded", func(t *testing.T) {
		s, err := embedded.Open(filepath.Join(t.TempDir(), "r.db"), embedded.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		test(t, As[B](t, s))
	})
	t.Run("couchdb", func(t *testing.T) {
		url := couchtest.URL(t)
		if couchtest.IsPouchDB(t, url) {
			t.Skip("pouchdb-server has no _db_updates: the change feed is tested on Apache CouchDB (make test-couchdb, CI)")
		}
		s, err := couch.New(couch.Config{URL: url, WriteQuorum: couchtest.WriteQuorum(t, url)}, zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		test(t, As[B](t, s))
	})
}

// As is s as B (the test's view of a store), or the test fails saying what s lacks.
func As[B any](t testing.TB, s any) B {
	t.Helper()
	b, ok := s.(B)
	if !ok {
		var want B
		t.Fatalf("%T is not a %T", s, &want)
	}
	return b
}

// WaitLive writes probe recordings (with audio, in an account of their own) until one comes
// out of tail: from then on a watcher follows the feed, which delivers nothing written before
// it started, and a loaded machine may take its time to start it.
func WaitLive(t testing.TB, store recording.Loader, tail *events.Tail) {
	t.Helper()
	probe := couchtest.NewAccountID()
	sub := tail.Subscribe("")
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		now := time.Now().UTC()
		id := recording.MonthOf(now).String() + "-" + couchtest.NewAccountID()
		g := recording.ToGregorian(now)
		rev, err := store.PutRecording(context.Background(), probe, recording.Doc{"_id": id,
			"pvt_type": recording.TypeCallRecording, "pvt_created": g, "pvt_modified": g})
		if err == nil {
			_, err = store.PutAttachment(context.Background(), probe, id, rev, "p.mp3", "audio/mpeg", strings.NewReader("p"))
		}
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		for {
			e, err := sub.Next(ctx)
			if err != nil {
				break
			}
			if e.AccountID == probe {
				cancel()
				return
			}
		}
		cancel()
	}
	t.Fatal("no watcher delivered a probe recording within 60 s")
}
