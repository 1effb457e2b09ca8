package embedded

import (
	"bytes"
	"crypto/md5"
	"io"
	"runtime"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

const mib = 1 << 20

// heapSampler records the peak of HeapInuse over the samples it takes.
type heapSampler struct {
	base, peak uint64
}

func newHeapSampler() *heapSampler {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return &heapSampler{base: ms.HeapInuse, peak: ms.HeapInuse}
}

func (h *heapSampler) sample() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h.peak = max(h.peak, ms.HeapInuse)
}

func (h *heapSampler) growth() uint64 { return h.peak - h.base }

func totalAlloc() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// TestLargeAttachmentFlatMemory streams 64 MiB in and out: the heap never holds more than
// a few chunks of it, and a range near the end reads only the chunks it covers.
func TestLargeAttachmentFlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 64 MiB")
	}
	const size = 64 * mib
	// Far below the attachment's size, yet above what one upload transaction (1 MiB of
	// chunks, bbolt's copy of its pages) and the garbage collector's slack may take.
	const maxGrowth = 16 * mib
	s, _ := openTemp(t)
	ctx := testContext(t)
	account, id := randomHex(16), newRecordingID(testMonth)
	rev := mustPutRecording(t, s, account, recordingDoc(id, created(testMonth, 1), nil))

	heap := newHeapSampler()
	allocBefore := totalAlloc()
	body := &patternReader{size: size, progress: func(off int64) {
		if off%mib == 0 {
			heap.sample()
		}
	}}
	if _, err := s.PutAttachment(ctx, account, id, rev, "big.wav", "audio/wav", body); err != nil {
		t.Fatalf("PutAttachment: %v", err)
	}
	t.Logf("write %d MiB: heap in use peaked %.1f MiB above the start; %.1f MiB allocated in all (bbolt's page buffers, then garbage)",
		size/mib, float64(heap.growth())/mib, float64(totalAlloc()-allocBefore)/mib)
	if heap.growth() > maxGrowth {
		t.Errorf("writing grew the heap by %.1f MiB", float64(heap.growth())/mib)
	}

	doc, err := s.Get(ctx, account, id)
	if err != nil {
		t.Fatal(err)
	}
	h := md5.New()
	if _, err := io.Copy(h, &patternReader{size: size}); err != nil {
		t.Fatal(err)
	}
	if atts := doc.Attachments(); len(atts) != 1 || atts[0].Length != size || atts[0].Digest != md5Digest(h.Sum(nil)) {
		t.Fatalf("attachments %+v", atts)
	}

	// The last million bytes: 16 chunks of 64 KiB, 17 if the range were less kind.
	r := recording.Range{Start: size - 1_000_000, End: size - 1}
	s.chunkReads.Store(0)
	allocBefore = totalAlloc()
	got := readRange(t, s, account, id, "big.wav", &r, nil)
	alloc := totalAlloc() - allocBefore - uint64(r.Len()) // minus the copy readRange keeps
	reads := s.chunkReads.Load()
	t.Logf("range %d-%d: %d chunk reads, %.2f MiB allocated besides the result", r.Start, r.End, reads, float64(alloc)/mib)
	if reads > 17 {
		t.Errorf("reading %d bytes near the end took %d chunk reads", r.Len(), reads)
	}
	if alloc > 2*mib {
		t.Errorf("reading a range allocated %.1f MiB", float64(alloc)/mib)
	}
	want := make([]byte, r.Len())
	patternAt(r.Start, want)
	if !bytes.Equal(got, want) {
		t.Fatal("range near the end differs from what was written")
	}

	// All of it, compared as it streams.
	heap = newHeapSampler()
	allocBefore = totalAlloc()
	s.chunkReads.Store(0)
	rc, err := s.OpenAttachment(ctx, account, id, "big.wav", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	buf, expected := make([]byte, 32<<10), make([]byte, 32<<10)
	var off int64
	for {
		n, err := rc.Read(buf)
		patternAt(off, expected[:n])
		if !bytes.Equal(buf[:n], expected[:n]) {
			t.Fatalf("bytes at %d differ", off)
		}
		off += int64(n)
		if off%mib == 0 {
			heap.sample()
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read at %d: %v", off, err)
		}
	}
	if off != size {
		t.Fatalf("read %d bytes, want %d", off, size)
	}
	t.Logf("read %d MiB: heap in use peaked %.1f MiB above the start; %.1f MiB allocated in all; %d chunk reads",
		size/mib, float64(heap.growth())/mib, float64(totalAlloc()-allocBefore)/mib, s.chunkReads.Load())
	if heap.growth() > maxGrowth {
		t.Errorf("reading grew the heap by %.1f MiB", float64(heap.growth())/mib)
	}
	if reads := s.chunkReads.Load(); reads != size/chunkSize {
		t.Errorf("reading the whole attachment took %d chunk reads, want %d", reads, size/chunkSize)
	}
}

// readRange reads an attachment or range through reads of the given size (default 32 KiB).
func readRange(t *testing.T, s *Store, account, id, name string, r *recording.Range, buf []byte) []byte {
	t.Helper()
	rc, err := s.OpenAttachment(testContext(t), account, id, name, r)
	if err != nil {
		t.Fatalf("OpenAttachment: %v", err)
	}
	defer rc.Close()
	if buf == nil {
		buf = make([]byte, 32<<10)
	}
	var out []byte
	if r != nil {
		out = make([]byte, 0, r.Len())
	}
	for {
		n, err := rc.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
	}
}
