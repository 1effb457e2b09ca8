package events

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// known is what the journal remembers of a recording between changes: enough to tell which
// events a new revision makes, and to describe a recording whose document is gone.
type known struct {
	DocRev       string         `json:"doc_rev"`   // the revision last classified
	Announced    bool           `json:"announced"` // recording.created was sent
	SoftDeleted  bool           `json:"soft_deleted,omitempty"`
	KazooDeleted bool           `json:"pvt_deleted,omitempty"`
	Removed      bool           `json:"removed,omitempty"`
	PublicHash   string         `json:"public_hash,omitempty"`
	Owner        string         `json:"owner,omitempty"`
	Data         map[string]any `json:"data,omitempty"` // the listing's view at DocRev
}

// happening is one event a change makes, before it has a place in the log.
type happening struct {
	Type   Type
	Reason string // recording.deleted only
}

// classify compares a change with what was known of the recording (nil: nothing) and returns
// the events it makes and what is known after it.
//
// A recording is announced (recording.created) once its document has audio, inline or on a
// storage provider: Kazoo writes the document first and the audio after. A recording never
// announced makes no other event. Public fields changing make recording.updated; soft_delete
// appearing or going makes soft_deleted or restored; Kazoo's pvt_deleted, or the document
// going, makes deleted (once).
//
// A recording first seen after the watcher began, though created before (watchingSince,
// gregorian seconds; 0: none is) and changed since, was announced before anyone listened: it
// is taken as a live recording that changed, so its first change makes updated, soft_deleted
// or deleted, never created.
func classify(prev *known, c recording.Change, watchingSince int64) ([]happening, known) {
	if prev == nil && c.Doc != nil && preexisting(c.Doc, watchingSince) && len(c.Doc.Attachments()) > 0 {
		prev = &known{Announced: true} // its public fields unknown: any difference is an update
	}
	if prev == nil || prev.Removed {
		prev = &known{}
	}
	if c.Deleted {
		next := *prev
		next.DocRev, next.Removed = c.Rev, true
		if !prev.Announced || prev.KazooDeleted {
			return nil, next // never announced, or already told deleted
		}
		reason := ReasonHardDeleted
		if c.Doc != nil && c.Doc[recording.DeletedBy] == recording.DeletedByRetention {
			reason = ReasonRetention
		}
		return []happening{{Type: Deleted, Reason: reason}}, next
	}
	doc := c.Doc
	next := known{
		DocRev:       c.Rev,
		Announced:    prev.Announced,
		SoftDeleted:  doc.IsSoftDeleted(),
		KazooDeleted: doc.IsDeleted(),
		Owner:        doc.Owner(),
		Data:         doc.Public(),
	}
	next.PublicHash = publicHash(next.Data)
	var out []happening
	switch {
	case next.KazooDeleted:
		if prev.Announced && !prev.KazooDeleted {
			out = append(out, happening{Type: Deleted, Reason: ReasonKazooDeleted})
		}
	case !prev.Announced:
		if len(doc.Attachments()) > 0 {
			next.Announced = true
			out = append(out, happening{Type: Created})
		}
	default:
		if prev.KazooDeleted {
			// pvt_deleted taken back: the recording is back, as after a restore
			out = append(out, happening{Type: Restored})
			break
		}
		var soft []happening
		switch {
		case next.SoftDeleted && !prev.SoftDeleted:
			soft = append(soft, happening{Type: SoftDeleted})
		case !next.SoftDeleted && prev.SoftDeleted:
			soft = append(soft, happening{Type: Restored})
		}
		// fields unknown before (a recording from before the watcher): an update only when
		// nothing else says what happened
		unknown := prev.PublicHash == ""
		if next.PublicHash != prev.PublicHash && (!unknown || len(soft) == 0) {
			out = append(out, happening{Type: Updated})
		}
		out = append(out, soft...)
	}
	return out, next
}

// preexistingMargin is how much older than the watcher's start a recording must be to count as
// one from before (clocks of Kazoo's nodes and ours differ a little).
const preexistingMargin = 5 * 60

// preexisting: the recording was created before the watcher began, and this revision is a
// later change of it (pvt_modified well after pvt_created), not its first write arriving late.
func preexisting(doc recording.Doc, watchingSince int64) bool {
	created, ok1 := doc.Int("pvt_created")
	modified, ok2 := doc.Int("pvt_modified")
	return watchingSince > 0 && ok1 && ok2 && created < watchingSince-preexistingMargin &&
		modified-created > preexistingMargin
}

// publicHash digests the public fields a client sees, soft_delete and soft_restore aside (they
// have events of their own), so that only changes a client could notice make updated.
func publicHash(public map[string]any) string {
	view := make(map[string]any, len(public))
	for k, v := range public {
		if k != "soft_delete" && k != "soft_restore" {
			view[k] = v
		}
	}
	raw, _ := json.Marshal(view) // map keys are sorted: the same view gives the same bytes
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:12])
}
