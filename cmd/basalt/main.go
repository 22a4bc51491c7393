// Command basalt is the Basalt server binary. It takes redis-server's
// arguments: basalt [config-file] [--directive arg ...] [-].
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"

	"github.com/basaltdb/basalt/config"
	"github.com/basaltdb/basalt/server"
)

// Reported by --version.
const (
	version      = server.BasaltVersion
	redisVersion = server.Version
)

func main() {
	os.Exit(start(os.Args, os.Stdin, os.Stdout, os.Stderr, run))
}

// start runs the process: configuration, daemonizing, working directory,
// logging, pidfile, then serve (run; tests pass their own). It returns the
// exit status.
func start(argv []string, stdin io.Reader, stdout, stderr io.Writer,
	serve func(*config.Config, *slog.Logger, *slog.LevelVar) error) int {
	prog := filepath.Base(argv[0])
	cfg, err := config.LoadFrom(argv[1:], stdin)
	if code, done := reportLoadError(err, prog, stdout, stderr); done {
		return code
	}
	if cfg.Daemonize && !isDaemonChild() {
		if err := daemonize(argv); err != nil {
			fmt.Fprintln(stderr, "Fatal error, can't daemonize:", err)
			return 1
		}
		return 0 // the detached child carries on
	}
	// Like redis-server: relative logfile/pidfile paths are under dir.
	if err := os.Chdir(cfg.Dir); err != nil {
		fmt.Fprintf(stderr, "Can't chdir to '%s': %v\n", cfg.Dir, err)
		return 1
	}
	logger, logs, err := newLogger(cfg, stdout)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer logs.Close()
	if cfg.PidFile != "" {
		if err := writePidFile(cfg.PidFile); err != nil {
			// Redis warns and goes on: a pidfile is advisory.
			logger.Warn("Failed to write PID file", "path", cfg.PidFile, "err", err)
		} else {
			defer removePidFile(cfg.PidFile, logger)
		}
	}
	if err := serve(cfg, logger, logs.Level); err != nil {
		logger.Error("Server stopped", "err", err)
		return 1
	}
	return 0
}

// reportLoadError prints what config.LoadFrom returned other than a
// config, as redis-server would, and tells whether to exit with code.
func reportLoadError(err error, prog string, stdout, stderr io.Writer) (code int, done bool) {
	var fe *config.FileError
	switch {
	case err == nil:
		return 0, false
	case errors.Is(err, config.ErrVersion):
		fmt.Fprintf(stdout, "Basalt server v=%s redis=%s go=%s bits=%d\n",
			version, redisVersion, runtime.Version(), 32<<(^uint(0)>>63))
		return 0, true
	case errors.Is(err, config.ErrHelp):
		fmt.Fprint(stderr, config.Usage(prog))
		return 1, true
	case errors.As(err, &fe):
		fmt.Fprintf(stderr, "\n%v\n", err) // redis-server's blank line first
		return 1, true
	default:
		fmt.Fprintln(stderr, err)
		return 1, true
	}
}

// run serves until SHUTDOWN or SIGTERM/SIGINT and returns why it stopped.
func run(cfg *config.Config, logger *slog.Logger, level *slog.LevelVar) error {
	srv, err := server.New(cfg, logger)
	if err != nil {
		return err
	}
	srv.OnConfig = func(c *config.Config) { level.Set(logLevelFor(c.LogLevel)) }
	defer startProfile()()
	ctx, stop := shutdownContext(context.Background(), func(os.Signal) {
		logger.Warn("Received a second signal: exiting now")
		os.Exit(1)
	})
	defer stop()
	go func() {
		select {
		case <-ctx.Done():
			logger.Warn("Received SIGTERM/SIGINT scheduling shutdown...")
			srv.Shutdown()
		case <-srv.Done():
		}
	}()
	ready := make(chan error, 1)
	errc := make(chan error, 1)
	go func() { errc <- srv.Run(ready) }()
	select {
	case err := <-ready:
		if err != nil {
			srv.Stop()
			<-errc
			return err
		}
	case err := <-errc:
		return err
	}
	err = <-errc
	logger.Info("Basalt is now ready to exit, bye bye...")
	return err
}
