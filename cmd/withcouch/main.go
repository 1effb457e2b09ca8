// Command withcouch runs a command against a throwaway CouchDB-compatible server.
//
//	go run ./cmd/withcouch [-pouchdb testenv/pouchdb] -- go test -race ./...
//
// It starts pouchdb-server (installed by `make testdeps`) in memory on a free
// loopback port, in a fresh temporary directory, and creates an admin user so
// that tests use credentials as they would against CouchDB. It runs the command
// with RECORDINGS_TEST_COUCHDB_URL (credentials included) and
// RECORDINGS_TEST_REQUIRE_COUCHDB=1 added to its environment, its stdin
// connected to /dev/null. Whatever happens, it then stops the server and
// removes the directory, and it exits with the command's exit code.
//
// SIGINT, SIGTERM and SIGHUP are forwarded to the command's process group; a
// command still running 10 seconds later is killed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/recordingsd/recordingsd/pkg/store/couch/couchtest"
)

// commandGracePeriod is how long the command may take to exit after a forwarded signal.
const commandGracePeriod = 10 * time.Second

func main() {
	ctx, stop := notifyContext(context.Background())
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// signalReceived is the cancellation cause of run's context when withcouch is signalled,
// so that run can forward that very signal to the command.
type signalReceived struct{ signal syscall.Signal }

func (s signalReceived) Error() string { return s.signal.String() + " received" }

// notifyContext is signal.NotifyContext, except that the cause names the signal.
// Signals after the first are swallowed, so that cleanup is not cut short.
func notifyContext(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		select {
		case s := <-signals:
			cancel(signalReceived{s.(syscall.Signal)})
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		signal.Stop(signals)
		cancel(nil)
	}
}

// run starts the server, runs the command against it and always stops the server.
// A command that fails yields its *exec.ExitError.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	opts, err := parseArgs(args, stderr)
	if err != nil {
		return err
	}

	started := time.Now()
	srv, err := startServer(ctx, opts.pouchdbDir)
	if err != nil {
		return err
	}
	defer func() {
		cleanupErr := srv.crashed() // before stop, which removes the log
		cleanupErr = errors.Join(cleanupErr, srv.stop())
		if cleanupErr == nil {
			return
		}
		if err == nil {
			err = cleanupErr
		} else {
			fmt.Fprintf(stderr, "withcouch: %v\n", cleanupErr)
		}
	}()

	fmt.Fprintf(stderr, "withcouch: pouchdb-server ready on %s in %s\n", srv.Addr(), time.Since(started).Round(time.Millisecond))

	// pouchdb.Start made the admin and checked that credentials are required and accepted.
	env := append(os.Environ(), couchtest.EnvURL+"="+srv.URL(), couchtest.EnvRequire+"=1")
	return runCommand(ctx, opts.command, env, stdout, stderr)
}

type options struct {
	pouchdbDir string   // holds node_modules/.bin/pouchdb-server
	command    []string // what to run, with its arguments
}

var errUsage = errors.New("usage")

func parseArgs(args []string, stderr io.Writer) (options, error) {
	var opts options
	flags := flag.NewFlagSet("withcouch", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: withcouch [-pouchdb dir] -- command [args...]")
		flags.PrintDefaults()
	}
	flags.StringVar(&opts.pouchdbDir, "pouchdb", "testenv/pouchdb", "directory whose node_modules holds pouchdb-server")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return opts, err
		}
		return opts, fmt.Errorf("%w: %v", errUsage, err)
	}
	opts.command = flags.Args()
	if len(opts.command) == 0 {
		flags.Usage()
		return opts, fmt.Errorf("%w: no command given", errUsage)
	}
	return opts, nil
}

// runCommand runs argv in its own process group, so that a forwarded signal
// reaches it and everything it started exactly once, even when the terminal
// also signalled withcouch.
func runCommand(ctx context.Context, argv []string, env []string, stdout, stderr io.Writer) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, forwardedSignal(ctx)) }
	cmd.WaitDelay = commandGracePeriod

	err := cmd.Run()
	if ctx.Err() == nil {
		return err
	}
	if cmd.Process != nil {
		// Whatever the command left behind goes too; the group may already be empty.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return err
	}
	return context.Cause(ctx)
}

// forwardedSignal is the signal withcouch received, or SIGTERM when ctx ended otherwise.
func forwardedSignal(ctx context.Context) syscall.Signal {
	var received signalReceived
	if errors.As(context.Cause(ctx), &received) {
		return received.signal
	}
	return syscall.SIGTERM
}

// exitCode maps run's error to the process exit code, as a shell would:
// the command's own code, or 128+n when it or withcouch died of signal n.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if status, ok := exitErr.Sys().(syscall.WaitStatus); ok && status.Signaled() {
			return 128 + int(status.Signal())
		}
		return exitErr.ExitCode()
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "withcouch: %v\n", err)
	var received signalReceived
	switch {
	case errors.As(err, &received):
		return 128 + int(received.signal)
	case errors.Is(err, errUsage):
		return 2
	default:
		return 1
	}
}
