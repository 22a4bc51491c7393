package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
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
	var got *config.Config
	serve := func(cfg *config.Config, logger *slog.Logger, _ *slog.LevelVar) error {
		got = cfg
		if b, err := os.ReadFile(filepath.Join(dir, "b.pid")); err != nil || string(b) != strconv.Itoa(os.Getpid())+"\n" {
			t.Errorf("pidfile while serving: %q %v", b, err)
		}
		return errors.New("server failed")
	}
	code := start([]string{"basalt", "--port", "7000", "--dir", dir, "--pidfile", "b.pid", "--logfile", "b.log"},
		strings.NewReader(""), &out, &errb, serve)
	if code != 1 || got == nil || got.Port != 7000 || got.Dir != dir {
		t.Errorf("exit code %d, config %+v", code, got)
	}
	if _, err := os.Stat(filepath.Join(dir, "b.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pidfile left behind: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "b.log"))
	if !strings.Contains(string(b), "server failed") {
		t.Errorf("log: %q", b)
	}
	ok := func(*config.Config, *slog.Logger, *slog.LevelVar) error { return nil }
	if code := start([]string{"basalt", "--port", "7000"}, strings.NewReader(""), &out, &errb, ok); code != 0 {
		t.Errorf("clean stop: exit code %d", code)
	}
	called := false
	never := func(*config.Config, *slog.Logger, *slog.LevelVar) error { called = true; return nil }
	code = start([]string{"basalt", "--prot", "7000"}, strings.NewReader(""), &out, &errb, never)
	if code != 1 || called || !strings.Contains(errb.String(), ">>> 'prot \"7000\"'") {
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
// at once with status 0 while a detached child serves, writes its pidfile,
// and on SIGTERM stops and removes it.
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
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	logf := filepath.Join(dir, "d.log")
	pidf := filepath.Join(dir, "d.pid")
	cmd := exec.Command(bin, "--daemonize", "yes", "--port", strconv.Itoa(port), "--dir", dir,
		"--logfile", logf, "--pidfile", pidf, "--loops", "1")
	cmd.Env = os.Environ() // without BASALT_DAEMONIZED, whatever the test ran with
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) != 0 {
		t.Fatalf("parent: %v, output %q", err, out)
	}
	wait := func(what string, done func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !done(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				b, _ := os.ReadFile(logf)
				t.Fatalf("timed out waiting for %s; log:\n%s", what, b)
			}
		}
	}
	pid := 0
	wait("the pidfile", func() bool {
		b, err := os.ReadFile(pidf)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid > 0
	})
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) }) // only if the test failed midway
	if pid == os.Getpid() || pid == cmd.Process.Pid {
		t.Fatalf("pidfile holds %d, not the detached child", pid)
	}
	if sid, err := sessionID(pid); err != nil || sid != pid {
		t.Errorf("child is not a session leader: sid %d, %v", sid, err)
	}
	wait("the listener", func() bool {
		c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wait("the pidfile to go", func() bool {
		_, err := os.Stat(pidf)
		return errors.Is(err, os.ErrNotExist)
	})
	// daemonize with a config from stdin is refused up front.
	cmd = exec.Command(bin, "--daemonize", "yes", "-")
	cmd.Stdin = strings.NewReader("port 7001\n")
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "stdin") {
		t.Errorf("daemonize from stdin: %v %q", err, out)
	}
}

// sessionID reads a process's session id from /proc (field 6 of stat).
func sessionID(pid int) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // after "pid (comm)"
	if len(fields) < 4 {
		return 0, errors.New("short stat: " + s)
	}
	return strconv.Atoi(fields[3])
}
