package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
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

// printTable writes the figures to the terminal.
func (b *bench) printTable() {
	w := b.out
	cols := []int{46, 22, 22, 22, 22, 8}
	row := func(cells ...string) {
		var line strings.Builder
		for i, c := range cells {
			line.WriteString(pad(c, cols[i]))
			line.WriteString(" ")
		}
		fmt.Fprintln(w, strings.TrimRight(line.String(), " "))
	}
	fmt.Fprintln(w)
	for _, sec := range b.sections() {
		fmt.Fprintln(w, sec)
		row("  figure", "service on CouchDB", "CouchDB direct", "service ÷ direct", "service on embedded", "target")
		for _, r := range b.results {
			if r.section != sec {
				continue
			}
			row("  "+r.name+" ("+r.unit+")", r.svc.spread(), r.direct.spread(), r.ratio().ratioSpread(), r.emb.spread(), r.verdict())
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
	p("(`go run ./cmd/recbench`) answers with the service and the database it fronts side by side: the same\n")
	p("data, the same Go load generator on loopback, the two sides of each comparison run back to back and\n")
	p("alternated run after run (service first, then direct first), so that a noisy machine moves both\n")
	p("alike. Every figure is the **median (min–max) over %d runs**; a ratio is service ÷ direct, paired run\n", b.cfg.runs)
	p("by run. The service runs as its own process (`cmd/recordingsd`, configured by `RECORDINGS_*`\n")
	p("variables), so its memory is its own (`VmRSS` sampled every 10 ms, and `VmHWM` after a reset).\n\n")
	p("This file is written by recbench; only the analysis at the end is edited by hand (it is kept when\n")
	p("the file is regenerated).\n\n")

	p("## How to run\n\n```sh\n")
	p("make bench                                      # everything, about 8 minutes on 2 cores; rewrites this file\n")
	p("make bench BENCHFLAGS='-runs 9 -duration 3s'    # more and longer runs\n")
	p("make bench BENCHFLAGS='-couch http://admin:password@127.0.0.1:5984'  # Apache CouchDB (docker compose up couchdb)\n")
	p("go run ./cmd/recbench -only list,download -out /tmp/b.md  # some cases; -h lists every flag\n")
	p("go test -run '^$' -bench . -benchmem -count 10 ./pkg/crossbar/ ./pkg/recording/ > new.txt  # hot functions\n")
	p("benchstat old.txt new.txt                       # compare two of those\n")
	p("```\n\n")
	p("With `-couch`, the demo account's databases on that server are dropped and rewritten, CouchDB's CPU\n")
	p("time is not counted (it is not our child process), and the scale case measures CouchDB at the main\n")
	p("size only (the other sizes need servers of their own, which recbench only starts for pouchdb-server).\n\n")
	p("## Machine and run\n\n")
	for _, f := range machine() {
		p("- **%s**: %s\n", f.name, f.value)
	}
	p("- **Database**: %s", b.couchVer)
	if b.pouch != nil {
		p(", in memory, started by recbench from `%s` with `--max-old-space-size=%d`", b.cfg.pouchDir, b.cfg.pouchHeap)
	}
	p("\n- **Date**: %s\n", b.started.UTC().Format("2006-01-02 15:04 MST"))
	p("- **Wall time of this run**: %v (`go run ./cmd/recbench %s`)\n", time.Since(b.started).Round(time.Second), strings.Join(b.args(), " "))
	p("- **Load average** (1 min, %d cores) when the run began: %s; when it ended: %s. Other processes on the\n", runtime.NumCPU(), b.loadStart, loadAvg())
	p("  machine share its cores: paired ratios hold up against that better than absolute figures.\n\n")

	p("## Sizes\n\n")
	p("- **Data set**: `recordingsd seed --accounts 1 --recordings-per-account %d --months %d --audio-every %d`:\n", o.RecordingsPerAccount, o.Months, o.AudioEvery)
	p("  %d recordings in account `%s` (%d listed: the demo soft-deletes 1 in 10 and marks one `pvt_deleted`),\n", len(b.set.recordings), b.set.accountID, b.set.listed())
	p("  in %d month databases, the same documents in both stores.\n", len(b.set.months()))
	if b.bigID != "" {
		p("- **Download**: the audio of `%s` is replaced by a %d MB attachment (incompressible bytes).\n", b.bigID, b.bigSize>>20)
	}
	p("- **Listing runs**: %v or %d requests per side, whichever ends first; concurrency %s.\n", b.cfg.listDur, b.cfg.maxReq, intsString(b.cfg.conc))
	p("- **Scale points**: embedded %s; CouchDB %s and the main data set (%s), %v per side per run.\n\n",
		sizesString(b.cfg.scaleEmb), sizesString(b.cfg.scaleCouch), human(len(b.set.recordings)), b.cfg.scaleDur)

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
			} else if len(r.emb) == 0 {
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
		p("| Figure | Service on CouchDB | CouchDB direct | Service ÷ direct | Service on embedded | Target |\n")
		p("|---|---|---|---|---|---|\n")
		for _, r := range b.results {
			if r.section != sec {
				continue
			}
			t := ""
			if r.target != nil {
				t = r.target.text + ": " + r.verdict()
			}
			p("| %s (%s) | %s | %s | %s | %s | %s |\n", r.name, r.unit, r.svc.spread(), r.direct.spread(), r.ratio().ratioSpread(), r.emb.spread(), t)
		}
		for _, r := range b.results {
			if r.section == sec && r.note != "" {
				p("\n%s\n", r.note)
			}
		}
		p("\n")
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

func (b *bench) args() []string {
	a := os.Args[1:]
	if len(a) == 0 {
		return []string{"(defaults)"}
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
