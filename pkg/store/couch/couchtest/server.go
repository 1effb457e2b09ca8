package couchtest

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/recordingsd/recordingsd/pkg/store/couch/pouchdb"
)

// Server is a database server of one test's own, for tests that stop, freeze or restart
// their database, or that walk every database of a server: a real CouchDB node when
// EnvCouchDBScript names couchdb.sh, else a pouchdb-server. Its data is on disk in the test's
// temporary directory, so Stop then Start gives back the same data on the same port, with the
// same admin user. Its methods must be called from the test's goroutine.
type Server struct {
	t    testing.TB
	kind string // "CouchDB" or "pouchdb-server", for messages
	srv  privateServer
}

// privateServer is what a Server runs: a *pouchdb.Server or a *couchNode.
type privateServer interface {
	URL() string
	Addr() string
	PID() int
	Stop() error
	Restart(context.Context) error
	Pause() error
	Resume(context.Context) error
	Close() error
	LogTail() string
}

// StartServer starts a server for t alone on free loopback ports, with an admin user, and
// waits until it answers. It is stopped and its files removed when t ends. Without
// EnvCouchDBScript it skips t when pouchdb-server is not installed (`make testdeps`), or fails
// it under EnvRequire=1.
func StartServer(t testing.TB) *Server {
	t.Helper()
	// Made before the cleanup below is registered, so removed after it has stopped the server.
	dir := t.TempDir()
	s := &Server{t: t}
	if script := os.Getenv(EnvCouchDBScript); script != "" {
		node, err := startCouchNode(context.Background(), script, dir)
		if err != nil {
			t.Fatalf("couchtest: start a CouchDB node: %v", err)
		}
		s.kind, s.srv = "CouchDB", node
	} else {
		srv, err := pouchdb.Start(context.Background(), pouchdb.Options{Dir: dir, OnDisk: true})
		if errors.Is(err, pouchdb.ErrNotInstalled) {
			if os.Getenv(EnvRequire) == "1" {
				t.Fatalf("couchtest: %v, but %s=1", err, EnvRequire)
			}
			t.Skipf("couchtest: %v", err)
		}
		if err != nil {
			t.Fatalf("couchtest: start pouchdb-server: %v", err)
		}
		s.kind, s.srv = "pouchdb-server", srv
	}
	t.Cleanup(func() {
		if t.Failed() && s.srv.PID() != 0 {
			t.Logf("couchtest: end of %s's logs:\n%s", s.kind, s.srv.LogTail())
		}
		if err := s.srv.Close(); err != nil {
			t.Errorf("couchtest: %v", err)
		}
	})
	return s
}

// Kind names what runs: "CouchDB" or "pouchdb-server".
func (s *Server) Kind() string { return s.kind }

// URL is the server's address with the admin's credentials, as couch.Config.URL takes it.
func (s *Server) URL() string { return s.srv.URL() }

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.srv.Addr() }

// Stop kills the server (SIGKILL, as a crash would) and waits until it is gone: connections
// to its port are refused from then on. Its data stays for Start.
func (s *Server) Stop() {
	s.t.Helper()
	if err := s.srv.Stop(); err != nil {
		s.t.Fatalf("couchtest: %v", err)
	}
}

// Start starts a stopped server again on the same port with the same data, and returns once
// it answers. It does nothing when the server is running.
func (s *Server) Start() {
	s.t.Helper()
	if err := s.srv.Restart(context.Background()); err != nil {
		s.t.Fatalf("couchtest: restart %s on %s: %v", s.kind, s.srv.Addr(), err)
	}
}

// Pause freezes the server (SIGSTOP): the kernel still accepts connections and requests,
// but nothing answers them, as with a hung database or a silent network.
func (s *Server) Pause() {
	s.t.Helper()
	if err := s.srv.Pause(); err != nil {
		s.t.Fatalf("couchtest: pause %s: %v", s.kind, err)
	}
}

// Resume thaws a paused server (SIGCONT) and returns once it answers again.
func (s *Server) Resume() {
	s.t.Helper()
	if err := s.srv.Resume(context.Background()); err != nil {
		s.t.Fatalf("couchtest: resume %s: %v", s.kind, err)
	}
}
