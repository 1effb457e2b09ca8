package embedded

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

var testMonth = recording.Month{Year: 2024, Month: 3}

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "recordings.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, path
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func newRecordingID(m recording.Month) string { return m.String() + "-" + randomHex(16) }

func created(m recording.Month, offset int64) int64 {
	return recording.ToGregorian(m.Start()) + offset
}

func recordingDoc(id string, pvtCreated int64, extra map[string]any) recording.Doc {
	d := recording.Doc{
		"_id":         id,
		"pvt_type":    recording.TypeCallRecording,
		"pvt_created": json.Number(strconv.FormatInt(pvtCreated, 10)),
	}
	for k, v := range extra {
		d[k] = v
	}
	return d
}

func mustPutRecording(t *testing.T, s *Store, account string, doc recording.Doc) string {
	t.Helper()
	rev, err := s.PutRecording(context.Background(), account, doc)
	if err != nil {
		t.Fatalf("PutRecording %s: %v", doc.ID(), err)
	}
	return rev
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := recording.ErrorCode(err); got != code {
		t.Fatalf("%s: error code %q, want %q (err: %v)", what, got, code, err)
	}
}

// patternAt fills p with the bytes at offset off of an endless pseudo-random stream that
// can be regenerated anywhere: a misplaced chunk shows, and no test holds a big file.
func patternAt(off int64, p []byte) {
	for i := range p {
		pos := off + int64(i)
		p[i] = byte(splitmix64(uint64(pos/8)) >> (8 * (pos % 8)))
	}
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// patternReader yields size bytes of the pattern, calling progress after each read.
type patternReader struct {
	off, size int64
	progress  func(off int64)
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.size-r.off)]
	patternAt(r.off, p)
	r.off += int64(len(p))
	if r.progress != nil {
		r.progress(r.off)
	}
	return len(p), nil
}

// countChunks counts the chunks stored in a database, whatever blob they belong to.
func countChunks(t *testing.T, s *Store, dbName string) int {
	t.Helper()
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		db, err := openDatabase(tx, dbName)
		if err != nil || db == nil {
			return err
		}
		return db.chunks.ForEach(func(k, v []byte) error {
			if len(k) != 16 {
				t.Errorf("chunk key %x", k)
			}
			n++
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// pendingUploads counts the uploads registered as in progress.
func pendingUploads(t *testing.T, s *Store) int {
	t.Helper()
	n := 0
	if err := s.db.View(func(tx *bolt.Tx) error { n = uploads(tx).Stats().KeyN; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}
