package audit

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// chainKey names one chain: an account's month.
type chainKey struct {
	accountID string
	month     recording.Month
}

func (k chainKey) db() string { return ChainDB(k.accountID, k.month) }

// chainBatch is the part of a flush bound for one chain, kept across attempts so that a
// range once claimed is written, never claimed again.
type chainBatch struct {
	key   chainKey
	items []*chainItem
}

type chainItem struct {
	doc       recording.Doc // unchained (Record)
	entry     recording.Doc // sealed by the claim; nil before
	index     recording.Doc // the recording's index document; nil without a recording
	entryDone bool
	indexDone bool
}

// indexDocOf is the index document of a recording's entry: its id says both, it holds the seq.
func indexDocOf(recordingID string, seq int64) recording.Doc {
	return recording.Doc{"_id": indexID(recordingID, seq), "seq": seq}
}

// maxClaims bounds how often one attempt re-reads a head that other writers keep moving.
const maxClaims = 50

// errFork: a seq this writer claimed holds another entry, so the claim was not the only
// one (a head removed or restored behind the writers' backs, or a cluster's write quorum
// lost). The entries not written are claimed again after the head.
var errFork = errors.New("audit: a claimed seq holds another entry")

// appendChain claims seqs for the entries that have none, then writes what is not written.
func (t *Trail) appendChain(ctx context.Context, b *chainBatch) error {
	if err := t.claim(ctx, b); err != nil {
		return err
	}
	return t.writeClaimed(ctx, b)
}

// claim gives the batch's unsealed entries the seqs after the head and moves the head over
// them with a revision-checked write: of two writers only one moves it from a revision,
// the other reads it again and seals its entries after the winner's.
func (t *Trail) claim(ctx context.Context, b *chainBatch) error {
	var unsealed []*chainItem
	for _, it := range b.items {
		if !it.entryDone && it.entry == nil {
			unsealed = append(unsealed, it)
		}
	}
	if len(unsealed) == 0 {
		return nil
	}
	db := b.key.db()
	for range maxClaims {
		head, err := t.readHead(ctx, b.key)
		if err != nil {
			return err
		}
		next := head
		for _, it := range unsealed {
			next.Seq++
			it.entry = sealDoc(it.doc, next.Seq, next.Hash)
			next.Hash = it.entry.String("hash")
			it.index = nil
			if rec := it.doc.String("recording_id"); rec != "" {
				it.index = indexDocOf(rec, next.Seq)
			}
		}
		doc, err := recording.DocOf(next)
		if err != nil {
			return err
		}
		res, err := t.store.SaveSystemDocs(ctx, db, []recording.Doc{doc})
		if err == nil && res[0].Err == nil {
			return nil
		}
		if err == nil && recording.IsConflict(res[0].Err) {
			continue // another writer moved the head first
		}
		if err == nil {
			err = res[0].Err
		}
		// The write may have landed before the error: then the head is ours.
		if now, rerr := t.readHead(ctx, b.key); rerr == nil && now.Seq == next.Seq && now.Hash == next.Hash {
			return nil
		}
		for _, it := range unsealed {
			it.entry, it.index = nil, nil
		}
		return fmt.Errorf("audit: claim seqs in %s: %w", db, err)
	}
	for _, it := range unsealed {
		it.entry, it.index = nil, nil
	}
	return fmt.Errorf("audit: claim seqs in %s: the head kept moving (%d tries)", db, maxClaims)
}

// readHead reads the chain's head. A chain without one is new: its month goes into the
// catalogue first. A head missing beside entries is rebuilt from them.
func (t *Trail) readHead(ctx context.Context, k chainKey) (headDoc, error) {
	db := k.db()
	res, err := t.store.GetSystemDocs(ctx, db, []string{headID, entryID(1)})
	if err != nil {
		return headDoc{}, fmt.Errorf("audit: read the head of %s: %w", db, err)
	}
	for _, r := range res {
		if r.Err != nil && !recording.IsNotFound(r.Err) {
			return headDoc{}, fmt.Errorf("audit: read %s of %s: %w", r.ID, db, r.Err)
		}
	}
	if res[0].Err == nil {
		var head headDoc
		if err := res[0].Doc.DecodeInto(&head); err != nil {
			return headDoc{}, fmt.Errorf("audit: head of %s: %w", db, err)
		}
		t.markCatalogued(k)
		return head, nil
	}
	if !t.isCatalogued(k) {
		if err := catalogue(ctx, t.store, k.accountID, k.month); err != nil {
			return headDoc{}, err
		}
		t.markCatalogued(k)
	}
	if res[1].Err != nil {
		return headDoc{ID: headID}, nil // a new chain
	}
	return t.rebuildHead(ctx, k)
}

// rebuildHead makes a head from the last entry there is, marked rebuilt: without it the
// chain would be stuck (every seq from 1 on is taken), and Verify says so.
func (t *Trail) rebuildHead(ctx context.Context, k chainKey) (headDoc, error) {
	db := k.db()
	var last recording.Doc
	err := eachDoc(ctx, t.store, db, entryPrefix, entryRangeEnd, func(d recording.Doc) {
		if _, ok := parseEntryID(d.ID()); ok {
			last = d
		}
	})
	if err != nil {
		return headDoc{}, err
	}
	head := headDoc{ID: headID, RebuiltAt: t.cfg.Now().UTC().Format(atLayout)}
	if last != nil {
		head.Seq, _ = parseEntryID(last.ID())
		head.Hash = last.String("hash")
		head.RebuiltSeq = head.Seq
	}
	t.log.Error("audit chain's head is missing beside its entries: rebuilt from the last entry; entries removed before it cannot be told",
		zap.String("database", db), zap.Int64("last_seq", head.Seq))
	return head, nil
}

// writeClaimed writes the claimed entries and their index documents not written yet. A
// document already there with the same content (an earlier attempt that landed) counts as
// written.
func (t *Trail) writeClaimed(ctx context.Context, b *chainBatch) error {
	db := b.key.db()
	var docs []recording.Doc
	var marks []*bool
	for _, it := range b.items {
		if !it.entryDone {
			docs, marks = append(docs, it.entry), append(marks, &it.entryDone)
		}
		if it.index != nil && !it.indexDone {
			docs, marks = append(docs, it.index), append(marks, &it.indexDone)
		}
	}
	if len(docs) == 0 {
		return nil
	}
	res, err := t.store.SaveSystemDocs(ctx, db, docs)
	if err != nil {
		return fmt.Errorf("audit: write entries to %s: %w", db, err)
	}
	var conflicted []int
	var firstErr error
	for i, r := range res {
		switch {
		case r.Err == nil:
			*marks[i] = true
		case recording.IsConflict(r.Err):
			conflicted = append(conflicted, i)
		case firstErr == nil:
			firstErr = fmt.Errorf("audit: write %s to %s: %w", r.ID, db, r.Err)
		}
	}
	if len(conflicted) > 0 {
		if err := t.settleConflicts(ctx, db, docs, marks, conflicted); err != nil {
			b.unsealForked()
			return err
		}
	}
	return firstErr
}

// settleConflicts reads the documents a write found there: the same content is written,
// anything else is a fork.
func (t *Trail) settleConflicts(ctx context.Context, db string, docs []recording.Doc, marks []*bool, conflicted []int) error {
	ids := make([]string, len(conflicted))
	for k, i := range conflicted {
		ids[k] = docs[i].ID()
	}
	res, err := t.store.GetSystemDocs(ctx, db, ids)
	if err != nil {
		return fmt.Errorf("audit: read back %s: %w", db, err)
	}
	forked := 0
	for k, i := range conflicted {
		there := res[k].Doc
		if res[k].Err != nil {
			continue // removed meanwhile: the next attempt writes it again
		}
		mine := docs[i]
		same := there.String("hash") == mine.String("hash")
		if _, isEntry := parseEntryID(mine.ID()); !isEntry {
			s1, _ := there.Int("seq")
			s2, _ := recording.AsInt(mine["seq"])
			same = s1 == s2
		}
		if same {
			*marks[i] = true
		} else {
			forked++
		}
	}
	if forked > 0 {
		t.log.Error("audit chain forked: seqs this writer claimed hold other documents; appending its entries again after the head",
			zap.String("database", db), zap.Int("documents", forked))
		return errFork
	}
	return nil
}

// unsealForked forgets the claim of the entries not written, so the next attempt claims
// them again after the head.
func (b *chainBatch) unsealForked() {
	for _, it := range b.items {
		if !it.entryDone {
			it.entry, it.index, it.indexDone = nil, nil, false
		}
	}
}

// entryRangeEnd bounds the entries' ids from above ("e" then digits, all below "f").
const entryRangeEnd = "f"
