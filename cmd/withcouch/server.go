package main

import (
	"context"
	"fmt"

	"github.com/recordingsd/recordingsd/pkg/store/couch/pouchdb"
)

// readyTimeout is how long pouchdb-server may take to answer once launched.
const readyTimeout = pouchdb.ReadyTimeout

// server is one pouchdb-server, in memory, in a fresh temporary directory and its own
// process group (see package pouchdb).
type server struct {
	*pouchdb.Server
}

// startServer starts pouchdb-server from pouchdbDir/node_modules, waits until it answers and
// creates its admin user.
func startServer(ctx context.Context, pouchdbDir string) (*server, error) {
	srv, err := pouchdb.Start(ctx, pouchdb.Options{InstallDir: pouchdbDir})
	if err != nil {
		return nil, err
	}
	return &server{Server: srv}, nil
}

// crashed reports, with the end of its logs, a server that exited before we stopped it.
func (s *server) crashed() error {
	if crashed, waitErr := s.Crashed(); crashed {
		return fmt.Errorf("pouchdb-server exited while the command ran (%v); an anonymous PUT /db crashes it, for one\n%s", waitErr, s.LogTail())
	}
	return nil
}

// stop kills the server's process group, waits for it and removes its directory.
func (s *server) stop() error { return s.Close() }
