// Command features compares Basalt and redis-server on the features of
// transactions, scripting, streams and pub/sub, and prints one Markdown
// table: EVALSHA of a small script and XADD (redis-benchmark with a custom
// command, at each -pipelines depth) and pub/sub fan-out (one publisher,
// -subscribers subscribers of one channel; messages delivered per second).
// See bench/README.md.
//
//	go run ./bench/cmd/features [-rounds 3] [-loops N] ...
//
// Each round starts a fresh redis-server, measures it and stops it, then
// does the same with a fresh Basalt (built from ./cmd/basalt unless
// -basalt-bin is given); cells are medians over rounds. It stops exactly
// the processes it started, by PID, Ctrl-C included.
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

func run() int {
	def := bench.DefaultFeatureConfig()
	fs := flag.NewFlagSet("features", flag.ContinueOnError)
	basaltBin := fs.String("basalt-bin", "", "Basalt executable to run; empty builds ./cmd/basalt")
	redisBin := fs.String("redis-bin", def.RedisBin, "redis-server executable")
	benchBin := fs.String("benchmark-bin", def.BenchmarkBin, "redis-benchmark executable")
	rounds := fs.Int("rounds", def.Rounds, "fresh server pairs; cells are medians")
	requests := fs.Int("n", def.Requests, "redis-benchmark requests per EVALSHA/XADD run")
	clients := fs.Int("c", def.Clients, "redis-benchmark connections")
	pipelines := fs.String("pipelines", "1,16", "redis-benchmark -P depths")
	subs := fs.Int("subscribers", def.Subscribers, "pub/sub subscriber connections")
	msgs := fs.Int("messages", def.Messages, "pub/sub messages published")
	batch := fs.Int("publish-batch", def.PublishBatch, "PUBLISHes pipelined before reading their replies")
	loops := fs.Int("loops", 0, "Basalt --loops; 0 leaves Basalt's default")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	ps, err := bench.IntList(*pipelines)
	if err != nil || fs.NArg() > 0 || *loops < 0 {
		fmt.Fprintln(os.Stderr, "features: bad -pipelines, -loops or extra arguments")
		return 2
	}
	cfg := def
	cfg.Rounds, cfg.Requests, cfg.Clients, cfg.Pipelines = *rounds, *requests, *clients, ps
	cfg.Subscribers, cfg.Messages, cfg.PublishBatch, cfg.Loops = *subs, *msgs, *batch, *loops
	cfg.BenchmarkBin = *benchBin
	cfg.Progress = os.Stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := os.MkdirTemp("", "basalt-features-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "features: %v\n", err)
		return 1
	}
	keepDir := false
	defer func() {
		if keepDir {
			fmt.Fprintf(os.Stderr, "features: server logs kept in %s\n", dir)
			return
		}
		os.RemoveAll(dir)
	}()
	cfg.Dir = dir
	env := bench.BaseEnv(time.Now())
	env.Title = "Basalt vs Redis, scripting, streams and pub/sub"
	env.CommandLine = bench.CommandLine(os.Args, "./bench/cmd/features")
	cfg.RedisBin, cfg.BasaltBin, err = bench.Binaries(ctx, &env, *redisBin, *basaltBin, dir, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "features: %v\n", err)
		return 1
	}
	basaltArgs := bench.ServerArgs(0)
	if cfg.Loops > 0 {
		basaltArgs = append(basaltArgs, "--loops", strconv.Itoa(cfg.Loops))
	}
	env.Method = []string{
		fmt.Sprintf("servers: `redis-server %s`, `basalt %s`; fresh processes every round, one at a time, Redis first",
			strings.Replace(bench.ShellJoin(bench.ServerArgs(0)), "--port 0", "--port PORT", 1),
			strings.Replace(bench.ShellJoin(basaltArgs), "--port 0", "--port PORT", 1)),
		fmt.Sprintf("EVALSHA: `SCRIPT LOAD %q`, then `redis-benchmark -c %d -r %d -n %d -P <P> EVALSHA <sha> 1 key:__rand_int__`", bench.FeatureScript, cfg.Clients, cfg.Keyspace, cfg.Requests),
		fmt.Sprintf("XADD: `redis-benchmark -c %d -r %d -n %d -P <P> XADD stream:__rand_int__ * field value`", cfg.Clients, cfg.Keyspace, cfg.Requests),
		fmt.Sprintf("pub/sub fan-out: %d connections SUBSCRIBE one channel; one publisher sends %d PUBLISHes of %d-byte payloads, %d pipelined at a time; ops/s = messages delivered per second (publishes x subscribers, until the last subscriber has all); P column = publish batch, d = payload size",
			cfg.Subscribers, cfg.Messages, cfg.MessageSize, cfg.PublishBatch),
		fmt.Sprintf("rounds: %d, cells are medians", cfg.Rounds),
	}
	rows, err := bench.RunFeatures(ctx, cfg)
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "features: interrupted; servers stopped")
		return 130
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "features: %v\n", err)
		keepDir = true
		return 1
	}
	if err := bench.WriteHeader(os.Stdout, env); err != nil {
		return 1
	}
	if err := bench.WriteTable(os.Stdout, rows); err != nil {
		return 1
	}
	return 0
}
