package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// shutdownContext returns a context cancelled by the first SIGTERM or
// SIGINT, for a graceful shutdown. A second signal calls force (e.g. exit
// at once, as redis-server does when told twice). stop releases the
// signals; call it when the server has stopped.
func shutdownContext(parent context.Context, force func(os.Signal)) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	done := make(chan struct{})
	go func() {
		first := true
		for {
			select {
			case sig := <-ch:
				if first {
					first = false
					cancel()
				} else if force != nil {
					force(sig)
				}
			case <-done:
				return
			}
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel()
	}
}
