package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

func stateDocsOf(t *testing.T, s Backend) recording.StateDocs {
	t.Helper()
	sd, ok := any(s).(recording.StateDocs)
	if !ok {
		t.Fatalf("%T does not implement recording.StateDocs", s)
	}
	return sd
}

func changeFeedOf(t *testing.T, s Backend) recording.ChangeFeed {
	t.Helper()
	cf, ok := any(s).(recording.ChangeFeed)
	if !ok {
		t.Fatalf("%T does not implement recording.ChangeFeed", s)
	}
	return cf
}

// testStateDocs: batch reads and writes of system documents, each with its own outcome, and
// listing by id range.
func testStateDocs(t *testing.T, s Backend) {
	ctx := testContext(t)
	sd := stateDocsOf(t, s)
	db := newSystemDBName()

	// A missing database: nothing to read or list.
	res, err := sd.GetSystemDocs(ctx, db, []string{"a"})
	if err != nil || len(res) != 1 || res[0].ID != "a" {
		t.Fatalf("GetSystemDocs in a missing database: %+v, %v", res, err)
	}
	wantCode(t, "GetSystemDocs in a missing database", res[0].Err, recording.ENotFound)
	if docs, err := sd.SystemDocRange(ctx, db, "", "", 10); err != nil || len(docs) != 0 {
		t.Fatalf("SystemDocRange of a missing database: %v, %v", docs, err)
	}

	// Create several at once; the database comes with the first write.
	ids := []string{"log:0003", "log:0001", "snap:x", "log:0002", "log:0010"}
	var docs []recording.Doc
	for i, id := range ids {
		docs = append(docs, recording.Doc{"_id": id, "n": jsonInt(int64(i))})
	}
	res, err = sd.SaveSystemDocs(ctx, db, docs)
	if err != nil || len(res) != len(ids) {
		t.Fatalf("SaveSystemDocs: %+v, %v", res, err)
	}
	revs := map[string]string{}
	for i, r := range res {
		if r.Err != nil || r.ID != ids[i] {
			t.Fatalf("SaveSystemDocs result %d: %+v", i, r)
		}
		wantGeneration(t, "SaveSystemDocs "+r.ID, r.Rev, 1)
		revs[r.ID] = r.Rev
	}

	// Each result is its own: a stale revision and a create over a live document conflict,
	// the others land.
	res, err = sd.SaveSystemDocs(ctx, db, []recording.Doc{
		{"_id": "log:0001", "_rev": revs["log:0001"], "n": jsonInt(100)},
		{"_id": "log:0002", "n": jsonInt(200)},                                      // no _rev: exists
		{"_id": "log:0003", "_rev": "1-00000000000000000000000000000000", "n": 300}, // stale
		{"_id": "log:0004", "n": jsonInt(400)},
	})
	if err != nil || len(res) != 4 {
		t.Fatalf("SaveSystemDocs, mixed: %+v, %v", res, err)
	}
	if res[0].Err != nil {
		t.Fatalf("update at the current revision: %v", res[0].Err)
	}
	wantGeneration(t, "update", res[0].Rev, 2)
	wantCode(t, "create over a live document", res[1].Err, recording.EConflict)
	wantCode(t, "update at a stale revision", res[2].Err, recording.EConflict)
	if res[3].Err != nil {
		t.Fatalf("create beside conflicts: %v", res[3].Err)
	}
	revs["log:0001"], revs["log:0004"] = res[0].Rev, res[3].Rev

	// Batch reads follow the ids asked, missing ones included.
	res, err = sd.GetSystemDocs(ctx, db, []string{"log:0004", "nope", "log:0001", "_design/x"})
	if err != nil || len(res) != 4 {
		t.Fatalf("GetSystemDocs: %+v, %v", res, err)
	}
	if res[0].Err != nil || res[0].Doc["n"] != jsonInt(400) || res[0].Doc.Rev() != revs["log:0004"] {
		t.Fatalf("GetSystemDocs log:0004: %+v", res[0])
	}
	wantCode(t, "GetSystemDocs of a missing id", res[1].Err, recording.ENotFound)
	if res[2].Err != nil || res[2].Doc["n"] != jsonInt(100) || res[2].ID != "log:0001" {
		t.Fatalf("GetSystemDocs log:0001: %+v", res[2])
	}
	wantCode(t, "GetSystemDocs of a design document", res[3].Err, recording.ENotFound)

	// Ranges are exclusive at both ends, in id order, bounded by limit.
	rangeIDs := func(after, before string, limit int) string {
		t.Helper()
		docs, err := sd.SystemDocRange(ctx, db, after, before, limit)
		if err != nil {
			t.Fatalf("SystemDocRange(%q, %q, %d): %v", after, before, limit, err)
		}
		var out []string
		for _, d := range docs {
			out = append(out, d.ID())
			if d.Rev() == "" {
				t.Fatalf("SystemDocRange: %s without _rev", d.ID())
			}
		}
		return strings.Join(out, ",")
	}
	for _, c := range []struct {
		after, before string
		limit         int
		want          string
	}{
		{"", "", 10, "log:0001,log:0002,log:0003,log:0004,log:0010,snap:x"},
		{"log:", "log;", 10, "log:0001,log:0002,log:0003,log:0004,log:0010"},
		{"log:0002", "log;", 10, "log:0003,log:0004,log:0010"},
		{"log:0002", "log:0010", 10, "log:0003,log:0004"},
		{"log:", "log;", 2, "log:0001,log:0002"},
		{"log:0010", "log;", 10, ""},
		{"snap:", "", 10, "snap:x"},
	} {
		if got := rangeIDs(c.after, c.before, c.limit); got != c.want {
			t.Errorf("SystemDocRange(%q, %q, %d) = %s, want %s", c.after, c.before, c.limit, got, c.want)
		}
	}

	// Removal: _deleted at the current revision; stale removals conflict.
	res, err = sd.SaveSystemDocs(ctx, db, []recording.Doc{
		{"_id": "log:0001", "_rev": revs["log:0001"], "_deleted": true},
		{"_id": "log:0002", "_rev": "1-00000000000000000000000000000000", "_deleted": true},
	})
	if err != nil || len(res) != 2 || res[0].Err != nil {
		t.Fatalf("removal: %+v, %v", res, err)
	}
	wantCode(t, "removal at a stale revision", res[1].Err, recording.EConflict)
	res, _ = sd.GetSystemDocs(ctx, db, []string{"log:0001"})
	wantCode(t, "GetSystemDocs of a removed document", res[0].Err, recording.ENotFound)
	if got := rangeIDs("log:", "log;", 10); got != "log:0002,log:0003,log:0004,log:0010" {
		t.Errorf("range after a removal: %s", got)
	}
	// A removed document can be created again.
	res, err = sd.SaveSystemDocs(ctx, db, []recording.Doc{{"_id": "log:0001", "n": jsonInt(1)}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("create after removal: %+v, %v", res, err)
	}

	// Names are checked as for every system database: a bad database name refuses the whole
	// write, a reserved id refuses that document only.
	_, err = sd.SaveSystemDocs(ctx, "Not A DB", []recording.Doc{{"_id": "x"}})
	wantCode(t, "SaveSystemDocs into a database that is not a valid name", err, recording.EInvalid)
	res, err = sd.SaveSystemDocs(ctx, db, []recording.Doc{{"_id": "_design/x"}, {"_id": "ok"}})
	if err != nil || len(res) != 2 || res[1].Err != nil {
		t.Fatalf("SaveSystemDocs with a reserved id beside a good one: %+v, %v", res, err)
	}
	wantCode(t, "SaveSystemDocs of a design document", res[0].Err, recording.EInvalid)
	res, err = sd.GetSystemDocs(ctx, "Not A DB", []string{"x"})
	if err != nil || len(res) != 1 {
		t.Fatalf("GetSystemDocs from a database that is not a valid name: %+v, %v", res, err)
	}
	wantCode(t, "GetSystemDocs from a database that is not a valid name", res[0].Err, recording.ENotFound)
}

// testFollowChanges: writes made after the feed's first start come out of it, Kazoo's
// (straight into the database) and the service's alike, hard deletes included; other
// documents and earlier writes do not; a restart resumes after the last batch handled, and
// a batch whose handler failed comes again.
func testFollowChanges(t *testing.T, s Backend) {
	if onPouchDB(s) {
		t.Skip("pouchdb-server cannot carry the CouchDB feed: /_db_updates answers 400, and a _changes " +
			"request with filter=_selector crashes the server; run it against CouchDB (make test-couchdb)")
	}
	ctx := testContext(t)
	cf := changeFeedOf(t, s)
	db := newSystemDBName()
	account := NewAccountID()
	now := recording.ToGregorian(time.Now())
	month := recording.MonthOf(time.Now().UTC())
	modified := func(g int64) map[string]any { return map[string]any{"pvt_modified": jsonInt(g)} }

	// Written long before the feed's first start: never delivered.
	old := recordingDoc(newRecordingID(month), now-86400, modified(now-86400))
	mustPutRecording(t, s, account, old)

	// A write racing the very first start may or may not count: CouchDB's _db_updates lags
	// writes by up to half a second.
	time.Sleep(1500 * time.Millisecond)
	f := Follow(t, cf, db, "contract", account, nil)
	time.Sleep(500 * time.Millisecond)

	// Kazoo's way: the document, then its audio as an attachment (a second revision).
	kazoo := recordingDoc(newRecordingID(month), now, modified(recording.ToGregorian(time.Now())))
	kazooRev1 := mustPutRecording(t, s, account, kazoo)
	kazooRev2, err := s.PutAttachment(ctx, account, kazoo.ID(), kazooRev1, "call.mp3", "audio/mpeg", strings.NewReader("ID3 audio"))
	if err != nil {
		t.Fatal(err)
	}
	// The service's way: an update, and a hard delete.
	ours := recordingDoc(newRecordingID(month), now, modified(recording.ToGregorian(time.Now())))
	oursRev1 := mustPutRecording(t, s, account, ours)
	ours["_rev"] = oursRev1
	ours["soft_delete"] = map[string]any{"deleted_at": jsonInt(now)}
	oursRev2, err := s.Save(ctx, account, ours)
	if err != nil {
		t.Fatal(err)
	}
	gone := recordingDoc(newRecordingID(month), now, modified(recording.ToGregorian(time.Now())))
	goneRev1 := mustPutRecording(t, s, account, gone)
	if err := s.Delete(ctx, account, gone.ID(), goneRev1); err != nil {
		t.Fatal(err)
	}
	// The retention sweeper's purge: its tombstone says why.
	purger, ok := any(s).(recording.Purger)
	if !ok {
		t.Fatalf("%T has no DeleteMany", s)
	}
	purged := recordingDoc(newRecordingID(month), now, modified(recording.ToGregorian(time.Now())))
	purgedRev1 := mustPutRecording(t, s, account, purged)
	if res, err := purger.DeleteMany(ctx, recording.MonthDB{AccountID: account, Month: month},
		[]recording.DocRef{{ID: purged.ID(), Rev: purgedRev1}}); err != nil || res[0].Err != nil {
		t.Fatal(res, err)
	}
	// Another type of document in a month database (Kazoo keeps CDRs there): never delivered.
	cdr := recordingDoc(newRecordingID(month), now, map[string]any{"pvt_type": "cdr", "pvt_modified": jsonInt(now)})
	mustPutRecording(t, s, account, cdr)
	// A month database that did not exist at the start.
	earlier := month.Prev().Prev()
	// (its pvt_modified is a day old, as an import or a late upload writes: the database is new, so
	// everything in it is)
	fresh := recordingDoc(newRecordingID(earlier), now-86400, modified(now-86400))
	freshRev := mustPutRecording(t, s, account, fresh)

	f.WaitFor("Kazoo's recording with its audio", AtRev(kazoo.ID(), kazooRev2, false))
	f.WaitFor("the service's update", AtRev(ours.ID(), oursRev2, false))
	f.WaitFor("the hard delete", func(seen map[string]recording.Change) error {
		c, ok := seen[gone.ID()]
		if !ok || !c.Deleted || generation(t, c.Rev) != 2 {
			return fmt.Errorf("%s: %+v, want deleted at generation 2", gone.ID(), c)
		}
		for k := range c.Doc {
			if !strings.HasPrefix(k, "_") {
				return fmt.Errorf("%s: tombstone %v kept the body's %s", gone.ID(), c.Doc, k)
			}
		}
		return nil
	})
	f.WaitFor("the purge, saying why", func(seen map[string]recording.Change) error {
		c, ok := seen[purged.ID()]
		if !ok || !c.Deleted || c.Doc[recording.DeletedBy] != recording.DeletedByRetention || c.Doc["caller_id_number"] != nil {
			return fmt.Errorf("%s: %+v, want deleted with only %s: %s", purged.ID(), c, recording.DeletedBy, recording.DeletedByRetention)
		}
		return nil
	})
	f.WaitFor("the recording in a new month database", AtRev(fresh.ID(), freshRev, false))

	seen := f.Latest()
	for id, c := range seen {
		if !c.Deleted && (c.Doc == nil || c.Doc.ID() != id || c.Doc.Rev() != c.Rev || c.AccountID != account) {
			t.Errorf("change %s: %+v; want the document at its revision, in its account", id, c)
		}
	}
	if c := seen[kazoo.ID()]; c.Doc == nil || len(c.Doc.Attachments()) != 1 || c.Doc.Type() != recording.TypeCallRecording {
		t.Errorf("Kazoo's recording came without its attachment stub: %+v", c.Doc)
	}
	if _, ok := seen[old.ID()]; ok {
		t.Errorf("a recording written a day before the first start was delivered")
	}
	if _, ok := seen[cdr.ID()]; ok {
		t.Errorf("a cdr document was delivered")
	}
	if err := f.Stop(); err != nil {
		t.Fatalf("FollowChanges after its context ended: %v", err)
	}

	// Stopped: a write meanwhile comes out after the restart, and what was handled does not.
	// Its pvt_modified is a day old (as a restored document's may be): a feed that resumes
	// delivers it all the same, while another name's first start below must not, even on
	// CouchDB, which delivers what was modified within a few minutes before a first start.
	laterDoc := recordingDoc(newRecordingID(month), now, modified(now-86400))
	later, laterID := mustPutRecording(t, s, account, laterDoc), laterDoc.ID()
	g := Follow(t, cf, db, "contract", account, nil)
	g.WaitFor("a write made while the feed was stopped", AtRev(laterID, later, false))
	if !onCluster(s) {
		for id := range g.Latest() {
			if id != laterID {
				t.Errorf("after a restart, %s came again though its batch was handled", id)
			}
		}
	}
	if err := g.Stop(); err != nil {
		t.Fatal(err)
	}

	// A handler that fails stops the feed with its error, and its batch comes again.
	boom := errors.New("handler failed")
	failing := recordingDoc(newRecordingID(month), now, modified(now))
	failingRev := mustPutRecording(t, s, account, failing)
	h := Follow(t, cf, db, "contract", account, boom)
	select {
	case err := <-h.done:
		h.done <- err
		if !errors.Is(err, boom) {
			t.Fatalf("FollowChanges after its handler failed: %v, want the handler's error", err)
		}
	case <-time.After(feedWait):
		t.Fatalf("FollowChanges did not stop after its handler failed (seen: %s)", h.Summary())
	}
	again := Follow(t, cf, db, "contract", account, nil)
	again.WaitFor("the batch whose handler failed, again", AtRev(failing.ID(), failingRev, false))
	if err := again.Stop(); err != nil {
		t.Fatal(err)
	}

	// Checkpoints are per name: another name starts at its own present.
	other := Follow(t, cf, db, "another", account, nil)
	time.Sleep(500 * time.Millisecond)
	lastDoc := recordingDoc(newRecordingID(month), now, modified(now))
	last, lastID := mustPutRecording(t, s, account, lastDoc), lastDoc.ID()
	other.WaitFor("a write after another name's start", AtRev(lastID, last, false))
	if _, ok := other.Latest()[laterID]; ok && !onCluster(s) {
		t.Errorf("a new name's feed delivered a write made before its start")
	}
}
