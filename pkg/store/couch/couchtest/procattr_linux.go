package couchtest

import "syscall"

// serverProcAttr puts pouchdb-server in its own process group, so that Stop and Pause reach
// all of it, and has the kernel kill it should the test binary die without cleaning up (a
// test timeout exits without running t.Cleanup).
func serverProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
