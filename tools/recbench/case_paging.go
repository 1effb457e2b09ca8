package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/recordingsd/recordingsd/pkg/crossbar"
	"github.com/recordingsd/recordingsd/pkg/recording"
)

// serviceWalk reads every page of the window through the service; it returns the items
// and pages read.
func (b *bench) serviceWalk(ctx context.Context, s *service, accountID string, from, to int64, pageSize int) (items, pages int, err error) {
	next := ""
	for {
		q := url.Values{}
		q.Set("created_from", fmt.Sprint(from))
		q.Set("created_to", fmt.Sprint(to))
		q.Set("page_size", fmt.Sprint(pageSize))
		if next != "" {
			q.Set("start_key", next)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/v2/accounts/"+accountID+"/recordings?"+q.Encode(), nil)
		req.Header.Set("X-Auth-Token", benchToken)
		resp, err := b.hc.Do(req)
		if err != nil {
			return items, pages, err
		}
		var page struct {
			PageSize     int    `json:"page_size"`
			NextStartKey string `json:"next_start_key"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return items, pages, fmt.Errorf("page %d: status %d: %v", pages+1, resp.StatusCode, err)
		}
		items += page.PageSize
		pages++
		if page.NextStartKey == "" {
			return items, pages, nil
		}
		next = page.NextStartKey
	}
}

// directWalk pages through the window as Kazoo's crossbar does: Kazoo's crossbar_listing view
// of every month database of the window, with include_docs, in reads of batch+1 rows (the last
// one is where the next read starts), leaving out soft-deleted documents as crossbar's filter
// does. It returns the rows kept and the reads made.
func (b *bench) directWalk(ctx context.Context, set *dataSet, from, to int64, batch int) (rows, reads int, err error) {
	for _, m := range set.months() {
		db := recording.MonthDBName(set.accountID, m)
		var start any = []any{from}
		for {
			got, err := b.couch.readDesignView(ctx, db, kazooDesignName, kazooViewListing, viewParams(start, []any{to, map[string]any{}}, batch+1, false))
			reads++
			if err != nil {
				return rows, reads, err
			}
			page := got
			if len(got) > batch {
				page = got[:batch]
			}
			for _, r := range page {
				if !softDeleted(r.Doc) {
					rows++
				}
			}
			if len(got) <= batch {
				break
			}
			start = got[batch].Key
		}
	}
	return rows, reads, nil
}

// softDeleted reports whether a raw document has a non-null soft_delete.
func softDeleted(doc json.RawMessage) bool {
	var d struct {
		SoftDelete json.RawMessage `json:"soft_delete"`
	}
	return json.Unmarshal(doc, &d) == nil && len(d.SoftDelete) > 0 && string(d.SoftDelete) != "null"
}

// streamAll reads the whole window in one paginate=false response; it returns the bytes,
// and the items when count is set.
func (b *bench) streamAll(ctx context.Context, s *service, accountID string, from, to int64, count bool) (int64, int, error) {
	u := fmt.Sprintf("%s/v2/accounts/%s/recordings?paginate=false&created_from=%d&created_to=%d", s.base, accountID, from, to)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	req.Header.Set("X-Auth-Token", benchToken)
	resp, err := b.hc.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("paginate=false: status %d", resp.StatusCode)
	}
	if !count {
		n, err := io.Copy(io.Discard, resp.Body)
		return n, 0, err
	}
	var env struct {
		Data []json.RawMessage `json:"data"`
	}
	cr := &countingReader{r: resp.Body}
	err = json.NewDecoder(cr).Decode(&env)
	_, _ = io.Copy(io.Discard, cr)
	return cr.n, len(env.Data), err
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// casePaging: every page of the whole data set's window, and the same in one streamed
// response, against the sum of the direct view reads.
func (b *bench) casePaging(ctx context.Context) error {
	set := b.set
	from, to := set.window()
	want := set.listed()
	P := b.cfg.pagingSize
	sec := fmt.Sprintf("2. Paging through %d recordings (%d months)", len(set.recordings), set.opts.Months)
	// The window is wider than the default listing.max_range_s (31 days): this case runs its
	// own services configured to allow it. The embedded file is opened by one process at a time.
	wide := set.opts.Months*31 + 10
	svcCouch, err := startService(ctx, b.bin, serviceEnv(b.couch.withCredentials(), "", wide), set.accountID, b.hc)
	if err != nil {
		return err
	}
	defer svcCouch.stop()
	b.svcEmb.stop()
	svcEmb, err := startService(ctx, b.bin, serviceEnv("", b.embPath, wide), set.accountID, b.hc)
	if err != nil {
		return err
	}
	defer func() {
		svcEmb.stop()
		var err error
		if b.svcEmb, err = startService(ctx, b.bin, serviceEnv("", b.embPath, 0), set.accountID, b.hc); err != nil {
			b.logf("restart the service on the embedded store: %v", err)
			b.svcEmb = nil
		}
	}()
	if err := b.pagingRequests(ctx, wide, from, to, P); err != nil {
		return err
	}
	var svcPaged, dirPaged, embPaged, svcAll, dirAll, embAll, rssCouch, rssEmb, anonCouch, anonEmb series
	var pages, reads, batchReads int
	var streamBytes int64
	for run := 0; run < b.cfg.runs; run++ {
		steps := []func() error{
			func() error { // service, all pages
				t0 := time.Now()
				items, n, err := b.serviceWalk(ctx, svcCouch, set.accountID, from, to, P)
				if err == nil && items != want {
					err = fmt.Errorf("service listed %d items, want %d", items, want)
				}
				svcPaged = append(svcPaged, time.Since(t0).Seconds())
				pages = n
				return err
			},
			func() error { // direct, the same pages
				t0 := time.Now()
				rows, n, err := b.directWalk(ctx, set, from, to, P)
				if err == nil && rows != want {
					err = fmt.Errorf("direct reads returned %d rows, want %d", rows, want)
				}
				dirPaged = append(dirPaged, time.Since(t0).Seconds())
				reads = n
				return err
			},
			func() error { // service, paginate=false
				w := watchRSS(svcCouch.pid())
				t0 := time.Now()
				n, items, err := b.streamAll(ctx, svcCouch, set.accountID, from, to, run == 0)
				svcAll = append(svcAll, time.Since(t0).Seconds())
				m := w.stop()
				rssCouch, anonCouch = append(rssCouch, mb(m.rss)), append(anonCouch, mb(m.anon))
				if err == nil && run == 0 && items != want {
					err = fmt.Errorf("paginate=false listed %d items, want %d", items, want)
				}
				streamBytes = n
				return err
			},
			func() error { // direct, in the service's batches of 200
				t0 := time.Now()
				rows, n, err := b.directWalk(ctx, set, from, to, 200)
				if err == nil && rows != want {
					err = fmt.Errorf("direct reads returned %d rows, want %d", rows, want)
				}
				dirAll = append(dirAll, time.Since(t0).Seconds())
				batchReads = n
				return err
			},
		}
		if run%2 == 1 {
			steps[0], steps[1], steps[2], steps[3] = steps[1], steps[0], steps[3], steps[2]
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return err
			}
		}
		t0 := time.Now()
		if items, _, err := b.serviceWalk(ctx, svcEmb, set.accountID, from, to, P); err != nil || items != want {
			return fmt.Errorf("embedded paging: %d items (want %d): %v", items, want, err)
		}
		embPaged = append(embPaged, time.Since(t0).Seconds())
		w := watchRSS(svcEmb.pid())
		t0 = time.Now()
		if _, _, err := b.streamAll(ctx, svcEmb, set.accountID, from, to, false); err != nil {
			return err
		}
		embAll = append(embAll, time.Since(t0).Seconds())
		m := w.stop()
		rssEmb, anonEmb = append(rssEmb, mb(m.rss)), append(anonEmb, mb(m.anon))
	}
	b.note("Paging case", "%d listed recordings: %d service pages of %d; %d direct reads of Kazoo's crossbar_listing with include_docs, %d rows each; paginate=false: %.1f MB in one response, against %d direct reads of 201 rows",
		want, pages, P, reads, P+1, float64(streamBytes)/(1<<20), batchReads)
	b.add(result{section: sec, name: fmt.Sprintf("all pages, page_size=%d", P), unit: "s",
		svc: svcPaged, direct: dirPaged, emb: embPaged})
	b.add(result{section: sec, name: "paginate=false (direct: reads of 200)", unit: "s",
		svc: svcAll, direct: dirAll, emb: embAll})
	b.add(result{section: sec, name: "service peak RSS (VmRSS) during paginate=false", unit: "MB",
		svc: rssCouch, emb: rssEmb, target: &target{kind: absAtMost, bound: 100, text: "< 100 MB"}, noRatio: true})
	b.add(result{section: sec, name: "service peak anonymous RSS (RssAnon) during paginate=false", unit: "MB",
		svc: anonCouch, emb: anonEmb, noRatio: true, target: &target{kind: absAtMost, bound: 100, text: "< 100 MB (anonymous memory)"}})
	return nil
}

// pagingRequests notes the CouchDB requests of one page in the middle of the walk, through
// a service of the paging case's configuration behind the counting proxy.
func (b *bench) pagingRequests(ctx context.Context, wideDays int, from, to int64, pageSize int) error {
	if b.proxy == nil {
		var err error
		if b.proxy, err = startProxy(b.couch.base); err != nil {
			return err
		}
	}
	svc, err := startService(ctx, b.bin, serviceEnv(b.proxy.url(b.couch.user, b.couch.pass), "", wideDays), b.set.accountID, b.hc)
	if err != nil {
		return err
	}
	defer svc.stop()
	// The start key of a page in the middle: a listed recording halfway through the set.
	var mid seededRecording
	for i := len(b.set.recordings) / 2; i < len(b.set.recordings); i++ {
		if r := b.set.recordings[i]; !r.softDeleted && !r.pvtDeleted {
			mid = r
			break
		}
	}
	path := fmt.Sprintf("/v2/accounts/%s/recordings?created_from=%d&created_to=%d&page_size=%d&start_key=%s",
		b.set.accountID, from, to, pageSize, url.QueryEscape(crossbar.EncodeStartKey(recording.ListKey{Created: mid.created, ID: mid.id})))
	c := b.svcGet(svc, path, nil, 200)
	for i := 0; i < 2; i++ { // the first call fills the service's caches
		b.proxy.take()
		if _, err := c(ctx); err != nil {
			return err
		}
	}
	reqs := b.proxy.take()
	b.note("CouchDB requests of one page in the middle of the 3-month walk", "%d — %s", len(reqs), describeRequests(reqs))
	return nil
}
