package embedded

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// TestConcurrentUse has writers, listers and attachment readers work on one store at once
// (run it with -race); every writer's data is intact at the end.
func TestConcurrentUse(t *testing.T) {
	s, _ := openTemp(t)
	ctx := testContext(t)
	account := randomHex(16)
	const writers, perWriter = 4, 15
	audio := make([]byte, 2*chunkSize+99)
	patternAt(7, audio)

	var wg sync.WaitGroup
	errs := make(chan error, 2*writers)
	for w := range writers {
		wg.Add(2)
		go func() { // writes recordings with audio, then soft-deletes every other one
			defer wg.Done()
			for i := range perWriter {
				id := fmt.Sprintf("%s-w%d-%02d", testMonth, w, i)
				rev, err := s.PutRecording(ctx, account, recordingDoc(id, created(testMonth, int64(i)), map[string]any{"owner_id": fmt.Sprint("owner", w)}))
				if err == nil {
					_, err = s.PutAttachment(ctx, account, id, rev, "a.mp3", "audio/mpeg", bytes.NewReader(audio))
				}
				if err == nil && i%2 == 1 {
					var doc recording.Doc
					if doc, err = s.Get(ctx, account, id); err == nil {
						doc["soft_delete"] = map[string]any{"by": "test"}
						_, err = s.Save(ctx, account, doc)
					}
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d, recording %d: %w", w, i, err)
					return
				}
			}
		}()
		go func() { // lists and reads what is there so far
			defer wg.Done()
			for range perWriter {
				rows, err := s.Scan(ctx, account, testMonth, recording.ScanQuery{From: 0, To: 1 << 40, Limit: 100, IncludeSoftDeleted: true})
				if err != nil {
					errs <- err
					return
				}
				for _, r := range rows {
					if len(r.Doc.Attachments()) == 0 {
						continue
					}
					got := readRange(t, s, account, r.Key.ID, "a.mp3", &recording.Range{Start: chunkSize - 5, End: chunkSize + 5}, nil)
					if !bytes.Equal(got, audio[chunkSize-5:chunkSize+6]) {
						errs <- fmt.Errorf("%s: range differs", r.Key.ID)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	for w := range writers {
		rows, err := s.Scan(ctx, account, testMonth, recording.ScanQuery{Owner: fmt.Sprint("owner", w), From: 0, To: 1 << 40, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != (perWriter+1)/2 {
			t.Errorf("owner%d: %d listed, want %d", w, len(rows), (perWriter+1)/2)
		}
	}
}
