package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/audit"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/embedded"
)

// `recordingsd audit verify` prints a line per month of an account's trail and fails,
// naming the month and seq, when a chain is broken.
func TestAuditVerifyCommand(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "recordings.db")
	acct := "0123456789abcdef0123456789abcdef"
	jan, feb := time.Date(2024, 1, 10, 9, 0, 0, 0, time.UTC), time.Date(2024, 2, 10, 9, 0, 0, 0, time.UTC)
	withStore := func(do func(s *embedded.Store)) {
		t.Helper()
		s, err := embedded.Open(path, embedded.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		do(s)
	}
	withStore(func(s *embedded.Store) {
		trail := audit.New(s, audit.Config{}, zap.NewNop(), nil)
		for n, at := range []time.Time{jan, jan.Add(time.Minute), jan.Add(2 * time.Minute), feb} {
			trail.Record(audit.Entry{At: at, AccountID: acct, Actor: audit.Actor{Credential: "static"}, Action: audit.AudioRead,
				RecordingID: "202401-0000000000000000000000000000000a", Status: 200, RequestID: fmt.Sprint("req-", n)})
		}
		if err := trail.Close(ctx); err != nil {
			t.Fatal(err)
		}
	})
	env := envOf(map[string]string{"RECORDINGS_STORE_EMBEDDED_PATH": path, "RECORDINGS_LOG_LEVEL": "warn"})
	verify := func(args ...string) (string, error) {
		var out bytes.Buffer
		args = append([]string{"audit", "verify", "--config", "../../config/recordings.example.yaml"}, args...)
		err := run(ctx, args, env, &out, io.Discard)
		return out.String(), err
	}

	out, err := verify("--account", acct)
	want := "202401 recordingsd_audit_" + acct + "_202401: 3 entries, OK\n" +
		"202402 recordingsd_audit_" + acct + "_202402: 1 entry, OK\n"
	if err != nil || out != want {
		t.Fatalf("verify: %v\n%s\nwant\n%s", err, out, want)
	}
	if out, err := verify("--account", acct, "--month", "202402"); err != nil || out != want[strings.Index(want, "\n")+1:] {
		t.Fatalf("verify --month 202402: %v\n%s", err, out)
	}
	other := "fedcba9876543210fedcba9876543210"
	if out, err := verify("--account", other); err != nil || out != "account "+other+" has no access trail\n" {
		t.Fatalf("verify an account without a trail: %v\n%s", err, out)
	}

	withStore(func(s *embedded.Store) { // someone edits January's second entry
		db := audit.ChainDB(acct, recording.Month{Year: 2024, Month: 1})
		res, err := s.GetSystemDocs(ctx, db, []string{"e000000000002"})
		if err != nil || res[0].Err != nil {
			t.Fatal(err, res[0].Err)
		}
		doc := res[0].Doc
		doc["status"] = 404
		if res, err := s.SaveSystemDocs(ctx, db, []recording.Doc{doc}); err != nil || res[0].Err != nil {
			t.Fatal(err, res[0].Err)
		}
	})
	out, err = verify("--account", acct)
	if err == nil || !strings.Contains(err.Error(), "broken in 1 of 2 months") || !strings.Contains(err.Error(), "202401 at seq 2 (e000000000002)") {
		t.Fatalf("verify a broken chain: error %v, want one naming 202401 and seq 2", err)
	}
	if !strings.Contains(out, "202401 recordingsd_audit_"+acct+"_202401: 3 entries, BROKEN at seq 2 (e000000000002): edited:") ||
		!strings.Contains(out, "202402 recordingsd_audit_"+acct+"_202402: 1 entry, OK") {
		t.Fatalf("verify a broken chain printed\n%s", out)
	}
}

// Mistakes in the command line are said before anything is opened.
func TestAuditCommandUsage(t *testing.T) {
	for _, args := range [][]string{
		{"audit"},
		{"audit", "check"},
		{"audit", "verify", "--account", "ACCOUNT"},
		{"audit", "verify", "--account", "0123456789abcdef0123456789abcdef", "--month", "2024-01"},
	} {
		err := run(context.Background(), args, envOf(nil), io.Discard, io.Discard)
		if err == nil || !(strings.Contains(err.Error(), "usage: recordingsd audit verify") || strings.Contains(err.Error(), "--month")) {
			t.Errorf("recordingsd %s: %v, want the usage or the flag at fault", strings.Join(args, " "), err)
		}
	}
}
