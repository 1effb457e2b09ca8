//go:build unix && !linux

package pouchdb

import "syscall"

// procAttr puts pouchdb-server in its own process group, so that Stop and Pause reach all of
// it. (Only Linux can also tie its life to ours.)
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
