//go:build !unix

package testnet

import (
	"net"
	"testing"
)

// RefusedAddr returns a loopback address nothing listens on: a closed listener's port, which
// another listener may take later (the unix version reserves the port).
func RefusedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}
