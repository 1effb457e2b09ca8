package embedded

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkWrite measures one document write into a month database: a new recording
// (PutRecording) and an update at the current revision (Save), with and without the fsync
// of each transaction. pagewrites/op counts the pages each write transaction puts on disk
// (meta page included), a measure of its I/O that does not depend on the machine's load.
func BenchmarkWrite(b *testing.B) {
	for _, noSync := range []bool{true, false} {
		b.Run(fmt.Sprintf("PutRecording/NoSync=%v", noSync), func(b *testing.B) {
			s := openBench(b, noSync)
			account := randomHex(16)
			ctx := context.Background()
			writes := pageWrites(s)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				doc := recordingDoc(fmt.Sprintf("%s-%032x", testMonth, i), created(testMonth, int64(i)), map[string]any{"name": "call.mp3"})
				if _, err := s.PutRecording(ctx, account, doc); err != nil {
					b.Fatal(err)
				}
			}
			reportPageWrites(b, s, writes)
		})
		b.Run(fmt.Sprintf("Save/NoSync=%v", noSync), func(b *testing.B) {
			s := openBench(b, noSync)
			account := randomHex(16)
			ctx := context.Background()
			doc := recordingDoc(newRecordingID(testMonth), created(testMonth, 1), nil)
			rev, err := s.PutRecording(ctx, account, doc)
			if err != nil {
				b.Fatal(err)
			}
			writes := pageWrites(s)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				doc["_rev"], doc["n"] = rev, i
				if rev, err = s.Save(ctx, account, doc); err != nil {
					b.Fatal(err)
				}
			}
			reportPageWrites(b, s, writes)
		})
	}
}

func reportPageWrites(b *testing.B, s *Store, before int64) {
	b.ReportMetric(float64(pageWrites(s)-before)/float64(b.N), "pagewrites/op")
}

// pageWrites is the number of page writes of every transaction committed so far.
func pageWrites(s *Store) int64 {
	st := s.db.Stats()
	return st.TxStats.GetWrite()
}

func openBench(b *testing.B, noSync bool) *Store {
	b.Helper()
	s, err := Open(filepath.Join(b.TempDir(), "recordings.db"), Options{NoSync: noSync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}
