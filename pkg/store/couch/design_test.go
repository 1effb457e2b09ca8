package couch

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/recordingsd/recordingsd/couchviews"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
)

// seedMonthWithoutDesign writes recordings the way Kazoo would: a month database with
// documents and no _design/recordingsd.
func seedMonthWithoutDesign(t *testing.T, s *Store, account string, n int) string {
	t.Helper()
	ctx := testContext(t)
	dbName := recording.MonthDBName(account, testMonth)
	if err := s.client.CreateDB(ctx, dbName); err != nil {
		t.Fatalf("create %s: %v", dbName, err)
	}
	for i := range n {
		d := recordingDoc(newRecordingID(testMonth), created(testMonth, int64(i)), nil)
		if _, err := s.client.DB(dbName).Put(ctx, d.ID(), d); err != nil {
			t.Fatalf("put: %v", err)
		}
	}
	return dbName
}

func installedDesign(t *testing.T, s *Store, dbName string) recording.Doc {
	t.Helper()
	doc, err := s.readDoc(testContext(t), dbName, couchviews.DesignID)
	if err != nil {
		t.Fatalf("read design: %v", err)
	}
	return doc
}

// TestDesignInstallRace: two processes meet a month database without our design document
// at the same moment; both install it (one of them gets a 409) and both answer.
func TestDesignInstallRace(t *testing.T) {
	seeder := newTestStore(t)
	account := couchtest.NewAccountID()
	dbName := seedMonthWithoutDesign(t, seeder, account, 3)

	stores := []*Store{newTestStore(t), newTestStore(t)}
	ctx := testContext(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	counts := make(chan int, 8)
	for i := range 8 {
		wg.Go(func() {
			rows, err := stores[i%2].Scan(ctx, account, testMonth, recording.ScanQuery{From: 0, To: created(testMonth, 100), Limit: 10})
			errs <- err
			counts <- len(rows)
		})
	}
	wg.Wait()
	close(errs)
	close(counts)
	for err := range errs {
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
	}
	for n := range counts {
		if n != 3 {
			t.Fatalf("Scan returned %d rows, want 3", n)
		}
	}
	if !couchviews.IsCurrent(installedDesign(t, seeder, dbName)) {
		t.Fatal("installed design document is not current")
	}
}

// TestDesignUpgrade: an older _design/recordingsd (lower version) is replaced; a newer one is kept.
func TestDesignUpgrade(t *testing.T) {
	seeder := newTestStore(t)
	ctx := testContext(t)
	account := couchtest.NewAccountID()
	dbName := seedMonthWithoutDesign(t, seeder, account, 2)

	version, _ := couchviews.RecordingsDesignVersion()
	old := map[string]any{
		"language":    "javascript",
		"recordingsd": map[string]any{"version": version - 1},
		"views": map[string]any{
			couchviews.ViewListing: map[string]any{"map": "function (doc) {}"},
		},
	}
	if _, err := seeder.client.DB(dbName).Put(ctx, couchviews.DesignID, old); err != nil {
		t.Fatal(err)
	}
	s := newTestStore(t)
	rows, err := s.Scan(ctx, account, testMonth, recording.ScanQuery{From: 0, To: created(testMonth, 100), Limit: 10})
	if err != nil || len(rows) != 2 {
		t.Fatalf("Scan over an outdated design: %d rows, err %v", len(rows), err)
	}
	installed := installedDesign(t, s, dbName)
	if !couchviews.IsCurrent(installed) {
		t.Fatalf("design not upgraded: %v", installed["recordingsd"])
	}

	// A newer process installed version+1: we must not downgrade it.
	newer := installed.Clone()
	newer["recordingsd"] = map[string]any{"version": json.Number(jsonInt(version + 1))}
	if _, err := s.client.DB(dbName).Put(ctx, couchviews.DesignID, newer); err != nil {
		t.Fatal(err)
	}
	fresh := newTestStore(t)
	if _, err := fresh.Scan(ctx, account, testMonth, recording.ScanQuery{From: 0, To: created(testMonth, 100), Limit: 10}); err != nil {
		t.Fatalf("Scan over a newer design: %v", err)
	}
	v := installedDesign(t, s, dbName)["recordingsd"].(map[string]any)["version"]
	if v != json.Number(jsonInt(version+1)) {
		t.Fatalf("newer design was replaced: version %v", v)
	}
}

// TestDesignRemovedUnderUs: the view disappears after this process installed it (someone
// deleted the design document); the next Scan reinstalls it and answers.
func TestDesignRemovedUnderUs(t *testing.T) {
	s := newTestStore(t)
	ctx := testContext(t)
	account := couchtest.NewAccountID()
	mustPutRecording(t, s, account, recordingDoc(newRecordingID(testMonth), created(testMonth, 1), nil))
	dbName := recording.MonthDBName(account, testMonth)
	q := recording.ScanQuery{From: 0, To: created(testMonth, 100), Limit: 10}
	settle(t, func() error {
		if rows, err := s.Scan(ctx, account, testMonth, q); err != nil || len(rows) != 1 {
			return fmt.Errorf("Scan: %d rows, %v", len(rows), err)
		}
		return nil
	})
	design := installedDesign(t, s, dbName)
	if _, err := s.client.DB(dbName).Delete(ctx, couchviews.DesignID, design.Rev()); err != nil {
		t.Fatal(err)
	}
	settle(t, func() error {
		if rows, err := s.Scan(ctx, account, testMonth, q); err != nil || len(rows) != 1 {
			return fmt.Errorf("Scan after the design document was deleted: %d rows, %v", len(rows), err)
		}
		return nil
	})
}
