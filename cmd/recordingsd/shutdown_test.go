package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/demo"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/embedded"
)

// On SIGTERM (the context ending), the service stops accepting, lets an audio stream in
// flight finish, and returns without error.
func TestShutdownLetsStreamsFinish(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "recordings.db")
	bigID := seedBigRecording(t, dbPath, 48<<20) // far more than socket buffers hold
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--config", "../../config/recordings.example.yaml", "--demo"}, envOf(map[string]string{
			"RECORDINGS_HTTP_LISTEN":         "127.0.0.1:0",
			"RECORDINGS_STORE_EMBEDDED_PATH": dbPath,
			"RECORDINGS_LOG_LEVEL":           "warn",
		}), pw, io.Discard)
		pw.Close()
	}()
	var base, download string
	lines := bufio.NewScanner(pr)
	for lines.Scan() && download == "" {
		line := lines.Text()
		if i := strings.Index(line, "listening on http://"); i >= 0 {
			base = strings.Fields(line[i+len("listening on "):])[0]
		}
		if strings.Contains(line, "Accept: audio/mpeg") {
			download = strings.Trim(strings.Fields(line)[len(strings.Fields(line))-1], "'")
		}
	}
	go io.Copy(io.Discard, pr)
	if base == "" || download == "" {
		t.Fatal("no address or download URL printed")
	}

	download = download[:strings.LastIndex(download, "/")+1] + bigID
	req, _ := http.NewRequest("GET", download, nil)
	req.Header.Set("X-Auth-Token", DemoToken)
	req.Header.Set("Accept", "audio/mpeg")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, 100)
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatal(err)
	}

	cancel() // what SIGTERM does in main
	time.Sleep(200 * time.Millisecond)
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Errorf("new connections are still accepted after shutdown began")
	}
	select {
	case err := <-done:
		t.Fatalf("run returned (%v) while a stream was still in flight", err)
	default:
	}
	rest, err := io.ReadAll(resp.Body)
	if err != nil || int64(len(first)+len(rest)) != resp.ContentLength || resp.ContentLength != 48<<20 {
		t.Fatalf("stream in flight: %d of %d bytes, err %v", len(first)+len(rest), resp.ContentLength, err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after shutdown")
	}
}

// seedBigRecording writes the demo data and one more recording with a large attachment.
func seedBigRecording(t *testing.T, path string, size int) string {
	t.Helper()
	s, err := embedded.Open(path, embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := demo.Seed(ctx, s, demo.Options{}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	id := recording.MonthOf(now).String() + "-" + strings.Repeat("b", 32)
	g := recording.ToGregorian(now.Add(-time.Minute))
	rev, err := s.PutRecording(ctx, demo.AccountID(0), recording.Doc{"_id": id, "pvt_type": "call_recording", "pvt_created": g})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutAttachment(ctx, demo.AccountID(0), id, rev, "big.mp3", "audio/mpeg", io.LimitReader(zeros{}, int64(size))); err != nil {
		t.Fatal(err)
	}
	return id
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
