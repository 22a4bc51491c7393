// Command sidebyside benchmarks Basalt against redis-server with
// redis-benchmark and prints one Markdown table. See bench/README.md.
//
//	go run ./bench/cmd/sidebyside [-rounds 3] [-basalt-bin path] ...
//
// The table goes to stdout; progress and warnings go to stderr. It builds
// Basalt from ./cmd/basalt unless -basalt-bin is given, starts both servers on
// free ports with the same settings, and stops exactly those two processes on
// exit, Ctrl-C included.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/basaltdb/basalt/bench"
)

func main() {
	os.Exit(run())
}

// run is main without os.Exit, so that deferred clean-up (stopping the
// servers, removing the temp dir) always happens.
func run() int {
	def := bench.DefaultConfig()
	fs := flag.NewFlagSet("sidebyside", flag.ContinueOnError)
	basaltBin := fs.String("basalt-bin", "", "Basalt executable to run (any server taking redis-server-style --port/--bind/--save/--appendonly flags); empty builds ./cmd/basalt")
	redisBin := fs.String("redis-bin", def.RedisBin, "redis-server executable")
	benchBin := fs.String("benchmark-bin", def.BenchmarkBin, "redis-benchmark executable")
	n := fs.Int("n", def.Requests, "redis-benchmark -n (requests per test and run) at pipeline >= 16")
	n1 := fs.Int("n1", 0, "requests per test and run at pipelines below 16; 0 means n/2")
	clients := fs.Int("clients", def.Clients, "redis-benchmark -c")
	keyspace := fs.Int("keyspace", def.Keyspace, "redis-benchmark -r (random key space)")
	tests := fs.String("tests", strings.Join(def.Tests, ","), "redis-benchmark -t tests, comma-separated")
	extra := fs.String("extra-tests", "", "more redis-benchmark tests appended to -tests, e.g. incr,lpush")
	pipelines := fs.String("pipelines", "1,16", "pipeline depths (-P), comma-separated")
	sizes := fs.String("sizes", "3,1024", "value sizes in bytes (-d), comma-separated")
	loops := fs.Int("loops", 0, "Basalt --loops; 0 leaves Basalt's default")
	rounds := fs.Int("rounds", def.Rounds, "interleaved rounds (Redis, Basalt, Redis, Basalt, ...); cells are medians")
	timeout := fs.Duration("run-timeout", def.RunTimeout, "limit for one redis-benchmark run")
	defAOF := bench.DefaultAOFConfig()
	inMemory := fs.Bool("inmemory", true, "run the in-memory table (no persistence); -inmemory=false with -aof gives only the AOF table")
	aofPolicies := fs.String("aof", "", "appendfsync policies for the append-only-log table, e.g. always,everysec; empty skips it")
	aofTests := fs.String("aof-tests", strings.Join(defAOF.Tests, ","), "redis-benchmark tests of the AOF table, one run each")
	aofPipelines := fs.String("aof-pipelines", "1,16", "pipeline depths (-P) of the AOF table")
	aofSize := fs.Int("aof-size", defAOF.Size, "value size in bytes (-d) of the AOF table")
	aofDir := fs.String("aof-dir", "", "folder for the servers' logs (on the disk to measure; not a tmpfs); empty uses the system temp folder")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "sidebyside: unexpected arguments %q\n", fs.Args())
		return 2
	}

	cfg := def
	cfg.Requests, cfg.RequestsLow = *n, *n1
	cfg.Clients, cfg.Keyspace = *clients, *keyspace
	cfg.Tests = append(splitList(*tests), splitList(*extra)...)
	cfg.Loops, cfg.Rounds, cfg.RunTimeout = *loops, *rounds, *timeout
	cfg.Progress = os.Stderr
	var err error
	if cfg.Pipelines, err = intList(*pipelines); err != nil {
		fmt.Fprintf(os.Stderr, "sidebyside: -pipelines: %v\n", err)
		return 2
	}
	if cfg.Sizes, err = intList(*sizes); err != nil {
		fmt.Fprintf(os.Stderr, "sidebyside: -sizes: %v\n", err)
		return 2
	}
	aof := defAOF
	aof.Policies, aof.Tests, aof.Size = splitList(*aofPolicies), splitList(*aofTests), *aofSize
	if aof.Pipelines, err = intList(*aofPipelines); err != nil {
		fmt.Fprintf(os.Stderr, "sidebyside: -aof-pipelines: %v\n", err)
		return 2
	}
	if !*inMemory && len(aof.Policies) == 0 {
		fmt.Fprintln(os.Stderr, "sidebyside: -inmemory=false without -aof leaves nothing to run")
		return 2
	}
	if len(aof.Policies) > 0 {
		aof.DataDir = "(checked below)" // Validate wants one; the real folder is made later
		if err := aof.Validate(); err != nil {
			fmt.Fprintf(os.Stderr, "sidebyside: %v\n", err)
			return 2
		}
	}
	for _, p := range []*string{redisBin, benchBin} {
		if path, err := exec.LookPath(*p); err == nil {
			*p = path
		} else {
			fmt.Fprintf(os.Stderr, "sidebyside: %v (apt-get install -y redis-server redis-tools)\n", err)
			return 1
		}
	}
	cfg.RedisBin, cfg.BenchmarkBin = *redisBin, *benchBin

	// Ctrl-C and SIGTERM cancel the context; the servers sit in their own
	// process group, so they are stopped by the deferred Close, not by the
	// terminal.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	dir, err := os.MkdirTemp("", "basalt-sidebyside-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "sidebyside: %v\n", err)
		return 1
	}
	keepDir := false
	defer func() {
		if keepDir {
			fmt.Fprintf(os.Stderr, "sidebyside: server logs kept in %s\n", dir)
			return
		}
		os.RemoveAll(dir)
	}()
	cfg.Dir = dir

	env := bench.BaseEnv(time.Now())
	env.CommandLine = commandLine()
	env.RedisBin = cfg.RedisBin
	env.RedisVersion = bench.RedisServerVersion(ctx, cfg.RedisBin)
	root, rootErr := bench.FindModuleRoot(".")
	if rootErr == nil {
		env.Commit = bench.GitCommit(ctx, root)
	}
	if *basaltBin != "" {
		path, err := exec.LookPath(*basaltBin)
		if err != nil {
			fmt.Fprintf(os.Stderr, "sidebyside: -basalt-bin: %v\n", err)
			return 1
		}
		cfg.BasaltBin = path
		env.BasaltBin = path
		// The binary was not necessarily built from this tree or this Go.
		env.Commit, env.GoVersion = "", ""
	} else {
		if rootErr != nil {
			fmt.Fprintf(os.Stderr, "sidebyside: %v; run from the repository or pass -basalt-bin\n", rootErr)
			return 1
		}
		cfg.BasaltBin = filepath.Join(dir, "basalt")
		fmt.Fprintf(os.Stderr, "building Basalt: go build -o %s ./cmd/basalt\n", cfg.BasaltBin)
		if err := bench.BuildBasalt(ctx, root, cfg.BasaltBin); err != nil {
			fmt.Fprintf(os.Stderr, "sidebyside: %v\n", err)
			return 1
		}
		env.BasaltBin = "go build ./cmd/basalt"
	}

	var (
		rows    []bench.Row
		aofRows []bench.AOFRow
		failed  bool
	)
	if *inMemory {
		runner, err := bench.NewRunner(ctx, cfg)
		if err != nil {
			fmt.Fprintf(os.Stderr, "sidebyside: %v\n", err)
			keepDir = true
			return 1
		}
		env.BasaltVersion = runner.Basalt.InfoField(ctx, "server", "redis_version")
		env.Method = method(cfg)
		rows, err = runner.Run(ctx)
		runner.Close()
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "sidebyside: interrupted; servers stopped")
			return 130
		}
		if err != nil {
			failed = true
			fmt.Fprintf(os.Stderr, "sidebyside: %v\n", err)
		}
		for _, r := range rows {
			if r.Redis == nil || r.Basalt == nil {
				failed = true
			}
		}
		if len(rows) == 0 {
			failed = true
		}
	}
	var aofMethod []string
	if len(aof.Policies) > 0 {
		base := *aofDir
		if base == "" {
			base = os.TempDir()
		}
		data, err := os.MkdirTemp(base, "basalt-sidebyside-aof-")
		if err != nil {
			fmt.Fprintf(os.Stderr, "sidebyside: -aof-dir: %v\n", err)
			return 1
		}
		// The logs can be large (every run's writes); they are only kept
		// with the server logs when something failed.
		defer func() {
			if !keepDir {
				os.RemoveAll(data)
			}
		}()
		aof.DataDir = data
		fsType := bench.FSType(data)
		if fsType == "tmpfs" || fsType == "ramfs" {
			fmt.Fprintf(os.Stderr, "warning: %s is on a %s, where fdatasync costs nothing; pass -aof-dir on a real disk\n", data, fsType)
		}
		aofMethod = bench.AOFMethod(cfg, aof, fsType)
		runner, err := bench.NewAOFRunner(ctx, cfg, aof)
		if err != nil {
			fmt.Fprintf(os.Stderr, "sidebyside: %v\n", err)
			keepDir = true
			return 1
		}
		if env.BasaltVersion == "" {
			env.BasaltVersion = runner.BasaltVersion(ctx)
		}
		aofRows, err = runner.Run(ctx)
		runner.Close()
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "sidebyside: interrupted; servers stopped")
			return 130
		}
		if err != nil {
			failed = true
			fmt.Fprintf(os.Stderr, "sidebyside: %v\n", err)
		}
		for _, r := range aofRows {
			if r.Redis == nil || r.Basalt == nil {
				failed = true
			}
		}
		if len(aofRows) == 0 {
			failed = true
		}
	}

	if len(rows) > 0 || len(aofRows) > 0 {
		fmt.Fprintln(os.Stderr)
		if err := bench.WriteHeader(os.Stdout, env); err != nil {
			return 1
		}
	}
	if len(rows) > 0 {
		if err := bench.WriteTable(os.Stdout, rows); err != nil {
			return 1
		}
	}
	if len(aofRows) > 0 {
		var b strings.Builder
		if len(rows) > 0 {
			b.WriteString("\n")
		}
		b.WriteString("#### With an append-only log\n\n")
		for _, m := range aofMethod {
			fmt.Fprintf(&b, "- %s\n", m)
		}
		b.WriteString("\n")
		if _, err := os.Stdout.WriteString(b.String()); err != nil {
			return 1
		}
		if err := bench.WriteAOFTable(os.Stdout, aofRows); err != nil {
			return 1
		}
	}
	if failed {
		keepDir = true
		return 1
	}
	return 0
}

// method describes how the numbers were taken, for the report header.
func method(cfg bench.Config) []string {
	var ns []string
	seen := map[int]bool{}
	for _, p := range cfg.Pipelines {
		if n := cfg.RequestsFor(p); !seen[p] {
			seen[p] = true
			ns = append(ns, fmt.Sprintf("%d at -P %d", n, p))
		}
	}
	basaltArgs := bench.ServerArgs(0)
	if cfg.Loops > 0 {
		basaltArgs = append(basaltArgs, "--loops", strconv.Itoa(cfg.Loops))
	}
	return []string{
		fmt.Sprintf("each run: `redis-benchmark -c %d -r %d -n N -P P -d D -t %s -q --csv` after FLUSHALL; N = %s",
			cfg.Clients, cfg.Keyspace, strings.Join(cfg.Tests, ","), strings.Join(ns, ", ")),
		fmt.Sprintf("servers: `redis-server %s`, `basalt %s` (free ports, both on this machine with redis-benchmark)",
			strings.Replace(bench.ShellJoin(bench.ServerArgs(0)), "--port 0", "--port PORT", 1),
			strings.Replace(bench.ShellJoin(basaltArgs), "--port 0", "--port PORT", 1)),
		fmt.Sprintf("rounds: %d, interleaved Redis then Basalt for every row; each cell is the median over the rounds; ops/s = requests per second, p50/p99 in ms", cfg.Rounds),
	}
}

// commandLine is the command as the user would retype it. Under `go run`
// os.Args[0] is a temporary binary, so it is shown as the go run command.
func commandLine() string {
	name := os.Args[0]
	if strings.Contains(name, "go-build") {
		name = "go run ./bench/cmd/sidebyside"
	}
	return strings.TrimSpace(name + " " + bench.ShellJoin(os.Args[1:]))
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		v, err := strconv.Atoi(f)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	return out, nil
}
