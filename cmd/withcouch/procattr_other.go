//go:build unix && !linux

package main

import "syscall"

// serverProcAttr puts pouchdb-server in its own process group, so that stop
// kills all of it. (Only Linux can also tie its life to withcouch's.)
func serverProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
