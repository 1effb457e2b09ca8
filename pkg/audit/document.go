package audit

import (
	"fmt"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// atLayout is how an entry's time is stored: RFC 3339, UTC, milliseconds.
const atLayout = "2006-01-02T15:04:05.000Z"

// entryDoc is an entry as stored in its chain's database.
type entryDoc struct {
	ID          string            `json:"_id,omitempty"`
	Seq         int64             `json:"seq"`
	At          string            `json:"at"`
	AtGregorian int64             `json:"at_gregorian"` // Kazoo's time base, whole seconds
	AccountID   string            `json:"account_id"`
	Actor       Actor             `json:"actor"`
	ClientIP    string            `json:"client_ip,omitempty"`
	Action      string            `json:"action"`
	RecordingID string            `json:"recording_id,omitempty"`
	Status      int               `json:"status,omitempty"`
	Bytes       int64             `json:"bytes,omitempty"`
	Count       int               `json:"count,omitempty"`
	Filters     map[string]string `json:"filters,omitempty"`
	RequestID   string            `json:"request_id,omitempty"`
	Detail      map[string]any    `json:"detail,omitempty"`
	Prev        string            `json:"prev"`
	Hash        string            `json:"hash,omitempty"`
}

// unchainedDoc is the document of an entry before it has a place in a chain: everything
// but _id, seq, prev and hash, which sealDoc adds. Going through JSON makes it the caller's
// no longer (maps copied) and gives it the values a store gives back.
func unchainedDoc(e Entry) (recording.Doc, error) {
	at := e.At.UTC()
	doc, err := recording.DocOf(entryDoc{
		At: at.Format(atLayout), AtGregorian: recording.ToGregorian(at), AccountID: e.AccountID,
		Actor: e.Actor, ClientIP: e.ClientIP, Action: e.Action, RecordingID: e.RecordingID,
		Status: e.Status, Bytes: e.Bytes, Count: e.Count, Filters: e.Filters, RequestID: e.RequestID,
		Detail: e.Detail,
	})
	if err != nil {
		return nil, fmt.Errorf("audit: encode entry: %w", err)
	}
	delete(doc, "seq")
	delete(doc, "prev")
	return doc, nil
}

// sealDoc gives an unchained document its place in a chain: a copy with _id, seq, prev and
// its hash.
func sealDoc(doc recording.Doc, seq int64, prev string) recording.Doc {
	sealed := doc.Clone()
	sealed["_id"] = entryID(seq)
	sealed["seq"] = seq
	sealed["prev"] = prev
	sealed["hash"] = Hash(sealed)
	return sealed
}

// entryOf reads a stored entry.
func entryOf(doc recording.Doc) (Entry, error) {
	var d entryDoc
	if err := doc.DecodeInto(&d); err != nil {
		return Entry{}, fmt.Errorf("audit: entry %s: %w", doc.ID(), err)
	}
	at, err := time.Parse(atLayout, d.At)
	if err != nil {
		return Entry{}, fmt.Errorf("audit: entry %s: at: %w", doc.ID(), err)
	}
	return Entry{Seq: d.Seq, At: at, AccountID: d.AccountID, Actor: d.Actor, ClientIP: d.ClientIP,
		Action: d.Action, RecordingID: d.RecordingID, Status: d.Status, Bytes: d.Bytes, Count: d.Count,
		Filters: d.Filters, RequestID: d.RequestID, Detail: d.Detail, Prev: d.Prev, Hash: d.Hash}, nil
}

// headDoc is a chain's head: its last claimed seq and that entry's hash.
type headDoc struct {
	ID   string `json:"_id"`
	Rev  string `json:"_rev,omitempty"`
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
	// RebuiltAt is set when a writer found the head missing and rebuilt it from the entries
	// then present (Verify reports it: removals before it cannot be told).
	RebuiltAt  string `json:"rebuilt_at,omitempty"`
	RebuiltSeq int64  `json:"rebuilt_seq,omitempty"` // the last entry found then
}
