//go:build !linux

package runner

import "syscall"

// sysProcAttr: no parent-death signal outside Linux; the runner exits when
// its stdin closes (the parent died or called Close).
func sysProcAttr() *syscall.SysProcAttr { return nil }
