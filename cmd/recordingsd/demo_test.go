package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// `make run` on a fresh machine: the demo seeds an empty embedded store and prints curl
// commands that work as pasted.
func TestDemoCommandsWorkAsPasted(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	dir := t.TempDir()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--config", "../../config/recordings.example.yaml", "--demo"}, envOf(map[string]string{
			"RECORDINGS_HTTP_LISTEN":         "127.0.0.1:0",
			"RECORDINGS_STORE_EMBEDDED_PATH": filepath.Join(dir, "data", "recordings.db"),
			"RECORDINGS_LOG_LEVEL":           "warn",
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

	found := make(chan []string, 1)
	go func() {
		var commands []string
		lines := bufio.NewScanner(pr)
		for lines.Scan() {
			line := strings.TrimSpace(lines.Text())
			if strings.HasPrefix(line, "export TOKEN=") || strings.HasPrefix(line, "curl ") {
				commands = append(commands, line)
			}
			if len(commands) == 3 {
				break
			}
		}
		found <- commands
		_, _ = io.Copy(io.Discard, pr)
	}()
	var commands []string
	select {
	case commands = <-found:
	case <-time.After(60 * time.Second):
		t.Fatal("the demo printed no curl commands within a minute")
	}
	if len(commands) != 3 || !strings.HasPrefix(commands[0], "export TOKEN=") {
		t.Fatalf("printed commands: %q, want the token, a listing and a download", commands)
	}
	export := commands[0]
	commands = commands[1:]
	if strings.Count(export, ".") != 2 {
		t.Errorf("the demo token is not a JWT: %s", export)
	}

	out, err := shell(dir, export+"\n"+commands[0])
	if err != nil {
		t.Fatalf("%s: %v", commands[0], err)
	}
	var env struct {
		Status string           `json:"status"`
		Data   []map[string]any `json:"data"`
	}
	if err := json.Unmarshal(out, &env); err != nil || env.Status != "success" || len(env.Data) == 0 {
		t.Fatalf("listing as pasted: %v %s", err, out)
	}

	if _, err := shell(dir, export+"\n"+commands[1]); err != nil {
		t.Fatalf("%s: %v", commands[1], err)
	}
	audio, err := os.ReadFile(filepath.Join(dir, "recording.mp3"))
	if err != nil {
		t.Fatal(err)
	}
	isMP3 := len(audio) > 3 && (string(audio[:3]) == "ID3" || audio[0] == 0xff && audio[1]&0xe0 == 0xe0)
	if len(audio) < 5000 || !isMP3 {
		t.Fatalf("downloaded %d bytes, MP3: %v", len(audio), isMP3)
	}
}

func shell(dir, command string) ([]byte, error) {
	cmd := exec.Command("sh", "-c", command)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%w: %s", err, stderr.String())
	}
	return out, nil
}
