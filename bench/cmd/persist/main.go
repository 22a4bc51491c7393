// Command persist compares Basalt's persistence with redis-server's and
// prints two Markdown tables. See bench/README.md.
//
//	go run ./bench/cmd/persist [-keys 100000] [-rounds 3] [-data-dir /var/tmp] ...
//
// For each server in turn (Redis first, never both at once) it loads a
// mixed dataset of -keys keys, SAVEs (or, with appendonly yes, logs it),
// stops the server, times a new process on those files until it answers
// PING, and on that process measures BGSAVE (or BGREWRITEAOF) under a write
// load: the duration and the peak RSS of the server and its children (Redis
// forks) sampled from /proc. It stops exactly the processes it started, by
// PID, Ctrl-C included. Tables go to stdout, progress to stderr. Linux only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/basaltdb/basalt/bench"
)

func main() {
	os.Exit(run())
}

// run is main without os.Exit, so that deferred clean-up (stopping servers,
// removing the temp folders) always happens.
func run() int {
	def := bench.DefaultPersistConfig()
	fs := flag.NewFlagSet("persist", flag.ContinueOnError)
	basaltBin := fs.String("basalt-bin", "", "Basalt executable to run (any server taking redis-server-style flags); empty builds ./cmd/basalt")
	redisBin := fs.String("redis-bin", def.RedisBin, "redis-server executable")
	keys := fs.Int("keys", def.Keys, "keys in the dataset")
	scale := fs.Float64("scale", 1, "multiply -keys (0.1 for a quick look)")
	rounds := fs.Int("rounds", def.Rounds, "rounds, each with fresh servers; cells are medians")
	tests := fs.String("tests", "rdb,aof", "rdb (dump.rdb start-up and BGSAVE), aof (log start-up and BGREWRITEAOF), or both")
	batch := fs.Int("batch", def.Batch, "commands per pipelined batch while loading")
	writers := fs.Int("writers", def.Writers, "connections of the write load during the snapshots")
	writeBatch := fs.Int("write-batch", def.WriteBatch, "SETs each writer pipelines before reading the replies")
	warmup := fs.Duration("warmup", def.Warmup, "write load before the steady window")
	steady := fs.Duration("steady", def.Steady, "window whose largest RSS is the 'before' figure")
	interval := fs.Duration("interval", def.Interval, "RSS sampling and INFO polling period")
	timeout := fs.Duration("timeout", def.Timeout, "limit for one BGSAVE or BGREWRITEAOF")
	dataDir := fs.String("data-dir", "/var/tmp", "where the RDB and AOF files go (a fresh folder, removed at the end unless something failed): put it on the disk to measure")
	loops := fs.Int("loops", 0, "Basalt --loops; 0 leaves Basalt's default")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "persist: unexpected arguments %q\n", fs.Args())
		return 2
	}
	cfg := def
	cfg.Keys = max(int(float64(*keys)**scale+0.5), 1)
	cfg.Batch, cfg.Rounds, cfg.Loops = *batch, *rounds, *loops
	cfg.Writers, cfg.WriteBatch = *writers, *writeBatch
	cfg.Warmup, cfg.Steady, cfg.Interval, cfg.Timeout = *warmup, *steady, *interval, *timeout
	cfg.RDB, cfg.AOF = false, false
	for _, t := range bench.SplitList(*tests) {
		switch t {
		case "rdb":
			cfg.RDB = true
		case "aof":
			cfg.AOF = true
		default:
			fmt.Fprintf(os.Stderr, "persist: -tests: unknown %q (have rdb, aof)\n", t)
			return 2
		}
	}
	if !(*scale > 0) || *keys < 1 || *batch < 1 || *rounds < 1 || *writers < 1 || *writeBatch < 1 || *loops < 0 ||
		*interval <= 0 || *timeout <= 0 || *warmup < 0 || *steady < 0 || !(cfg.RDB || cfg.AOF) {
		fmt.Fprintln(os.Stderr, "persist: -scale must be above 0; -keys, -batch, -rounds, -writers, -write-batch at least 1; -interval and -timeout positive; -loops, -warmup, -steady not negative; -tests not empty")
		return 2
	}
	cfg.Progress = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := os.MkdirTemp("", "basalt-persist-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "persist: %v\n", err)
		return 1
	}
	data, err := os.MkdirTemp(*dataDir, "basalt-persist-data-")
	if err != nil {
		os.RemoveAll(dir)
		fmt.Fprintf(os.Stderr, "persist: -data-dir: %v\n", err)
		return 1
	}
	keep := false
	defer func() {
		if keep {
			fmt.Fprintf(os.Stderr, "persist: server logs kept in %s, data files in %s\n", dir, data)
			return
		}
		os.RemoveAll(dir)
		os.RemoveAll(data)
	}()
	cfg.Dir, cfg.DataDir = dir, data

	env := bench.BaseEnv(time.Now())
	env.Title = "Basalt vs Redis, persistence"
	env.CommandLine = bench.CommandLine(os.Args, "./bench/cmd/persist")
	cfg.RedisBin, cfg.BasaltBin, err = bench.Binaries(ctx, &env, *redisBin, *basaltBin, dir, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "persist: %v\n", err)
		return 1
	}
	env.Method = bench.PersistMethod(cfg, bench.FSType(data))

	loads, snaps, err := bench.RunPersist(ctx, cfg)
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "persist: interrupted; servers stopped")
		return 130
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "persist: %v\n", err)
		keep = true
		return 1
	}
	fmt.Fprintln(os.Stderr)
	if bench.WriteHeader(os.Stdout, env) != nil || bench.WriteLoadTable(os.Stdout, loads) != nil {
		return 1
	}
	fmt.Println()
	if bench.WriteSnapTable(os.Stdout, snaps) != nil {
		return 1
	}
	for _, r := range loads {
		if r.Redis == nil || r.Basalt == nil {
			keep = true
			return 1
		}
	}
	return 0
}
