//go:build unix

package testnet

import (
	"fmt"
	"syscall"
	"testing"
)

// RefusedAddr returns a loopback address where every connection is refused for the rest of
// the test. A socket is bound to the port and never listens: the kernel answers connections
// with a reset, and, without SO_REUSEADDR on it, no other listener (ours or another test
// process's) can take the port, as one could after a listener is closed.
func RefusedAddr(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatalf("socket: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("bind: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatalf("getsockname: %v", err)
	}
	return fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
}
