package bench

import "syscall"

// serverProcAttr makes the kernel SIGTERM a server if this program dies
// without stopping it (e.g. SIGKILL), so no benchmark server is left behind,
// and gives it its own process group so that Ctrl-C reaches only this
// program, which then stops the servers itself.
func serverProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
}
