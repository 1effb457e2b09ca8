package retention_test

import (
	"strings"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/media/s3media"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/retention"
)

// hold is a legal hold as the API writes it.
func hold(reason string) map[string]any {
	return map[string]any{recording.HoldField: map[string]any{"reason": reason, "held_at": 63900000000, "held_by": "admin"}}
}

// A recording on legal hold is never purged, however old its mark: the sweep keeps it at its
// revision, counts it as held, and purges the rest. The dry run says so too.
func TestHeldRecordingsAreKept(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		c := newClock()
		d := newDataset(w, c)
		acc := d.account("a")
		d.put("deleted", acc, may, map[string]any{"pvt_deleted": true, "pvt_modified": c.ago(2 * day)})
		d.put("deleted-held", acc, may, merge(hold("case 2026-114"), map[string]any{"pvt_deleted": true, "pvt_modified": c.ago(2 * day)}))
		d.put("soft-held", acc, may, merge(hold("case 7"), map[string]any{"soft_delete": map[string]any{"deleted_at": c.ago(40 * day)}}))
		d.put("soft", acc, may, map[string]any{"soft_delete": map[string]any{"deleted_at": c.ago(40 * day)}})
		cfg := config(c, retention.Policy{DeletedAfter: day, SoftDeletedAfter: 30 * day}, "one")

		var kept []string
		dry, err := newSweeper(t, w.store, nil, cfg, nil).DryRun(ctxOf(t), func(_ recording.MonthDB, cand recording.PurgeCandidate) {
			if h, held := recording.HoldOf(cand.Doc); held {
				kept = append(kept, h.Reason)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if dry.Held != 2 || dry.Total() != 2 || len(kept) != 2 {
			t.Fatalf("dry run %+v, holds seen %v: want 2 purged and 2 held", dry, kept)
		}

		obs := newRecorder()
		r := mustSweep(t, newSweeper(t, w.store, nil, cfg, obs))
		d.check("deleted", "soft")
		if r.Held != 2 || r.Total() != 2 || r.Failed != 0 {
			t.Fatalf("report %+v: want 2 purged, 2 held, none failed", r)
		}
		if obs.held[recording.PurgeDeleted] != 1 || obs.held[recording.PurgeSoftDeleted] != 1 {
			t.Fatalf("observed held %v, want one of each reason", obs.held)
		}
		// The next sweep meets them again and keeps them again.
		if r := mustSweep(t, newSweeper(t, w.store, nil, cfg, obs)); r.Held != 2 || r.Total() != 0 {
			t.Fatalf("second sweep %+v: want the 2 held kept, nothing purged", r)
		}
		d.check("deleted", "soft")
	})
}

// A held recording's object on a storage provider stays, even when the policy deletes
// external media, and the log says why the recording was kept.
func TestHeldRecordingKeepsItsMedia(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		c := newClock()
		mw := newMediaWorld(t, w, c)
		acc := mw.d.docs["on-s3"].accountID
		mw.s3.Put(t, "calls", "kazoo/held.mp3", []byte("audio"))
		mw.d.put("held-on-s3", acc, may, merge(merge(hold("regulator"), map[string]any{"pvt_deleted": true, "pvt_modified": c.ago(2 * day)}),
			external("call.mp3", s3media.Handler, s3Payload(mw, "kazoo/held.mp3"))))
		r := mustSweep(t, mw.sweeper(t, c, true, nil))
		mw.d.check("on-web", "on-s3")
		if r.Held != 1 || r.MediaDeleted != 2 {
			t.Fatalf("report %+v: want 1 held, the 2 others' objects deleted", r)
		}
		if !mw.s3.Has(t, "calls", "kazoo/held.mp3") {
			t.Fatal("the held recording's object was deleted")
		}
		found := false
		for _, e := range mw.logs.FilterMessageSnippet("legal hold").All() {
			found = found || strings.Contains(e.ContextMap()["hold_reason"].(string), "regulator")
		}
		if !found {
			t.Fatal("no log line says the recording was kept on legal hold")
		}
		mw.noSecrets(t)
	})
}
