package couch

import (
	"testing"

	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
)

// TestMonthExistsAcrossStores: a month database one store created is seen by another store
// on the same server, as by another recordingsd process. (That a store's own answers follow
// its writes is in the contract, storetest.testMonthExists.)
func TestMonthExistsAcrossStores(t *testing.T) {
	s := newTestStore(t)
	ctx := testContext(t)
	account := couchtest.NewAccountID()
	exists, err := s.MonthExists(ctx, account, testMonth)
	if err != nil || exists {
		t.Fatalf("MonthExists: %v, %v; want false", exists, err)
	}
	mustPutRecording(t, s, account, recordingDoc(newRecordingID(testMonth), created(testMonth, 5), nil))
	exists, err = newTestStore(t).MonthExists(ctx, account, testMonth)
	if err != nil || !exists {
		t.Fatalf("MonthExists from a fresh store: %v, %v; want true", exists, err)
	}
}
