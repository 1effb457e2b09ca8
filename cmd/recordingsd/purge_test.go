package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/embedded"
)

// `recordingsd purge --dry-run` lists what the policy takes and changes nothing; `purge`
// then takes exactly that; a second dry run finds nothing left.
func TestPurgeCommand(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "recordings.db")
	env := envOf(map[string]string{
		"RECORDINGS_STORE_EMBEDDED_PATH":                           path,
		"RECORDINGS_LOG_LEVEL":                                     "warn",
		"RECORDINGS_RECORDINGS_RETENTION_PURGE_DELETED_AFTER":      "0s",
		"RECORDINGS_RECORDINGS_RETENTION_PURGE_SOFT_DELETED_AFTER": "30d",
	})
	command := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := run(ctx, append(args, "--config", "../../config/recordings.example.yaml"), env, &out, io.Discard); err != nil {
			t.Fatalf("recordingsd %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
		return out.String()
	}
	command("seed", "--accounts", "2", "--recordings-per-account", "30", "--months", "3")

	dry := command("purge", "--dry-run")
	listed := regexp.MustCompile(`(?m)^would purge ([0-9a-f]{32}) (\S+) (deleted|soft_deleted), `).FindAllStringSubmatch(dry, -1)
	if !strings.Contains(dry, "policy: pvt_deleted recordings after 0s, soft-deleted after 30d, external media retained") {
		t.Fatalf("dry run does not state the policy:\n%s", dry)
	}
	reasons := map[string]int{}
	for _, l := range listed {
		reasons[l[3]]++
	}
	// The demo marks one recording in ten soft-deleted (some older than 30 days) and one
	// pvt_deleted in each account with at least eight recordings.
	if reasons["deleted"] < 2 || reasons["soft_deleted"] < 1 {
		t.Fatalf("dry run listed %v:\n%s", reasons, dry)
	}
	summary := fmt.Sprintf("dry run: %d recordings would be purged (%d deleted, %d soft-deleted)", len(listed), reasons["deleted"], reasons["soft_deleted"])
	if !strings.Contains(dry, summary) {
		t.Fatalf("dry run summary: want %q in\n%s", summary, dry)
	}
	// A second dry run lists the same recordings (ages aside: the clock moved).
	ages := regexp.MustCompile(`, age [^,\n]+`)
	if again := command("purge", "--dry-run"); ages.ReplaceAllString(again, "") != ages.ReplaceAllString(dry, "") {
		t.Fatalf("a dry run changed something: the second one differs\n%s\n---\n%s", dry, again)
	}

	// One of them goes on legal hold: the dry run and the purge keep it, and say so.
	held := listed[0]
	listed = listed[1:]
	reasons[held[3]]--
	holdRecording(t, path, held[1], held[2])
	dry = command("purge", "--dry-run")
	if want := "would keep " + held[1] + " " + held[2] + " " + held[3]; !strings.Contains(dry, want) || !strings.Contains(dry, "on legal hold (subpoena)") {
		t.Fatalf("dry run: want %q, on legal hold (subpoena), in\n%s", want, dry)
	}
	if want := "1 kept on legal hold"; !strings.Contains(dry, want) {
		t.Fatalf("dry run: want %q in\n%s", want, dry)
	}

	out := command("purge")
	if want := fmt.Sprintf("purged %d recordings (%d deleted, %d soft-deleted)", len(listed), reasons["deleted"], reasons["soft_deleted"]); !strings.Contains(out, want) {
		t.Fatalf("purge: want %q in\n%s", want, out)
	}
	if !strings.Contains(out, "; 1 kept on legal hold;") {
		t.Fatalf("purge: the held recording is not counted in\n%s", out)
	}
	if after := command("purge", "--dry-run"); !strings.Contains(after, "dry run: 0 recordings would be purged") || !strings.Contains(after, "1 kept on legal hold") {
		t.Fatalf("dry run after the purge:\n%s", after)
	}

	s, err := embedded.Open(path, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, l := range listed {
		if _, err := s.Get(ctx, l[1], l[2]); !recording.IsNotFound(err) {
			t.Errorf("%s/%s listed by the dry run: %v after the purge, want not found", l[1], l[2], err)
		}
	}
	if _, err := s.Get(ctx, held[1], held[2]); err != nil {
		t.Errorf("the held recording %s: %v, want it kept", held[2], err)
	}
	rows, err := s.Scan(ctx, listed[0][1], recording.MonthOf(time.Now()), recording.ScanQuery{From: 0, To: 1 << 40, Limit: 100, IncludeSoftDeleted: true})
	if err != nil || len(rows) == 0 {
		t.Fatalf("the current month of %s lost every recording: %d rows, %v", listed[0][1], len(rows), err)
	}
}

// holdRecording puts a recording of the embedded store at path on legal hold, as the API does.
func holdRecording(t *testing.T, path, accountID, id string) {
	t.Helper()
	ctx := context.Background()
	s, err := embedded.Open(path, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	doc, err := s.Get(ctx, accountID, id)
	if err != nil {
		t.Fatal(err)
	}
	doc[recording.HoldField] = map[string]any{"reason": "subpoena", "held_at": 63900000000, "held_by": accountID}
	if _, err := s.Save(ctx, accountID, doc); err != nil {
		t.Fatal(err)
	}
}

// serve with recordings.retention.enabled sweeps in the background and counts what it
// purged in /metrics.
func TestServeRunsTheSweeper(t *testing.T) {
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--config", "../../config/recordings.example.yaml", "--demo"}, envOf(map[string]string{
			"RECORDINGS_HTTP_LISTEN":                              "127.0.0.1:0",
			"RECORDINGS_STORE_EMBEDDED_PATH":                      filepath.Join(t.TempDir(), "recordings.db"),
			"RECORDINGS_LOG_LEVEL":                                "warn",
			"RECORDINGS_RECORDINGS_RETENTION_ENABLED":             "true",
			"RECORDINGS_RECORDINGS_RETENTION_PURGE_DELETED_AFTER": "0s",
		}), pw, io.Discard)
		pw.Close()
	}()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("run did not stop")
		}
	}()
	// The demo prints its introduction; the line naming the address comes first among them.
	lines := bufio.NewReader(pr)
	var base string
	for base == "" {
		line, err := lines.ReadString('\n')
		if err != nil {
			t.Fatalf("no startup line: %v", err)
		}
		if i := strings.Index(line, "listening on http://"); i >= 0 {
			base = strings.Fields(line[i+len("listening on "):])[0]
		}
	}
	go io.Copy(io.Discard, lines)

	purged := regexp.MustCompile(`(?m)^recordingsd_retention_purged_total\{reason="deleted"\} ([0-9]+)$`)
	completed := regexp.MustCompile(`(?m)^recordingsd_retention_sweeps_total\{result="completed"\} 1$`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := purged.FindSubmatch(body)
		if m != nil && completed.Match(body) {
			if string(m[1]) == "0" {
				t.Fatalf("the sweep purged nothing:\n%s", body)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no completed sweep in /metrics after 30s:\n%s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
