package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// Reads of the trail, for the API. They trust no index document: an entry is returned only
// when it is where the index points and says it is about that recording, so a forged index
// document cannot make up an entry (Verify reports such documents).

// RecordingEntries returns the entries about one recording, in chain order: those of the
// account's chains from the recording's month (no access precedes it) to until, found
// through their index documents. The cost is one range read per month the account has a
// chain, plus one read per 500 entries found.
func RecordingEntries(ctx context.Context, store recording.StateDocs, accountID, recordingID string, until recording.Month) ([]Entry, error) {
	from, ok := recording.ParseRecordingID(recordingID)
	if !ok {
		return nil, recording.Errorf(recording.EMalformedID, "%q is not a recording id", recordingID)
	}
	months, err := Months(ctx, store, accountID)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, m := range months {
		if m.Before(from) || until.Before(m) {
			continue
		}
		db := ChainDB(accountID, m)
		seqs, err := indexedSeqs(ctx, store, db, recordingID)
		if err != nil {
			return nil, err
		}
		for start := 0; start < len(seqs); start += 500 {
			chunk := seqs[start:min(start+500, len(seqs))]
			ids := make([]string, len(chunk))
			for i, seq := range chunk {
				ids[i] = entryID(seq)
			}
			res, err := store.GetSystemDocs(ctx, db, ids)
			if err != nil {
				return nil, fmt.Errorf("audit: read entries of %s: %w", db, err)
			}
			for i, r := range res {
				if r.Err != nil {
					if recording.IsNotFound(r.Err) {
						continue // removed: Verify tells
					}
					return nil, fmt.Errorf("audit: read %s of %s: %w", r.ID, db, r.Err)
				}
				e, err := entryOf(r.Doc)
				if err == nil && e.Seq == chunk[i] && e.AccountID == accountID && e.RecordingID == recordingID {
					out = append(out, e)
				}
			}
		}
	}
	return out, nil
}

// indexedSeqs lists the seqs the recording's index documents in db point to, ascending.
func indexedSeqs(ctx context.Context, store recording.StateDocs, db, recordingID string) ([]int64, error) {
	var seqs []int64
	after, before := indexRange(recordingID)
	for {
		docs, err := store.SystemDocRange(ctx, db, after, before, 1000)
		if err != nil {
			return nil, fmt.Errorf("audit: read the index of %s: %w", db, err)
		}
		for _, d := range docs {
			if seq, ok := indexSeq(d.ID(), recordingID); ok {
				seqs = append(seqs, seq)
			}
		}
		if len(docs) < 1000 {
			return seqs, nil
		}
		after = docs[len(docs)-1].ID()
	}
}

// Query selects an account's entries.
type Query struct {
	AccountID string
	// From and To bound the entries' time, From included, To not; zero leaves that end open.
	From, To time.Time
	// UserID and Action, when set, keep the entries whose actor.user_id or action equals them.
	UserID string
	Action string
	// Start is where the page starts: a Page.Next ("<yyyymm>:<seq>"); "" for the first page.
	Start string
	// Limit is the page's size, 1 to MaxLimit.
	Limit int
}

// MaxLimit bounds a page.
const MaxLimit = 10000

// Page is one page of an account's entries.
type Page struct {
	Entries []Entry
	// Next is the Start of the next page ("" when this is the last): the key of the first
	// entry that did not fit.
	Next string
}

// AccountEntries returns a page of the account's entries that match q, in chain order,
// month after month (within a chain, entries from several instances may step back in time
// by up to a flush). The filters are applied while reading: a page costs a range read of
// every entry from its start to the page's last match (or to the end of To's month), so a
// rare user or action over a long window reads everything in it; Start resumes where the
// previous page stopped, so paging through a window reads it once.
func AccountEntries(ctx context.Context, store recording.StateDocs, q Query) (Page, error) {
	if q.Limit < 1 || q.Limit > MaxLimit {
		return Page{}, recording.Errorf(recording.EInvalid, "limit must be between 1 and %d, not %d", MaxLimit, q.Limit)
	}
	var start PageKey
	if q.Start != "" {
		var err error
		if start, err = ParsePageKey(q.Start); err != nil {
			return Page{}, err
		}
	}
	months, err := Months(ctx, store, q.AccountID)
	if err != nil {
		return Page{}, err
	}
	var page Page
	for _, m := range months {
		switch {
		case !q.From.IsZero() && m.Before(recording.MonthOf(q.From)),
			!q.To.IsZero() && recording.MonthOf(q.To.Add(-time.Millisecond)).Before(m),
			q.Start != "" && m.Before(start.Month):
			continue
		}
		after := entryPrefix
		if m == start.Month && start.Seq > 1 {
			after = entryID(start.Seq - 1)
		}
		next, err := scanMonth(ctx, store, q, m, after, &page)
		if err != nil || next != "" {
			page.Next = next
			return page, err
		}
	}
	return page, nil
}

// scanMonth adds to page the entries of month m's chain after after that match q, and
// returns the key of the first match beyond q.Limit ("" when the month ran out first).
func scanMonth(ctx context.Context, store recording.StateDocs, q Query, m recording.Month, after string, page *Page) (string, error) {
	db := ChainDB(q.AccountID, m)
	chunk := min(max(q.Limit+1, 100), 1000)
	for {
		docs, err := store.SystemDocRange(ctx, db, after, entryRangeEnd, chunk)
		if err != nil {
			return "", fmt.Errorf("audit: read entries of %s: %w", db, err)
		}
		for _, d := range docs {
			seq, ok := parseEntryID(d.ID())
			if !ok {
				continue
			}
			e, err := entryOf(d)
			if err != nil || !q.matches(e) {
				continue // an entry that does not decode is Verify's to report
			}
			if len(page.Entries) == q.Limit {
				return PageKey{Month: m, Seq: seq}.String(), nil
			}
			page.Entries = append(page.Entries, e)
		}
		if len(docs) < chunk {
			return "", nil
		}
		after = docs[len(docs)-1].ID()
	}
}

func (q Query) matches(e Entry) bool {
	switch {
	case !q.From.IsZero() && e.At.Before(q.From),
		!q.To.IsZero() && !e.At.Before(q.To),
		q.UserID != "" && e.Actor.UserID != q.UserID,
		q.Action != "" && e.Action != q.Action,
		e.AccountID != q.AccountID:
		return false
	}
	return true
}
