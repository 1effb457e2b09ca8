package main

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/recordingsd/recordingsd/couchviews"
)

const (
	analysisBegin = "<!-- analysis:begin (kept when recbench rewrites this file) -->"
	analysisEnd   = "<!-- analysis:end -->"
)

// machine describes where the figures come from.
func machine() []fact {
	cpu := "unknown"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "model name") {
				cpu = strings.TrimSpace(line[strings.Index(line, ":")+1:])
				break
			}
		}
	}
	mem := "unknown"
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(strings.SplitN(string(data), "\n", 2)[0], "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
	}
	osName := runtime.GOOS
	if data, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "PRETTY_NAME=") {
				osName = strings.Trim(strings.TrimPrefix(line, "PRETTY_NAME="), `"`)
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return []fact{
		{"CPU", fmt.Sprintf("%s, %d logical cores (GOMAXPROCS %d)", cpu, runtime.NumCPU(), runtime.GOMAXPROCS(0))},
		{"Memory", mem},
		{"OS", fmt.Sprintf("%s, Linux %s", osName, strings.TrimSpace(string(kernel)))},
		{"Go", runtime.Version()},
	}
}

func (b *bench) sections() []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range b.results {
		if !seen[r.section] {
			seen[r.section] = true
			out = append(out, r.section)
		}
	}
	return out
}

// ownColumn heads the column of CouchDB direct on our own view, in the sections that have it.
const ownColumn = "CouchDB direct, our view"

// hasOwn reports whether a section has figures of CouchDB direct on our own view.
func (b *bench) hasOwn(sec string) bool {
	for _, r := range b.results {
		if r.section == sec && len(r.own) > 0 {
			return true
		}
	}
	return false
}

// withOwn drops the cell of our own view (the fifth) from a row of a section without it.
func withOwn(own bool, cells ...string) []string {
	if own {
		return cells
	}
	return append(cells[:4:4], cells[5:]...)
}

// printTable writes the figures to the terminal.
func (b *bench) printTable() {
	w := b.out
	cols := []int{46, 24, 24, 24, 24, 24, 8}
	row := func(cells ...string) {
		var line strings.Builder
		for i, c := range cells {
			line.WriteString(pad(c, cols[min(i, len(cols)-1)]))
			line.WriteString(" ")
		}
		fmt.Fprintln(w, strings.TrimRight(line.String(), " "))
	}
	fmt.Fprintln(w)
	for _, sec := range b.sections() {
		fmt.Fprintln(w, sec)
		own := b.hasOwn(sec)
		row(withOwn(own, "  figure", "service on CouchDB", "CouchDB direct", "service ÷ direct", ownColumn, "service on embedded", "target")...)
		for _, r := range b.results {
			if r.section != sec {
				continue
			}
			row(withOwn(own, "  "+r.name+" ("+r.unit+")", r.svc.spread(), r.direct.spread(), r.ratio().ratioSpread(), r.own.spread(), r.emb.spread(), r.verdict())...)
		}
		fmt.Fprintln(w)
	}
	if len(b.indexRows) > 0 {
		fmt.Fprintln(w, b.indexSection())
		for _, r := range b.indexTable() {
			fmt.Fprintln(w, "  "+strings.Join(r, " | "))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "median (min–max) over %d runs; wall time %v\n", b.cfg.runs, time.Since(b.started).Round(time.Second))
}

func (b *bench) report(ctx context.Context) error {
	b.printTable()
	if b.cfg.out == "" {
		return nil
	}
	md := b.markdown()
	if err := os.MkdirAll(filepath.Dir(b.cfg.out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(b.cfg.out, md, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(b.out, "wrote %s\n", b.cfg.out)
	return nil
}

// keptAnalysis is the hand-written analysis of the report already on disk, if any.
func (b *bench) keptAnalysis() string {
	data, err := os.ReadFile(b.cfg.out)
	if err != nil {
		return ""
	}
	s := string(data)
	i, j := strings.Index(s, analysisBegin), strings.Index(s, analysisEnd)
	if i < 0 || j < i {
		return ""
	}
	return strings.Trim(s[i+len(analysisBegin):j], "\n")
}

func (b *bench) markdown() []byte {
	var w bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&w, format, args...) }
	o := b.set.opts
	p("# Benchmarks\n\n")
	p("What does putting recordingsd in front of CouchDB cost, and how does it scale? `make bench`\n")
	p("(`tools/recbench`) answers with the service and the database it fronts side by side: the same\n")
	p("data, the same Go load generator on loopback, the two sides of each comparison run back to back and\n")
	p("alternated run after run (service first, then direct first), so that a noisy machine moves both\n")
	p("alike. Every figure is the **median (min–max) over %d runs**; a ratio is service ÷ direct, paired run\n", b.cfg.runs)
	p("by run. The service runs as its own process (`cmd/recordingsd`, configured by `RECORDINGS_*`\n")
	p("variables), so its memory is its own (`VmRSS` sampled every 10 ms, and `VmHWM` after a reset).\n\n")
	p("This file is written by recbench; only the analysis at the end is edited by hand (it is kept when\n")
	p("the file is regenerated).\n\n")

	p("## How to run\n\n```sh\n")
	p("make bench BENCHFLAGS='-couch http://admin:password@127.0.0.1:5984'  # against Apache CouchDB: the figures that count; rewrites this file\n")
	p("make bench BENCHFLAGS='-couch URL -runs 9 -duration 3s'             # more and longer runs\n")
	p("make bench BENCHFLAGS='-couch URL -only list,index -runs 2 -out /tmp/b.md'  # some cases; -h lists every flag\n")
	p("make bench                                      # without -couch: a pouchdb-server recbench starts (make testdeps), secondary figures\n")
	p("go test -run '^$' -bench . -benchmem -count 10 ./pkg/crossbar/ ./pkg/recording/ > new.txt  # hot functions\n")
	p("benchstat old.txt new.txt                       # compare two of those\n")
	p("```\n\n")
	p("With `-couch`, recbench starts no pouchdb-server: the demo account's month databases on that server are\n")
	p("dropped and rewritten, with our `_design/%s` and Kazoo's `_design/%s` (crossbar's listing views, as\n", couchviews.DesignName, kazooDesignName)
	p("every Kazoo deployment has them), CouchDB's CPU time is not counted (it is not our child process), the\n")
	p("scale case measures CouchDB at the main size only (the other sizes need servers of their own, which\n")
	p("recbench only starts for pouchdb-server), and the retention sweeper runs on the embedded store only (a\n")
	p("sweep walks every account of its server). Without `-couch` the database is a pouchdb-server: it serves\n")
	p("attachments from memory and builds views slowly, so its figures say little about production.\n\n")
	p("## Machine and run\n\n")
	for _, f := range machine() {
		p("- **%s**: %s\n", f.name, f.value)
	}
	p("- **Database**: %s", b.couchVer)
	if b.pouch != nil {
		p(", in memory, started by recbench from `%s` with `--max-old-space-size=%d` (**not Apache CouchDB**: secondary figures)", b.cfg.pouchDir, b.cfg.pouchHeap)
	} else {
		p(", at `%s` (`-couch`, on the same machine when that is loopback)", b.couch.base.Host)
	}
	p("\n- **Date**: %s\n", b.started.UTC().Format("2006-01-02 15:04 MST"))
	p("- **Wall time of this run**: %v (`bin/recbench %s`)\n", time.Since(b.started).Round(time.Second), strings.Join(b.args(), " "))
	p("- **Load average** (1 min, %d cores) when the run began: %s; when it ended: %s. Other processes on the\n", runtime.NumCPU(), b.loadStart, loadAvg())
	p("  machine share its cores: paired ratios hold up against that better than absolute figures.\n\n")

	p("## Sizes\n\n")
	p("- **Data set**: `recordingsd seed --accounts 1 --recordings-per-account %d --months %d --audio-every %d`:\n", o.RecordingsPerAccount, o.Months, o.AudioEvery)
	p("  %d recordings in account `%s` (%d listed: the demo soft-deletes 1 in 10 and marks one `pvt_deleted`),\n", len(b.set.recordings), b.set.accountID, b.set.listed())
	p("  in %d month databases, the same documents in both stores.\n", len(b.set.months()))
	if b.bigID != "" {
		p("- **Download**: the audio of `%s` is replaced by a %d MB attachment (incompressible bytes).\n", b.bigID, b.bigSize>>20)
	}
	p("- **Listing runs**: page_size=%d over %s (a calendar month); %v or %d requests per side, whichever ends first; concurrency %s.\n",
		listPageSize, b.monthWindow(), b.cfg.listDur, b.cfg.maxReq, intsString(b.cfg.conc))
	if b.pouch != nil {
		p("- **Scale points**: embedded %s; CouchDB %s and the main data set (%s), %v per side per run.\n\n",
			sizesString(b.cfg.scaleEmb), sizesString(b.cfg.scaleCouch), human(len(b.set.recordings)), b.cfg.scaleDur)
	} else {
		p("- **Scale points**: embedded %s; CouchDB the main data set (%s) only, %v per side per run.\n\n",
			sizesString(b.cfg.scaleEmb), human(len(b.set.recordings)), b.cfg.scaleDur)
	}

	p("## Targets\n\n| Target | Figure | Measured | |\n|---|---|---|---|\n")
	for _, r := range b.results {
		if r.verdict() == "" {
			continue
		}
		measured := r.ratio().ratioSpread()
		switch r.target.kind {
		case absAtMost:
			measured = "max " + num(max(r.svc.max(), r.emb.max()))
			if len(r.svc) == 0 {
				measured = "max " + num(r.emb.max())
			} else if len(r.emb) == 0 || r.target.svcOnly {
				measured = "max " + num(r.svc.max())
			}
			if r.unit == "×" {
				measured += "×"
			} else {
				measured += " " + r.unit
			}
		case embRatioAtMost:
			measured = "embedded " + r.emb.spread() + "×"
		case medianAtMost:
			measured = "CouchDB " + r.svc.spread() + "×, embedded " + r.emb.spread() + "×"
			if r.target.svcOnly {
				measured = "service on CouchDB " + r.svc.spread() + "×"
			}
		}
		verdict := "met"
		if r.missed() {
			verdict = "**missed**"
		}
		p("| %s | %s — %s | %s | %s |\n", r.target.text, r.section, r.name, measured, verdict)
	}
	p("\n## Figures\n\n")
	for _, sec := range b.sections() {
		p("### %s\n\n", sec)
		own := b.hasOwn(sec)
		cells := func(c ...string) { p("| %s |\n", strings.Join(withOwn(own, c...), " | ")) }
		cells("Figure", "Service on CouchDB", "CouchDB direct", "Service ÷ direct", ownColumn, "Service on embedded", "Target")
		cells("---", "---", "---", "---", "---", "---", "---")
		for _, r := range b.results {
			if r.section != sec {
				continue
			}
			t := ""
			if r.target != nil {
				t = r.target.text + ": " + r.verdict()
			}
			cells(r.name+" ("+r.unit+")", r.svc.spread(), r.direct.spread(), r.ratio().ratioSpread(), r.own.spread(), r.emb.spread(), t)
		}
		for _, r := range b.results {
			if r.section == sec && r.note != "" {
				p("\n%s\n", r.note)
			}
		}
		p("\n")
	}

	if len(b.indexRows) > 0 {
		p("### %s\n\n", b.indexSection())
		for i, r := range b.indexTable() {
			p("| %s |\n", strings.Join(r, " | "))
			if i == 0 {
				p("|%s\n", strings.Repeat("---|", len(r)))
			}
		}
		p("\n%s\n\n", b.indexNote)
	}
	p("## How the figures were taken\n\n")
	for _, f := range b.facts {
		p("- **%s**: %s\n", f.name, f.value)
	}
	p("\n")
	if len(b.profiles) > 0 {
		p("## Profiles of the missed targets\n\n")
		p("Taken by recbench with the service's handler (`api.NewServer` over the same store) running inside\n")
		p("its own process under the same load, since the service binary has no profiling endpoint;\n")
		p("the load generator's samples are excluded (CPU: `-tagignore=side=client`, percentages are of all the\n")
		p("process's samples; allocations, which carry no labels: `-focus` on the server's request goroutines),\n")
		p("and so are the frames every request passes through (`-hide`: net/http, the router, the middleware).\n")
		p("The profile files were in `%s/` on the machine of the run.\n\n", b.cfg.rawDir)
		for _, pr := range b.profiles {
			p("### %s\n\n%s\n\n```\n%s\n```\n\n", pr.title, pr.summary, strings.TrimRight(pr.top, "\n"))
		}
	}
	if b.goBench != "" {
		p("## Go benchmarks of the hot functions\n\n")
		p("benchstat-friendly (`go test -bench`); compare two runs with `benchstat old.txt new.txt`.\n\n")
		p("```\n%s\n```\n\n", strings.TrimRight(b.goBench, "\n"))
	}
	p("## Analysis\n\n%s\n", analysisBegin)
	if a := b.keptAnalysis(); a != "" {
		p("%s\n", a)
	} else {
		p("_Not written yet: explain here what the figures say, and every missed target with its profile._\n")
	}
	p("%s\n", analysisEnd)
	return w.Bytes()
}

// args are the command line of the run, with passwords in URLs (-couch) masked.
func (b *bench) args() []string {
	if len(os.Args) < 2 {
		return []string{"(defaults)"}
	}
	a := append([]string(nil), os.Args[1:]...)
	for i, s := range a {
		if u, err := url.Parse(s); err == nil && u.User != nil {
			a[i] = u.Redacted()
		}
	}
	return a
}

func intsString(ns []int) string {
	var parts []string
	for _, n := range ns {
		parts = append(parts, fmt.Sprint(n))
	}
	return strings.Join(parts, " and ")
}

func sizesString(ns []int) string {
	var parts []string
	for _, n := range ns {
		parts = append(parts, human(n))
	}
	return strings.Join(parts, ", ")
}
