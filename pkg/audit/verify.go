package audit

import (
	"context"
	"fmt"
	"slices"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Kinds of breaks Verify reports.
const (
	BreakEdited    = "edited"    // the entry's content does not give its hash
	BreakMissing   = "missing"   // seqs without an entry: removed, or lost between a claim and its write
	BreakRelinked  = "relinked"  // prev is not the previous entry's hash: that one was replaced, or this one inserted
	BreakMoved     = "moved"     // the entry's seq is not the one its id says
	BreakForeign   = "foreign"   // a document among the entries that is no entry
	BreakTruncated = "truncated" // the head claims entries past the last one
	BreakHead      = "head"      // the head is missing, rebuilt, behind the entries, or disagrees with the last one
	BreakIndex     = "index"     // an index document missing, or pointing elsewhere
)

// maxBreaks bounds the breaks a report lists; More counts the rest.
const maxBreaks = 100

// Report is what Verify found in one chain.
type Report struct {
	AccountID string
	Month     recording.Month
	DB        string
	Entries   int   // entries checked
	HeadSeq   int64 // the head's seq; 0 without a head
	Breaks    []Break
	More      int // breaks beyond those listed
}

// OK reports whether the chain is intact.
func (r *Report) OK() bool { return len(r.Breaks) == 0 }

// Break is where and why a chain does not hold.
type Break struct {
	Seq    int64  // the first seq concerned; 0 when none applies
	DocID  string // the document concerned
	Kind   string // Break*
	Reason string
}

func (b Break) String() string {
	return fmt.Sprintf("seq %d (%s): %s: %s", b.Seq, b.DocID, b.Kind, b.Reason)
}

func (r *Report) add(b Break) {
	if len(r.Breaks) == maxBreaks {
		r.More++
		return
	}
	r.Breaks = append(r.Breaks, b)
}

// Verify reads the account's chain of month m whole and checks that it holds: every entry
// hashes to its hash (Hash) and names the previous one's as prev, seqs run from 1 without
// a gap, the head names the last entry, and the index documents match the entries. A chain
// that does not exist is intact and empty. The error is for the store failing, not the
// chain.
func Verify(ctx context.Context, store recording.StateDocs, accountID string, m recording.Month) (Report, error) {
	r := Report{AccountID: accountID, Month: m, DB: ChainDB(accountID, m)}
	if !recording.ValidAccountID(accountID) {
		return r, recording.Errorf(recording.EInvalid, "%q is not an account id", accountID)
	}
	recordings := map[int64]string{} // seq → recording id, for the index
	var last struct {
		seq  int64
		hash string
	}
	afterGap := false
	err := eachDoc(ctx, store, r.DB, entryPrefix, entryRangeEnd, func(d recording.Doc) {
		seq, ok := parseEntryID(d.ID())
		if !ok {
			r.add(Break{DocID: d.ID(), Kind: BreakForeign, Reason: "a document among the entries whose id is no entry's"})
			return
		}
		r.Entries++
		if want := last.seq + 1; seq > want {
			r.add(Break{Seq: want, DocID: entryID(want), Kind: BreakMissing,
				Reason: fmt.Sprintf("entries %d to %d are missing: removed, or claimed by a writer that stopped before writing them", want, seq-1)})
			afterGap = true
		}
		stored := d.String("hash")
		bodySeq, _ := d.Int("seq")
		switch {
		case bodySeq != seq:
			r.add(Break{Seq: seq, DocID: d.ID(), Kind: BreakMoved, Reason: fmt.Sprintf("the entry says seq %d", bodySeq)})
		case Hash(d) != stored:
			r.add(Break{Seq: seq, DocID: d.ID(), Kind: BreakEdited, Reason: "its content does not give its hash: the entry was changed"})
		case !afterGap && d.String("prev") != last.hash:
			r.add(Break{Seq: seq, DocID: d.ID(), Kind: BreakRelinked,
				Reason: fmt.Sprintf("prev is not the hash of entry %d: that entry was replaced, or this one inserted", seq-1)})
		}
		afterGap = false
		last.seq, last.hash = seq, stored
		if rec := d.String("recording_id"); rec != "" {
			recordings[seq] = rec
		}
	})
	if err != nil {
		return r, err
	}
	if err := verifyHead(ctx, store, &r, last.seq, last.hash); err != nil {
		return r, err
	}
	return r, verifyIndex(ctx, store, &r, recordings)
}

// verifyHead checks the head against the last entry.
func verifyHead(ctx context.Context, store recording.StateDocs, r *Report, lastSeq int64, lastHash string) error {
	res, err := store.GetSystemDocs(ctx, r.DB, []string{headID})
	if err != nil {
		return fmt.Errorf("audit: read the head of %s: %w", r.DB, err)
	}
	if recording.IsNotFound(res[0].Err) {
		if r.Entries > 0 {
			r.add(Break{Seq: lastSeq, DocID: headID, Kind: BreakHead, Reason: "the head is missing: entries after the last one may have been removed"})
		}
		return nil
	}
	if res[0].Err != nil {
		return fmt.Errorf("audit: read the head of %s: %w", r.DB, res[0].Err)
	}
	var head headDoc
	if err := res[0].Doc.DecodeInto(&head); err != nil {
		r.add(Break{Seq: lastSeq, DocID: headID, Kind: BreakHead, Reason: "the head does not decode: " + err.Error()})
		return nil
	}
	r.HeadSeq = head.Seq
	if head.RebuiltAt != "" {
		r.add(Break{Seq: head.RebuiltSeq, DocID: headID, Kind: BreakHead,
			Reason: fmt.Sprintf("the head went missing and was rebuilt at %s after entry %d: entries removed after it before then cannot be told", head.RebuiltAt, head.RebuiltSeq)})
	}
	switch {
	case head.Seq > lastSeq:
		r.add(Break{Seq: lastSeq + 1, DocID: entryID(lastSeq + 1), Kind: BreakTruncated,
			Reason: fmt.Sprintf("the head says the chain runs to %d, the last entry is %d: entries removed from the end, or claimed by a writer that stopped before writing them", head.Seq, lastSeq)})
	case head.Seq < lastSeq:
		r.add(Break{Seq: head.Seq + 1, DocID: entryID(head.Seq + 1), Kind: BreakHead,
			Reason: fmt.Sprintf("entries past the head's seq %d: added behind the writers' backs", head.Seq)})
	case head.Hash != lastHash:
		r.add(Break{Seq: lastSeq, DocID: entryID(lastSeq), Kind: BreakHead, Reason: "the head's hash is not the last entry's: the last entry was replaced"})
	}
	return nil
}

// verifyIndex checks that every entry about a recording has its index document and every
// index document points to an entry about its recording.
func verifyIndex(ctx context.Context, store recording.StateDocs, r *Report, recordings map[int64]string) error {
	indexed := map[int64]bool{}
	err := eachDoc(ctx, store, r.DB, indexPrefix, indexRangeEnd, func(d recording.Doc) {
		rec, seq, ok := parseIndexID(d.ID())
		switch {
		case !ok:
			r.add(Break{DocID: d.ID(), Kind: BreakIndex, Reason: "a document among the index whose id is no index document's"})
		case recordings[seq] != rec:
			r.add(Break{Seq: seq, DocID: d.ID(), Kind: BreakIndex, Reason: fmt.Sprintf("points to entry %d, which is not about recording %s", seq, rec)})
		default:
			indexed[seq] = true
		}
	})
	if err != nil {
		return err
	}
	seqs := make([]int64, 0, len(recordings))
	for seq := range recordings {
		if !indexed[seq] {
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)
	for _, seq := range seqs {
		r.add(Break{Seq: seq, DocID: indexID(recordings[seq], seq), Kind: BreakIndex,
			Reason: "the index document is missing: reads by recording do not show this entry"})
	}
	return nil
}

// indexRangeEnd bounds the index documents' ids from above.
const indexRangeEnd = "s"

// eachDoc calls fn with every document of db whose id sorts after after and before before.
func eachDoc(ctx context.Context, store recording.StateDocs, db, after, before string, fn func(recording.Doc)) error {
	for {
		docs, err := store.SystemDocRange(ctx, db, after, before, 1000)
		if err != nil {
			return fmt.Errorf("audit: read %s: %w", db, err)
		}
		for _, d := range docs {
			fn(d)
		}
		if len(docs) < 1000 {
			return nil
		}
		after = docs[len(docs)-1].ID()
	}
}
