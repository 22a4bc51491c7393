// Command memory compares the memory Basalt and redis-server take for the
// same data and prints one Markdown table. See bench/README.md.
//
//	go run ./bench/cmd/memory [-scale 0.1] [-datasets strings,hash] ...
//
// For each dataset it starts a fresh redis-server, then a fresh Basalt (built
// from ./cmd/basalt unless -basalt-bin is given), reads the server's RSS from
// /proc after MEMORY PURGE, loads the dataset with pipelined commands, reads
// the RSS again the same way and stops the server: exactly the processes it
// started, by PID, Ctrl-C included. The table goes to stdout, progress to
// stderr. Linux only (RSS comes from /proc/PID/status).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/basaltdb/basalt/bench"
)

func main() {
	os.Exit(run())
}

// run is main without os.Exit, so that deferred clean-up (stopping servers,
// removing the temp dir) always happens.
func run() int {
	def := bench.DefaultMemoryConfig()
	fs := flag.NewFlagSet("memory", flag.ContinueOnError)
	basaltBin := fs.String("basalt-bin", "", "Basalt executable to run (any server taking redis-server-style --port/--bind/--save/--appendonly flags); empty builds ./cmd/basalt")
	redisBin := fs.String("redis-bin", def.RedisBin, "redis-server executable")
	scale := fs.Float64("scale", 1, "dataset size factor: 0.1 loads 100k strings/fields/members and 10k small hashes")
	var names []string
	for _, ds := range def.Datasets {
		names = append(names, ds.Name)
	}
	datasets := fs.String("datasets", strings.Join(names, ","), "datasets to measure, comma-separated")
	batch := fs.Int("batch", def.Batch, "commands per pipelined batch while loading")
	rounds := fs.Int("rounds", def.Rounds, "fresh server pairs per dataset; cells are medians")
	settle := fs.Duration("settle", def.Settle, "pause after MEMORY PURGE before reading RSS")
	loops := fs.Int("loops", 0, "Basalt --loops; 0 leaves Basalt's default")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "memory: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if !(*scale > 0) || *batch < 1 || *rounds < 1 || *loops < 0 || *settle < 0 {
		fmt.Fprintln(os.Stderr, "memory: -scale must be above 0, -batch and -rounds at least 1, -loops and -settle not negative")
		return 2
	}
	cfg := def
	cfg.Batch, cfg.Rounds, cfg.Settle, cfg.Loops = *batch, *rounds, *settle, *loops
	cfg.Progress = os.Stderr
	cfg.Datasets = nil
	all := bench.MemoryDatasets(*scale)
	for _, name := range bench.SplitList(*datasets) {
		found := false
		for _, ds := range all {
			if ds.Name == name {
				cfg.Datasets = append(cfg.Datasets, ds)
				found = true
			}
		}
		if !found {
			fmt.Fprintf(os.Stderr, "memory: -datasets: unknown %q (have %s)\n", name, strings.Join(names, ", "))
			return 2
		}
	}
	if len(cfg.Datasets) == 0 {
		fmt.Fprintln(os.Stderr, "memory: -datasets is empty")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := os.MkdirTemp("", "basalt-memory-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "memory: %v\n", err)
		return 1
	}
	keepDir := false
	defer func() {
		if keepDir {
			fmt.Fprintf(os.Stderr, "memory: server logs kept in %s\n", dir)
			return
		}
		os.RemoveAll(dir)
	}()
	cfg.Dir = dir

	env := bench.BaseEnv(time.Now())
	env.Title = "Basalt vs Redis, memory"
	env.CommandLine = bench.CommandLine(os.Args, "./bench/cmd/memory")
	cfg.RedisBin, cfg.BasaltBin, err = bench.Binaries(ctx, &env, *redisBin, *basaltBin, dir, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "memory: %v\n", err)
		return 1
	}
	env.Method = method(cfg, *scale)

	rows, err := bench.RunMemory(ctx, cfg)
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "memory: interrupted; servers stopped")
		return 130
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "memory: %v\n", err)
		keepDir = true
		return 1
	}
	fmt.Fprintln(os.Stderr)
	if err := bench.WriteHeader(os.Stdout, env); err != nil {
		return 1
	}
	if err := bench.WriteMemTable(os.Stdout, rows); err != nil {
		return 1
	}
	for _, r := range rows {
		if r.Redis == nil || r.Basalt == nil {
			keepDir = true
			return 1
		}
	}
	return 0
}

// method describes how the numbers were taken, for the report header.
func method(cfg bench.MemoryConfig, scale float64) []string {
	basaltArgs := bench.ServerArgs(0)
	if cfg.Loops > 0 {
		basaltArgs = append(basaltArgs, "--loops", strconv.Itoa(cfg.Loops))
	}
	lines := []string{
		fmt.Sprintf("servers: `redis-server %s`, `basalt %s`; a fresh process for every dataset, Redis first, never both at once",
			strings.Replace(bench.ShellJoin(bench.ServerArgs(0)), "--port 0", "--port PORT", 1),
			strings.Replace(bench.ShellJoin(basaltArgs), "--port 0", "--port PORT", 1)),
		fmt.Sprintf("RSS: VmRSS of the server process from /proc/PID/status, read %v after `MEMORY PURGE` (an error reply is ignored), once before and once after loading; bytes/element = (after - before) / elements", cfg.Settle),
		fmt.Sprintf("loading: one connection, pipelined batches of %d commands (write a batch, read its replies), then a count (DBSIZE, HLEN or ZCARD) must equal the elements; values are 10 bytes (`v` and 9 digits), distinct", cfg.Batch),
		fmt.Sprintf("scale %g of the full size (1M strings, fields, members; 100k small hashes); rounds: %d, cells are medians", scale, cfg.Rounds),
	}
	return lines
}
