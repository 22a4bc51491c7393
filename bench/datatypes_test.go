package bench

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestTestOrder(t *testing.T) {
	got := TestOrder([]string{"zpopmin", "custom", "lrange_100", "LPOP", "spop", "hset", "zadd", "sadd", "lpush", "other"})
	want := []string{"lpush", "LPOP", "sadd", "hset", "spop", "zadd", "zpopmin", "lrange_100", "custom", "other"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("TestOrder = %q\nwant %q", got, want)
	}
	if got := TestOrder(DefaultDataTypeTests()); !reflect.DeepEqual(got, []string{"lpush", "lpop", "sadd", "hset", "spop", "zadd", "zpopmin", "lrange_100"}) {
		t.Errorf("default tests in order %q", got)
	}
}

func TestFailureReason(t *testing.T) {
	out := "\"test\",\"rps\"\nError from server: ERR unknown command 'LPOP', with args beginning with: 'mylist' \n"
	if got := failureReason(out); got != "Error from server: ERR unknown command 'LPOP', with args beginning with: 'mylist'" {
		t.Errorf("failureReason = %q", got)
	}
	if got := failureReason("a\nlast words\n"); got != "last words" {
		t.Errorf("failureReason = %q", got)
	}
}

// TestCollectorInvocations: one invocation per test; Basalt lacks LPOP and
// LRANGE fails before printing anything on both sides in round 1, but Redis
// succeeds in round 2.
func TestCollectorInvocations(t *testing.T) {
	c := NewCollector()
	lpopErr := &BenchmarkError{"basalt", "Error from server: ERR unknown command 'LPOP', with args beginning with: 'mylist' "}
	for round := 0; round < 2; round++ {
		for _, p := range []int{1, 16} {
			c.AddInvocation(false, p, 3, Invocation{Tests: []string{"lpush"}, Results: []Result{{Test: "LPUSH", RPS: 10}}})
			c.AddInvocation(false, p, 3, Invocation{Tests: []string{"lpop"}, Results: []Result{{Test: "LPOP", RPS: 20}}})
			c.AddInvocation(true, p, 3, Invocation{Tests: []string{"lpush"}, Results: []Result{{Test: "LPUSH", RPS: 5}}})
			c.AddInvocation(true, p, 3, Invocation{Tests: []string{"lpop"}, Err: lpopErr})
			lrange := Invocation{Tests: []string{"lrange_100"}, Err: errors.New("timed out")}
			if round == 1 {
				lrange = Invocation{Tests: []string{"lrange_100"}, Results: []Result{
					{Test: "LPUSH (needed to benchmark LRANGE)", RPS: 1}, {Test: "LRANGE_100 (first 100 elements)", RPS: 2}}}
			}
			c.AddInvocation(false, p, 3, lrange)
			c.AddInvocation(true, p, 3, Invocation{Tests: []string{"lrange_100"}, Err: errors.New("timed out")})
		}
	}
	// The SADD invocation failed on both sides in every round: its row
	// stands in under the -t name.
	c.AddInvocation(false, 1, 3, Invocation{Tests: []string{"sadd"}, Err: errors.New("x")})
	c.AddInvocation(true, 1, 3, Invocation{Tests: []string{"sadd"}, Err: errors.New("y")})
	rows := c.Rows()
	var got []string
	for _, r := range rows {
		s := r.Test + " " + map[bool]string{true: "R", false: "-"}[r.Redis != nil] + map[bool]string{true: "B", false: "-"}[r.Basalt != nil]
		if r.RedisErr != "" {
			s += " redis:" + r.RedisErr
		}
		if r.BasaltErr != "" {
			s += " basalt:" + r.BasaltErr
		}
		got = append(got, s)
	}
	want := []string{
		"LPUSH RB", "LPUSH RB",
		"LPOP R- basalt:Error from server: ERR unknown command 'LPOP'",
		"LPOP R- basalt:Error from server: ERR unknown command 'LPOP'",
		"LPUSH (needed to benchmark LRANGE) R- basalt:timed out",
		"LPUSH (needed to benchmark LRANGE) R- basalt:timed out",
		"LRANGE_100 (first 100 elements) R- basalt:timed out",
		"LRANGE_100 (first 100 elements) R- basalt:timed out",
		"SADD -- redis:x basalt:y",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if rows[2].Redis.RPS != 20 {
		t.Errorf("LPOP Redis median %v", rows[2].Redis.RPS)
	}

	var b strings.Builder
	if err := WriteTable(&b, rows); err != nil {
		t.Fatal(err)
	}
	_, list, ok := strings.Cut(b.String(), "\nFailed cells:\n\n")
	if !ok {
		t.Fatalf("no failure list:\n%s", b.String())
	}
	wantList := "- Basalt, LPOP (-P 1 -d 3; -P 16 -d 3): Error from server: ERR unknown command 'LPOP'\n" +
		"- Basalt, LPUSH (needed to benchmark LRANGE) (-P 1 -d 3; -P 16 -d 3): timed out\n" +
		"- Basalt, LRANGE_100 (first 100 elements) (-P 1 -d 3; -P 16 -d 3): timed out\n" +
		"- Redis, SADD (-P 1 -d 3): x\n" +
		"- Basalt, SADD (-P 1 -d 3): y\n"
	if list != wantList {
		t.Errorf("failure list:\n%s\nwant:\n%s", list, wantList)
	}
}

// TestOnePerTestWithRedisStandIn runs the data-types table end to end with
// redis-server standing in for both servers, Basalt's without LPOP (renamed
// away by a wrapper script): LPOP fails on that side only, and every later
// test still runs, SPOP and ZPOPMIN finding what SADD and ZADD left.
func TestOnePerTestWithRedisStandIn(t *testing.T) {
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
	dir := t.TempDir()
	wrapper := filepath.Join(dir, "no-lpop")
	script := "#!/bin/sh\nexec " + shellQuote(redis) + " \"$@\" --rename-command LPOP '' --rename-command RPOP ''\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.RedisBin, cfg.BasaltBin, cfg.BenchmarkBin = redis, wrapper, benchBin
	cfg.Requests, cfg.Clients, cfg.Keyspace = 2000, 4, 1000
	cfg.Tests, cfg.OnePerTest = TestOrder(DefaultDataTypeTests()), true
	cfg.Pipelines, cfg.Sizes, cfg.Rounds = []int{16}, []int{3}, 1
	cfg.RunTimeout = time.Minute
	cfg.Dir = dir
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := NewRunner(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := r.Run(ctx)
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, row := range rows {
		names = append(names, row.Test)
		failed := row.Test == "LPOP"
		if row.Redis == nil || (row.Basalt == nil) != failed {
			t.Errorf("%s: redis %v basalt %v (%s)", row.Test, row.Redis != nil, row.Basalt != nil, row.BasaltErr)
		}
		if failed && !strings.Contains(row.BasaltErr, "ERR unknown command 'LPOP'") {
			t.Errorf("LPOP error %q", row.BasaltErr)
		}
	}
	want := []string{"LPUSH", "LPOP", "SADD", "HSET", "SPOP", "ZADD", "ZPOPMIN",
		"LPUSH (needed to benchmark LRANGE)", "LRANGE_100 (first 100 elements)"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("rows %q, want %q", names, want)
	}
}
