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
	dataTypes := fs.Bool("datatypes", false, "also run the data-types table (lists, sets, hashes, sorted sets), one redis-benchmark run per test")
	dtTests := fs.String("datatypes-tests", strings.Join(bench.DefaultDataTypeTests(), ","), "redis-benchmark tests of the data-types table")
	dtPipelines := fs.String("datatypes-pipelines", "1,16", "pipeline depths (-P) of the data-types table")
	dtSize := fs.Int("datatypes-size", 3, "value size in bytes (-d) of the data-types table")
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
	cfg.Tests = append(bench.SplitList(*tests), bench.SplitList(*extra)...)
	cfg.Loops, cfg.Rounds, cfg.RunTimeout = *loops, *rounds, *timeout
	cfg.Progress = os.Stderr
	var err error
	if cfg.Pipelines, err = bench.IntList(*pipelines); err != nil {
		fmt.Fprintf(os.Stderr, "sidebyside: -pipelines: %v\n", err)
		return 2
	}
	if cfg.Sizes, err = bench.IntList(*sizes); err != nil {
		fmt.Fprintf(os.Stderr, "sidebyside: -sizes: %v\n", err)
		return 2
	}
	aof := defAOF
	aof.Policies, aof.Tests, aof.Size = bench.SplitList(*aofPolicies), bench.SplitList(*aofTests), *aofSize
	if aof.Pipelines, err = bench.IntList(*aofPipelines); err != nil {
		fmt.Fprintf(os.Stderr, "sidebyside: -aof-pipelines: %v\n", err)
		return 2
	}
	// The data-types table is the in-memory runner with other tests, one
	// redis-benchmark invocation per test so that a command Basalt lacks
	// fails only its own cells.
	dt := cfg
	dt.Tests, dt.Sizes, dt.OnePerTest = bench.TestOrder(bench.SplitList(*dtTests)), []int{*dtSize}, true
	if dt.Pipelines, err = bench.IntList(*dtPipelines); err != nil {
		fmt.Fprintf(os.Stderr, "sidebyside: -datatypes-pipelines: %v\n", err)
		return 2
	}
	if *dataTypes {
		chk := dt // Validate wants the executables and folder decided below
		chk.RedisBin, chk.BasaltBin, chk.BenchmarkBin, chk.Dir = "x", "x", "x", "x"
		if err := chk.Validate(); err != nil {
			fmt.Fprintf(os.Stderr, "sidebyside: data types: %v\n", err)
			return 2
		}
	}
	if !*inMemory && len(aof.Policies) == 0 && !*dataTypes {
		fmt.Fprintln(os.Stderr, "sidebyside: -inmemory=false without -aof or -datatypes leaves nothing to run")
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
	dt.RedisBin, dt.BenchmarkBin = cfg.RedisBin, cfg.BenchmarkBin

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
	cfg.Dir, dt.Dir = dir, dir

	env := bench.BaseEnv(time.Now())
	env.CommandLine = bench.CommandLine(os.Args, "./bench/cmd/sidebyside")
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
		cfg.BasaltBin, dt.BasaltBin = path, path
		env.BasaltBin = path
		// The binary was not necessarily built from this tree or this Go.
		env.Commit, env.GoVersion = "", ""
	} else {
		if rootErr != nil {
			fmt.Fprintf(os.Stderr, "sidebyside: %v; run from the repository or pass -basalt-bin\n", rootErr)
			return 1
		}
		cfg.BasaltBin = filepath.Join(dir, "basalt")
		dt.BasaltBin = cfg.BasaltBin
		fmt.Fprintf(os.Stderr, "building Basalt: go build -o %s ./cmd/basalt\n", cfg.BasaltBin)
		if err := bench.BuildBasalt(ctx, root, cfg.BasaltBin); err != nil {
			fmt.Fprintf(os.Stderr, "sidebyside: %v\n", err)
			return 1
		}
		env.BasaltBin = "go build ./cmd/basalt"
	}

	var (
		rows, dtRows []bench.Row
		aofRows      []bench.AOFRow
		failed       bool
	)
	if *inMemory {
		var bad bool
		var code int
		if rows, bad, code = runTable(ctx, cfg, &env); code != 0 {
			keepDir = code == 1
			return code
		}
		env.Method = method(cfg)
		failed = failed || bad
	}
	if *dataTypes {
		if !*inMemory {
			env.Method = []string{serversLine(cfg)}
		}
		var bad bool
		var code int
		if dtRows, bad, code = runTable(ctx, dt, &env); code != 0 {
			keepDir = code == 1
			return code
		}
		failed = failed || bad
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

	if len(rows) > 0 || len(dtRows) > 0 || len(aofRows) > 0 {
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
	if len(dtRows) > 0 {
		var b strings.Builder
		if len(rows) > 0 {
			b.WriteString("\n")
		}
		b.WriteString("#### Data types\n\n")
		for _, m := range dataTypesMethod(dt) {
			fmt.Fprintf(&b, "- %s\n", m)
		}
		b.WriteString("\n")
		if _, err := os.Stdout.WriteString(b.String()); err != nil {
			return 1
		}
		if err := bench.WriteTable(os.Stdout, dtRows); err != nil {
			return 1
		}
	}
	if len(aofRows) > 0 {
		var b strings.Builder
		if len(rows) > 0 || len(dtRows) > 0 {
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
	return []string{
		fmt.Sprintf("each run: `redis-benchmark -c %d -r %d -n N -P P -d D -t %s -q --csv` after FLUSHALL; N = %s",
			cfg.Clients, cfg.Keyspace, strings.Join(cfg.Tests, ","), strings.Join(ns, ", ")),
		serversLine(cfg),
		fmt.Sprintf("rounds: %d, interleaved Redis then Basalt for every row; each cell is the median over the rounds; ops/s = requests per second, p50/p99 in ms", cfg.Rounds),
	}
}

// runTable starts a fresh server pair for cfg, runs its rounds and stops
// the servers. failed says that a cell or the run failed (the rows still
// print); code is 1 when the servers could not start, 130 when interrupted,
// else 0.
func runTable(ctx context.Context, cfg bench.Config, env *bench.Env) (rows []bench.Row, failed bool, code int) {
	runner, err := bench.NewRunner(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sidebyside: %v\n", err)
		return nil, true, 1
	}
	if env.BasaltVersion == "" {
		env.BasaltVersion = runner.Basalt.InfoField(ctx, "server", "redis_version")
	}
	rows, err = runner.Run(ctx)
	runner.Close()
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "sidebyside: interrupted; servers stopped")
		return nil, true, 130
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "sidebyside: %v\n", err)
		failed = true
	}
	for _, r := range rows {
		if r.Redis == nil || r.Basalt == nil {
			failed = true
		}
	}
	return rows, failed || len(rows) == 0, 0
}

// serversLine says how both servers were started.
func serversLine(cfg bench.Config) string {
	basaltArgs := bench.ServerArgs(0)
	if cfg.Loops > 0 {
		basaltArgs = append(basaltArgs, "--loops", strconv.Itoa(cfg.Loops))
	}
	return fmt.Sprintf("servers: `redis-server %s`, `basalt %s` (free ports, both on this machine with redis-benchmark)",
		strings.Replace(bench.ShellJoin(bench.ServerArgs(0)), "--port 0", "--port PORT", 1),
		strings.Replace(bench.ShellJoin(basaltArgs), "--port 0", "--port PORT", 1))
}

// dataTypesMethod describes the data-types table's runs.
func dataTypesMethod(cfg bench.Config) []string {
	var ns []string
	for _, p := range cfg.Pipelines {
		ns = append(ns, fmt.Sprintf("%d at -P %d", cfg.RequestsFor(p), p))
	}
	return []string{
		fmt.Sprintf("a fresh pair of servers (flags above); per pipeline depth, FLUSHALL, then one `redis-benchmark -c %d -r %d -n N -P P -d %d -t TEST -q --csv` per test, in redis-benchmark's own order (%s), so pops find what the pushes before them left; N = %s",
			cfg.Clients, cfg.Keyspace, cfg.Sizes[0], strings.Join(cfg.Tests, ", "), strings.Join(ns, ", ")),
		"keys as redis-benchmark names them: one list `mylist`, one set `myset`, one hash `myhash` and one sorted set `myzset` with up to -r distinct members; LRANGE_100 reads the first 100 elements of `mylist` after its own LPUSH run (row `LPUSH (needed to benchmark LRANGE)`)",
		fmt.Sprintf("rounds: %d, Redis then Basalt; cells are medians; a test whose command fails shows `error` cells, with the reason below the table", cfg.Rounds),
	}
}
