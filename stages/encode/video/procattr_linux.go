//go:build linux

package video

import "syscall"

// childProcAttr makes the kernel SIGKILL ffmpeg when our process dies, so a
// crashed worker does not leave encoders running. (Pdeathsig fires when the
// creating OS thread exits; Go does not retire threads while goroutines run on
// them unless they are locked, which this package never does.)
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
