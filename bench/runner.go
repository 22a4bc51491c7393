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
	"sort"
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

	// OnePerTest runs every test in its own redis-benchmark invocation, in
	// the order redis-benchmark itself runs them (TestOrder), emptying the
	// server only before the first. redis-benchmark 7.0 exits at the first
	// error reply, so in one invocation a command the server lacks hides
	// every later test; one per test confines the failure to its own cells
	// while pops still find what the pushes before them left.
	OnePerTest bool

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

// BenchmarkArgs are redis-benchmark's arguments for one run of all of
// c.Tests.
func (c Config) BenchmarkArgs(port, pipeline, size int) []string {
	return c.benchmarkArgs(port, pipeline, size, c.Tests)
}

// DefaultDataTypeTests are the tests of the data-types table: a push or add
// of each type, then (in redis-benchmark's own order) the pops that consume
// it, and LRANGE over a 100-element head.
func DefaultDataTypeTests() []string {
	return []string{"lpush", "lpop", "sadd", "spop", "hset", "zadd", "zpopmin", "lrange_100"}
}

// TestOrder returns tests sorted into the order redis-benchmark 7.0 runs
// them whatever the order of -t (checked against its --csv output), so that
// separate invocations see the data the earlier tests left: LPOP after
// LPUSH, SPOP after SADD and HSET, ZPOPMIN after ZADD. Tests it does not
// know keep their relative order, after the known ones.
func TestOrder(tests []string) []string {
	rank := map[string]int{}
	for i, t := range []string{"ping_inline", "ping_mbulk", "ping", "set", "get", "incr",
		"lpush", "rpush", "lpop", "rpop", "sadd", "hset", "spop", "zadd", "zpopmin",
		"lrange", "lrange_100", "lrange_300", "lrange_500", "lrange_600", "mset"} {
		rank[t] = i + 1
	}
	out := append([]string(nil), tests...)
	sort.SliceStable(out, func(i, j int) bool {
		ri, rj := rank[strings.ToLower(out[i])], rank[strings.ToLower(out[j])]
		if ri == 0 || rj == 0 {
			return ri != 0 && rj == 0
		}
		return ri < rj
	})
	return out
}

func (c Config) benchmarkArgs(port, pipeline, size int, tests []string) []string {
	return []string{
		"-h", "127.0.0.1", "-p", strconv.Itoa(port),
		"-c", strconv.Itoa(c.Clients), "-r", strconv.Itoa(c.Keyspace),
		"-n", strconv.Itoa(c.RequestsFor(pipeline)),
		"-P", strconv.Itoa(pipeline), "-d", strconv.Itoa(size),
		"-t", strings.Join(tests, ","), "-q", "--csv",
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

// Invocation is what one redis-benchmark run gave: the results it printed
// (all of its tests, or those before it stopped) and, if it failed, why.
type Invocation struct {
	Tests   []string // its -t tests
	Results []Result
	Err     error
}

// Invocations empties srv (FLUSHALL, so every row group starts from the same
// state) and runs its tests against it: one redis-benchmark invocation of
// all of them, or one per test with Config.OnePerTest. A failed invocation
// does not stop the ones after it.
func (r *Runner) Invocations(ctx context.Context, srv *Server, pipeline, size int) []Invocation {
	groups := [][]string{r.cfg.Tests}
	if r.cfg.OnePerTest {
		groups = groups[:0]
		for _, t := range TestOrder(r.cfg.Tests) {
			groups = append(groups, []string{t})
		}
	}
	if _, err := srv.Do(ctx, "FLUSHALL"); err != nil && srv.Alive() && !r.warned[srv.Name+"flushall"] {
		// Not fatal: the run is still valid, it just starts from whatever the
		// previous run left.
		r.warned[srv.Name+"flushall"] = true
		r.progressf("warning: FLUSHALL on %s failed (%v); runs will not start from an empty keyspace\n", srv.Name, err)
	}
	var out []Invocation
	for _, tests := range groups {
		if ctx.Err() != nil {
			out = append(out, Invocation{Tests: tests, Err: ctx.Err()})
			continue
		}
		if !srv.Alive() {
			out = append(out, Invocation{Tests: tests,
				Err: fmt.Errorf("bench: %s is no longer running; log %s:\n%s", srv.Name, srv.Log, tailFile(srv.Log, 2000))})
			continue
		}
		res, err := r.runBenchmark(ctx, srv, r.cfg.benchmarkArgs(srv.Port, pipeline, size, tests))
		for _, x := range res {
			r.progressf("  %-6s P=%-3d d=%-5d %-8s %12.0f ops/s  p50 %7.3f ms  p99 %7.3f ms\n",
				srv.Name, pipeline, size, x.Test, x.RPS, x.P50, x.P99)
		}
		out = append(out, Invocation{Tests: tests, Results: res, Err: err})
	}
	return out
}

// RunOnce is Invocations with the results of all invocations in one slice
// and their errors joined.
func (r *Runner) RunOnce(ctx context.Context, srv *Server, pipeline, size int) ([]Result, error) {
	var res []Result
	var errs []error
	for _, inv := range r.Invocations(ctx, srv, pipeline, size) {
		res = append(res, inv.Results...)
		errs = append(errs, inv.Err)
	}
	return res, errors.Join(errs...)
}

// runBenchmark runs redis-benchmark with args (which must include -q --csv)
// against srv, within cfg.RunTimeout, and parses its results.
func (r *Runner) runBenchmark(ctx context.Context, srv *Server, args []string) ([]Result, error) {
	return runBenchmark(ctx, r.cfg, srv, args, r.progressf)
}

// BenchmarkError is a redis-benchmark run that failed.
type BenchmarkError struct {
	Server string // "redis" or "basalt"
	// Reason is the short cause: redis-benchmark's "Error from server: ..."
	// line when the server answered an error (redis-benchmark 7.0 stops at
	// the first), else its last line of output or the parsing error.
	Reason string
}

func (e *BenchmarkError) Error() string {
	return fmt.Sprintf("bench: redis-benchmark against %s: %s", e.Server, e.Reason)
}

// runBenchmark returns the results redis-benchmark printed even when it
// failed part way, with the error, so the tests before the failure keep
// their numbers.
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
		return nil, &BenchmarkError{srv.Name, fmt.Sprintf("timed out after %v", cfg.RunTimeout)}
	}
	res, perr := ParseCSV(bytes.NewReader(stdout.Bytes()))
	if err != nil {
		reason := failureReason(stderr.String() + stdout.String())
		if !strings.HasPrefix(reason, "Error from server") {
			reason = fmt.Sprintf("%v: %s", err, reason)
		}
		return res, &BenchmarkError{srv.Name, reason}
	}
	if perr != nil {
		return nil, &BenchmarkError{srv.Name, fmt.Sprintf("%v (stderr: %s)", perr, lastLine(stderr.String()))}
	}
	progressf("  %-6s took %.1fs: redis-benchmark %s\n", srv.Name, time.Since(start).Seconds(), ShellJoin(args))
	return res, nil
}

// failureReason picks the line saying why redis-benchmark failed: the
// server's error reply if it printed one, else its last line.
func failureReason(output string) string {
	for _, l := range strings.Split(output, "\n") {
		if strings.HasPrefix(l, "Error from server") {
			return strings.TrimSpace(l)
		}
	}
	return lastLine(output)
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

// groupKey names one redis-benchmark invocation's tests at one pipeline
// depth and value size.
type groupKey struct {
	tests          string // its -t list
	pipeline, size int
}

// Collector gathers the results of many rounds and folds them into table
// rows. Owned by one goroutine.
type Collector struct {
	order []cellKey                // rows in first-seen order
	runs  map[cellKey]*[2][]Result // [0] Redis, [1] Basalt, one per round
	// group is the invocation each row came from, so that a side with no
	// result can show why its invocation failed.
	group map[cellKey]groupKey
	errs  map[groupKey]*[2]string // last failure per invocation and side
	// stand-in rows, named after a -t test, for invocations that failed
	// before printing any result; dropped once the invocation has real rows.
	standIn map[cellKey]bool
}

// NewCollector returns an empty Collector.
func NewCollector() *Collector {
	return &Collector{runs: map[cellKey]*[2][]Result{}, group: map[cellKey]groupKey{},
		errs: map[groupKey]*[2]string{}, standIn: map[cellKey]bool{}}
}

func side(isBasalt bool) int {
	if isBasalt {
		return 1
	}
	return 0
}

func (c *Collector) cell(k cellKey, g groupKey) *[2][]Result {
	v := c.runs[k]
	if v == nil {
		v = &[2][]Result{}
		c.runs[k] = v
		c.order = append(c.order, k)
		c.group[k] = g
	}
	return v
}

// Add records one run's results for one server.
func (c *Collector) Add(isBasalt bool, pipeline, size int, results []Result) {
	c.add(isBasalt, groupKey{"", pipeline, size}, results)
}

func (c *Collector) add(isBasalt bool, g groupKey, results []Result) {
	for _, x := range results {
		k := cellKey{x.Test, g.pipeline, g.size}
		v := c.cell(k, g)
		delete(c.standIn, k)
		v[side(isBasalt)] = append(v[side(isBasalt)], x)
	}
}

// AddInvocation records one invocation's results and, if it failed, its
// error, which a row of that invocation shows where its side has no result.
func (c *Collector) AddInvocation(isBasalt bool, pipeline, size int, inv Invocation) {
	g := groupKey{strings.Join(inv.Tests, ","), pipeline, size}
	c.add(isBasalt, g, inv.Results)
	if inv.Err == nil {
		return
	}
	msg := inv.Err.Error()
	var be *BenchmarkError
	if errors.As(inv.Err, &be) {
		msg = be.Reason
	}
	msg = oneLine(msg) // the log tail of a dead server stays in the progress output
	e := c.errs[g]
	if e == nil {
		e = &[2]string{}
		c.errs[g] = e
	}
	e[side(isBasalt)] = msg
	if len(inv.Results) > 0 {
		return
	}
	for _, t := range inv.Tests {
		k := cellKey{strings.ToUpper(t), pipeline, size}
		if _, ok := c.runs[k]; !ok {
			c.cell(k, g)
			c.standIn[k] = true
		}
	}
}

// Rows returns one row per test, pipeline and value size, each side the
// per-field median over its rounds. Rows are grouped by test (in the order
// redis-benchmark ran them), then pipeline, then size, in the order first
// seen. A side that never produced a result is nil, with the last error of
// its invocation, if known.
func (c *Collector) Rows() []Row {
	hasRows := map[groupKey]bool{}
	for _, k := range c.order {
		if !c.standIn[k] {
			hasRows[c.group[k]] = true
		}
	}
	var tests []string
	byTest := map[string][]cellKey{}
	for _, k := range c.order {
		if c.standIn[k] && hasRows[c.group[k]] {
			continue
		}
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
			e := c.errs[c.group[k]]
			if len(v[0]) > 0 {
				m := MedianResult(v[0])
				row.Redis = &m
			} else if e != nil {
				row.RedisErr = e[0]
			}
			if len(v[1]) > 0 {
				m := MedianResult(v[1])
				row.Basalt = &m
			} else if e != nil {
				row.BasaltErr = e[1]
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
				var errs []error
				for _, srv := range []*Server{r.Redis, r.Basalt} {
					for _, inv := range r.Invocations(ctx, srv, p, d) {
						if ctx.Err() != nil {
							return nil, ctx.Err()
						}
						if inv.Err != nil {
							errs = append(errs, inv.Err)
							r.progressf("warning: %v\n", inv.Err)
						}
						col.AddInvocation(srv == r.Basalt, p, d, inv)
					}
				}
				if !r.Redis.Alive() || !r.Basalt.Alive() {
					return col.Rows(), errors.Join(append(errs, errors.New("bench: a server died; stopping"))...)
				}
			}
		}
	}
	return col.Rows(), nil
}

// trimArgs drops the arguments Redis quotes after "ERR unknown command
// 'X'": they are random keys and values, so without them the same failure
// reads the same at every pipeline depth and fits on a line.
func trimArgs(msg string) string {
	msg, _, _ = strings.Cut(msg, ", with args beginning with:")
	return msg
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
