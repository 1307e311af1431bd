//go:build !linux

package video

import "syscall"

// childProcAttr: no parent-death signal outside Linux; cancellation and
// Abort still kill ffmpeg.
func childProcAttr() *syscall.SysProcAttr { return nil }
