package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkSideBySide wraps the sidebyside runner as Go sub-benchmarks, one
// per pipeline depth and value size (P1/d3, P16/d1024, ...). It is skipped
// unless BASALT_BENCH=1, because it builds Basalt, starts two servers and
// takes a while:
//
//	BASALT_BENCH=1 go test -run '^$' -bench . ./bench/
//	BASALT_BENCH=1 go test -run '^$' -bench . -benchtime 3x ./bench/   # 3 interleaved rounds
//
// Each b.N iteration is one interleaved round (Redis then Basalt); the
// metrics are the medians over the rounds, per redis-benchmark test:
// SET-redis-ops/s, SET-basalt-ops/s, SET-ratio (Basalt/Redis) and the p99s.
// BASALT_BENCH_BIN runs a given binary instead of building ./cmd/basalt
// (e.g. /usr/bin/redis-server to check the harness), BASALT_BENCH_N sets -n
// at pipeline 16 and BASALT_BENCH_LOOPS Basalt's --loops.
func BenchmarkSideBySide(b *testing.B) {
	if os.Getenv("BASALT_BENCH") != "1" {
		b.Skip("set BASALT_BENCH=1 to run the side-by-side benchmark against redis-server")
	}
	cfg := DefaultConfig()
	var err error
	for _, p := range []*string{&cfg.RedisBin, &cfg.BenchmarkBin} {
		if *p, err = exec.LookPath(*p); err != nil {
			b.Skip(err)
		}
	}
	if v := os.Getenv("BASALT_BENCH_N"); v != "" {
		if cfg.Requests, err = strconv.Atoi(v); err != nil {
			b.Fatalf("BASALT_BENCH_N: %v", err)
		}
	}
	if v := os.Getenv("BASALT_BENCH_LOOPS"); v != "" {
		if cfg.Loops, err = strconv.Atoi(v); err != nil {
			b.Fatalf("BASALT_BENCH_LOOPS: %v", err)
		}
	}
	cfg.Dir = b.TempDir()
	ctx := context.Background()
	if cfg.BasaltBin = os.Getenv("BASALT_BENCH_BIN"); cfg.BasaltBin == "" {
		root, err := FindModuleRoot(".")
		if err != nil {
			b.Fatal(err)
		}
		cfg.BasaltBin = filepath.Join(cfg.Dir, "basalt")
		if err := BuildBasalt(ctx, root, cfg.BasaltBin); err != nil {
			b.Fatal(err)
		}
	}
	r, err := NewRunner(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()

	for _, p := range cfg.Pipelines {
		for _, d := range cfg.Sizes {
			b.Run(fmt.Sprintf("P%d/d%d", p, d), func(b *testing.B) {
				col := NewCollector()
				for i := 0; i < b.N; i++ {
					redis, basalt, rerr, berr := r.Pair(ctx, p, d)
					if rerr != nil {
						b.Fatal(rerr)
					}
					if berr != nil {
						b.Fatal(berr)
					}
					col.Add(false, p, d, redis)
					col.Add(true, p, d, basalt)
				}
				for _, row := range col.Rows() {
					if row.Redis == nil || row.Basalt == nil {
						b.Fatalf("%s: results missing for one server", row.Test)
					}
					b.ReportMetric(row.Redis.RPS, row.Test+"-redis-ops/s")
					b.ReportMetric(row.Basalt.RPS, row.Test+"-basalt-ops/s")
					b.ReportMetric(row.Redis.P99, row.Test+"-redis-p99-ms")
					b.ReportMetric(row.Basalt.P99, row.Test+"-basalt-p99-ms")
					if ratio, ok := row.Ratio(); ok {
						b.ReportMetric(ratio, row.Test+"-ratio")
					}
				}
			})
		}
	}
}
