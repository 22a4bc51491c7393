package main

import (
	"os"
	"runtime/pprof"
)

// startProfile writes a CPU profile to $BASALT_CPUPROFILE until stop is
// called: a developer tool for `go tool pprof`, off unless the variable is
// set.
func startProfile() (stop func()) {
	path := os.Getenv("BASALT_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
