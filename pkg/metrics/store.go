package metrics

import (
	"context"
	"io"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// InstrumentStore times every datastore call and counts its failures.
func (m *Metrics) InstrumentStore(s recording.Store) recording.Store {
	return &instrumentedStore{next: s, m: m}
}

type instrumentedStore struct {
	next recording.Store
	m    *Metrics
}

func (s *instrumentedStore) observe(op string, started time.Time, err error) {
	s.m.storeDuration.WithLabelValues(op).Observe(time.Since(started).Seconds())
	if err != nil {
		s.m.storeErrors.WithLabelValues(op, recording.ErrorCode(err)).Inc()
	}
}

func (s *instrumentedStore) Account(ctx context.Context, accountID string) (d recording.Doc, err error) {
	defer func(t time.Time) { s.observe("account", t, err) }(time.Now())
	return s.next.Account(ctx, accountID)
}

func (s *instrumentedStore) User(ctx context.Context, accountID, userID string) (d recording.Doc, err error) {
	defer func(t time.Time) { s.observe("user", t, err) }(time.Now())
	return s.next.User(ctx, accountID, userID)
}

func (s *instrumentedStore) MonthExists(ctx context.Context, accountID string, m recording.Month) (ok bool, err error) {
	defer func(t time.Time) { s.observe("month_exists", t, err) }(time.Now())
	return s.next.MonthExists(ctx, accountID, m)
}

func (s *instrumentedStore) Scan(ctx context.Context, accountID string, m recording.Month, q recording.ScanQuery) (rows []recording.Row, err error) {
	defer func(t time.Time) { s.observe("scan", t, err) }(time.Now())
	return s.next.Scan(ctx, accountID, m, q)
}

func (s *instrumentedStore) Get(ctx context.Context, accountID, id string) (d recording.Doc, err error) {
	defer func(t time.Time) { s.observe("get", t, err) }(time.Now())
	return s.next.Get(ctx, accountID, id)
}

func (s *instrumentedStore) GetMany(ctx context.Context, accountID string, m recording.Month, ids []string) (r []recording.DocResult, err error) {
	defer func(t time.Time) { s.observe("get_many", t, err) }(time.Now())
	return s.next.GetMany(ctx, accountID, m, ids)
}

func (s *instrumentedStore) Save(ctx context.Context, accountID string, doc recording.Doc) (rev string, err error) {
	defer func(t time.Time) { s.observe("save", t, err) }(time.Now())
	return s.next.Save(ctx, accountID, doc)
}

func (s *instrumentedStore) SaveMany(ctx context.Context, accountID string, m recording.Month, docs []recording.Doc) (r []recording.DocResult, err error) {
	defer func(t time.Time) { s.observe("save_many", t, err) }(time.Now())
	return s.next.SaveMany(ctx, accountID, m, docs)
}

func (s *instrumentedStore) Delete(ctx context.Context, accountID, id, rev string) (err error) {
	defer func(t time.Time) { s.observe("delete", t, err) }(time.Now())
	return s.next.Delete(ctx, accountID, id, rev)
}

// OpenAttachment times the call up to the first byte; the stream itself is counted by the API.
func (s *instrumentedStore) OpenAttachment(ctx context.Context, accountID, id, name string, r *recording.Range) (rc io.ReadCloser, err error) {
	defer func(t time.Time) { s.observe("open_attachment", t, err) }(time.Now())
	return s.next.OpenAttachment(ctx, accountID, id, name, r)
}

func (s *instrumentedStore) Ping(ctx context.Context) (err error) {
	defer func(t time.Time) { s.observe("ping", t, err) }(time.Now())
	return s.next.Ping(ctx)
}
