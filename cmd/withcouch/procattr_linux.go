package main

import "syscall"

// serverProcAttr puts pouchdb-server in its own process group, so that stop
// kills all of it, and has the kernel kill it should withcouch itself be
// killed without a chance to clean up.
func serverProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
