package bench

import (
	"strings"
	"testing"
	"time"
)

func TestWriteTable(t *testing.T) {
	rows := []Row{
		{Test: "SET", Pipeline: 1, Size: 3,
			Redis:  &Result{RPS: 100000.4, P50: 0.247, P99: 0.4231},
			Basalt: &Result{RPS: 125000.6, P50: 0.2, P99: 0.5}},
		{Test: "GET", Pipeline: 16, Size: 1024,
			Redis:  &Result{RPS: 1e6, P50: 0.5, P99: 1},
			Basalt: nil},
		{Test: "A|B", Pipeline: 16, Size: 3,
			Redis:  &Result{RPS: 0},
			Basalt: &Result{RPS: 5}},
	}
	var b strings.Builder
	if err := WriteTable(&b, rows); err != nil {
		t.Fatal(err)
	}
	want := `| test | pipeline | value bytes | Redis ops/s | Redis p50 ms | Redis p99 ms | Basalt ops/s | Basalt p50 ms | Basalt p99 ms | Basalt/Redis ops |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| SET | 1 | 3 | 100000 | 0.247 | 0.423 | 125001 | 0.200 | 0.500 | 1.25 |
| GET | 16 | 1024 | 1000000 | 0.500 | 1.000 | error | error | error | n/a |
| A\|B | 16 | 3 | 0 | 0.000 | 0.000 | 5 | 0.000 | 0.000 | n/a |
`
	if got := b.String(); got != want {
		t.Fatalf("table:\n%s\nwant:\n%s", got, want)
	}
	// Every line has the same number of cells, so Markdown renders it.
	for _, line := range strings.Split(strings.TrimSpace(want), "\n") {
		if n := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|"); n != 11 {
			t.Errorf("line %q has %d separators, want 11", line, n)
		}
	}
}

func TestWriteHeader(t *testing.T) {
	env := Env{
		Date:          time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC),
		NProc:         2,
		CPUModel:      "AMD EPYC",
		OSArch:        "linux/amd64",
		GoVersion:     "go1.26.8",
		RedisVersion:  "7.0.15",
		RedisBin:      "/usr/bin/redis-server",
		BasaltVersion: "7.0.15",
		BasaltBin:     "go build ./cmd/basalt",
		Commit:        "abc1234",
		CommandLine:   "go run ./bench/cmd/sidebyside -rounds 3",
		Method:        []string{"rounds: 3"},
	}
	var b strings.Builder
	if err := WriteHeader(&b, env); err != nil {
		t.Fatal(err)
	}
	want := "### Basalt vs Redis, side by side\n\n" +
		"- date: 2025-03-04 05:06 UTC\n" +
		"- machine: nproc 2, AMD EPYC, linux/amd64\n" +
		"- redis-server: 7.0.15 (`/usr/bin/redis-server`)\n" +
		"- basalt: `go build ./cmd/basalt`, commit abc1234, reports redis_version 7.0.15, go1.26.8\n" +
		"- command: `go run ./bench/cmd/sidebyside -rounds 3`\n" +
		"- rounds: 3\n\n"
	if got := b.String(); got != want {
		t.Fatalf("header:\n%q\nwant:\n%q", got, want)
	}
	b.Reset()
	if err := WriteHeader(&b, Env{NProc: 1}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "- redis-server: unknown") {
		t.Fatalf("missing version not reported as unknown:\n%s", b.String())
	}
}
