//go:build linux

package e2e

import "syscall"

// childAttr makes the kernel kill a server if the test binary dies first, so
// no server outlives a crashed or killed test run.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
