package bench

import (
	"context"
	"math"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestAOFConfigValidate(t *testing.T) {
	good := DefaultAOFConfig()
	good.DataDir = "/tmp"
	if err := good.Validate(); err != nil {
		t.Fatalf("default AOF config rejected: %v", err)
	}
	for name, mut := range map[string]func(*AOFConfig){
		"no dir":      func(a *AOFConfig) { a.DataDir = "" },
		"policy":      func(a *AOFConfig) { a.Policies = []string{"sometimes"} },
		"no policies": func(a *AOFConfig) { a.Policies = nil },
		"no tests":    func(a *AOFConfig) { a.Tests = nil },
		"bad test":    func(a *AOFConfig) { a.Tests = []string{"set,incr"} },
		"pipeline":    func(a *AOFConfig) { a.Pipelines = []int{0} },
		"size":        func(a *AOFConfig) { a.Size = 0 },
	} {
		a := good
		mut(&a)
		if err := a.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestAOFServerArgs(t *testing.T) {
	got := AOFServerArgs(7000, "always", "/d", "--loops", "2")
	want := []string{"--port", "7000", "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
		"--appendfsync", "always", "--dir", "/d", "--loops", "2"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("AOFServerArgs = %q", got)
	}
}

func TestAOFStats(t *testing.T) {
	before := parseAOFCounters("# Persistence\r\naof_enabled:1\r\naof_fsyncs:10\r\naof_batches:20\r\n# Stats\r\ntotal_commands_processed:100\r\n")
	after := parseAOFCounters("aof_fsyncs:110\r\naof_batches:220\r\ntotal_commands_processed:10100\r\n")
	got := aofStats(before, after, 2)
	if got != (AOFStats{FsyncsPerSec: 50, CmdsPerFsync: 100, CmdsPerBatch: 50}) {
		t.Errorf("stats = %+v", got)
	}
	// redis-server has neither counter: unknown, not zero.
	plain := parseAOFCounters("total_commands_processed:5\r\n")
	if got := aofStats(plain, plain, 1); got.FsyncsPerSec >= 0 || got.CmdsPerFsync >= 0 || got.CmdsPerBatch >= 0 {
		t.Errorf("stats without counters = %+v", got)
	}
	// No fsync during the run (everysec, short run): per-fsync is unknown.
	if got := aofStats(before, before, 1); got.FsyncsPerSec != 0 || got.CmdsPerFsync >= 0 {
		t.Errorf("stats without fsyncs = %+v", got)
	}
	for x, want := range map[float64]string{-1: "n/a", math.NaN(): "n/a", math.Inf(1): "n/a", 12.345: "12.3", 0: "0.0"} {
		if got := stat(x, 1); got != want {
			t.Errorf("stat(%v) = %q, want %q", x, got, want)
		}
	}
}

func TestAOFCollectorAndTable(t *testing.T) {
	c := newAOFCollector()
	for round := 1; round <= 3; round++ {
		f := float64(round)
		k := aofKey{"always", "SET", 1}
		c.cell(k).redis = append(c.cell(k).redis, Result{Test: "SET", RPS: 100 * f, P50: 1, P99: 2})
		c.cell(k).basalt = append(c.cell(k).basalt, Result{Test: "SET", RPS: 150 * f, P50: 0.5, P99: 1})
		c.cell(k).stats = append(c.cell(k).stats, AOFStats{FsyncsPerSec: 1000 * f, CmdsPerFsync: 10 * f, CmdsPerBatch: 2 * f})
		k2 := aofKey{"everysec", "INCR", 16}
		c.cell(k2).redis = append(c.cell(k2).redis, Result{Test: "INCR", RPS: 1000})
	}
	rows := c.rows(3)
	if len(rows) != 2 || rows[0].Policy != "always" || rows[1].Policy != "everysec" {
		t.Fatalf("rows = %+v", rows)
	}
	if rows[0].Redis.RPS != 200 || rows[0].Basalt.RPS != 300 || *rows[0].Stats != (AOFStats{2000, 20, 4}) {
		t.Errorf("medians: %+v %+v %+v", rows[0].Redis, rows[0].Basalt, rows[0].Stats)
	}
	if rows[1].Basalt != nil || rows[1].Stats != nil {
		t.Errorf("row without Basalt: %+v", rows[1])
	}
	var b strings.Builder
	if err := WriteAOFTable(&b, rows); err != nil {
		t.Fatal(err)
	}
	want := `| appendfsync | test | pipeline | value bytes | Redis ops/s | Redis p50 ms | Redis p99 ms | Basalt ops/s | Basalt p50 ms | Basalt p99 ms | Basalt/Redis ops | Basalt fsyncs/s | Basalt cmds/fsync | Basalt cmds/batch |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| always | SET | 1 | 3 | 200 | 1.000 | 2.000 | 300 | 0.500 | 1.000 | 1.50 | 2000 | 20.0 | 4.0 |
| everysec | INCR | 16 | 3 | 1000 | 0.000 | 0.000 | error | error | error | n/a | n/a | n/a | n/a |
`
	if got := b.String(); got != want {
		t.Fatalf("table:\n%s\nwant:\n%s", got, want)
	}
	for _, line := range strings.Split(strings.TrimSpace(want), "\n") {
		if n := strings.Count(line, "|"); n != 15 {
			t.Errorf("line %q has %d separators, want 15", line, n)
		}
	}
}

func TestAOFMethodWarnsOnTmpfs(t *testing.T) {
	cfg := DefaultConfig()
	aof := DefaultAOFConfig()
	aof.DataDir = "/x"
	lines := strings.Join(AOFMethod(cfg, aof, "tmpfs"), "\n")
	if !strings.Contains(lines, "WARNING") || !strings.Contains(lines, "/x (tmpfs)") {
		t.Errorf("method lines:\n%s", lines)
	}
	if strings.Contains(strings.Join(AOFMethod(cfg, aof, "ext4"), "\n"), "WARNING") {
		t.Error("warning on ext4")
	}
}

func TestFSType(t *testing.T) {
	if got := FSType(t.TempDir()); got == "" {
		t.Logf("file system of the temp folder not recognised (fine outside Linux)")
	}
	if got := FSType("/no/such/path"); got != "" {
		t.Errorf("FSType of a missing path = %q", got)
	}
}

// TestAOFRunnerWithRedisStandIn runs the AOF table end to end with
// redis-server standing in for Basalt (so the Basalt-only counters are
// unknown) and tiny request counts.
func TestAOFRunnerWithRedisStandIn(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	redis, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed")
	}
	benchBin, err := exec.LookPath("redis-benchmark")
	if err != nil {
		t.Skip("redis-benchmark not installed")
	}
	cfg := DefaultConfig()
	cfg.RedisBin, cfg.BasaltBin, cfg.BenchmarkBin = redis, redis, benchBin
	cfg.Requests, cfg.Clients, cfg.Keyspace = 2000, 4, 1000
	cfg.RunTimeout = time.Minute
	cfg.Dir = t.TempDir()
	aof := DefaultAOFConfig()
	aof.DataDir = t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := NewAOFRunner(ctx, cfg, aof)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := r.Run(ctx)
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 8 {
		t.Fatalf("got %d rows, want 8 (2 policies x 2 pipelines x 2 tests): %+v", len(rows), rows)
	}
	for _, row := range rows {
		if row.Redis == nil || row.Basalt == nil || row.Redis.RPS <= 0 || row.Basalt.RPS <= 0 {
			t.Errorf("row %+v lacks results", row)
		}
		if row.Test != "SET" && row.Test != "INCR" {
			t.Errorf("row test %q", row.Test)
		}
	}
	for _, p := range r.pairs {
		if p.redis.Alive() || p.basalt.Alive() {
			t.Errorf("servers still running after Close")
		}
	}
	// Each server wrote its log in its own folder under DataDir.
	entries, err := os.ReadDir(aof.DataDir)
	if err != nil || len(entries) != 4 {
		t.Errorf("DataDir holds %d entries, want 4: %v", len(entries), err)
	}
}
