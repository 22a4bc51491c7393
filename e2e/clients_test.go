package e2e

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestGoRedis drives Basalt with go-redis v9 in RESP2 and RESP3: the client
// handshake (HELLO, CLIENT SETINFO), strings, keys, pipelines, expiry.
func TestGoRedis(t *testing.T) {
	if suite.target == "basalt" && suite.buildErr != nil {
		t.Fatalf("cannot test Basalt: %v", suite.buildErr)
	}
	srv := startServer(t, suite.target, suite.target)
	for _, proto := range []int{2, 3} {
		t.Run("resp"+string(rune('0'+proto)), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			rdb := redis.NewClient(&redis.Options{Addr: srv.addr, Protocol: proto, DB: 1})
			defer rdb.Close()
			if err := rdb.FlushDB(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(rdb.Set(ctx, "a", "1", 0).Err())
			if v, err := rdb.Incr(ctx, "a").Result(); err != nil || v != 2 {
				t.Fatalf("INCR: %v %v", v, err)
			}
			if v, err := rdb.IncrByFloat(ctx, "f", 0.1).Result(); err != nil || v != 0.1 {
				t.Fatalf("INCRBYFLOAT: %v %v", v, err)
			}
			must(rdb.MSet(ctx, "x", "1", "y", "2", "z", "3").Err())
			vals, err := rdb.MGet(ctx, "x", "y", "z", "missing").Result()
			must(err)
			if len(vals) != 4 || vals[0] != "1" || vals[2] != "3" || vals[3] != nil {
				t.Fatalf("MGET: %v", vals)
			}
			if _, err := rdb.Get(ctx, "missing").Result(); err != redis.Nil {
				t.Fatalf("GET missing: %v", err)
			}
			must(rdb.Set(ctx, "ttl", "v", time.Minute).Err())
			if d, err := rdb.TTL(ctx, "ttl").Result(); err != nil || d <= 0 || d > time.Minute {
				t.Fatalf("TTL: %v %v", d, err)
			}
			pipe := rdb.Pipeline()
			var incrs []*redis.IntCmd
			for i := 0; i < 100; i++ {
				incrs = append(incrs, pipe.Incr(ctx, "counter"))
			}
			_, err = pipe.Exec(ctx)
			must(err)
			if incrs[99].Val() != 100 {
				t.Fatalf("pipelined INCR: %d", incrs[99].Val())
			}
			keys, err := rdb.Keys(ctx, "*").Result()
			must(err)
			if len(keys) != 7 {
				t.Fatalf("KEYS: %v", keys)
			}
			var scanned []string
			iter := rdb.Scan(ctx, 0, "*", 2).Iterator()
			for iter.Next(ctx) {
				scanned = append(scanned, iter.Val())
			}
			must(iter.Err())
			if len(scanned) != 7 {
				t.Fatalf("SCAN: %v", scanned)
			}
			n, err := rdb.DBSize(ctx).Result()
			must(err)
			if n != 7 {
				t.Fatalf("DBSIZE: %d", n)
			}
			info, err := rdb.Info(ctx, "keyspace").Result()
			must(err)
			if !strings.Contains(info, "db1:keys=7") {
				t.Fatalf("INFO keyspace: %q", info)
			}
			if err := rdb.Do(ctx, "NOSUCHCOMMAND").Err(); err == nil || !strings.HasPrefix(err.Error(), "ERR unknown command") {
				t.Fatalf("unknown command: %v", err)
			}
		})
	}
}

// TestRedisBenchmark runs redis-benchmark's core tests against Basalt and
// fails on any error line.
func TestRedisBenchmark(t *testing.T) {
	if suite.target == "basalt" && suite.buildErr != nil {
		t.Fatalf("cannot test Basalt: %v", suite.buildErr)
	}
	bin, err := exec.LookPath("redis-benchmark")
	if err != nil {
		requireRedis(t)
		t.Skip("redis-benchmark not installed")
	}
	srv := startServer(t, suite.target, suite.target)
	host, port, _ := strings.Cut(srv.addr, ":")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-h", host, "-p", port, "-q", "-n", "20000",
		"-t", "ping,set,get,incr,mset").CombinedOutput()
	if err != nil {
		t.Fatalf("redis-benchmark: %v\n%s", err, out)
	}
	text := string(out)
	for _, test := range []string{"PING_INLINE:", "PING_MBULK:", "SET:", "GET:", "INCR:", "MSET (10 keys):"} {
		if !strings.Contains(text, test) {
			t.Errorf("redis-benchmark output lacks %s:\n%s", test, text)
		}
	}
	if strings.Contains(strings.ToLower(text), "error") {
		t.Fatalf("redis-benchmark reported errors:\n%s", text)
	}
}
