package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// newHTTPClient is the one client of every measurement, service and CouchDB alike:
// keep-alive connections enough for the highest concurrency, no gzip (the service sends
// none, and a compressed answer from CouchDB would not be the same work).
func newHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 128,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}}
}

// call is one request of a load: it returns the bytes of body it read.
type call func(ctx context.Context) (int64, error)

// loadResult is one side of one run.
type loadResult struct {
	requests int
	bytes    int64
	elapsed  time.Duration
	lat      []time.Duration // sorted
	err      error           // first failure, if any
	// CPU seconds the database and the service used during the load (0: not measured).
	cpuDB, cpuSvc float64
}

// cpuPerReq is CPU milliseconds per request.
func cpuPerReq(cpu float64, r loadResult) float64 { return cpu * 1000 / float64(r.requests) }

// measured runs a load while counting the CPU time of the database process (dbPID) and
// of the service process (svcPID); a pid of 0 is not counted.
func measured(ctx context.Context, conc int, dur time.Duration, maxReq int, c call, dbPID, svcPID int) loadResult {
	cpu := func(pid int) float64 {
		if pid == 0 {
			return 0
		}
		return procCPU(pid)
	}
	db0, svc0 := cpu(dbPID), cpu(svcPID)
	r := runLoad(ctx, conc, dur, maxReq, c)
	r.cpuDB, r.cpuSvc = cpu(dbPID)-db0, cpu(svcPID)-svc0
	return r
}

func (r loadResult) rps() float64 { return float64(r.requests) / r.elapsed.Seconds() }
func (r loadResult) mbps() float64 {
	return float64(r.bytes) / (1 << 20) / r.elapsed.Seconds()
}

// pct returns the p-th percentile (nearest rank) of the latencies.
func (r loadResult) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(r.lat)))) - 1
	return r.lat[max(0, min(i, len(r.lat)-1))]
}

// runLoad is a closed-loop load: conc workers send requests back to back until dur has
// passed or maxReq requests have started, whichever comes first (at least one each).
// Requests in flight at the end complete and count.
func runLoad(ctx context.Context, conc int, dur time.Duration, maxReq int, c call) loadResult {
	var (
		started  atomic.Int64
		mu       sync.Mutex
		res      loadResult
		firstErr error
		wg       sync.WaitGroup
	)
	begin := time.Now()
	deadline := begin.Add(dur)
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			var n int64
			for i := 0; ; i++ {
				if i > 0 && (time.Now().After(deadline) || started.Load() >= int64(maxReq)) {
					break
				}
				if ctx.Err() != nil {
					break
				}
				started.Add(1)
				t0 := time.Now()
				b, err := c(ctx)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					break
				}
				lat = append(lat, time.Since(t0))
				n += b
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			res.bytes += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(begin)
	res.requests = len(res.lat)
	res.err = firstErr
	if res.err == nil && ctx.Err() != nil {
		res.err = ctx.Err()
	}
	sort.Slice(res.lat, func(i, j int) bool { return res.lat[i] < res.lat[j] })
	return res
}

// getter builds calls that GET a URL with headers and read the whole answer, which must
// have status want.
func getter(hc *http.Client, url string, header http.Header, want int, user, pass string) call {
	return func(ctx context.Context) (int64, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, err
		}
		for k, v := range header {
			req.Header[k] = v
		}
		if user != "" || pass != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		if err != nil {
			return n, fmt.Errorf("GET %s: after %d bytes: %w", redact(url), n, err)
		}
		if resp.StatusCode != want {
			return n, fmt.Errorf("GET %s: status %d, want %d", redact(url), resp.StatusCode, want)
		}
		return n, nil
	}
}

func redact(u string) string {
	if len(u) > 160 {
		return u[:160] + "…"
	}
	return u
}
