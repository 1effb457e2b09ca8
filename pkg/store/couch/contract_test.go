package couch_test

import (
	"testing"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/store/couch"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
	"github.com/recordingsd/recordingsd/pkg/store/storetest"
)

// TestContract runs the store and purger contracts against the test server; the CouchDB
// backend is the reference the other backends are held to.
func TestContract(t *testing.T) {
	url := couchtest.URL(t)
	onPouchDB, onCluster := couchtest.IsPouchDB(t, url), couchtest.IsCluster(t, url)
	writeQuorum := couchtest.WriteQuorum(t, url)
	open := func(t *testing.T) *contractStore {
		s, err := couch.New(couch.Config{URL: url, WriteQuorum: writeQuorum}, zap.NewNop())
		if err != nil {
			t.Fatalf("couch.New: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return &contractStore{Store: s, pouchdb: onPouchDB, cluster: onCluster}
	}
	storetest.Run(t, func(t *testing.T) storetest.Backend { return open(t) })
	storetest.RunPurger(t, func(t *testing.T) storetest.PurgeBackend { return open(t) })
}

// contractStore tells the contract which server the store talks to
// (storetest.PouchDBServer, storetest.ClusterServer).
type contractStore struct {
	*couch.Store
	pouchdb, cluster bool
}

func (s *contractStore) OnPouchDB() bool { return s.pouchdb }
func (s *contractStore) OnCluster() bool { return s.cluster }
