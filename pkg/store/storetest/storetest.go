// Package storetest is the contract every recording store backend passes: the behaviour of
// recording.Store and recording.Loader, case by case, as the CouchDB backend shows it
// against a real server. A backend's test calls Run with a function that opens a store:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Backend { return openMyStore(t) })
//	}
//
// Every case writes into accounts of its own (fresh random ids), and into the shared system
// databases (system_auth, system_config) only under document ids of its own, so backends
// sharing one server, such as CouchDB, run the cases in parallel without seeing each
// other's data.
package storetest

import (
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Backend is a store under test: what the API reads through and what the seed writes with,
// and the same for authentication data.
type Backend interface {
	recording.Store
	recording.Loader
	recording.AuthStore
	recording.AuthLoader
}

// PouchDBServer is implemented by a Backend under test that runs on pouchdb-server rather
// than CouchDB. The two differ in a few answers the service never depends on; there the
// cases check CouchDB's answer only when OnPouchDB is false. A test-harness concession, not
// a behaviour of any store.
type PouchDBServer interface {
	OnPouchDB() bool
}

func onPouchDB(s any) bool {
	p, ok := s.(PouchDBServer)
	return ok && p.OnPouchDB()
}

// ClusterServer is implemented by a Backend under test that talks to a CouchDB cluster. A
// view there is read from one copy of each shard, which may lag a write that the write
// quorum already took by a few milliseconds: view reads right after a write are retried
// (settle) until they agree, as a client of a cluster sees them.
type ClusterServer interface {
	OnCluster() bool
}

func onCluster(s any) bool {
	c, ok := s.(ClusterServer)
	return ok && c.OnCluster()
}

// settleTime bounds how long a cluster's view copies may take to agree.
const settleTime = 5 * time.Second

// settle runs check, and on a cluster runs it again until it passes or settleTime is over.
func settle(t *testing.T, s any, check func() error) {
	t.Helper()
	deadline := time.Now().Add(settleTime)
	for {
		err := check()
		if err == nil {
			return
		}
		if !onCluster(s) || time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Run runs every case of the contract, each in parallel and with a store from open, which
// should register its own cleanup.
func Run(t *testing.T, open func(t *testing.T) Backend) {
	cases := []struct {
		name string
		run  func(t *testing.T, s Backend)
	}{
		{"AccountsAndUsers", testAccountsAndUsers},
		{"MonthExists", testMonthExists},
		{"ScanIndexRule", testScanIndexRule},
		{"ScanOrderAndPaging", testScanOrderAndPaging},
		{"ScanFollowsEveryWrite", testScanFollowsEveryWrite},
		{"ScanMissingMonthAndBadLimit", testScanMissingMonthAndBadLimit},
		{"ScanPastManySoftDeleted", testScanPastManySoftDeleted},
		{"GetSaveDelete", testGetSaveDelete},
		{"Revisions", testRevisions},
		{"SaveSpecialMembers", testSaveSpecialMembers},
		{"NumbersStayExact", testNumbersStayExact},
		{"GetMany", testGetMany},
		{"SaveMany", testSaveMany},
		{"AttachmentRoundTrip", testAttachmentRoundTrip},
		{"AttachmentRevisions", testAttachmentRevisions},
		{"AttachmentsFollowTheDocument", testAttachmentsFollowTheDocument},
		{"Ping", testPing},
		{"SystemDocs", testSystemDocs},
		{"SystemAttachments", testSystemAttachments},
		{"AccountDocs", testAccountDocs},
		{"UsersByCredentials", testUsersByCredentials},
		{"UsersByCredentialsFollowWrites", testUsersByCredentialsFollowWrites},
		{"StateDocs", testStateDocs},
		{"OwnAccountDocs", testOwnAccountDocs},
		{"FollowChanges", testFollowChanges},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, open(t))
		})
	}
}
