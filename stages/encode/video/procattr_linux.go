//go:build linux

package video

import "syscall"

// childProcAttr makes the kernel SIGKILL ffmpeg when our process dies, so a
// crashed worker does not leave encoders running. Pdeathsig is tied to the
// forking thread; startFFmpeg keeps that thread locked for ffmpeg's life.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
