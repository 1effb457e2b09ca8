package retention

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// stateID is the sweeper's document in Config.StateDB.
const stateID = "retention"

// state is the sweeper's document: who holds the lease, the sweep in progress (so a restart
// resumes it), and how the last one ended. Operators can read it with a plain GET.
type state struct {
	ID   string `json:"_id"`
	Rev  string `json:"_rev,omitempty"`
	Type string `json:"pvt_type"`

	Owner      string `json:"owner,omitempty"`
	LeaseUntil int64  `json:"lease_until,omitempty"` // unix seconds

	Sweep *progress `json:"sweep,omitempty"` // nil between sweeps

	LastFinishedAt int64   `json:"last_finished_at,omitempty"` // unix seconds
	LastReport     *Report `json:"last_report,omitempty"`

	saved time.Time // when this process last wrote it
}

// progress is a sweep in progress: its cutoffs, fixed at its start, and the last month
// database it finished.
type progress struct {
	ID        string  `json:"id"`
	StartedAt int64   `json:"started_at"` // unix seconds
	Cutoffs   Cutoffs `json:"cutoffs"`
	After     dbRef   `json:"after"`
	Purged    int     `json:"purged"`
	Failed    int     `json:"failed"`
}

// dbRef is a MonthDB as the state document spells it.
type dbRef struct {
	AccountID string `json:"account_id,omitempty"`
	Month     string `json:"month,omitempty"` // YYYYMM
}

func refOf(db recording.MonthDB) dbRef {
	if db.IsZero() {
		return dbRef{}
	}
	return dbRef{AccountID: db.AccountID, Month: db.Month.String()}
}

func (r dbRef) monthDB() (recording.MonthDB, error) {
	if r.AccountID == "" {
		return recording.MonthDB{}, nil
	}
	db, ok := recording.ParseMonthDB(recording.AccountDBName(r.AccountID) + "-" + r.Month)
	if !ok || !recording.ValidAccountID(r.AccountID) {
		return recording.MonthDB{}, fmt.Errorf("state document: bad position %s-%s", r.AccountID, r.Month)
	}
	return db, nil
}

// ErrBusy is returned when another sweep holds the lease (in this process or another instance).
var ErrBusy = errors.New("another retention sweep is running")

// errLeaseLost: the state document changed under us; another instance took the sweep over.
var errLeaseLost = errors.New("retention lease lost: another instance took the sweep over")

// loadState reads the state document; a missing one is a fresh state.
func (s *Sweeper) loadState(ctx context.Context) (*state, error) {
	doc, err := s.store.SystemDoc(ctx, s.cfg.StateDB, stateID)
	if recording.IsNotFound(err) {
		return &state{ID: stateID, Type: "recordingsd_retention"}, nil
	}
	if err != nil {
		return nil, err
	}
	st := &state{}
	if err := doc.DecodeInto(st); err != nil {
		return nil, fmt.Errorf("state document %s/%s: %w", s.cfg.StateDB, stateID, err)
	}
	return st, nil
}

// saveState writes st at its revision and takes the new one. EConflict becomes errLeaseLost.
func (s *Sweeper) saveState(ctx context.Context, st *state) error {
	doc, err := recording.DocOf(st)
	if err != nil {
		return err
	}
	rev, err := s.store.SaveSystemDoc(ctx, s.cfg.StateDB, doc)
	if recording.ErrorCode(err) == recording.EConflict {
		return errLeaseLost
	}
	if err != nil {
		return err
	}
	st.Rev, st.saved = rev, s.cfg.Now()
	return nil
}

// claim takes the lease for this instance, unless another holds an unexpired one.
func (s *Sweeper) claim(ctx context.Context) (*state, error) {
	st, err := s.loadState(ctx)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	if st.Owner != "" && st.Owner != s.cfg.Instance && now.Unix() < st.LeaseUntil {
		return nil, fmt.Errorf("%w: %s holds the lease until %s", ErrBusy, st.Owner,
			time.Unix(st.LeaseUntil, 0).UTC().Format(time.RFC3339))
	}
	st.Owner, st.LeaseUntil = s.cfg.Instance, now.Add(s.cfg.Lease).Unix()
	if err := s.saveState(ctx, st); err != nil {
		if errors.Is(err, errLeaseLost) {
			return nil, fmt.Errorf("%w: another instance claimed it first", ErrBusy)
		}
		return nil, err
	}
	return st, nil
}

// renew extends the lease and records progress.
func (s *Sweeper) renew(ctx context.Context, st *state) error {
	st.LeaseUntil = s.cfg.Now().Add(s.cfg.Lease).Unix()
	return s.saveState(ctx, st)
}

// checkpointEvery bounds how long the lease and the progress go unsaved; well under the
// shortest lease allowed (10s).
const checkpointEvery = 3 * time.Second

// renewIfDue renews when the last write is checkpointEvery old: a batch's deletions are their
// own record of progress, so writing the state after each one would only add requests.
func (s *Sweeper) renewIfDue(ctx context.Context, st *state) error {
	if s.cfg.Now().Sub(st.saved) < checkpointEvery {
		return nil
	}
	return s.renew(ctx, st)
}
