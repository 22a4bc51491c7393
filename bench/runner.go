package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config says what to benchmark. The zero value is not usable; start from
// DefaultConfig.
type Config struct {
	RedisBin     string // redis-server executable
	BasaltBin    string // Basalt (or any redis-server-flag-compatible) executable
	BenchmarkBin string // redis-benchmark executable

	Clients     int // redis-benchmark -c
	Keyspace    int // redis-benchmark -r
	Requests    int // redis-benchmark -n at pipeline >= 16
	RequestsLow int // -n at pipelines below 16; 0 means Requests/2
	Tests       []string
	Pipelines   []int
	Sizes       []int
	Loops       int // Basalt --loops; 0 leaves Basalt's default
	Rounds      int // interleaved rounds; each cell is the median over them

	// RunTimeout bounds one redis-benchmark invocation, so a server that
	// stops answering fails that cell instead of hanging the whole run.
	RunTimeout time.Duration
	// Dir receives the servers' logs. It must exist.
	Dir string
	// Progress, if not nil, gets one line per run and warnings.
	Progress io.Writer
}

// DefaultConfig is the configuration the sidebyside program starts from.
func DefaultConfig() Config {
	return Config{
		RedisBin:     "redis-server",
		BenchmarkBin: "redis-benchmark",
		Clients:      50,
		Keyspace:     1000000,
		Requests:     200000,
		Tests:        []string{"set", "get"},
		Pipelines:    []int{1, 16},
		Sizes:        []int{3, 1024},
		Rounds:       1,
		RunTimeout:   5 * time.Minute,
	}
}

// RequestsFor is the -n used at pipeline depth p. Unpipelined runs are about
// five times slower, so they get half the requests to last a few seconds
// rather than tens of seconds.
func (c Config) RequestsFor(p int) int {
	if p >= 16 {
		return c.Requests
	}
	if c.RequestsLow > 0 {
		return c.RequestsLow
	}
	return max(c.Requests/2, 1)
}

// Validate reports the first unusable setting.
func (c Config) Validate() error {
	switch {
	case c.RedisBin == "" || c.BasaltBin == "" || c.BenchmarkBin == "":
		return errors.New("bench: redis-server, basalt and redis-benchmark executables are all required")
	case c.Clients < 1:
		return errors.New("bench: clients must be at least 1")
	case c.Keyspace < 0:
		return errors.New("bench: keyspace must not be negative")
	case c.Requests < 1 || c.RequestsLow < 0:
		return errors.New("bench: request counts must be positive")
	case len(c.Tests) == 0 || len(c.Pipelines) == 0 || len(c.Sizes) == 0:
		return errors.New("bench: tests, pipelines and sizes must not be empty")
	case c.Rounds < 1:
		return errors.New("bench: rounds must be at least 1")
	case c.Loops < 0:
		return errors.New("bench: loops must not be negative")
	case c.Dir == "":
		return errors.New("bench: Dir (for server logs) is required")
	}
	for _, p := range c.Pipelines {
		if p < 1 {
			return fmt.Errorf("bench: pipeline %d must be at least 1", p)
		}
	}
	for _, s := range c.Sizes {
		if s < 1 {
			return fmt.Errorf("bench: value size %d must be at least 1", s)
		}
	}
	for _, t := range c.Tests {
		if t == "" || strings.ContainsAny(t, ", \t") {
			return fmt.Errorf("bench: bad test name %q", t)
		}
	}
	return nil
}

// ServerArgs are the flags both servers get: the same settings, so the
// comparison is like for like. extra is appended (Basalt's --loops).
func ServerArgs(port int, extra ...string) []string {
	args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}
	return append(args, extra...)
}

// BenchmarkArgs are redis-benchmark's arguments for one run.
func (c Config) BenchmarkArgs(port, pipeline, size int) []string {
	return []string{
		"-h", "127.0.0.1", "-p", strconv.Itoa(port),
		"-c", strconv.Itoa(c.Clients), "-r", strconv.Itoa(c.Keyspace),
		"-n", strconv.Itoa(c.RequestsFor(pipeline)),
		"-P", strconv.Itoa(pipeline), "-d", strconv.Itoa(size),
		"-t", strings.Join(c.Tests, ","), "-q", "--csv",
	}
}

// Runner owns one redis-server and one Basalt process for its lifetime. One
// goroutine at a time may use it; Close stops both servers.
type Runner struct {
	cfg    Config
	Redis  *Server
	Basalt *Server
	warned map[string]bool // warnings already printed, to print each once
}

// NewRunner validates cfg and starts both servers on free ports. On error
// nothing is left running.
func NewRunner(ctx context.Context, cfg Config) (*Runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Runner{cfg: cfg, warned: map[string]bool{}}
	redisPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	r.Redis, err = StartServer(ctx, "redis", cfg.RedisBin, ServerArgs(redisPort), redisPort,
		filepath.Join(cfg.Dir, "redis.log"))
	if err != nil {
		return nil, err
	}
	basaltPort, err := FreePort()
	if err != nil {
		r.Close()
		return nil, err
	}
	var extra []string
	if cfg.Loops > 0 {
		extra = []string{"--loops", strconv.Itoa(cfg.Loops)}
	}
	r.Basalt, err = StartServer(ctx, "basalt", cfg.BasaltBin, ServerArgs(basaltPort, extra...), basaltPort,
		filepath.Join(cfg.Dir, "basalt.log"))
	if err != nil {
		r.Close()
		return nil, err
	}
	r.progressf("redis-server pid %d on port %d; basalt pid %d on port %d\n",
		r.Redis.PID(), r.Redis.Port, r.Basalt.PID(), r.Basalt.Port)
	return r, nil
}

// Close stops both servers (only the processes this Runner started).
func (r *Runner) Close() {
	if r.Basalt != nil {
		r.Basalt.Stop()
	}
	if r.Redis != nil {
		r.Redis.Stop()
	}
}

func (r *Runner) progressf(format string, args ...any) {
	if r.cfg.Progress != nil {
		fmt.Fprintf(r.cfg.Progress, format, args...)
	}
}

// RunOnce empties srv (FLUSHALL, so every run starts from the same state)
// and runs redis-benchmark against it once.
func (r *Runner) RunOnce(ctx context.Context, srv *Server, pipeline, size int) ([]Result, error) {
	if !srv.Alive() {
		return nil, fmt.Errorf("bench: %s is no longer running; log %s:\n%s", srv.Name, srv.Log, tailFile(srv.Log, 2000))
	}
	if _, err := srv.Do(ctx, "FLUSHALL"); err != nil && !r.warned[srv.Name+"flushall"] {
		// Not fatal: the run is still valid, it just starts from whatever the
		// previous run left.
		r.warned[srv.Name+"flushall"] = true
		r.progressf("warning: FLUSHALL on %s failed (%v); runs will not start from an empty keyspace\n", srv.Name, err)
	}
	res, err := r.runBenchmark(ctx, srv, r.cfg.BenchmarkArgs(srv.Port, pipeline, size))
	if err != nil {
		return nil, err
	}
	for _, x := range res {
		r.progressf("  %-6s P=%-3d d=%-5d %-8s %12.0f ops/s  p50 %7.3f ms  p99 %7.3f ms\n",
			srv.Name, pipeline, size, x.Test, x.RPS, x.P50, x.P99)
	}
	return res, nil
}

// runBenchmark runs redis-benchmark with args (which must include -q --csv)
// against srv, within cfg.RunTimeout, and parses its results.
func (r *Runner) runBenchmark(ctx context.Context, srv *Server, args []string) ([]Result, error) {
	return runBenchmark(ctx, r.cfg, srv, args, r.progressf)
}

func runBenchmark(ctx context.Context, cfg Config, srv *Server, args []string, progressf func(string, ...any)) ([]Result, error) {
	rctx, cancel := context.WithTimeout(ctx, cfg.RunTimeout)
	defer cancel()
	cmd := exec.CommandContext(rctx, cfg.BenchmarkBin, args...)
	cmd.SysProcAttr = serverProcAttr() // dies with this program, like the servers
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	if rctx.Err() != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("bench: redis-benchmark against %s timed out after %v", srv.Name, cfg.RunTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("bench: redis-benchmark against %s: %v: %s", srv.Name, err, lastLine(stderr.String()+stdout.String()))
	}
	res, err := ParseCSV(&stdout)
	if err != nil {
		return nil, fmt.Errorf("bench: against %s: %w (stderr: %s)", srv.Name, err, lastLine(stderr.String()))
	}
	progressf("  %-6s took %.1fs: redis-benchmark %s\n", srv.Name, time.Since(start).Seconds(), ShellJoin(args))
	return res, nil
}

// Pair runs redis-benchmark once against Redis, then once against Basalt,
// with the same settings. A failure of one side does not skip the other.
func (r *Runner) Pair(ctx context.Context, pipeline, size int) (redis, basalt []Result, redisErr, basaltErr error) {
	redis, redisErr = r.RunOnce(ctx, r.Redis, pipeline, size)
	if ctx.Err() != nil {
		return nil, nil, ctx.Err(), ctx.Err()
	}
	basalt, basaltErr = r.RunOnce(ctx, r.Basalt, pipeline, size)
	return redis, basalt, redisErr, basaltErr
}

// cellKey names one table row.
type cellKey struct {
	test           string
	pipeline, size int
}

// Collector gathers the results of many rounds and folds them into table
// rows. Owned by one goroutine.
type Collector struct {
	order []cellKey                // rows in first-seen order
	runs  map[cellKey]*[2][]Result // [0] Redis, [1] Basalt, one per round
}

// NewCollector returns an empty Collector.
func NewCollector() *Collector {
	return &Collector{runs: map[cellKey]*[2][]Result{}}
}

// Add records one run's results for one server.
func (c *Collector) Add(isBasalt bool, pipeline, size int, results []Result) {
	side := 0
	if isBasalt {
		side = 1
	}
	for _, x := range results {
		k := cellKey{x.Test, pipeline, size}
		v := c.runs[k]
		if v == nil {
			v = &[2][]Result{}
			c.runs[k] = v
			c.order = append(c.order, k)
		}
		v[side] = append(v[side], x)
	}
}

// Rows returns one row per test, pipeline and value size, each side the
// per-field median over its rounds. Rows are grouped by test (in the order
// redis-benchmark ran them), then pipeline, then size, in the order first
// seen.
func (c *Collector) Rows() []Row {
	var tests []string
	byTest := map[string][]cellKey{}
	for _, k := range c.order {
		if _, ok := byTest[k.test]; !ok {
			tests = append(tests, k.test)
		}
		byTest[k.test] = append(byTest[k.test], k)
	}
	var rows []Row
	for _, t := range tests {
		for _, k := range byTest[t] {
			row := Row{Test: k.test, Pipeline: k.pipeline, Size: k.size}
			v := c.runs[k]
			if len(v[0]) > 0 {
				m := MedianResult(v[0])
				row.Redis = &m
			}
			if len(v[1]) > 0 {
				m := MedianResult(v[1])
				row.Basalt = &m
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// Run does cfg.Rounds rounds; in each, every pipeline and size combination
// runs against Redis and then Basalt, so slow drift on a shared machine hits
// both servers alike. Failed runs are reported through Progress and leave
// "error" cells; Run itself fails only if the context ends or a server dies.
func (r *Runner) Run(ctx context.Context) ([]Row, error) {
	col := NewCollector()
	for round := 1; round <= r.cfg.Rounds; round++ {
		for _, p := range r.cfg.Pipelines {
			for _, d := range r.cfg.Sizes {
				r.progressf("round %d/%d: pipeline %d, value %d bytes, -n %d\n", round, r.cfg.Rounds, p, d, r.cfg.RequestsFor(p))
				redis, basalt, rerr, berr := r.Pair(ctx, p, d)
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				for _, e := range []error{rerr, berr} {
					if e != nil {
						r.progressf("warning: %v\n", e)
					}
				}
				if !r.Redis.Alive() || !r.Basalt.Alive() {
					return col.Rows(), errors.Join(rerr, berr, errors.New("bench: a server died; stopping"))
				}
				col.Add(false, p, d, redis)
				col.Add(true, p, d, basalt)
			}
		}
	}
	return col.Rows(), nil
}

// lastLine returns the last non-empty line of s, trimmed, for error messages.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		// redis-benchmark redraws progress with \r; keep the final redraw.
		l := lines[i]
		if j := strings.LastIndex(l, "\r"); j >= 0 {
			l = l[j+1:]
		}
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return "(no output)"
}

// FindModuleRoot walks up from dir to the directory whose go.mod declares
// the Basalt module.
func FindModuleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(data, []byte("module github.com/basaltdb/basalt")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("bench: not inside the Basalt module (no go.mod for github.com/basaltdb/basalt above the current directory)")
		}
		dir = parent
	}
}

// BuildBasalt runs `go build -o out ./cmd/basalt` in the module root.
func BuildBasalt(ctx context.Context, root, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/basalt")
	cmd.Dir = root
	output, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("bench: building Basalt: %v\n%s", err, output)
	}
	return nil
}
