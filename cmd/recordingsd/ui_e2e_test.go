package main

import (
	"bufio"
	"context"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The admins' page at /ui/ in a real browser: the service in demo mode on a fresh embedded
// store, and testenv/e2e/ui.e2e.mjs driving Debian's headless Chromium with playwright-core
// through sign-in, listing, filters, paging, playback with seeking, download, bulk soft
// delete, restore and delete. Screenshots of each state go to testenv/e2e/out (or
// $RECORDINGS_E2E_OUT, or the test's artifact directory under `go test -artifacts`).
//
// `make test` installs Chromium (apt, as root) and playwright-core (npm ci) first; the test
// skips only where no Chromium can be found, and fails when playwright-core is missing under
// RECORDINGS_TEST_REQUIRE_COUCHDB=1 (that is, in `make test`).
func TestUIEndToEndInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end browser test skipped in -short mode")
	}
	chromium := findChromium()
	if chromium == "" {
		t.Skip("!!! SKIPPING the browser test of /ui/: no Chromium found (install Debian's `chromium`, " +
			"or set RECORDINGS_E2E_CHROMIUM); the admins' page is NOT tested in this run !!!")
	}
	require := os.Getenv("RECORDINGS_TEST_REQUIRE_COUCHDB") == "1"
	node, err := exec.LookPath("node")
	if err != nil {
		if require {
			t.Fatalf("node is needed for the browser test of /ui/: %v", err)
		}
		t.Skip("node is not installed: the browser test of /ui/ is skipped")
	}
	e2eDir, err := filepath.Abs(filepath.Join("..", "..", "testenv", "e2e"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(e2eDir, "node_modules", "playwright-core", "package.json")); err != nil {
		if require {
			t.Fatalf("playwright-core is not installed in testenv/e2e (`make testdeps` runs npm ci there): %v", err)
		}
		t.Skip("playwright-core is not installed in testenv/e2e: run `make testdeps` (the browser test of /ui/ is skipped)")
	}
	outDir := os.Getenv("RECORDINGS_E2E_OUT")
	if f := flag.Lookup("test.artifacts"); f != nil && f.Value.String() == "true" {
		outDir = t.ArtifactDir()
	}
	if outDir == "" {
		outDir = filepath.Join(e2eDir, "out")
	}
	if outDir, err = filepath.Abs(outDir); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(outDir); err != nil {
		t.Fatal(err)
	}

	base := startDemoService(t)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "ui.e2e.mjs")
	cmd.Dir = e2eDir
	cmd.Env = append(os.Environ(), "BASE_URL="+base, "CHROMIUM="+chromium, "OUT_DIR="+outDir)
	cmd.WaitDelay = 5 * time.Second
	started := time.Now()
	out, err := cmd.CombinedOutput()
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if strings.Contains(line, "unexpected operator") { // noise of Debian's chromium wrapper script
			continue
		}
		t.Log(line)
	}
	if ctx.Err() != nil {
		t.Fatalf("the browser test did not finish within %s", 90*time.Second)
	}
	if err != nil {
		t.Fatalf("the browser test failed (%v); screenshots, failure.png included, in %s", err, outDir)
	}
	t.Logf("browser test passed in %s; screenshots in %s", time.Since(started).Round(time.Millisecond), outDir)
}

// findChromium returns $RECORDINGS_E2E_CHROMIUM or the first Chromium on the PATH.
func findChromium() string {
	if p := os.Getenv("RECORDINGS_E2E_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// startDemoService runs `recordingsd serve --demo` on a fresh embedded store and a free port
// until the test ends, and returns its base URL.
func startDemoService(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--config", "../../config/recordings.example.yaml", "--demo"}, envOf(map[string]string{
			"RECORDINGS_HTTP_LISTEN":         "127.0.0.1:0",
			"RECORDINGS_STORE_EMBEDDED_PATH": filepath.Join(dir, "recordings.db"),
			"RECORDINGS_LOG_LEVEL":           "warn",
		}), pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("the service did not stop")
		}
	})

	found := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(pr)
		for lines.Scan() {
			const prefix = "recordingsd listening on "
			if line := lines.Text(); strings.HasPrefix(line, prefix) {
				found <- strings.Fields(strings.TrimPrefix(line, prefix))[0]
				break
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	select {
	case base := <-found:
		return base
	case err := <-done:
		done <- err // for the cleanup
		t.Fatalf("the service stopped before listening: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("the service did not start within a minute")
	}
	return ""
}

// The page's listing logic (slices, paging, merged number search) in node's test runner,
// against an in-memory fake of the API: no browser needed.
func TestUIListingLogicInNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("RECORDINGS_TEST_REQUIRE_COUCHDB") == "1" {
			t.Fatalf("node is needed for the tests of the page's scripts: %v", err)
		}
		t.Skip("node is not installed: the tests of the page's scripts are skipped")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "api.test.mjs")
	cmd.Dir = filepath.Join("..", "..", "testenv", "e2e")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test api.test.mjs: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
