package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/recordingsd/recordingsd/pkg/recording"
	"github.com/recordingsd/recordingsd/pkg/store/couch"
)

// What `recordingsd views build` prints: one line per month database done, and the state of
// the whole build (databases done / total, documents indexed, elapsed, ETA), refreshed every
// second in place on a terminal, or as a plain line every plainEvery elsewhere (logs, tests).

const (
	progressEvery = time.Second
	plainEvery    = 10 * time.Second
)

// buildProgress follows one build. Its methods are safe for concurrent use.
type buildProgress struct {
	out      io.Writer
	terminal bool
	designs  []string

	mu        sync.Mutex
	started   time.Time // of the build proper, after planning
	checked   int       // databases planned so far
	total     int
	pending   int64 // changes all the indexes had to read
	known     bool  // every database's pending is known
	done      int
	upToDate  int
	failed    int
	indexed   int64 // changes read by the indexes of finished databases
	building  map[string]*dbBuild
	lastPlain time.Time
	drawn     bool // a progress line is on the terminal, to be overwritten
}

// dbBuild is a database being built: when it started, what its indexes had to read by design
// document, and the most they have been reported to have read since.
type dbBuild struct {
	started time.Time
	work    couch.IndexWork
	seen    map[string]int64
}

func newBuildProgress(out io.Writer, terminal bool, designs []string) *buildProgress {
	return &buildProgress{out: out, terminal: terminal, designs: designs, building: map[string]*dbBuild{}}
}

// isTerminal reports whether w is a terminal, where the progress line is redrawn in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// planned counts one more database whose pending changes are known.
func (p *buildProgress) planned(of int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.checked++
	if p.terminal {
		p.draw(fmt.Sprintf("checking month databases: %d/%d", p.checked, of))
	}
}

// plan records what is to be built and says so; the build's clock starts.
func (p *buildProgress) plan(targets []buildTarget) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total, p.known, p.started = len(targets), true, time.Now()
	for _, t := range targets {
		p.pending += t.work.Changes
		p.known = p.known && t.work.Known
	}
	work := "documents to index: unknown (the server does not say)"
	if p.known {
		work = thousands(p.pending) + " documents to index"
	}
	p.println(fmt.Sprintf("building %s in %s, newest month first; %s",
		strings.Join(p.designs, ", "), monthDatabases(p.total), work))
	p.redraw()
}

// follow polls CouchDB's indexer tasks every second for the databases being built and
// redraws the progress line, until the returned function is called.
func (p *buildProgress) follow(ctx context.Context, poll func(context.Context) (map[couch.IndexKey]couch.IndexProgress, error)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(progressEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			// Servers without indexer tasks (pouchdb-server), or a user who may not read
			// them, leave the count to the databases finished.
			tasks, _ := poll(ctx)
			p.observe(tasks)
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

func (p *buildProgress) observe(tasks map[couch.IndexKey]couch.IndexProgress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for key, t := range tasks {
		b, ok := p.building[key.DB]
		if !ok {
			continue
		}
		// A task counts from the start of CouchDB's run, which may predate this build (an
		// interrupted one): what is left says more.
		read := t.Done
		if planned, ok := b.work.ByDesign[key.Design]; ok && b.work.Known {
			read = min(planned, max(0, planned-(t.Total-t.Done)))
		}
		b.seen[key.Design] = max(b.seen[key.Design], read)
	}
	switch {
	case p.terminal:
		p.draw(p.line())
	case time.Since(p.lastPlain) >= plainEvery:
		p.lastPlain = time.Now()
		fmt.Fprintln(p.out, p.line())
	}
}

func (p *buildProgress) start(t buildTarget) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.building[t.name] = &dbBuild{started: time.Now(), work: t.work, seen: map[string]int64{}}
}

// finish records the end of one database's build; one cut short by the operator is
// neither done nor failed.
func (p *buildProgress) finish(t buildTarget, err error, interrupted bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.building[t.name]
	delete(p.building, t.name)
	if interrupted {
		return
	}
	p.done++
	at := fmt.Sprintf("[%d/%d]", p.done, p.total)
	switch {
	case recording.IsNotFound(err):
		p.println(fmt.Sprintf("%s %s: gone, skipped", at, t.name))
	case err != nil:
		p.failed++
		p.println(fmt.Sprintf("%s %s: FAILED: %v", at, t.name, err))
	case t.upToDate():
		p.upToDate++
		p.println(fmt.Sprintf("%s %s: already built", at, t.name))
	default:
		n := b.read()
		if t.work.Known {
			n = t.work.Changes
		}
		p.indexed += n
		p.println(fmt.Sprintf("%s %s: built, %s documents indexed in %s", at, t.name, thousands(n), roundDuration(time.Since(b.started))))
	}
	p.redraw()
}

// read is what CouchDB reported the database's indexes to have read so far.
func (b *dbBuild) read() int64 {
	var n int64
	for _, seen := range b.seen {
		n += seen
	}
	return n
}

// stopped says where an interrupted build got to.
func (p *buildProgress) stopped() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.println(fmt.Sprintf("stopped after %d of %s: %s documents indexed in %s",
		p.done, monthDatabases(p.total), thousands(p.indexed), roundDuration(time.Since(p.started))))
}

// summary prints the build's totals; an error when some database failed.
func (p *buildProgress) summary() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.println(fmt.Sprintf("views build done: %s in %s (%d built, %d already built, %d failed), %s documents indexed",
		monthDatabases(p.total), roundDuration(time.Since(p.started)), p.done-p.upToDate-p.failed, p.upToDate, p.failed, thousands(p.indexed)))
	if p.failed > 0 {
		return fmt.Errorf("%s failed (see above); run the command again to retry", monthDatabases(p.failed))
	}
	return nil
}

// line is the state of the whole build.
func (p *buildProgress) line() string {
	elapsed := time.Since(p.started)
	indexed := p.indexed
	for _, b := range p.building {
		indexed += b.read()
	}
	var docs string
	if p.known && p.pending > 0 {
		indexed = min(indexed, p.pending)
		docs = fmt.Sprintf("%s/%s documents indexed (%d%%)", thousands(indexed), thousands(p.pending), indexed*100/p.pending)
	} else {
		docs = thousands(indexed) + " documents indexed"
	}
	eta := "ETA unknown"
	switch {
	case p.known && p.pending > 0 && indexed > 0:
		rate := float64(indexed) / elapsed.Seconds()
		eta = "ETA " + roundDuration(time.Duration(float64(p.pending-indexed)/rate*float64(time.Second)))
	case p.done > 0:
		eta = "ETA " + roundDuration(elapsed/time.Duration(p.done)*time.Duration(p.total-p.done))
	}
	return fmt.Sprintf("%d/%s, %s, %s elapsed, %s", p.done, monthDatabases(p.total), docs, roundDuration(elapsed), eta)
}

func monthDatabases(n int) string {
	if n == 1 {
		return "1 month database"
	}
	return strconv.Itoa(n) + " month databases"
}

// println prints a line of its own, over the progress line on a terminal.
func (p *buildProgress) println(s string) {
	if p.terminal && p.drawn {
		fmt.Fprint(p.out, "\r\x1b[K")
		p.drawn = false
	}
	fmt.Fprintln(p.out, s)
}

// redraw puts the progress line back under the lines printed, on a terminal.
func (p *buildProgress) redraw() {
	if p.terminal {
		p.draw(p.line())
	}
}

// draw replaces the terminal's progress line.
func (p *buildProgress) draw(s string) {
	fmt.Fprint(p.out, "\r\x1b[K"+s)
	p.drawn = true
}

func roundDuration(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// thousands prints n with thousands separators: 1,234,567.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
