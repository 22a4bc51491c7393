package bench

import (
	"bufio"
	"context"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRequestsFor(t *testing.T) {
	c := DefaultConfig()
	if got := c.RequestsFor(16); got != 200000 {
		t.Errorf("P16: %d", got)
	}
	if got := c.RequestsFor(32); got != 200000 {
		t.Errorf("P32: %d", got)
	}
	if got := c.RequestsFor(1); got != 100000 {
		t.Errorf("P1: %d", got)
	}
	c.RequestsLow = 777
	if got := c.RequestsFor(4); got != 777 {
		t.Errorf("P4 with RequestsLow: %d", got)
	}
}

func TestValidate(t *testing.T) {
	good := DefaultConfig()
	good.BasaltBin, good.Dir = "basalt", "/tmp"
	if err := good.Validate(); err != nil {
		t.Fatalf("default config rejected: %v", err)
	}
	for name, mut := range map[string]func(*Config){
		"no basalt":   func(c *Config) { c.BasaltBin = "" },
		"no dir":      func(c *Config) { c.Dir = "" },
		"rounds":      func(c *Config) { c.Rounds = 0 },
		"pipeline":    func(c *Config) { c.Pipelines = []int{0} },
		"size":        func(c *Config) { c.Sizes = []int{-1} },
		"no tests":    func(c *Config) { c.Tests = nil },
		"bad test":    func(c *Config) { c.Tests = []string{"set,get"} },
		"clients":     func(c *Config) { c.Clients = 0 },
		"requests":    func(c *Config) { c.Requests = 0 },
		"loops":       func(c *Config) { c.Loops = -1 },
		"no pipeline": func(c *Config) { c.Pipelines = nil },
	} {
		c := good
		c.Pipelines = append([]int(nil), good.Pipelines...)
		mut(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestArgs(t *testing.T) {
	got := ServerArgs(7000, "--loops", "2")
	want := []string{"--port", "7000", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loops", "2"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ServerArgs = %q", got)
	}
	c := DefaultConfig()
	c.Tests = []string{"set", "get", "incr"}
	got = c.BenchmarkArgs(7000, 1, 3)
	want = strings.Fields("-h 127.0.0.1 -p 7000 -c 50 -r 1000000 -n 100000 -P 1 -d 3 -t set,get,incr -q --csv")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("BenchmarkArgs = %q", got)
	}
}

func TestCollectorRows(t *testing.T) {
	c := NewCollector()
	// Two rounds of two combinations; Basalt fails GET at P16 in both rounds.
	for round := 0; round < 2; round++ {
		f := float64(round + 1)
		c.Add(false, 1, 3, []Result{{Test: "SET", RPS: 10 * f}, {Test: "GET", RPS: 20 * f}})
		c.Add(true, 1, 3, []Result{{Test: "SET", RPS: 11 * f}, {Test: "GET", RPS: 22 * f}})
		c.Add(false, 16, 3, []Result{{Test: "SET", RPS: 100 * f}, {Test: "GET", RPS: 200 * f}})
		c.Add(true, 16, 3, []Result{{Test: "SET", RPS: 50 * f}})
	}
	rows := c.Rows()
	type short struct {
		test      string
		p         int
		redis     float64
		basalt    float64
		hasBasalt bool
	}
	var got []short
	for _, r := range rows {
		s := short{test: r.Test, p: r.Pipeline, redis: r.Redis.RPS, hasBasalt: r.Basalt != nil}
		if r.Basalt != nil {
			s.basalt = r.Basalt.RPS
		}
		got = append(got, s)
	}
	want := []short{
		{"SET", 1, 15, 16.5, true},
		{"SET", 16, 150, 75, true},
		{"GET", 1, 30, 33, true},
		{"GET", 16, 300, 0, false},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows = %+v\nwant %+v", got, want)
	}
	if r, ok := rows[0].Ratio(); !ok || r != 1.1 {
		t.Errorf("ratio = %v %v", r, ok)
	}
	if _, ok := rows[3].Ratio(); ok {
		t.Error("ratio with a missing side")
	}
}

func TestReadReply(t *testing.T) {
	for in, want := range map[string]string{
		"+PONG\r\n":             "PONG",
		":42\r\n":               "42",
		"$5\r\nhello\r\n":       "hello",
		"$-1\r\n":               "",
		"$7\r\na\r\nb\r\nc\r\n": "a\r\nb\r\nc",
	} {
		got, err := readReply(bufio.NewReader(strings.NewReader(in)))
		if err != nil || got != want {
			t.Errorf("readReply(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := readReply(bufio.NewReader(strings.NewReader("-ERR unknown command 'X'\r\n"))); err == nil || err.Error() != "ERR unknown command 'X'" {
		t.Errorf("error reply: %v", err)
	}
	if _, err := readReply(bufio.NewReader(strings.NewReader("*1\r\n"))); err == nil {
		t.Error("array accepted")
	}
}

// TestRunnerWithRedisStandIn runs the whole runner with redis-server standing
// in for Basalt and tiny request counts: it checks the process handling and
// the redis-benchmark plumbing end to end in about a second.
func TestRunnerWithRedisStandIn(t *testing.T) {
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
	cfg.Pipelines, cfg.Sizes, cfg.Rounds = []int{1, 16}, []int{3}, 2
	cfg.RunTimeout = time.Minute
	cfg.Dir = t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := NewRunner(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	pids := []int{r.Redis.PID(), r.Basalt.PID()}
	if v := r.Basalt.InfoField(ctx, "server", "redis_version"); v == "" {
		t.Error("no redis_version in INFO")
	}
	rows, err := r.Run(ctx)
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("got %d rows, want 4: %+v", len(rows), rows)
	}
	for _, row := range rows {
		if row.Redis == nil || row.Basalt == nil || row.Redis.RPS <= 0 || row.Basalt.RPS <= 0 {
			t.Errorf("row %+v lacks results", row)
		}
	}
	if r.Redis.Alive() || r.Basalt.Alive() {
		t.Errorf("servers %v still running after Close", pids)
	}
}

func TestStartServerReportsEarlyExit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	redis, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed")
	}
	_, err = StartServer(context.Background(), "basalt", redis, []string{"--no-such-directive", "x"}, 1, t.TempDir()+"/log")
	if err == nil || !strings.Contains(err.Error(), "exited during start-up") {
		t.Fatalf("err = %v", err)
	}
}
