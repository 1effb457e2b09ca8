//go:build !linux

package couch

import "net"

// setReadLowWater is a no-op off Linux, whose SO_RCVLOWAT wake-up rules the attachment
// stream relies on (a reader woken when the option is lowered); downloads then read
// whatever each wake-up brings.
func setReadLowWater(net.Conn, int) bool { return false }
