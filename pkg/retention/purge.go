package retention

import (
	"context"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/media"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// purge hard-deletes one batch of candidates at the revisions read, except those on legal
// hold: they stay, media included, and are counted (a hold set after the read makes the
// delete a conflict, so it holds too). With
// DeleteExternalMedia, a recording's provider objects go first: if one cannot be deleted the
// recording stays, so its document still says where the media is and the next sweep tries
// again (deleting an object that is already gone succeeds). err is set only when the store
// failed as a whole.
func (s *Sweeper) purge(ctx context.Context, db recording.MonthDB, batch []recording.PurgeCandidate, report *Report) (purged, failed int, err error) {
	refs := make([]recording.DocRef, 0, len(batch))
	kept := make([]recording.PurgeCandidate, 0, len(batch))
	mediaOf := make(map[string][]string, len(batch)) // id → external attachment names
	for _, c := range batch {
		if h, held := recording.HoldOf(c.Doc); held {
			report.Held++
			s.obs.Held(c.Key.Reason)
			s.log.Info("recording kept: it is on legal hold", zap.String("account_id", db.AccountID),
				zap.String("recording_id", c.Key.ID), zap.String("reason", string(c.Key.Reason)),
				zap.String("hold_reason", h.Reason), zap.Int64("held_at", h.HeldAt))
			continue
		}
		names, ok := s.handleMedia(ctx, db, c, report)
		if !ok {
			failed++
			report.Failed++
			s.obs.PurgeFailed(c.Key.Reason, "media")
			continue
		}
		mediaOf[c.Key.ID] = names
		refs = append(refs, recording.DocRef{ID: c.Key.ID, Rev: c.Doc.Rev()})
		kept = append(kept, c)
	}
	if len(refs) == 0 {
		return 0, failed, nil
	}
	results, err := s.store.DeleteMany(ctx, db, refs)
	if err != nil {
		return 0, failed, err
	}
	now := s.cfg.Now()
	for i, r := range results {
		c := kept[i]
		fields := []zap.Field{zap.String("account_id", db.AccountID), zap.String("recording_id", c.Key.ID),
			zap.String("reason", string(c.Key.Reason)), zap.String("age", AgeText(now, c.Key.At))}
		switch code := recording.ErrorCode(r.Err); {
		case r.Err == nil:
			purged++
			report.Purged[string(c.Key.Reason)]++
			s.obs.Purged(c.Key.Reason)
			if names := mediaOf[c.Key.ID]; len(names) > 0 {
				fields = append(fields, zap.Strings("external_media", names), zap.Bool("external_media_deleted", s.cfg.DeleteExternalMedia))
			}
			s.log.Info("recording purged", fields...)
		case code == recording.ENotFound:
			// Someone else deleted it first: nothing left to do.
		default:
			failed++
			report.Failed++
			cause := "store"
			if code == recording.EConflict {
				cause = "conflict" // changed since it was read (restored?): the next sweep decides again
			}
			s.obs.PurgeFailed(c.Key.Reason, cause)
			s.log.Warn("recording not purged", append(fields, zap.String("cause", cause), zap.Error(r.Err))...)
		}
	}
	return purged, failed, nil
}

// handleMedia deals with a candidate's media on storage providers before its document goes:
// deletes it when the policy says so, otherwise logs where it stays. ok is false when the
// recording must stay because an object could not be deleted.
func (s *Sweeper) handleMedia(ctx context.Context, db recording.MonthDB, c recording.PurgeCandidate, report *Report) (names []string, ok bool) {
	for _, att := range c.Doc.Attachments() {
		if !att.External {
			continue
		}
		names = append(names, att.Name)
		fields := []zap.Field{zap.String("account_id", db.AccountID), zap.String("recording_id", c.Key.ID),
			zap.String("attachment", att.Name)}
		ext, err := media.FromDocument(db.AccountID, c.Key.ID, c.Doc, att.Name)
		var src media.Source
		if err == nil {
			src, err = s.media.For(ext.Handler)
		}
		if err == nil {
			if where, lerr := src.Locate(ext); lerr == nil {
				fields = append(fields, zap.String("location", where))
			}
		}
		fields = append(fields, zap.String("handler", ext.Handler))
		if !s.cfg.DeleteExternalMedia {
			report.MediaKept++
			s.log.Info("purging a recording; its media on a storage provider is retained", fields...)
			continue
		}
		if err == nil {
			err = src.Delete(ctx, ext)
		}
		if err != nil {
			s.log.Warn("recording kept: its media on a storage provider could not be deleted",
				append(fields, zap.Error(err))...)
			return names, false
		}
		s.obs.MediaDeleted(ext.Handler)
		report.MediaDeleted++
		s.log.Info("media deleted from its storage provider", fields...)
	}
	return names, true
}
