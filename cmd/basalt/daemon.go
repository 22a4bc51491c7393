package main

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// daemonEnv marks the re-executed child. Go cannot fork a running
// runtime, so "daemonize yes" starts the same binary again in a new
// session with stdio on /dev/null, and the parent exits 0.
const daemonEnv = "BASALT_DAEMONIZED"

// isDaemonChild reports whether this process is that child.
func isDaemonChild() bool { return os.Getenv(daemonEnv) == "1" }

// daemonize re-executes the binary with the same arguments, detached
// (setsid) and with stdin/stdout/stderr on /dev/null. The child inherits
// the working directory, so a relative config file path still resolves.
func daemonize(argv []string) error {
	for _, a := range argv[1:] {
		if a == "-" {
			// The child's stdin is /dev/null: the config would be lost.
			return errors.New("daemonize yes cannot be used with a configuration read from stdin")
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer null.Close()
	cmd := exec.Command(exe, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Env = append(os.Environ(), daemonEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	return cmd.Process.Release()
}
