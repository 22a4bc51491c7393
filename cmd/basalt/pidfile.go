package main

import (
	"log/slog"
	"os"
	"strconv"
)

// writePidFile writes this process's id and a newline, as redis-server does.
func writePidFile(path string) error {
	return os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
}

// removePidFile removes the pidfile at exit if it still holds our pid, so
// that a newer instance's file is left alone.
func removePidFile(path string, logger *slog.Logger) {
	b, err := os.ReadFile(path)
	if err != nil || string(b) != strconv.Itoa(os.Getpid())+"\n" {
		return
	}
	if err := os.Remove(path); err != nil {
		logger.Warn("Failed to remove PID file", "path", path, "err", err)
	}
}
