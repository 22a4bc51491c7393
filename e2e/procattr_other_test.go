//go:build !linux

package e2e

import "syscall"

// childAttr: no parent-death signal outside Linux; t.Cleanup still kills.
func childAttr() *syscall.SysProcAttr { return nil }
