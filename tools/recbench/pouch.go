package main

import (
	"context"

	"github.com/recordingsd/recordingsd/pkg/store/couch/pouchdb"
)

// pouchServer is a private in-memory pouchdb-server, the CouchDB-compatible server `make test`
// uses (cmd/withcouch), started with a bigger heap: the benchmark holds tens of thousands of
// documents and streams a 50 MB attachment to 16 clients at once.
type pouchServer struct {
	srv *pouchdb.Server
	url string // with admin credentials
}

// startPouch starts node_modules/.bin/pouchdb-server from dir and creates an admin user.
func startPouch(ctx context.Context, dir string, heapMB int) (*pouchServer, error) {
	srv, err := pouchdb.Start(ctx, pouchdb.Options{InstallDir: dir, HeapMB: heapMB})
	if err != nil {
		return nil, err
	}
	return &pouchServer{srv: srv, url: srv.URL()}, nil
}

// alive reports whether the server is still running (it dies when its heap overflows).
func (p *pouchServer) alive() bool {
	crashed, _ := p.srv.Crashed()
	return !crashed
}

func (p *pouchServer) pid() int { return p.srv.PID() }

func (p *pouchServer) logTail() string { return p.srv.LogTail() }

// stop kills the server's process group and removes its directory.
func (p *pouchServer) stop() { _ = p.srv.Close() }
