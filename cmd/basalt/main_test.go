package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/basaltdb/basalt/config"
)

func TestLogLevels(t *testing.T) {
	tests := map[string]slog.Level{
		"debug": LevelDebug, "verbose": LevelVerbose, "notice": LevelNotice, "warning": LevelWarning,
	}
	for name, want := range tests {
		if got := logLevelFor(name); got != want {
			t.Errorf("logLevelFor(%s) = %v, want %v", name, got, want)
		}
	}
	if !(LevelDebug < LevelVerbose && LevelVerbose < LevelNotice && LevelNotice < LevelWarning) {
		t.Error("levels out of order")
	}
}

func TestLoggerToFileAndLevel(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.LogFile = filepath.Join(dir, "basalt.log")
	cfg.LogLevel = "verbose"
	logger, out, err := newLogger(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	logger.Debug("hidden debug")
	logger.Log(context.Background(), LevelVerbose, "shown verbose")
	logger.Info("shown notice")
	logger.Warn("shown warning")
	out.Level.Set(LevelWarning) // what CONFIG SET loglevel warning does
	logger.Info("hidden notice")
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(cfg.LogFile)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{"level=VERBOSE msg=\"shown verbose\"", "level=NOTICE msg=\"shown notice\"", "level=WARNING msg=\"shown warning\""} {
		if !strings.Contains(s, want) {
			t.Errorf("log lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "hidden") {
		t.Errorf("log has filtered records:\n%s", s)
	}
}

func TestLoggerStdoutAndBadFile(t *testing.T) {
	var buf bytes.Buffer
	logger, out, err := newLogger(config.Default(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	logger.Info("hello")
	if out.Close() != nil || !strings.Contains(buf.String(), "msg=hello") {
		t.Errorf("stdout log: %q", buf.String())
	}
	cfg := config.Default()
	cfg.LogFile = filepath.Join(t.TempDir(), "no", "such", "dir.log")
	if _, _, err := newLogger(cfg, &buf); err == nil || !strings.HasPrefix(err.Error(), "Can't open the log file: ") {
		t.Errorf("bad logfile: %v", err)
	}
}

func TestPidFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "basalt.pid")
	if err := writePidFile(p); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if string(b) != strconv.Itoa(os.Getpid())+"\n" {
		t.Errorf("pidfile holds %q", b)
	}
	removePidFile(p, slog.Default())
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pidfile not removed: %v", err)
	}
	// Someone else's pidfile is left alone.
	if err := os.WriteFile(p, []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	removePidFile(p, slog.Default())
	if _, err := os.Stat(p); err != nil {
		t.Errorf("foreign pidfile removed: %v", err)
	}
}

func TestReportLoadError(t *testing.T) {
	tests := []struct {
		err            error
		code           int
		done           bool
		stdout, stderr string
	}{
		{nil, 0, false, "", ""},
		{config.ErrVersion, 0, true, "Basalt server v=" + version + " redis=" + redisVersion, ""},
		{config.ErrHelp, 1, true, "", "Usage: basalt [/path/to/basalt.conf] [options] [-]\n"},
		{&config.FileError{Line: 2, Text: `prot "7000"`, Msg: "Bad directive or wrong number of arguments"}, 1, true, "",
			"\n*** FATAL CONFIG FILE ERROR (Basalt) ***\nReading the configuration file, at line 2\n>>> 'prot \"7000\"'\nBad directive or wrong number of arguments\n"},
		{config.ErrNoListener, 1, true, "", "Configured to not listen anywhere, exiting.\n"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code, done := reportLoadError(tt.err, "basalt", &out, &errb)
		if code != tt.code || done != tt.done || !strings.HasPrefix(out.String(), tt.stdout) ||
			!strings.HasPrefix(errb.String(), tt.stderr) || (tt.stderr == "" && errb.Len() != 0) {
			t.Errorf("reportLoadError(%v) = %d %v, stdout %q stderr %q", tt.err, code, done, out.String(), errb.String())
		}
		if _, ok := tt.err.(*config.FileError); ok && errb.String() != tt.stderr {
			t.Errorf("FileError printed as %q", errb.String())
		}
	}
}

func TestStartRunsAndCleansUp(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir) // start chdirs to cfg.Dir; t.Chdir restores the old directory
	var out, errb bytes.Buffer
	code := start([]string{"basalt", "--port", "7000", "--dir", dir, "--pidfile", "b.pid", "--logfile", "b.log"},
		strings.NewReader(""), &out, &errb)
	if code != 1 {
		t.Errorf("exit code %d, want 1 (server not wired)", code)
	}
	if _, err := os.Stat(filepath.Join(dir, "b.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pidfile left behind: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "b.log"))
	if !strings.Contains(string(b), "server not wired") {
		t.Errorf("log: %q", b)
	}
	code = start([]string{"basalt", "--prot", "7000"}, strings.NewReader(""), &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), ">>> 'prot \"7000\"'") {
		t.Errorf("bad option: code %d stderr %q", code, errb.String())
	}
}

func TestShutdownContext(t *testing.T) {
	forced := make(chan os.Signal, 1)
	ctx, stop := shutdownContext(context.Background(), func(s os.Signal) { forced <- s })
	defer stop()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("SIGTERM did not cancel the context")
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-forced:
		if s != syscall.SIGINT {
			t.Errorf("forced by %v", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("second signal did not force")
	}
}

// TestDaemonize builds the binary and checks that "daemonize yes" returns
// at once with status 0 while a detached child runs (it logs and, with the
// server not wired yet, stops and removes its pidfile).
func TestDaemonize(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "basalt")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	logf := filepath.Join(dir, "d.log")
	pidf := filepath.Join(dir, "d.pid")
	cmd := exec.Command(bin, "--daemonize", "yes", "--port", "7000", "--dir", dir,
		"--logfile", logf, "--pidfile", pidf)
	cmd.Env = os.Environ() // without BASALT_DAEMONIZED, whatever the test ran with
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) != 0 {
		t.Fatalf("parent: %v, output %q", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(logf)
		if strings.Contains(string(b), "server not wired") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("child never logged; log %q", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for {
		if _, err := os.Stat(pidf); errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("child left its pidfile")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// daemonize with a config from stdin is refused up front.
	cmd = exec.Command(bin, "--daemonize", "yes", "-")
	cmd.Stdin = strings.NewReader("port 7001\n")
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "stdin") {
		t.Errorf("daemonize from stdin: %v %q", err, out)
	}
}
