package recording

import (
	"context"
	"time"
)

// BoundaryMargin widens a listing's month window. A recording's id (hence its month database)
// comes from the local date at call start, while pvt_created is the UTC save time, so a
// recording created just after a month boundary can live in the previous month's database
// (and, with time zones ahead of UTC, the other way round). Two days covers any time zone
// plus a day-long call.
const BoundaryMargin = 2 * 24 * time.Hour

// ListRequest selects recordings of one account, optionally of one owner.
type ListRequest struct {
	AccountID          string
	Owner              string // non-empty: only recordings whose owner_id is this user
	From, To           int64  // inclusive pvt_created bounds, gregorian seconds; From <= To
	Descending         bool
	Start              *ListKey // resume position from a previous page (inclusive)
	PageSize           int      // items per page; 0 lists everything
	IncludeSoftDeleted bool
	Match              func(Doc) bool // extra filter (Kazoo's query filters); nil matches all
}

// scanBatchMax bounds one index read, so memory stays flat however much is listed.
const scanBatchMax = 200

// List walks the month databases of the request's window as one ordered sequence, merging
// them by index key, and emits matching rows in order. With a page size it stops after a full
// page and returns the key of the next matching row (nil on the last page); pages never skip
// or repeat a row, whatever month databases the rows live in.
func List(ctx context.Context, s Store, req ListRequest, emit func(Row) error) (*ListKey, error) {
	start, empty := clampStart(req)
	if empty {
		return nil, nil
	}
	months, err := existingMonths(ctx, s, req.AccountID, req.From, req.To)
	if err != nil {
		return nil, err
	}
	if req.Descending {
		for i, j := 0, len(months)-1; i < j; i, j = i+1, j-1 {
			months[i], months[j] = months[j], months[i]
		}
	}
	cursors := make([]*monthCursor, 0, len(months))
	for _, m := range months {
		c := newMonthCursor(m, start)
		if c.canHold(req, start) {
			cursors = append(cursors, c)
		}
	}
	emitted := 0
	for {
		want := scanBatchMax
		if req.PageSize > 0 {
			want = req.PageSize - emitted + 1 // one more, to find the next page's first row
		}
		row, ok, err := nextRow(ctx, s, req, cursors, want)
		if err != nil || !ok {
			return nil, err
		}
		if req.Match != nil && !req.Match(row.Doc) {
			continue
		}
		if req.PageSize > 0 && emitted == req.PageSize {
			key := row.Key
			return &key, nil
		}
		if err := emit(row); err != nil {
			return nil, err
		}
		emitted++
	}
}

// clampStart drops a start key outside the window, or reports that nothing can follow it.
func clampStart(req ListRequest) (*ListKey, bool) {
	k := req.Start
	if k == nil {
		return nil, false
	}
	if !req.Descending {
		if k.Created > req.To {
			return nil, true
		}
		if k.Created < req.From {
			return nil, false
		}
	} else {
		if k.Created < req.From {
			return nil, true
		}
		if k.Created > req.To {
			return nil, false
		}
	}
	return k, false
}

// existingMonths returns, oldest first, the month databases of the window that exist.
func existingMonths(ctx context.Context, s Store, accountID string, from, to int64) ([]Month, error) {
	first := MonthOf(FromGregorian(from).Add(-BoundaryMargin))
	last := MonthOf(FromGregorian(to).Add(BoundaryMargin))
	var out []Month
	for m := first; !last.Before(m); m = m.Next() {
		ok, err := s.MonthExists(ctx, accountID, m)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, m)
		}
	}
	return out, nil
}

// monthCursor buffers one month database's rows of the listing.
type monthCursor struct {
	month   Month
	buf     []Row
	next    *ListKey // where the following read starts
	done    bool     // no rows left after buf
	started bool
	// lo and hi bound the pvt_created of any recording this month database can hold: the month
	// widened by BoundaryMargin on both sides.
	lo, hi int64
}

func newMonthCursor(m Month, start *ListKey) *monthCursor {
	return &monthCursor{
		month: m, next: start,
		lo: ToGregorian(m.Start().Add(-BoundaryMargin)),
		hi: ToGregorian(m.Next().Start().Add(BoundaryMargin)) - 1,
	}
}

// canHold reports whether the month can have rows in what is left of the window: a page that
// resumes two months in need not read the months it has walked past.
func (c *monthCursor) canHold(req ListRequest, start *ListKey) bool {
	from, to := req.From, req.To
	if start != nil {
		if req.Descending {
			to = start.Created
		} else {
			from = start.Created
		}
	}
	return c.hi >= from && c.lo <= to
}

// mayPrecede reports whether the month can still hold a row that comes before k in walk
// order; when it cannot, it need not be read for this row.
func (c *monthCursor) mayPrecede(k ListKey, descending bool) bool {
	if descending {
		return c.hi >= k.Created
	}
	return c.lo <= k.Created
}

// fill reads up to want rows into an empty buffer. A month after one that still has rows is
// probed with a single row first: rows of two months rarely interleave.
func (c *monthCursor) fill(ctx context.Context, s Store, req ListRequest, want int, leading bool) error {
	if len(c.buf) > 0 || c.done {
		return nil
	}
	if !c.started && !leading {
		want = 1
	}
	c.started = true
	if want > scanBatchMax {
		want = scanBatchMax
	}
	if want < 1 {
		want = 1
	}
	rows, err := s.Scan(ctx, req.AccountID, c.month, ScanQuery{
		Owner: req.Owner, From: req.From, To: req.To, Start: c.next,
		Descending: req.Descending, Limit: want + 1, IncludeSoftDeleted: req.IncludeSoftDeleted,
	})
	if err != nil {
		return err
	}
	if len(rows) > want {
		k := rows[want].Key
		c.next = &k
		rows = rows[:want]
	} else {
		c.done = true
	}
	c.buf = rows
	return nil
}

// nextRow pops the next row in index order across all cursors.
func nextRow(ctx context.Context, s Store, req ListRequest, cursors []*monthCursor, want int) (Row, bool, error) {
	var best *monthCursor
	leading := true // every month before this one is used up: this one gets the whole want
	for _, c := range cursors {
		if len(c.buf) == 0 && best != nil && !c.mayPrecede(best.buf[0].Key, req.Descending) {
			continue // months are in walk order: nothing here can come before the best row yet
		}
		if err := c.fill(ctx, s, req, want, leading); err != nil {
			return Row{}, false, err
		}
		leading = leading && c.done && len(c.buf) == 0
		if len(c.buf) == 0 {
			continue
		}
		if best == nil || before(c.buf[0].Key, best.buf[0].Key, req.Descending) {
			best = c
		}
	}
	if best == nil {
		return Row{}, false, nil
	}
	row := best.buf[0]
	best.buf[0] = Row{} // let the document be collected
	best.buf = best.buf[1:]
	return row, true, nil
}

func before(a, b ListKey, descending bool) bool {
	if descending {
		return b.Less(a)
	}
	return a.Less(b)
}
