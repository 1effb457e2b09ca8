package recording

import (
	"context"
	"encoding/json"
	"strconv"
	"time"
)

// Service is the recordings API's behaviour on top of a Store: what a GET, PATCH or DELETE
// means, independent of HTTP and of the backend.
type Service struct {
	Store Store
	// Now is the clock of the stamps it writes.
	Now func() time.Time
	// ConflictRetries bounds how often a write that lost a race is re-read and re-applied.
	ConflictRetries int
}

// NewService returns the service over store: conflictRetries bounds the re-reads of a write
// that lost a race (recordings.conflict_retries), now is the clock of its stamps.
func NewService(store Store, conflictRetries int, now func() time.Time) *Service {
	return &Service{Store: store, Now: now, ConflictRetries: conflictRetries}
}

// Get loads a recording. EMalformedID for a bad id; ENotFound when it does not exist, is not a
// call_recording, or is pvt_deleted.
func (s *Service) Get(ctx context.Context, accountID, id string) (Doc, error) {
	if _, ok := ParseRecordingID(id); !ok {
		return nil, Errorf(EMalformedID, "bad identifier")
	}
	doc, err := s.Store.Get(ctx, accountID, id)
	if err != nil {
		return nil, err
	}
	if !isLiveRecording(doc) {
		return nil, Errorf(ENotFound, "recording %s not found", id)
	}
	return doc, nil
}

func isLiveRecording(d Doc) bool { return d.Type() == TypeCallRecording && !d.IsDeleted() }

// Patch applies p to one recording, re-reading and re-applying it when a concurrent writer
// wins, so no update is lost. Errors as Get, plus EConflict when retries run out.
func (s *Service) Patch(ctx context.Context, accountID, id string, p *Patch, caller Caller) (Doc, error) {
	for attempt := 0; ; attempt++ {
		doc, err := s.Get(ctx, accountID, id)
		if err != nil {
			return nil, err
		}
		if err := caller.check(doc); err != nil {
			return nil, err
		}
		if err := p.checkHold(doc); err != nil {
			return nil, err
		}
		p.Apply(doc, caller, s.Now())
		rev, err := s.Store.Save(ctx, accountID, doc)
		if err == nil {
			doc["_rev"] = rev
			return doc, nil
		}
		if !IsConflict(err) || attempt >= s.ConflictRetries {
			return nil, err
		}
	}
}

// MaxCollection bounds the ids of one collection PATCH.
const MaxCollection = 1000

// PatchMany applies p to every id, with one read and one write per month database (plus a
// retry round for ids that hit a conflict). Each id succeeds or fails on its own.
func (s *Service) PatchMany(ctx context.Context, accountID string, ids []string, p *Patch, caller Caller) (map[string]Doc, map[string]error, error) {
	success := map[string]Doc{}
	failure := map[string]error{}
	byMonth := map[Month][]string{}
	var months []Month
	for _, id := range ids {
		m, ok := ParseRecordingID(id)
		if !ok {
			failure[id] = Errorf(EMalformedID, "bad identifier")
			continue
		}
		if _, seen := byMonth[m]; !seen {
			months = append(months, m)
		}
		byMonth[m] = append(byMonth[m], id)
	}
	for _, m := range months {
		pending := byMonth[m]
		for attempt := 0; len(pending) > 0; attempt++ {
			retry, err := s.patchMonth(ctx, accountID, m, pending, p, caller, success, failure, attempt >= s.ConflictRetries)
			if err != nil {
				return nil, nil, err
			}
			pending = retry
		}
	}
	return success, failure, nil
}

// patchMonth reads, patches and writes ids of one month; it returns the ids that hit a
// conflict and may be retried (none when last is set: they fail instead).
func (s *Service) patchMonth(ctx context.Context, accountID string, m Month, ids []string, p *Patch, caller Caller,
	success map[string]Doc, failure map[string]error, last bool) ([]string, error) {
	loaded, err := s.Store.GetMany(ctx, accountID, m, ids)
	if err != nil {
		return nil, err
	}
	var docs []Doc
	for _, r := range loaded {
		switch {
		case r.Err != nil:
			failure[r.ID] = r.Err
		case !isLiveRecording(r.Doc):
			failure[r.ID] = Errorf(ENotFound, "recording %s not found", r.ID)
		case caller.check(r.Doc) != nil:
			failure[r.ID] = caller.check(r.Doc)
		case p.checkHold(r.Doc) != nil:
			failure[r.ID] = p.checkHold(r.Doc)
		default:
			p.Apply(r.Doc, caller, s.Now())
			docs = append(docs, r.Doc)
		}
	}
	if len(docs) == 0 {
		return nil, nil
	}
	saved, err := s.Store.SaveMany(ctx, accountID, m, docs)
	if err != nil {
		return nil, err
	}
	var retry []string
	for i, r := range saved {
		switch {
		case r.Err == nil:
			docs[i]["_rev"] = r.Rev
			success[docs[i].ID()] = docs[i]
		case IsConflict(r.Err) && !last:
			retry = append(retry, docs[i].ID())
		default:
			failure[docs[i].ID()] = r.Err
		}
	}
	return retry, nil
}

// DeleteMode says how Delete removes a recording.
type DeleteMode struct {
	// Soft marks the recording pvt_deleted, as Kazoo does, instead of removing it.
	Soft bool
	// BeforeRemove, when set, runs on the document about to be removed, after every check
	// and before the store is asked: an error stops the delete. It may run again when a
	// concurrent writer forces a re-read, so what it does must be safe to repeat (deleting
	// the recording's media on its storage providers).
	BeforeRemove func(context.Context, Doc) error
}

// Delete removes a recording: at once with its inline audio (hard), or by marking it
// pvt_deleted as Kazoo does (soft). Media on a storage provider is left to mode.BeforeRemove.
// It returns the document as it was before the delete. Errors as Get, and ELocked for a
// recording on legal hold.
func (s *Service) Delete(ctx context.Context, accountID, id string, mode DeleteMode, caller Caller) (Doc, error) {
	soft := mode.Soft
	for attempt := 0; ; attempt++ {
		doc, err := s.Get(ctx, accountID, id)
		if err != nil {
			return nil, err
		}
		if err := caller.check(doc); err != nil {
			return nil, err
		}
		if h, held := HoldOf(doc); held {
			return nil, heldError(id, h)
		}
		if mode.BeforeRemove != nil {
			if err := mode.BeforeRemove(ctx, doc); err != nil {
				return nil, err
			}
		}
		if soft {
			marked := doc.Clone()
			marked["pvt_deleted"] = true
			marked["pvt_modified"] = json.Number(strconv.FormatInt(ToGregorian(s.Now()), 10))
			stampAudit(marked, caller)
			_, err = s.Store.Save(ctx, accountID, marked)
		} else {
			err = s.Store.Delete(ctx, accountID, id, doc.Rev())
		}
		switch {
		case err == nil:
			return doc, nil
		case IsNotFound(err):
			return doc, nil // gone between our read and our write: the caller's wish holds
		case !IsConflict(err) || attempt >= s.ConflictRetries:
			return nil, err
		}
	}
}
