package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestGoRedis drives Basalt with go-redis v9 in RESP2 and RESP3: the client
// handshake (HELLO, CLIENT SETINFO), strings, keys, pipelines, expiry, and
// the data types (whose RESP3 replies are maps, sets and doubles).
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
			goRedisDataTypes(ctx, t, rdb)
			if err := rdb.Do(ctx, "NOSUCHCOMMAND").Err(); err == nil || !strings.HasPrefix(err.Error(), "ERR unknown command") {
				t.Fatalf("unknown command: %v", err)
			}
		})
	}
}

// goRedisDataTypes checks go-redis's typed results for each data type.
func goRedisDataTypes(ctx context.Context, t *testing.T, rdb *redis.Client) {
	t.Helper()
	check := func(what string, ok bool, got any, err error) {
		t.Helper()
		if err != nil || !ok {
			t.Fatalf("%s: %v %v", what, got, err)
		}
	}
	n, err := rdb.HSet(ctx, "h", "f1", "v1", "f2", "v2").Result()
	check("HSET", n == 2, n, err)
	m, err := rdb.HGetAll(ctx, "h").Result()
	check("HGETALL", len(m) == 2 && m["f2"] == "v2", m, err)
	f, err := rdb.HIncrByFloat(ctx, "h", "x", 1.5).Result()
	check("HINCRBYFLOAT", f == 1.5, f, err)
	n, err = rdb.RPush(ctx, "l", "a", "b", "c").Result()
	check("RPUSH", n == 3, n, err)
	l, err := rdb.LRange(ctx, "l", 0, -1).Result()
	check("LRANGE", strings.Join(l, ",") == "a,b,c", l, err)
	kv, err := rdb.BLPop(ctx, time.Second, "nolist", "l").Result()
	check("BLPOP", len(kv) == 2 && kv[0] == "l" && kv[1] == "a", kv, err)
	n, err = rdb.SAdd(ctx, "s", "x", "y", "x").Result()
	check("SADD", n == 2, n, err)
	sm, err := rdb.SMembers(ctx, "s").Result()
	check("SMEMBERS", len(sm) == 2, sm, err)
	ok, err := rdb.SIsMember(ctx, "s", "y").Result()
	check("SISMEMBER", ok, ok, err)
	n, err = rdb.ZAdd(ctx, "zs", redis.Z{Score: 1.5, Member: "a"}, redis.Z{Score: -2, Member: "b"}).Result()
	check("ZADD", n == 2, n, err)
	zs, err := rdb.ZRangeWithScores(ctx, "zs", 0, -1).Result()
	check("ZRANGE WITHSCORES", len(zs) == 2 && zs[0].Member == "b" && zs[0].Score == -2 && zs[1].Score == 1.5, zs, err)
	sc, err := rdb.ZScore(ctx, "zs", "a").Result()
	check("ZSCORE", sc == 1.5, sc, err)
	pop, err := rdb.BZPopMin(ctx, time.Second, "zs").Result()
	check("BZPOPMIN", pop.Member == "b" && pop.Score == -2, pop, err)
	n, err = rdb.PFAdd(ctx, "hll", "a", "b", "c").Result()
	check("PFADD", n == 1, n, err)
	n, err = rdb.PFCount(ctx, "hll").Result()
	check("PFCOUNT", n == 3, n, err)
	n, err = rdb.GeoAdd(ctx, "g", &redis.GeoLocation{Name: "p1", Longitude: 13.361389, Latitude: 38.115556},
		&redis.GeoLocation{Name: "p2", Longitude: 15.087269, Latitude: 37.502669}).Result()
	check("GEOADD", n == 2, n, err)
	d, err := rdb.GeoDist(ctx, "g", "p1", "p2", "km").Result()
	check("GEODIST", d > 166.27 && d < 166.28, d, err)
	sorted, err := rdb.Sort(ctx, "l", &redis.Sort{Alpha: true, Order: "DESC"}).Result()
	check("SORT", strings.Join(sorted, ",") == "c,b", sorted, err)
}
