package embedded

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// TestSecondOpenFails: while one Store has the file, another Open of it fails fast with
// an error naming the file, and the first Store carries on unharmed.
func TestSecondOpenFails(t *testing.T) {
	s, path := openTemp(t)
	ctx := testContext(t)
	account := randomHex(16)
	id := newRecordingID(testMonth)
	mustPutRecording(t, s, account, recordingDoc(id, created(testMonth, 1), nil))

	start := time.Now()
	second, err := Open(path, Options{LockTimeout: 300 * time.Millisecond})
	if err == nil {
		_ = second.Close()
		t.Fatal("a second Open of the same file succeeded")
	}
	if want := "store file " + path + " is in use by another process"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q, want it to say %q", err, want)
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Fatalf("the refusal took %v", elapsed)
	}

	if _, err := s.Get(ctx, account, id); err != nil {
		t.Fatalf("the first store after the refused Open: %v", err)
	}
	mustPutRecording(t, s, account, recordingDoc(newRecordingID(testMonth), created(testMonth, 2), nil))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	defer again.Close()
	if _, err := again.Get(ctx, account, id); err != nil {
		t.Fatalf("Get after reopening: %v", err)
	}
}

// lockHolderEnv makes the test binary, started again by TestOpenHeldByAnotherProcess,
// hold the store file named by the variable instead of testing.
const lockHolderEnv = "EMBEDDED_TEST_HOLD_STORE"

// TestOpenHeldByAnotherProcess: another process has the file open (and writes into it);
// Open here fails fast with the clear error, and succeeds with all the data once the other
// process has closed the file.
func TestOpenHeldByAnotherProcess(t *testing.T) {
	if os.Getenv(lockHolderEnv) != "" {
		t.Skip("the lock holder, started by the test itself")
	}
	path := filepath.Join(t.TempDir(), "recordings.db")
	account, id := randomHex(16), newRecordingID(testMonth)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHoldStoreFile$", "-test.count=1")
	cmd.Env = append(os.Environ(), lockHolderEnv+"="+path, "EMBEDDED_TEST_ACCOUNT="+account, "EMBEDDED_TEST_ID="+id)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "HOLDING" {
				ready <- nil
				_, _ = io.Copy(io.Discard, stdout)
				return
			}
		}
		ready <- fmt.Errorf("the lock holder ended without holding the file (%v)", sc.Err())
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the lock holder did not start")
	}

	start := time.Now()
	s, err := Open(path, Options{LockTimeout: 300 * time.Millisecond})
	if err == nil {
		_ = s.Close()
		t.Fatal("Open of a file another process holds succeeded")
	}
	if want := "store file " + path + " is in use by another process"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q, want it to say %q", err, want)
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Fatalf("the refusal took %v", elapsed)
	}

	_ = stdin.Close() // the holder closes the store and exits
	if err := cmd.Wait(); err != nil {
		t.Fatalf("lock holder: %v", err)
	}
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatalf("Open once the other process is gone: %v", err)
	}
	defer s.Close()
	doc, err := s.Get(testContext(t), account, id)
	if err != nil || doc.String("by") != "the other process" {
		t.Fatalf("what the other process wrote: %v, %v", doc, err)
	}
}

// TestHoldStoreFile is the other process of TestOpenHeldByAnotherProcess: it opens the
// store, writes a recording, says HOLDING and keeps the file until its stdin closes.
func TestHoldStoreFile(t *testing.T) {
	path := os.Getenv(lockHolderEnv)
	if path == "" {
		t.Skip("only run by TestOpenHeldByAnotherProcess")
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	id := os.Getenv("EMBEDDED_TEST_ID")
	doc := recording.Doc{"_id": id, "pvt_type": recording.TypeCallRecording, "by": "the other process"}
	if _, err := s.PutRecording(context.Background(), os.Getenv("EMBEDDED_TEST_ACCOUNT"), doc); err != nil {
		t.Fatal(err)
	}
	fmt.Println("HOLDING")
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
