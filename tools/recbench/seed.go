package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/couchviews"
	"github.com/recordingsd/recordingsd/pkg/demo"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch"
	"github.com/recordingsd/recordingsd/pkg/store/embedded"
)

// dataSet is what one seeding wrote: the options (the anchor makes ids reproducible) and
// every recording, so that benchmarks can pick ids without asking the store.
type dataSet struct {
	opts       demo.Options
	result     demo.Result
	accountID  string
	recordings []seededRecording // in seeding order: newest first
}

type seededRecording struct {
	id          string
	month       recording.Month
	created     int64 // gregorian seconds
	softDeleted bool
	pvtDeleted  bool
	name        string // its audio attachment's name
}

// listed is the number of recordings a listing of the whole data set returns.
func (d *dataSet) listed() int {
	n := 0
	for _, r := range d.recordings {
		if !r.softDeleted && !r.pvtDeleted {
			n++
		}
	}
	return n
}

// months lists, oldest first, the month databases holding recordings.
func (d *dataSet) months() []recording.Month {
	seen := map[recording.Month]bool{}
	var out []recording.Month
	for _, r := range d.recordings {
		if !seen[r.month] {
			seen[r.month] = true
			out = append(out, r.month)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// live returns up to n recordings of month m that a soft delete can act on.
func (d *dataSet) live(m recording.Month, n int) []string {
	var ids []string
	for _, r := range d.recordings {
		if r.month == m && !r.softDeleted && !r.pvtDeleted && len(ids) < n {
			ids = append(ids, r.id)
		}
	}
	return ids
}

// window is the gregorian range holding every recording of the data set.
func (d *dataSet) window() (from, to int64) {
	to = recording.ToGregorian(d.opts.Anchor)
	from = to - int64(d.opts.Months)*30*24*3600 - 24*3600
	return from, to
}

// noter wraps a backend and notes each recording demo.Seed writes.
type noter struct {
	demo.Backend
	set *dataSet
}

func (n *noter) PutRecording(ctx context.Context, accountID string, doc recording.Doc) (string, error) {
	m, _ := recording.ParseRecordingID(doc.ID())
	created, _ := doc.Int("pvt_created")
	n.set.recordings = append(n.set.recordings, seededRecording{
		id: doc.ID(), month: m, created: created,
		softDeleted: doc.IsSoftDeleted(), pvtDeleted: doc.IsDeleted(), name: doc.String("name"),
	})
	return n.Backend.PutRecording(ctx, accountID, doc)
}

// dryRun is a backend that stores nothing: it replays demo.Seed to learn what it writes.
type dryRun struct{ demo.Backend }

func (dryRun) PutAccount(context.Context, recording.Doc) error      { return nil }
func (dryRun) PutUser(context.Context, string, recording.Doc) error { return nil }
func (dryRun) Account(context.Context, string) (recording.Doc, error) {
	return nil, errors.New("dry run")
}
func (dryRun) PutRecording(context.Context, string, recording.Doc) (string, error) {
	return "1-dry", nil
}
func (dryRun) PutAttachment(context.Context, string, string, string, string, string, io.Reader) (string, error) {
	return "2-dry", nil
}

// seedOptions are the sizes of one data set; the anchor is fixed by the caller so both
// stores get the very same documents.
func seedOptions(recordings, months, audioEvery int, anchor time.Time) demo.Options {
	return demo.Options{Accounts: 1, RecordingsPerAccount: recordings, Months: months, AudioEvery: audioEvery,
		Anchor: anchor.UTC().Truncate(time.Second)}
}

// describe replays demo.Seed without a store: the data set it writes with these options.
func describe(ctx context.Context, o demo.Options) (*dataSet, error) {
	set := &dataSet{opts: o, accountID: demo.AccountID(0)}
	res, err := demo.Seed(ctx, &noter{Backend: dryRun{}, set: set}, o)
	set.result = res
	return set, err
}

// seedEmbedded writes the data set into a new embedded store file with demo.Seed, the
// function behind `recordingsd seed`, without an fsync per transaction (NoSync): the file
// is the same, only written faster.
func seedEmbedded(ctx context.Context, path string, o demo.Options) (*dataSet, error) {
	s, err := embedded.Open(path, embedded.Options{NoSync: true})
	if err != nil {
		return nil, err
	}
	set := &dataSet{opts: o, accountID: demo.AccountID(0)}
	res, err := demo.Seed(ctx, &noter{Backend: s, set: set}, o)
	set.result = res
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return set, err
}

// bulkLoader is the CouchDB backend with PutRecording and PutAttachment batched into
// _bulk_docs (audio inline, base64), instead of a GET and a PUT per document and a PUT per
// attachment. The documents are the ones demo.Seed builds, byte for byte; only their
// revision numbers differ (1-… instead of 2-…). Month databases must not exist yet.
type bulkLoader struct {
	*couch.Store
	c       *couchClient
	batch   int
	pending map[recording.Month][]recording.Doc
	byID    map[string]recording.Doc
	ready   map[recording.Month]bool
}

func (b *bulkLoader) PutRecording(ctx context.Context, accountID string, doc recording.Doc) (string, error) {
	m, ok := recording.ParseRecordingID(doc.ID())
	if !ok {
		return "", fmt.Errorf("bad recording id %q", doc.ID())
	}
	if len(b.pending[m]) >= b.batch {
		if err := b.flush(ctx, accountID, m); err != nil {
			return "", err
		}
	}
	d := doc.Clone()
	b.pending[m] = append(b.pending[m], d)
	b.byID[d.ID()] = d
	return "1-bulk", nil
}

func (b *bulkLoader) PutAttachment(ctx context.Context, accountID, id, rev, name, contentType string, body io.Reader) (string, error) {
	d, ok := b.byID[id]
	if !ok {
		return "", fmt.Errorf("attachment for %s, which is not pending", id)
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return "", err
	}
	atts, _ := d["_attachments"].(map[string]any)
	if atts == nil {
		atts = map[string]any{}
		d["_attachments"] = atts
	}
	atts[name] = map[string]any{"content_type": contentType, "data": base64.StdEncoding.EncodeToString(data)}
	return "2-bulk", nil
}

func (b *bulkLoader) flushAll(ctx context.Context, accountID string) error {
	for m := range b.pending {
		if err := b.flush(ctx, accountID, m); err != nil {
			return err
		}
	}
	return nil
}

// flush creates the month database with our design document (as PutRecording does) and
// writes its pending documents in one _bulk_docs.
func (b *bulkLoader) flush(ctx context.Context, accountID string, m recording.Month) error {
	docs := b.pending[m]
	if len(docs) == 0 {
		return nil
	}
	db := recording.MonthDBName(accountID, m)
	if !b.ready[m] {
		if code, err := b.c.doJSON(ctx, http.MethodPut, []string{db}, nil, nil, nil); err != nil && code != http.StatusPreconditionFailed {
			return err
		}
		id, design := couchviews.RecordingsDesign()
		if code, err := b.c.doJSON(ctx, http.MethodPut, []string{db, id}, nil, design, nil); err != nil && code != http.StatusConflict {
			return err
		}
		b.ready[m] = true
	}
	var results []struct {
		ID     string `json:"id"`
		Error  string `json:"error"`
		Reason string `json:"reason"`
	}
	if _, err := b.c.doJSON(ctx, http.MethodPost, []string{db, "_bulk_docs"}, nil, map[string]any{"docs": docs}, &results); err != nil {
		return err
	}
	for _, r := range results {
		if r.Error != "" {
			return fmt.Errorf("_bulk_docs %s: %s: %s: %s", db, r.ID, r.Error, r.Reason)
		}
	}
	for _, d := range docs {
		delete(b.byID, d.ID())
	}
	b.pending[m] = nil
	return nil
}

// seedCouch drops the demo account's month databases of the data set's span, then writes
// the data set with demo.Seed through bulkLoader.
func seedCouch(ctx context.Context, c *couchClient, o demo.Options) (*dataSet, error) {
	s, err := couch.New(couch.Config{URL: c.withCredentials(), RequestTimeout: 5 * time.Minute}, zap.NewNop())
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if err := dropMonths(ctx, c, demo.AccountID(0), o); err != nil {
		return nil, err
	}
	// The events database of an earlier run knows the recordings just dropped: a watcher
	// resuming from it would read the re-seeded month databases as 30,000 new recordings and
	// delay the live events the events and webhooks cases time.
	if code, err := c.doJSON(ctx, http.MethodDelete, []string{eventsDB}, nil, nil, nil); err != nil && code != http.StatusNotFound {
		return nil, err
	}
	bl := &bulkLoader{Store: s, c: c, batch: 1000, pending: map[recording.Month][]recording.Doc{},
		byID: map[string]recording.Doc{}, ready: map[recording.Month]bool{}}
	set := &dataSet{opts: o, accountID: demo.AccountID(0)}
	res, err := demo.Seed(ctx, &noter{Backend: bl, set: set}, o)
	set.result = res
	if err != nil {
		return set, err
	}
	return set, bl.flushAll(ctx, set.accountID)
}

// eventsDB is the service's events database by default (events.database).
const eventsDB = "recordingsd_events"

// dropMonths deletes the account's month databases around the data set's span, so that a
// new seeding starts from nothing (seeding different sizes writes different ids).
func dropMonths(ctx context.Context, c *couchClient, accountID string, o demo.Options) error {
	last := recording.MonthOf(o.Anchor.Add(72 * time.Hour))
	m := recording.MonthOf(o.Anchor.Add(-time.Duration(o.Months)*30*24*time.Hour - 72*time.Hour))
	for ; !last.Before(m); m = m.Next() {
		code, err := c.doJSON(ctx, http.MethodDelete, []string{recording.MonthDBName(accountID, m)}, nil, nil, nil)
		if err != nil && code != http.StatusNotFound {
			return err
		}
	}
	return nil
}

// seedWithCLI runs `recordingsd seed` itself (slow: an fsync or an HTTP round trip per
// write). The reseller is written first with the anchor, so the command seeds exactly the
// documents of o (it reads its anchor from there); the ids are then known by replaying it.
func seedWithCLI(ctx context.Context, bin string, env []string, o demo.Options, putAccount func(context.Context, recording.Doc) error) (*dataSet, error) {
	reseller := recording.Doc{"_id": demo.ResellerID, "pvt_type": "account", "pvt_demo_anchor": recording.ToGregorian(o.Anchor)}
	if err := putAccount(ctx, reseller); err != nil {
		return nil, fmt.Errorf("write the reseller's anchor: %w", err)
	}
	cmd := exec.CommandContext(ctx, bin, "seed",
		"--accounts", "1", "--recordings-per-account", fmt.Sprint(o.RecordingsPerAccount),
		"--months", fmt.Sprint(o.Months), "--audio-every", fmt.Sprint(o.AudioEvery))
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("recordingsd seed: %w\n%s", err, out.String())
	}
	return describe(ctx, o)
}

// bigAudio is size bytes of incompressible data, the same on every run.
func bigAudio(size int64) []byte {
	b := make([]byte, size)
	r := rand.NewChaCha8([32]byte{'r', 'e', 'c', 'b', 'e', 'n', 'c', 'h'})
	_, _ = r.Read(b)
	return b
}

// attachBig replaces the audio of recording id with data (the big-file download case).
func attachBig(ctx context.Context, b demo.Backend, accountID, id, name string, data []byte) error {
	doc, err := b.Get(ctx, accountID, id)
	if err != nil {
		return err
	}
	_, err = b.PutAttachment(ctx, accountID, id, doc.Rev(), name, "audio/mpeg", bytes.NewReader(data))
	return err
}
