package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/embedded"
	"github.com/recordingsd/recordingsd/pkg/store/storetest"
)

// A service restarted (SIGTERM, then started again) in the middle of a retention sweep
// resumes it: the second process skips the month databases the first finished, and between
// them every recording the policy takes goes, once, and nothing else.
func TestRetentionSweepSurvivesARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "recordings.db")
	deleted, live := seedForRetention(t, path, 6, 40)

	env := envOf(map[string]string{
		"RECORDINGS_HTTP_LISTEN":                              "127.0.0.1:0",
		"RECORDINGS_STORE_EMBEDDED_PATH":                      path,
		"RECORDINGS_LOG_LEVEL":                                "info",
		"RECORDINGS_RECORDINGS_RETENTION_ENABLED":             "true",
		"RECORDINGS_RECORDINGS_RETENTION_PURGE_DELETED_AFTER": "1h",
		"RECORDINGS_RECORDINGS_RETENTION_BATCH_SIZE":          "10",
		"RECORDINGS_RECORDINGS_RETENTION_RATE":                "60",
	})

	// First process: stopped once it has purged a hundred of the 240.
	first := startService(t, env)
	first.waitMetric(t, `recordingsd_retention_purged_total{reason="deleted"}`, func(v int) bool { return v >= 100 })
	first.stop(t)
	state := readRetentionState(t, path)
	sweep, _ := state["sweep"].(map[string]any)
	after, _ := sweep["after"].(map[string]any)
	if sweep == nil || after["account_id"] == nil || state["lease_until"] != nil {
		t.Fatalf("state after the stop: %v; want a sweep in progress, a position, the lease let go", state)
	}
	// What the first process purged, up to its very last batch, as it saved it when stopping.
	n, _ := sweep["purged"].(float64)
	firstPurged := int(n)
	if firstPurged < 100 || firstPurged >= len(deleted) {
		t.Fatalf("the first process purged %d of %d before it stopped", firstPurged, len(deleted))
	}

	// Second process: resumes, and completes.
	second := startService(t, env)
	second.waitMetric(t, `recordingsd_retention_sweeps_total{result="completed"}`, func(v int) bool { return v == 1 })
	second.stop(t)
	if !strings.Contains(second.logs(), "retention sweep resumed") {
		t.Fatalf("the second process did not resume the sweep:\n%s", second.logs())
	}
	state = readRetentionState(t, path)
	report, _ := state["last_report"].(map[string]any)
	dbs, _ := report["databases"].(float64)
	purged, _ := report["purged"].(map[string]any)
	if report["resumed"] != true || dbs >= 6 || dbs < 1 || state["sweep"] != nil {
		t.Fatalf("the completed sweep: %v; want it resumed past the finished month databases", state)
	}
	if n, _ := purged["deleted"].(float64); int(n)+firstPurged != len(deleted) {
		t.Fatalf("purged %v by the second process and %d by the first, want %d in all", purged["deleted"], firstPurged, len(deleted))
	}

	s, err := embedded.Open(path, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for _, ref := range deleted {
		if _, err := s.Get(ctx, ref.accountID, ref.id); !recording.IsNotFound(err) {
			t.Fatalf("%s: %v, want purged", ref.id, err)
		}
	}
	for _, ref := range live {
		if doc, err := s.Get(ctx, ref.accountID, ref.id); err != nil || doc.Rev() != ref.rev {
			t.Fatalf("live %s: %v (rev %s, want %s untouched)", ref.id, err, doc.Rev(), ref.rev)
		}
	}
}

type docRef struct{ accountID, id, rev string }

// seedForRetention writes, into months month databases of one account, perMonth recordings
// marked pvt_deleted two hours ago and one live recording each.
func seedForRetention(t *testing.T, path string, months, perMonth int) (deleted, live []docRef) {
	t.Helper()
	s, err := embedded.Open(path, embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	account := storetest.NewAccountID()
	if err := s.PutAccount(ctx, recording.Doc{"_id": account, "pvt_type": "account", "name": "retention"}); err != nil {
		t.Fatal(err)
	}
	marked := recording.ToGregorian(time.Now().Add(-2 * time.Hour))
	m := recording.MonthOf(time.Now())
	for range months {
		m = m.Prev()
		put := func(i int, extra recording.Doc) docRef {
			id := fmt.Sprintf("%s-%032x", m, len(deleted)+len(live)+1)
			doc := recording.Doc{"_id": id, "pvt_type": "call_recording", "pvt_created": recording.ToGregorian(m.Start()) + int64(i)}
			for k, v := range extra {
				doc[k] = v
			}
			rev, err := s.PutRecording(ctx, account, doc)
			if err != nil {
				t.Fatal(err)
			}
			return docRef{account, id, rev}
		}
		for i := range perMonth {
			deleted = append(deleted, put(i, recording.Doc{"pvt_deleted": true, "pvt_modified": marked}))
		}
		live = append(live, put(perMonth, recording.Doc{"pvt_modified": marked}))
	}
	return deleted, live
}

func readRetentionState(t *testing.T, path string) map[string]any {
	t.Helper()
	s, err := embedded.Open(path, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	doc, err := s.SystemDoc(context.Background(), "recordingsd", "retention")
	if err != nil {
		t.Fatalf("state document: %v", err)
	}
	raw, _ := json.Marshal(doc)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out
}

// service is `recordingsd serve` running in this process.
type service struct {
	base   string
	cancel context.CancelFunc
	done   chan error
	mu     sync.Mutex
	log    bytes.Buffer
}

func (s *service) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.Write(p)
}

func (s *service) logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

func startService(t *testing.T, env func(string) string) *service {
	t.Helper()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	s := &service{cancel: cancel, done: make(chan error, 1)}
	go func() {
		s.done <- run(ctx, []string{"serve", "--config", "../../config/recordings.example.yaml"}, env, pw, s)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("no startup line: %v\n%s", err, s.logs())
	}
	go io.Copy(io.Discard, pr)
	s.base = strings.Fields(line[strings.Index(line, "http://"):])[0]
	return s
}

// waitMetric polls /metrics until the named sample satisfies ok, and returns its value.
func (s *service) waitMetric(t *testing.T, sample string, ok func(int) bool) int {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` ([0-9]+)$`)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if m := re.FindSubmatch(body); m != nil {
			if v, _ := strconv.Atoi(string(m[1])); ok(v) {
				return v
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never got there:\n%s", sample, s.logs())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop is SIGTERM: the service returns once its sweeper has saved its progress.
func (s *service) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the service did not stop")
	}
}
