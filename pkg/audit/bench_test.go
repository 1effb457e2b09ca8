package audit_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/audit"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
	"github.com/recordingsd/recordingsd/pkg/store/embedded"
)

// BenchmarkTrailFlush measures how many entries a trail writes per second with the default
// settings: b.N entries recorded at once, then Close, which writes them all. One account is
// one chain, written batch after batch; several accounts are written a few chains at once.
//
//	go test -run '^$' -bench TrailFlush -benchtime 20000x ./pkg/audit/
//
// (with RECORDINGS_TEST_COUCHDB_URL set for CouchDB).
func BenchmarkTrailFlush(b *testing.B) {
	stores := map[string]func(b *testing.B) recording.StateDocs{
		"embedded": func(b *testing.B) recording.StateDocs {
			s, err := embedded.Open(filepath.Join(b.TempDir(), "r.db"), embedded.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = s.Close() })
			return s
		},
		"couchdb": func(b *testing.B) recording.StateDocs {
			url := couchtest.URL(b)
			s, err := couch.New(couch.Config{URL: url, WriteQuorum: couchtest.WriteQuorum(b, url)}, zap.NewNop())
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = s.Close() })
			return s
		},
	}
	for _, name := range []string{"embedded", "couchdb"} {
		for _, accounts := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/accounts=%d", name, accounts), func(b *testing.B) {
				s := stores[name](b)
				ids := make([]string, accounts)
				for i := range ids {
					ids[i] = couchtest.NewAccountID()
				}
				rec := recording.NewRecordingID(time.Now(), couchtest.NewAccountID())
				trail := audit.New(s, audit.Config{Buffer: max(b.N, audit.DefaultBuffer), FlushInterval: time.Hour}, zap.NewNop(), nil)
				b.ResetTimer()
				started := time.Now()
				for n := range b.N {
					trail.Record(audit.Entry{AccountID: ids[n%accounts], Actor: audit.Actor{UserID: "u1", Credential: "kazoo_jwt"},
						ClientIP: "192.0.2.7", Action: audit.AudioRead, RecordingID: rec, Status: 200, Bytes: 48000, RequestID: "req"})
				}
				if err := trail.Close(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)/time.Since(started).Seconds(), "entries/s")
			})
		}
	}
}
