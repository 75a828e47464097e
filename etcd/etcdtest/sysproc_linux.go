package etcdtest

import "syscall"

// sysProcAttr puts etcd in a process group of its own, away from the
// terminal's signals, and has the kernel kill it if this process dies
// before Close.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
