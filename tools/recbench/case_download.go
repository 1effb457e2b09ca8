package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
)

// rangeGet times one request of a byte range and checks what came back: status 206 with
// exactly the range, or (ok200) a plain 200 with the whole file.
func (b *bench) rangeGet(ctx context.Context, url string, header http.Header, user, pass, rng string, wantLen int64, ok200 bool) (time.Duration, int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	req.Header.Set("Range", rng)
	t0 := time.Now()
	resp, err := b.hc.Do(req)
	if err != nil {
		return 0, 0, err
	}
	n, err := io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	took := time.Since(t0)
	if err != nil {
		return took, resp.StatusCode, err
	}
	switch {
	case resp.StatusCode == http.StatusPartialContent && n == wantLen:
	case resp.StatusCode == http.StatusOK && ok200 && n == b.bigSize:
	default:
		return took, resp.StatusCode, fmt.Errorf("range %s: status %d with %d bytes", rng, resp.StatusCode, n)
	}
	return took, resp.StatusCode, nil
}

func medianDur(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// downloadStreams is the concurrency of the download case's concurrent streams.
const downloadStreams = 8

// caseDownload: the big attachment through the service against CouchDB's attachment URL,
// one stream and downloadStreams at once; the service's memory meanwhile; and a Range for the
// last MB.
func (b *bench) caseDownload(ctx context.Context) error {
	if b.bigID == "" {
		return fmt.Errorf("no big attachment (setup skipped it)")
	}
	acc := b.set.accountID
	audio := http.Header{"Accept": {"audio/mpeg"}}
	svcPath := "/v2/accounts/" + acc + "/recordings/" + b.bigID
	m, _ := recording.ParseRecordingID(b.bigID)
	directPath := b.couch.urlFor([]string{recording.MonthDBName(acc, m), b.bigID, b.bigName}, nil)
	direct := getter(b.hc, directPath, nil, 200, b.couch.user, b.couch.pass)
	sides := listSides{
		svc:    b.svcGet(b.svcCouch, svcPath, audio, 200),
		direct: direct,
		emb:    b.svcGet(b.svcEmb, svcPath, audio, 200),
	}
	sizeMB := float64(b.bigSize) / (1 << 20)
	sec := fmt.Sprintf("3. Download of a %.0f MB attachment", sizeMB)
	var hwmCouch, hwmEmb, anonCouch, anonEmb series
	perMB := func(cpu func(loadResult) float64) func(loadResult) float64 {
		return func(r loadResult) float64 { return cpu(r) * 1000 / (float64(r.bytes) / (1 << 20)) }
	}
	for _, conc := range []int{1, downloadStreams} {
		// conc 1: back-to-back downloads for 1.5 s (at least one); otherwise one download each.
		dur := 1500 * time.Millisecond
		if conc > 1 {
			dur = 0
		}
		var svc, dir, emb []loadResult
		for run := 0; run < b.cfg.runs; run++ {
			order := []string{"svc", "direct"}
			if run%2 == 1 {
				order = []string{"direct", "svc"}
			}
			for _, side := range append(order, "emb") {
				var w *rssWatch
				var r loadResult
				switch side {
				case "svc":
					w = watchRSS(b.svcCouch.pid())
					r = measured(ctx, conc, dur, 1000, sides.svc, b.dbPID(), b.svcCouch.pid())
				case "direct":
					r = measured(ctx, conc, dur, 1000, sides.direct, b.dbPID(), 0)
				case "emb":
					w = watchRSS(b.svcEmb.pid())
					r = measured(ctx, conc, dur, 1000, sides.emb, 0, b.svcEmb.pid())
				}
				if r.err != nil {
					return fmt.Errorf("%s download: %w", side, r.err)
				}
				switch side {
				case "svc":
					svc = append(svc, r)
					m := w.stop()
					hwmCouch, anonCouch = append(hwmCouch, mb(m.hwm)), append(anonCouch, mb(m.anon))
				case "direct":
					dir = append(dir, r)
				case "emb":
					emb = append(emb, r)
					m := w.stop()
					hwmEmb, anonEmb = append(hwmEmb, mb(m.hwm)), append(anonEmb, mb(m.anon))
				}
			}
		}
		name := "single stream"
		if conc > 1 {
			name = fmt.Sprintf("%d concurrent streams (aggregate)", conc)
		}
		b.add(result{section: sec, name: name, unit: "MB/s",
			svc: collect(svc, loadResult.mbps), direct: collect(dir, loadResult.mbps), emb: collect(emb, loadResult.mbps),
			target: &target{kind: ratioAtLeast, bound: 0.95, text: "service ≥ 0.95× direct"}})
		if conc == 1 {
			if b.dbPID() != 0 {
				b.add(result{section: sec, name: "CouchDB CPU per MB, single stream", unit: "ms",
					svc: collect(svc, perMB(func(r loadResult) float64 { return r.cpuDB })), direct: collect(dir, perMB(func(r loadResult) float64 { return r.cpuDB }))})
			}
			b.add(result{section: sec, name: "service CPU per MB, single stream", unit: "ms", noRatio: true,
				svc: collect(svc, perMB(func(r loadResult) float64 { return r.cpuSvc })), emb: collect(emb, perMB(func(r loadResult) float64 { return r.cpuSvc }))})
		}
	}
	b.add(result{section: sec, name: "service VmHWM while downloading", unit: "MB",
		svc: hwmCouch, emb: hwmEmb, target: &target{kind: absAtMost, bound: 64, svcOnly: true, text: "service on CouchDB < 64 MB"}, noRatio: true,
		note: "VmHWM is the kernel's peak of the service's resident memory, reset before each side of each run (`/proc/PID/clear_refs` 5), so each figure is the peak of one single-stream or concurrent download run. On the embedded store it also counts the pages of the store file that bbolt maps and a download touches (page cache the kernel can reclaim); RssAnon (sampled every 10 ms) is the memory the process allocated itself."})
	b.add(result{section: sec, name: "service peak anonymous RSS (RssAnon) while downloading", unit: "MB",
		svc: anonCouch, emb: anonEmb, noRatio: true})
	return b.rangeCase(ctx, sec, svcPath, directPath)
}

// rangeCase: the last MB of the big file against the first MB (both read 1 MB if the
// store seeks) and against the whole file.
func (b *bench) rangeCase(ctx context.Context, sec, svcPath, directURL string) error {
	const oneMB = 1 << 20
	last := fmt.Sprintf("bytes=-%d", oneMB)
	first := fmt.Sprintf("bytes=0-%d", oneMB-1)
	audio := http.Header{"Accept": {"audio/mpeg"}, "X-Auth-Token": {benchToken}}
	type side struct {
		url        string
		header     http.Header
		user, pass string
		ok200      bool
	}
	sides := map[string]side{
		"svc":    {b.svcCouch.base + svcPath, audio, "", "", false},
		"direct": {directURL, nil, b.couch.user, b.couch.pass, true},
		"emb":    {b.svcEmb.base + svcPath, audio, "", "", false},
	}
	lastT := map[string]series{}
	ratio := map[string]series{}
	status := map[string]int{}
	for run := 0; run < b.cfg.runs; run++ {
		for _, name := range []string{"svc", "direct", "emb"} {
			s := sides[name]
			var lt, ft []time.Duration
			for i := 0; i < 5; i++ {
				t, code, err := b.rangeGet(ctx, s.url, s.header, s.user, s.pass, last, oneMB, s.ok200)
				if err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
				status[name] = code
				lt = append(lt, t)
				t, _, err = b.rangeGet(ctx, s.url, s.header, s.user, s.pass, first, oneMB, s.ok200)
				if err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
				ft = append(ft, t)
			}
			lastT[name] = append(lastT[name], ms(medianDur(lt)))
			ratio[name] = append(ratio[name], float64(medianDur(lt))/float64(medianDur(ft)))
		}
	}
	b.note("Range answers", "CouchDB direct: %d; service on CouchDB: %d; service on embedded: %d (206 = the range alone was sent)",
		status["direct"], status["svc"], status["emb"])
	b.add(result{section: sec, name: "Range: last 1 MB", unit: "ms",
		svc: lastT["svc"], direct: lastT["direct"], emb: lastT["emb"]})
	b.add(result{section: sec, name: "Range: last 1 MB ÷ first 1 MB (time)", unit: "×",
		svc: ratio["svc"], direct: ratio["direct"], emb: ratio["emb"],
		target: &target{kind: embRatioAtMost, bound: 2, text: "embedded ≈ 1 (≤ 2×), not ~50×"}, noRatio: true,
		note: "A store that seeks reads 1 MB for either range; one that cannot sends 50 MB for the last MB."})
	return nil
}
