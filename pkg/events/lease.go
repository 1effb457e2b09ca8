package events

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// lease is the watcher's claim, a document of the events database: one holder at a time,
// taken over by another instance once it runs out.
type lease struct {
	ID         string `json:"_id"`
	Rev        string `json:"_rev,omitempty"`
	Owner      string `json:"owner,omitempty"`
	LeaseUntil int64  `json:"lease_until,omitempty"` // unix milliseconds
	// LogSeq is a recent number of the log's newest document: where a new leader, and every
	// tail, start looking for the log's end.
	LogSeq int64 `json:"log_seq,omitempty"`
	// WatchingSince is when the first watcher began (gregorian seconds): recordings created
	// before it were announced before anyone listened.
	WatchingSince int64 `json:"watching_since,omitempty"`
}

// errBusy: another instance holds the lease.
var errBusy = errors.New("events: another instance leads")

// claim takes the lease unless another instance holds one that has not run out.
func (w *Watcher) claim(ctx context.Context) (*lease, error) {
	l := &lease{ID: leaseID}
	doc, err := w.store.SystemDoc(ctx, w.cfg.DB, leaseID)
	switch {
	case recording.IsNotFound(err):
	case err != nil:
		return nil, err
	default:
		if err := doc.DecodeInto(l); err != nil {
			return nil, fmt.Errorf("events lease: %w", err)
		}
	}
	now := w.cfg.Now()
	if l.Owner != "" && l.Owner != w.cfg.Instance && now.UnixMilli() < l.LeaseUntil {
		return nil, errBusy
	}
	if l.WatchingSince == 0 {
		l.WatchingSince = recording.ToGregorian(now)
	}
	if err := w.saveLease(ctx, l, w.cfg.Instance, now.Add(w.cfg.Lease)); err != nil {
		if errors.Is(err, ErrLeaseLost) {
			return nil, errBusy // another instance claimed it first
		}
		return nil, err
	}
	return l, nil
}

// renew extends the lease; ErrLeaseLost when another instance took it.
func (w *Watcher) renew(ctx context.Context, l *lease) error {
	return w.saveLease(ctx, l, w.cfg.Instance, w.cfg.Now().Add(w.cfg.Lease))
}

// release gives the lease back at shutdown, with a bounded wait of its own.
func (w *Watcher) release(l *lease) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.saveLease(ctx, l, "", time.UnixMilli(0)); err != nil {
		w.log.Info("events lease not given back; it runs out by itself", zap.Error(err))
	}
}

func (w *Watcher) saveLease(ctx context.Context, l *lease, owner string, until time.Time) error {
	next := *l
	next.Owner, next.LeaseUntil = owner, until.UnixMilli()
	if seq := w.journal.lastSeq(); seq > next.LogSeq {
		next.LogSeq = seq
	}
	doc, err := recording.DocOf(next)
	if err != nil {
		return err
	}
	rev, err := w.store.SaveSystemDoc(ctx, w.cfg.DB, doc)
	if recording.IsConflict(err) {
		return ErrLeaseLost
	}
	if err != nil {
		return err
	}
	next.Rev = rev
	*l = next
	return nil
}
