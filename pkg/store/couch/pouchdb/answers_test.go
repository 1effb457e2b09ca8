package pouchdb

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// GET / counts only when its uuid is the one in our config.json: another server that took
// the port is not mistaken for ours.
func TestAnswersOnlyWithOurUUID(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"couchdb":"Welcome","uuid":"theirs"}`))
	}))
	defer other.Close()
	port, err := strconv.Atoi(other.URL[strings.LastIndex(other.URL, ":")+1:])
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{dir: t.TempDir(), port: port, client: other.Client()}

	if s.answers(t.Context()) {
		t.Error("answers() without a config.json")
	}
	writeConfig(t, s.dir, "ours")
	if s.answers(t.Context()) {
		t.Error("answers() with another server's uuid")
	}
	writeConfig(t, s.dir, "theirs")
	if !s.answers(t.Context()) {
		t.Error("answers() = false with the matching uuid")
	}
}

func writeConfig(t *testing.T, dir, uuid string) {
	t.Helper()
	data := `{"couchdb":{"uuid":"` + uuid + `"}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
