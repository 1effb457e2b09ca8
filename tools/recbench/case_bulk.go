package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// patchCollection sends PATCH /recordings/collection and checks that every id succeeded.
func (b *bench) patchCollection(ctx context.Context, s *service, accountID string, ids []string, op string) error {
	body, _ := json.Marshal(map[string]any{"data": map[string]any{"recordings": ids, op: map[string]any{}}})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPatch, s.base+"/v2/accounts/"+accountID+"/recordings/collection", bytes.NewReader(body))
	req.Header.Set("X-Auth-Token", benchToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var env struct {
		Data struct {
			Success map[string]json.RawMessage `json:"success"`
			Failure map[string]json.RawMessage `json:"failure"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("PATCH collection %s: status %d: %v", op, resp.StatusCode, err)
	}
	if len(env.Data.Success) != len(ids) {
		for id, f := range env.Data.Failure {
			return fmt.Errorf("PATCH collection %s: %d of %d succeeded; %s: %s", op, len(env.Data.Success), len(ids), id, f)
		}
		return fmt.Errorf("PATCH collection %s: %d of %d succeeded", op, len(env.Data.Success), len(ids))
	}
	return nil
}

// directBulk is what a client of CouchDB does for the same soft delete: per month database,
// read the documents (_all_docs?include_docs) and write them back edited (_bulk_docs). The
// edit is the service's own (recording.Patch). It returns the time of the writes alone and
// of reads and writes together.
func directBulk(ctx context.Context, c *couchClient, accountID string, byMonth map[recording.Month][]string) (writes, total time.Duration, err error) {
	patch, err := recording.NewPatch(map[string]any{"soft_delete": map[string]any{}}, "")
	if err != nil {
		return 0, 0, err
	}
	months := make([]recording.Month, 0, len(byMonth))
	for m := range byMonth {
		months = append(months, m)
	}
	sort.Slice(months, func(i, j int) bool { return months[i].Before(months[j]) })
	docs := map[recording.Month][]recording.Doc{}
	t0 := time.Now()
	for _, m := range months {
		db := recording.MonthDBName(accountID, m)
		var all struct {
			Rows []struct {
				Doc json.RawMessage `json:"doc"`
			} `json:"rows"`
		}
		if _, err := c.doJSON(ctx, http.MethodPost, []string{db, "_all_docs"}, urlValues("include_docs", "true"),
			map[string]any{"keys": byMonth[m]}, &all); err != nil {
			return 0, 0, err
		}
		for _, r := range all.Rows {
			d, err := recording.DecodeDoc(r.Doc)
			if err != nil {
				return 0, 0, err
			}
			patch.Apply(d, recording.Caller{}, time.Now())
			docs[m] = append(docs[m], d)
		}
	}
	readDone := time.Now()
	for _, m := range months {
		var res []struct {
			Error string `json:"error"`
		}
		if _, err := c.doJSON(ctx, http.MethodPost, []string{recording.MonthDBName(accountID, m), "_bulk_docs"}, nil,
			map[string]any{"docs": docs[m]}, &res); err != nil {
			return 0, 0, err
		}
		for _, r := range res {
			if r.Error != "" {
				return 0, 0, fmt.Errorf("direct _bulk_docs: %s", r.Error)
			}
		}
	}
	return time.Since(readDone), time.Since(t0), nil
}

func urlValues(kv ...string) map[string][]string {
	out := map[string][]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = append(out[kv[i]], kv[i+1])
	}
	return out
}

// caseBulk: PATCH /recordings/collection soft-deleting ids of two month databases, through
// a counting proxy, against the direct reads and writes of the same edits (also proxied).
// Each run restores the recordings afterwards, untimed.
func (b *bench) caseBulk(ctx context.Context) error {
	set := b.set
	// The two month databases with the most live recordings.
	months := set.months()
	sort.SliceStable(months, func(i, j int) bool { return len(set.live(months[i], 1<<30)) > len(set.live(months[j], 1<<30)) })
	if len(months) < 2 {
		return fmt.Errorf("the data set has %d month database(s); the bulk case needs 2", len(months))
	}
	// Half the ids in each, fewer if a small data set has fewer.
	half := min(b.cfg.bulkIDs/2, len(set.live(months[1], 1<<30)))
	if half < 1 {
		return fmt.Errorf("month %s has no live recording", months[1])
	}
	if half < b.cfg.bulkIDs/2 {
		b.logf("bulk: only %d live recordings in month %s; soft-deleting %d in all", half, months[1], 2*half)
	}
	byMonth := map[recording.Month][]string{}
	var ids []string
	for _, m := range months[:2] {
		byMonth[m] = set.live(m, half)
		ids = append(ids, byMonth[m]...)
	}
	svc, proxy, err := b.proxied(ctx)
	if err != nil {
		return err
	}
	direct, err := newCouchClient(proxy.url(b.couch.user, b.couch.pass), b.hc)
	if err != nil {
		return err
	}
	restore := func(s *service) error { return b.patchCollection(ctx, s, set.accountID, ids, "soft_restore") }
	var svcT, dirW, dirRW, embT, svcReqs, perMODB, dirReqs series
	var sample []proxiedRequest
	for run := 0; run < b.cfg.runs; run++ {
		steps := []func() error{
			func() error {
				proxy.take()
				t0 := time.Now()
				if err := b.patchCollection(ctx, svc, set.accountID, ids, "soft_delete"); err != nil {
					return err
				}
				svcT = append(svcT, ms(time.Since(t0)))
				reqs := proxy.take()
				sample = reqs
				svcReqs = append(svcReqs, float64(len(reqs)))
				n := 0
				for _, r := range reqs {
					if strings.Contains(r.db(), "-") { // month databases, not the account's
						n++
					}
				}
				perMODB = append(perMODB, float64(n)/2)
				err := restore(svc)
				proxy.take()
				return err
			},
			func() error {
				proxy.take()
				w, t, err := directBulk(ctx, direct, set.accountID, byMonth)
				if err != nil {
					return err
				}
				dirW = append(dirW, ms(w))
				dirRW = append(dirRW, ms(t))
				dirReqs = append(dirReqs, float64(len(proxy.take())))
				err = restore(svc)
				proxy.take()
				return err
			},
		}
		if run%2 == 1 {
			steps[0], steps[1] = steps[1], steps[0]
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return err
			}
		}
		t0 := time.Now()
		if err := b.patchCollection(ctx, b.svcEmb, set.accountID, ids, "soft_delete"); err != nil {
			return err
		}
		embT = append(embT, ms(time.Since(t0)))
		if err := restore(b.svcEmb); err != nil {
			return err
		}
	}
	b.note("Bulk soft delete: CouchDB requests of one PATCH", "%d — %s", len(sample), describeRequests(sample))
	sec := fmt.Sprintf("4. Bulk soft delete of %d recordings in 2 month databases", len(ids))
	b.add(result{section: sec, name: "time (direct: the 2 _bulk_docs writes alone)", unit: "ms",
		svc: svcT, direct: dirW, emb: embT})
	b.add(result{section: sec, name: "time (direct: _all_docs reads + _bulk_docs writes)", unit: "ms",
		svc: svcT, direct: dirRW, emb: embT})
	b.add(result{section: sec, name: "CouchDB requests (direct: reads + writes)", unit: "requests",
		svc: svcReqs, direct: dirReqs})
	b.add(result{section: sec, name: "CouchDB requests per month database", unit: "requests",
		svc: perMODB, target: &target{kind: absAtMost, bound: 2, text: "≤ 2 per month database"}, noRatio: true})
	return nil
}
