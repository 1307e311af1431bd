package runner

import "syscall"

// sysProcAttr makes the kernel SIGKILL the runner when the thread that
// started it exits, so a runner never outlives its stage, even after a
// kill -9 of the stage. (The Go runtime does not retire threads that are
// not locked, so the thread lives as long as the process in practice.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
