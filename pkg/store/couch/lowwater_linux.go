package couch

import (
	"net"
	"syscall"
)

// setReadLowWater sets SO_RCVLOWAT on a plain TCP connection: the kernel then wakes a
// reader waiting on it only once that many bytes have arrived (or the peer closed), and
// setting it wakes a waiting reader at once if enough bytes are already there. It reports
// whether the option was set; TLS and other connections are left alone.
func setReadLowWater(conn net.Conn, bytes int) bool {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return false
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return false
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT, bytes)
	}); err != nil {
		return false
	}
	return serr == nil
}
