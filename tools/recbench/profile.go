package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/recordingsd/recordingsd/pkg/api"
	"github.com/recordingsd/recordingsd/pkg/auth"
	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch"
	"github.com/recordingsd/recordingsd/pkg/store/embedded"
)

// profileNote is one profile summary of the report.
type profileNote struct {
	title, summary, top string
}

// inProcess is the service's handler served from recbench's own process, so that it can
// be profiled: the recordingsd binary has no profiling endpoint, and must not get one for
// a benchmark. Every request runs under the pprof label side=service; the load generator
// runs under side=client, which the summaries leave out.
type inProcess struct {
	srv   *http.Server
	base  string
	close func()
}

func startInProcess(store recording.Store, closeStore func(), wideDays int) (*inProcess, error) {
	authn, err := auth.NewStaticTokens([]auth.StaticToken{{Token: benchToken, AllAccounts: true}})
	if err != nil {
		return nil, err
	}
	// the settings of config/recordings.example.yaml, as the service binary runs with
	cfg := api.Config{DefaultPageSize: 50, MaxPageSize: 1000, MaxRangeSeconds: 2682000, MaxBodyBytes: 1 << 20,
		ConflictRetries: 10, Version: "4.3.0", Node: "recbench", Now: time.Now}
	if wideDays > 0 {
		cfg.MaxRangeSeconds = int64(wideDays) * 24 * 3600
	}
	h, err := api.NewServer(zap.NewNop(), cfg, store, authn)
	if err != nil {
		return nil, err
	}
	labelled := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pprof.Do(r.Context(), pprof.Labels("side", "service"), func(ctx context.Context) {
			h.ServeHTTP(w, r.WithContext(ctx))
		})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &inProcess{srv: &http.Server{Handler: labelled}, base: "http://" + ln.Addr().String()}
	go func() { _ = p.srv.Serve(ln) }()
	p.close = func() { _ = p.srv.Close(); closeStore() }
	return p, nil
}

// profileRun profiles the in-process service under load: a CPU profile of the whole load,
// and the allocations made meanwhile (an allocs profile before and after, for -base). It
// returns the files' base path.
func (b *bench) profileRun(ctx context.Context, name string, load func(ctx context.Context) error) (string, error) {
	if err := os.MkdirAll(b.cfg.rawDir, 0o755); err != nil {
		return "", err
	}
	base := filepath.Join(b.cfg.rawDir, name)
	writeAllocs := func(path string) error {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		runtime.GC() // the allocs profile is as of the last GC
		return pprof.Lookup("allocs").WriteTo(f, 0)
	}
	if err := writeAllocs(base + ".allocs-before.pprof"); err != nil {
		return "", err
	}
	f, err := os.Create(base + ".cpu.pprof")
	if err != nil {
		return "", err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return "", err
	}
	var loadErr error
	pprof.Do(ctx, pprof.Labels("side", "client"), func(ctx context.Context) { loadErr = load(ctx) })
	pprof.StopCPUProfile()
	if loadErr != nil {
		return "", loadErr
	}
	return base, writeAllocs(base + ".allocs.pprof")
}

// pprofHide leaves out of the summaries the frames every request goes through (net/http,
// the router, the middleware chain, the profiling wrapper), so the lines left say where
// the work is.
const pprofHide = `runtime/pprof|net/http\.HandlerFunc|serverHandler|gorilla/mux|main\.startInProcess|` +
	`pkg/api\.\(\*server\)\.(routes|authenticate|authorize|loadAccount)|pkg/api\.noteRoute|pkg/api\.methods|withRequest|withCORS|withGzip`

// pprofTop runs `go tool pprof -top` on a profile, without the load generator's samples.
func pprofTop(ctx context.Context, file string, extra ...string) (cmdline, top string) {
	args := append([]string{"tool", "pprof", "-top", "-nodecount=22", "-tagignore=side=client", "-hide=" + pprofHide}, extra...)
	args = append(args, file)
	cmdline = "go " + strings.Join(args[:len(args)-1], " ") + " " + file
	cmdline = strings.Replace(cmdline, "-hide="+pprofHide, "-hide='…'", 1)
	cmd := exec.CommandContext(ctx, "go", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return cmdline, fmt.Sprintf("%v\n%s", err, out.String())
	}
	// Keep the totals line and the table; drop pprof's preamble (file, build id, time).
	lines := strings.Split(out.String(), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "Showing nodes") {
			return cmdline, strings.Join(lines[i:], "\n")
		}
	}
	return cmdline, out.String()
}

// missedIn reports whether a result whose section starts with prefix missed its target.
func (b *bench) missedIn(prefix string) []result {
	var out []result
	for _, r := range b.results {
		if strings.HasPrefix(r.section, prefix) && r.missed() {
			out = append(out, r)
		}
	}
	return out
}

// profileAfter profiles the case just run when one of its targets was missed, while its
// data is still in place.
func (b *bench) profileAfter(ctx context.Context, name string) error {
	if !b.cfg.profile {
		return nil
	}
	prefix := map[string]string{"list": "1.", "paging": "2.", "download": "3."}[name]
	missed := b.missedIn(prefix)
	if prefix == "" || len(missed) == 0 {
		return nil
	}
	var names []string
	for _, r := range missed {
		names = append(names, r.name)
	}
	b.logf("profiling case %s (missed: %s)", name, strings.Join(names, ", "))
	switch name {
	case "list":
		return b.profileCouch(ctx, 0, "list-couchdb-c16", fmt.Sprintf("List on CouchDB, concurrency 16, %s recordings", human(len(b.set.recordings))),
			func(ctx context.Context, base string) error {
				r := runLoad(ctx, 16, 5*time.Second, 1<<30, b.getIn(base, b.listPath(), nil))
				return r.err
			})
	case "paging":
		from, to := b.set.window()
		return b.profileEmbedded(ctx, b.set.opts.Months*31+10, "paging-embedded", "paginate=false over the 3-month window on the embedded store",
			func(ctx context.Context, base string) error {
				_, _, err := b.streamAll(ctx, &service{base: base}, b.set.accountID, from, to, false)
				return err
			})
	case "download":
		path := "/v2/accounts/" + b.set.accountID + "/recordings/" + b.bigID
		audio := http.Header{"Accept": {"audio/mpeg"}}
		dl := func(ctx context.Context, base string) error {
			if r := runLoad(ctx, 1, 3*time.Second, 1<<30, b.getIn(base, path, audio)); r.err != nil {
				return r.err
			}
			return runLoad(ctx, downloadStreams, 0, 1<<30, b.getIn(base, path, audio)).err
		}
		if err := b.profileCouch(ctx, 0, "download-couchdb", fmt.Sprintf("Download of the %d MB file on CouchDB, one stream for 3 s then %d at once", b.bigSize>>20, downloadStreams), dl); err != nil {
			return err
		}
		return b.profileEmbedded(ctx, 0, "download-embedded", fmt.Sprintf("Download of the %d MB file on the embedded store, one stream for 3 s then %d at once", b.bigSize>>20, downloadStreams), dl)
	}
	return nil
}

func (b *bench) getIn(base, path string, header http.Header) call {
	h := http.Header{"X-Auth-Token": {benchToken}}
	for k, v := range header {
		h[k] = v
	}
	return getter(b.hc, base+path, h, 200, "", "")
}

// profileCouch profiles load against the handler over CouchDB, and summarises it.
func (b *bench) profileCouch(ctx context.Context, wideDays int, name, title string, load func(ctx context.Context, base string) error) error {
	cfg := couch.Config{URL: b.couch.withCredentials()}
	s, err := couch.New(cfg, zap.NewNop())
	if err != nil {
		return err
	}
	return b.profileWith(ctx, name, title, s, func() { _ = s.Close() }, wideDays, load)
}

// profileEmbedded profiles load against the handler over the main embedded store file,
// which the service on it must release meanwhile.
func (b *bench) profileEmbedded(ctx context.Context, wideDays int, name, title string, load func(ctx context.Context, base string) error) error {
	b.svcEmb.stop()
	defer func() {
		var err error
		if b.svcEmb, err = startService(ctx, b.bin, serviceEnv("", b.embPath, 0), b.set.accountID, b.hc); err != nil {
			b.logf("restart the service on the embedded store: %v", err)
		}
	}()
	s, err := embedded.Open(b.embPath, embedded.Options{})
	if err != nil {
		return err
	}
	return b.profileWith(ctx, name, title, s, func() { _ = s.Close() }, wideDays, load)
}

func (b *bench) profileWith(ctx context.Context, name, title string, s recording.Store, closeStore func(), wideDays int, load func(ctx context.Context, base string) error) error {
	p, err := startInProcess(s, closeStore, wideDays)
	if err != nil {
		closeStore()
		return err
	}
	defer p.close()
	// Warm caches (account, month databases, design documents) and connections.
	if _, err := b.getIn(p.base, b.listPath(), nil)(ctx); err != nil {
		return err
	}
	base, err := b.profileRun(ctx, name, func(ctx context.Context) error { return load(ctx, p.base) })
	if err != nil {
		return err
	}
	cpuCmd, cpu := pprofTop(ctx, base+".cpu.pprof", "-cum")
	// Allocation profiles carry no labels: the request-serving goroutines are kept instead.
	allocCmd, allocs := pprofTop(ctx, base+".allocs.pprof", "-sample_index=alloc_space", `-focus=net/http\.\(\*conn\)\.serve`,
		"-base="+base+".allocs-before.pprof")
	b.profiles = append(b.profiles, profileNote{
		title:   title + " — CPU",
		summary: "`" + cpuCmd + "`",
		top:     cpu,
	}, profileNote{
		title:   title + " — allocations",
		summary: "`" + allocCmd + "`",
		top:     allocs,
	})
	return nil
}
