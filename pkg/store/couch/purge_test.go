package couch

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/recordingsd/recordingsd/couchviews"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
)

var purgeEverything = recording.PurgeQuery{
	Deleted:     recording.Cutoff{On: true, Before: 1 << 62},
	SoftDeleted: recording.Cutoff{On: true, Before: 1 << 62},
	Limit:       1000,
}

// TestPurgeViewAgreesWithPurgeKeyOf: for the values a JSON document can hold where a time
// belongs, the JavaScript view and recording.PurgeKeyOf (through recording.AsInt) agree on
// the document as stored: integral floats count, strings, fractions, booleans and numbers
// beyond int64 do not.
func TestPurgeViewAgreesWithPurgeKeyOf(t *testing.T) {
	s := newTestStore(t)
	ctx := testContext(t)
	account := couchtest.NewAccountID()
	times := []any{
		json.Number("5.0"), json.Number("1e3"), json.Number("-3"), json.Number("9007199254740991"),
		json.Number("2.5"), json.Number("1e20"), "7", true, nil, map[string]any{}, []any{json.Number("1")},
	}
	var cases []map[string]any
	for _, v := range times {
		cases = append(cases,
			map[string]any{"pvt_deleted": true, "pvt_modified": v},
			map[string]any{"soft_delete": map[string]any{"deleted_at": v}, "pvt_modified": json.Number("77")},
			map[string]any{"soft_delete": map[string]any{"deleted_at": v}, "pvt_modified": v},
		)
	}
	for _, sd := range []any{[]any{}, false, json.Number("0"), "", map[string]any{"deleted_at": nil}} {
		cases = append(cases, map[string]any{"soft_delete": sd, "pvt_modified": json.Number("88")})
	}
	for _, del := range []any{"TRUE", json.Number("1"), "true ", false} {
		cases = append(cases, map[string]any{"pvt_deleted": del, "pvt_modified": json.Number("99")})
	}
	cases = append(cases, map[string]any{"pvt_deleted": true, "pvt_type": "Call_Recording"})

	stored := map[string]recording.Doc{}
	for i, extra := range cases {
		d := recordingDoc(newRecordingID(testMonth), created(testMonth, int64(i)), extra)
		d["case"] = fmt.Sprintf("%v", extra)
		mustPutRecording(t, s, account, d)
		got, err := s.Get(ctx, account, d.ID())
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		stored[d.ID()] = got
	}
	db := recording.MonthDB{AccountID: account, Month: testMonth}
	candidates, err := s.PurgeCandidates(ctx, db, purgeEverything)
	if err != nil {
		t.Fatalf("PurgeCandidates: %v", err)
	}
	inIndex := map[string]recording.PurgeKey{}
	for _, c := range candidates {
		inIndex[c.Key.ID] = c.Key
	}
	for id, doc := range stored {
		want, ok := recording.PurgeKeyOf(doc)
		got, listed := inIndex[id]
		if ok != listed || got != want {
			t.Errorf("%s: index has %+v (%v), PurgeKeyOf says %+v (%v)", doc["case"], got, listed, want, ok)
		}
	}
}

// TestPurgeDesignInstalledLazily: month databases get _design/recordingsd_retention only when
// the sweeper first reads them, and _design/recordingsd is never touched for it.
func TestPurgeDesignInstalledLazily(t *testing.T) {
	s := newTestStore(t)
	ctx := testContext(t)
	account := couchtest.NewAccountID()
	mustPutRecording(t, s, account, recordingDoc(newRecordingID(testMonth), created(testMonth, 1),
		map[string]any{"pvt_deleted": true, "pvt_modified": json.Number("10")}))
	dbName := recording.MonthDBName(account, testMonth)
	listing := installedDesign(t, s, dbName)
	if _, err := s.Scan(ctx, account, testMonth, recording.ScanQuery{From: 0, To: 1 << 40, Limit: 5}); err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if _, err := s.readDoc(ctx, dbName, couchviews.RetentionDesignID); !isStatus(err, 404) {
		t.Fatalf("retention design before the sweeper read the database: err %v, want 404", err)
	}

	db := recording.MonthDB{AccountID: account, Month: testMonth}
	if cs, err := s.PurgeCandidates(ctx, db, purgeEverything); err != nil || len(cs) != 1 {
		t.Fatalf("PurgeCandidates: %d, %v", len(cs), err)
	}
	retention, err := s.readDoc(ctx, dbName, couchviews.RetentionDesignID)
	if err != nil || !couchviews.Retention.IsCurrent(retention) {
		t.Fatalf("retention design after the sweeper's read: %v, err %v", retention, err)
	}
	if again := installedDesign(t, s, dbName); again.Rev() != listing.Rev() {
		t.Fatalf("_design/recordingsd changed: %s, was %s", again.Rev(), listing.Rev())
	}

	// Someone deletes the design document: the next read installs it again.
	if _, err := s.client.DB(dbName).Delete(ctx, couchviews.RetentionDesignID, retention.Rev()); err != nil {
		t.Fatal(err)
	}
	if cs, err := s.PurgeCandidates(ctx, db, purgeEverything); err != nil || len(cs) != 1 {
		t.Fatalf("PurgeCandidates after the design document was deleted: %d, %v", len(cs), err)
	}
}

// TestPurgeMonthDeletedUnderUs: a month database this process knew exists is dropped; the
// next read finds no candidates rather than an error.
func TestPurgeMonthDeletedUnderUs(t *testing.T) {
	s := newTestStore(t)
	ctx := testContext(t)
	account := couchtest.NewAccountID()
	mustPutRecording(t, s, account, recordingDoc(newRecordingID(testMonth), created(testMonth, 1),
		map[string]any{"pvt_deleted": true}))
	db := recording.MonthDB{AccountID: account, Month: testMonth}
	if cs, err := s.PurgeCandidates(ctx, db, purgeEverything); err != nil || len(cs) != 1 {
		t.Fatalf("PurgeCandidates: %d, %v", len(cs), err)
	}
	if err := s.client.DestroyDB(ctx, db.Name()); err != nil {
		t.Fatal(err)
	}
	settle(t, func() error {
		if cs, err := s.PurgeCandidates(ctx, db, purgeEverything); err != nil || len(cs) != 0 {
			return fmt.Errorf("PurgeCandidates after the database was dropped: %d, %v", len(cs), err)
		}
		return nil
	})
}
