//go:build !linux

package bench

import "syscall"

// serverProcAttr: only Linux has a parent-death signal; elsewhere servers are
// stopped by Runner.Close and the signal handler alone.
func serverProcAttr() *syscall.SysProcAttr { return nil }
