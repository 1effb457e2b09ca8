package embedded_test

import (
	"path/filepath"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/store/embedded"
	"github.com/recordingsd/recordingsd/pkg/store/storetest"
)

// TestContract holds the embedded store to the contract the CouchDB backend passes, each
// case in a file of its own.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Backend { return openStore(t) })
	storetest.RunPurger(t, func(t *testing.T) storetest.PurgeBackend { return openStore(t) })
}

func openStore(t *testing.T) *embedded.Store {
	s, err := embedded.Open(filepath.Join(t.TempDir(), "recordings.db"), embedded.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}
