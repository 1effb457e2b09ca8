package pouchdb

import "syscall"

// procAttr puts pouchdb-server in its own process group, so that Stop and Pause reach all of
// it, and has the kernel kill it should our process die without cleaning up (a test timeout
// exits without running t.Cleanup, a killed withcouch runs no defer).
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
