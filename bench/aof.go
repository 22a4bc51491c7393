package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// AOFConfig says what the append-only-log table measures. The servers,
// clients, key space, request counts, rounds, loops, time limit, log folder
// and progress writer come from the Config it is used with.
type AOFConfig struct {
	Policies  []string // appendfsync values, one server pair each: always, everysec, no
	Tests     []string // redis-benchmark tests, run one per invocation (set, incr)
	Pipelines []int
	Size      int // -d value size
	// DataDir holds each server's log (a fresh sub-folder per server). Put
	// it on the disk to be measured: on a tmpfs fdatasync costs nothing.
	DataDir string
}

// DefaultAOFConfig is the table the issue asks for: SET and INCR at
// appendfsync always and everysec, pipelines 1 and 16, 3-byte values.
// DataDir is left empty: the caller must choose it.
func DefaultAOFConfig() AOFConfig {
	return AOFConfig{
		Policies:  []string{"always", "everysec"},
		Tests:     []string{"set", "incr"},
		Pipelines: []int{1, 16},
		Size:      3,
	}
}

// Validate reports the first unusable setting.
func (a AOFConfig) Validate() error {
	switch {
	case len(a.Policies) == 0 || len(a.Tests) == 0 || len(a.Pipelines) == 0:
		return errors.New("bench: AOF policies, tests and pipelines must not be empty")
	case a.Size < 1:
		return fmt.Errorf("bench: AOF value size %d must be at least 1", a.Size)
	case a.DataDir == "":
		return errors.New("bench: AOF DataDir is required")
	}
	for _, p := range a.Policies {
		if p != "always" && p != "everysec" && p != "no" {
			return fmt.Errorf("bench: appendfsync %q: want always, everysec or no", p)
		}
	}
	for _, p := range a.Pipelines {
		if p < 1 {
			return fmt.Errorf("bench: pipeline %d must be at least 1", p)
		}
	}
	for _, t := range a.Tests {
		if t == "" || strings.ContainsAny(t, ", \t") {
			return fmt.Errorf("bench: bad test name %q", t)
		}
	}
	return nil
}

// AOFServerArgs are the flags both servers get in the AOF table: the same
// persistence settings, no RDB snapshots. extra is appended.
func AOFServerArgs(port int, policy, dir string, extra ...string) []string {
	args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "yes", "--appendfsync", policy, "--dir", dir}
	return append(args, extra...)
}

// redisAOFExtra turns off Redis's automatic log rewrite: Basalt has none
// yet, and a rewrite (a fork) in the middle of a run would measure
// something else than the append path.
func redisAOFExtra() []string { return []string{"--auto-aof-rewrite-percentage", "0"} }

// aofPair is one redis-server and one Basalt with the same appendfsync.
type aofPair struct {
	policy        string
	redis, basalt *Server
}

// AOFRunner owns a redis-server and a Basalt per appendfsync policy for its
// lifetime. One goroutine at a time may use it; Close stops every server.
type AOFRunner struct {
	cfg   Config
	aof   AOFConfig
	pairs []aofPair
}

// NewAOFRunner validates both configurations and starts a server pair per
// policy, each server on a free port with a fresh log folder under
// aof.DataDir. On error nothing is left running.
func NewAOFRunner(ctx context.Context, cfg Config, aof AOFConfig) (*AOFRunner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := aof.Validate(); err != nil {
		return nil, err
	}
	r := &AOFRunner{cfg: cfg, aof: aof}
	var basaltExtra []string
	if cfg.Loops > 0 {
		basaltExtra = []string{"--loops", strconv.Itoa(cfg.Loops)}
	}
	start := func(name, bin, policy string, extra []string) (*Server, error) {
		dir, err := os.MkdirTemp(aof.DataDir, name+"-"+policy+"-")
		if err != nil {
			return nil, err
		}
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		return StartServer(ctx, name, bin, AOFServerArgs(port, policy, dir, extra...), port,
			filepath.Join(cfg.Dir, fmt.Sprintf("%s-aof-%s.log", name, policy)))
	}
	for _, policy := range aof.Policies {
		p := aofPair{policy: policy}
		var err error
		if p.redis, err = start("redis", cfg.RedisBin, policy, redisAOFExtra()); err != nil {
			r.Close()
			return nil, err
		}
		if p.basalt, err = start("basalt", cfg.BasaltBin, policy, basaltExtra); err != nil {
			p.redis.Stop()
			r.Close()
			return nil, err
		}
		r.pairs = append(r.pairs, p)
		r.progressf("appendfsync %s: redis-server pid %d on port %d; basalt pid %d on port %d\n",
			policy, p.redis.PID(), p.redis.Port, p.basalt.PID(), p.basalt.Port)
	}
	return r, nil
}

// Close stops every server this AOFRunner started.
func (r *AOFRunner) Close() {
	for _, p := range r.pairs {
		p.basalt.Stop()
		p.redis.Stop()
	}
}

// BasaltVersion is the redis_version Basalt's INFO reports, or "".
func (r *AOFRunner) BasaltVersion(ctx context.Context) string {
	if len(r.pairs) == 0 {
		return ""
	}
	return r.pairs[0].basalt.InfoField(ctx, "server", "redis_version")
}

func (r *AOFRunner) progressf(format string, args ...any) {
	if r.cfg.Progress != nil {
		fmt.Fprintf(r.cfg.Progress, format, args...)
	}
}

// AOFStats are Basalt's log counters for one run, from INFO deltas. A
// negative field is unknown (the server does not report that counter).
type AOFStats struct {
	FsyncsPerSec float64 // aof_fsyncs per second of the run
	CmdsPerFsync float64 // commands processed per fdatasync
	CmdsPerBatch float64 // commands processed per aof_batches batch
}

// aofCounters is one INFO sample.
type aofCounters struct {
	fsyncs, batches, commands int64
	hasFsyncs, hasBatches     bool
}

// sampleAOF reads aof_fsyncs, aof_batches and total_commands_processed with
// one INFO (the default sections hold persistence and stats).
func sampleAOF(ctx context.Context, s *Server) (aofCounters, error) {
	info, err := s.Do(ctx, "INFO")
	if err != nil {
		return aofCounters{}, err
	}
	return parseAOFCounters(info), nil
}

func parseAOFCounters(info string) aofCounters {
	var c aofCounters
	num := func(field string) (int64, bool) {
		v, err := strconv.ParseInt(infoField(info, field), 10, 64)
		return v, err == nil
	}
	c.fsyncs, c.hasFsyncs = num("aof_fsyncs")
	c.batches, c.hasBatches = num("aof_batches")
	c.commands, _ = num("total_commands_processed")
	return c
}

// aofStats derives a run's stats from the samples before and after it and
// from its duration in seconds (requests / measured ops/s).
func aofStats(before, after aofCounters, seconds float64) AOFStats {
	st := AOFStats{FsyncsPerSec: -1, CmdsPerFsync: -1, CmdsPerBatch: -1}
	cmds := float64(after.commands - before.commands)
	if before.hasFsyncs && after.hasFsyncs {
		f := float64(after.fsyncs - before.fsyncs)
		if seconds > 0 {
			st.FsyncsPerSec = f / seconds
		}
		if f > 0 {
			st.CmdsPerFsync = cmds / f
		}
	}
	if before.hasBatches && after.hasBatches {
		if b := float64(after.batches - before.batches); b > 0 {
			st.CmdsPerBatch = cmds / b
		}
	}
	return st
}

// runOne empties srv and runs one redis-benchmark test against it. For
// Basalt it also returns the log stats of the run.
func (r *AOFRunner) runOne(ctx context.Context, srv *Server, policy, test string, pipeline int) (*Result, *AOFStats, error) {
	if !srv.Alive() {
		return nil, nil, fmt.Errorf("bench: %s is no longer running; log %s:\n%s", srv.Name, srv.Log, tailFile(srv.Log, 2000))
	}
	if _, err := srv.Do(ctx, "FLUSHALL"); err != nil {
		r.progressf("warning: FLUSHALL on %s failed: %v\n", srv.Name, err)
	}
	var before aofCounters
	var sampled bool
	if srv.Name == "basalt" {
		var err error
		before, err = sampleAOF(ctx, srv)
		sampled = err == nil
	}
	n := r.cfg.RequestsFor(pipeline)
	args := []string{
		"-h", "127.0.0.1", "-p", strconv.Itoa(srv.Port),
		"-c", strconv.Itoa(r.cfg.Clients), "-r", strconv.Itoa(r.cfg.Keyspace),
		"-n", strconv.Itoa(n), "-P", strconv.Itoa(pipeline), "-d", strconv.Itoa(r.aof.Size),
		"-t", test, "-q", "--csv",
	}
	res, err := runBenchmark(ctx, r.cfg, srv, args, r.progressf)
	if err != nil {
		return nil, nil, err
	}
	if len(res) != 1 {
		return nil, nil, fmt.Errorf("bench: redis-benchmark -t %s against %s printed %d results, want 1", test, srv.Name, len(res))
	}
	x := res[0]
	var st *AOFStats
	if sampled {
		if after, err := sampleAOF(ctx, srv); err == nil && x.RPS > 0 {
			s := aofStats(before, after, float64(n)/x.RPS)
			st = &s
		}
	}
	line := fmt.Sprintf("  %-6s fsync=%-8s P=%-3d %-6s %12.0f ops/s  p50 %7.3f ms  p99 %7.3f ms",
		srv.Name, policy, pipeline, x.Test, x.RPS, x.P50, x.P99)
	if st != nil {
		line += fmt.Sprintf("  %s fsyncs/s  %s cmds/fsync  %s cmds/batch", stat(st.FsyncsPerSec, 0), stat(st.CmdsPerFsync, 1), stat(st.CmdsPerBatch, 1))
	}
	r.progressf("%s\n", line)
	return &x, st, nil
}

// AOFRow is one line of the AOF table: one test at one appendfsync policy
// and pipeline depth. Redis or Basalt is nil when every run of that side
// failed; Stats is nil when Basalt reported no counters; each number is the
// median over the rounds.
type AOFRow struct {
	Policy   string
	Test     string
	Pipeline int
	Size     int
	Redis    *Result
	Basalt   *Result
	Stats    *AOFStats
}

// Ratio is Basalt ops/s divided by Redis ops/s; ok is false when either side
// is missing or Redis measured zero.
func (r AOFRow) Ratio() (float64, bool) {
	return Row{Redis: r.Redis, Basalt: r.Basalt}.Ratio()
}

// aofKey names one AOF table row.
type aofKey struct {
	policy   string
	test     string
	pipeline int
}

// aofCollector gathers the runs of many rounds. Owned by one goroutine.
type aofCollector struct {
	order []aofKey
	cells map[aofKey]*aofCell
}

type aofCell struct {
	redis, basalt []Result
	stats         []AOFStats
}

func newAOFCollector() *aofCollector {
	return &aofCollector{cells: map[aofKey]*aofCell{}}
}

func (c *aofCollector) cell(k aofKey) *aofCell {
	v := c.cells[k]
	if v == nil {
		v = &aofCell{}
		c.cells[k] = v
		c.order = append(c.order, k)
	}
	return v
}

// rows folds the rounds into one row per cell, in first-seen order.
func (c *aofCollector) rows(size int) []AOFRow {
	var out []AOFRow
	for _, k := range c.order {
		v := c.cells[k]
		row := AOFRow{Policy: k.policy, Test: k.test, Pipeline: k.pipeline, Size: size}
		if len(v.redis) > 0 {
			m := MedianResult(v.redis)
			row.Redis = &m
		}
		if len(v.basalt) > 0 {
			m := MedianResult(v.basalt)
			row.Basalt = &m
		}
		if len(v.stats) > 0 {
			pick := func(f func(AOFStats) float64) float64 {
				xs := make([]float64, len(v.stats))
				for i, s := range v.stats {
					xs[i] = f(s)
				}
				return Median(xs)
			}
			row.Stats = &AOFStats{
				FsyncsPerSec: pick(func(s AOFStats) float64 { return s.FsyncsPerSec }),
				CmdsPerFsync: pick(func(s AOFStats) float64 { return s.CmdsPerFsync }),
				CmdsPerBatch: pick(func(s AOFStats) float64 { return s.CmdsPerBatch }),
			}
		}
		out = append(out, row)
	}
	return out
}

// Run does cfg.Rounds rounds; in each, every policy, pipeline and test runs
// against Redis and then Basalt (one redis-benchmark invocation per test, so
// Basalt's INFO deltas belong to that test alone). Failed runs leave
// "error" cells; Run fails only if the context ends or a server dies.
func (r *AOFRunner) Run(ctx context.Context) ([]AOFRow, error) {
	col := newAOFCollector()
	for round := 1; round <= r.cfg.Rounds; round++ {
		for _, p := range r.pairs {
			for _, pipeline := range r.aof.Pipelines {
				for _, test := range r.aof.Tests {
					r.progressf("AOF round %d/%d: appendfsync %s, pipeline %d, %s, -n %d\n",
						round, r.cfg.Rounds, p.policy, pipeline, test, r.cfg.RequestsFor(pipeline))
					rres, _, rerr := r.runOne(ctx, p.redis, p.policy, test, pipeline)
					if ctx.Err() != nil {
						return nil, ctx.Err()
					}
					bres, bst, berr := r.runOne(ctx, p.basalt, p.policy, test, pipeline)
					if ctx.Err() != nil {
						return nil, ctx.Err()
					}
					for _, e := range []error{rerr, berr} {
						if e != nil {
							r.progressf("warning: %v\n", e)
						}
					}
					// The row is named by the test as redis-benchmark prints
					// it (SET, INCR), like the in-memory table.
					name := strings.ToUpper(test)
					if rres != nil {
						name = rres.Test
					} else if bres != nil {
						name = bres.Test
					}
					c := col.cell(aofKey{p.policy, name, pipeline})
					if rres != nil {
						c.redis = append(c.redis, *rres)
					}
					if bres != nil {
						c.basalt = append(c.basalt, *bres)
					}
					if bst != nil {
						c.stats = append(c.stats, *bst)
					}
					if !p.redis.Alive() || !p.basalt.Alive() {
						return col.rows(r.aof.Size), errors.Join(rerr, berr, errors.New("bench: a server died; stopping"))
					}
				}
			}
		}
	}
	return col.rows(r.aof.Size), nil
}

// WriteAOFTable writes the AOF rows as one Markdown table.
func WriteAOFTable(w io.Writer, rows []AOFRow) error {
	var b strings.Builder
	b.WriteString("| appendfsync | test | pipeline | value bytes | Redis ops/s | Redis p50 ms | Redis p99 ms | Basalt ops/s | Basalt p50 ms | Basalt p99 ms | Basalt/Redis ops | Basalt fsyncs/s | Basalt cmds/fsync | Basalt cmds/batch |\n")
	b.WriteString("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range rows {
		ratio := "n/a"
		if x, ok := r.Ratio(); ok {
			ratio = fmt.Sprintf("%.2f", x)
		}
		fs, pf, pb := "n/a", "n/a", "n/a"
		if r.Stats != nil {
			fs, pf, pb = stat(r.Stats.FsyncsPerSec, 0), stat(r.Stats.CmdsPerFsync, 1), stat(r.Stats.CmdsPerBatch, 1)
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %s | %s | %s | %s | %s | %s |\n",
			r.Policy, strings.ReplaceAll(r.Test, "|", `\|`), r.Pipeline, r.Size, cells(r.Redis), cells(r.Basalt), ratio, fs, pf, pb)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// stat formats a derived number with prec decimals; negative or NaN means
// unknown.
func stat(x float64, prec int) string {
	if x < 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return "n/a"
	}
	return strconv.FormatFloat(x, 'f', prec, 64)
}

// AOFMethod describes how the AOF table was made, for the report header.
// fsType is the file system of the data folder ("" if unknown).
func AOFMethod(cfg Config, aof AOFConfig, fsType string) []string {
	var ns []string
	seen := map[int]bool{}
	for _, p := range aof.Pipelines {
		if !seen[p] {
			seen[p] = true
			ns = append(ns, fmt.Sprintf("%d at -P %d", cfg.RequestsFor(p), p))
		}
	}
	basaltArgs := AOFServerArgs(0, "POLICY", "DIR")
	if cfg.Loops > 0 {
		basaltArgs = append(basaltArgs, "--loops", strconv.Itoa(cfg.Loops))
	}
	redisArgs := AOFServerArgs(0, "POLICY", "DIR", redisAOFExtra()...)
	where := aof.DataDir
	if fsType != "" {
		where += " (" + fsType + ")"
	}
	lines := []string{
		fmt.Sprintf("each run: `redis-benchmark -c %d -r %d -n N -P P -d %d -t TEST -q --csv` after FLUSHALL, one test per run; N = %s",
			cfg.Clients, cfg.Keyspace, aof.Size, strings.Join(ns, ", ")),
		fmt.Sprintf("servers, one pair per appendfsync policy: `redis-server %s`, `basalt %s`",
			strings.Replace(ShellJoin(redisArgs), "--port 0", "--port PORT", 1),
			strings.Replace(ShellJoin(basaltArgs), "--port 0", "--port PORT", 1)),
		fmt.Sprintf("logs in fresh folders under %s", where),
		fmt.Sprintf("rounds: %d, interleaved Redis then Basalt for every row; cells are medians over the rounds", cfg.Rounds),
		"Basalt fsyncs/s: aof_fsyncs delta over the run's duration (requests / ops/s); cmds/fsync and cmds/batch: total_commands_processed delta over the aof_fsyncs and aof_batches deltas (INFO before and after each run)",
	}
	if fsType == "tmpfs" || fsType == "ramfs" {
		lines = append(lines, "WARNING: the logs are on a "+fsType+", where fdatasync costs nothing: use -aof-dir on a real disk")
	}
	return lines
}
