//go:build unix && !linux

package etcdtest

import "syscall"

// sysProcAttr puts etcd in a process group of its own, away from the
// terminal's signals.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
