//go:build unix && !linux

package couchtest

import "syscall"

// serverProcAttr puts pouchdb-server in its own process group, so that Stop and Pause reach
// all of it. (Only Linux can also tie its life to the test binary's.)
func serverProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
