// Package bench runs redis-benchmark against a real redis-server and against
// Basalt, side by side, and formats the results as one Markdown table.
//
// The library is used by the sidebyside program (bench/cmd/sidebyside) and by
// the opt-in Go benchmarks in this package (BASALT_BENCH=1). Nothing here is
// safe for concurrent use unless a doc comment says so: one goroutine drives
// a Runner at a time.
package bench

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Result is one line of redis-benchmark --csv output: one test (SET, GET, ...)
// against one server. Latencies are in milliseconds, as redis-benchmark
// prints them.
type Result struct {
	Test string
	RPS  float64
	Avg  float64
	Min  float64
	P50  float64
	P95  float64
	P99  float64
	Max  float64
}

// ParseCSV reads redis-benchmark --csv output. Lines before the header (e.g.
// warnings) are skipped; the header must be present. Results keep the order
// in which redis-benchmark ran the tests.
func ParseCSV(r io.Reader) ([]Result, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	// The header redis-benchmark 7.0 prints with --csv. Columns are looked up
	// by name so that a later redis-benchmark that adds or reorders columns
	// still parses, as long as these names are present.
	csvColumns := [...]string{"test", "rps", "avg_latency_ms", "min_latency_ms",
		"p50_latency_ms", "p95_latency_ms", "p99_latency_ms", "max_latency_ms"}
	text := string(data)
	// redis-benchmark may print progress or warnings before the CSV; start at
	// the header line.
	at := strings.Index(text, `"test"`)
	if at < 0 {
		return nil, errors.New("bench: no CSV header in redis-benchmark output")
	}
	start := strings.LastIndexAny(text[:at], "\r\n") + 1
	cr := csv.NewReader(strings.NewReader(text[start:]))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("bench: reading CSV header: %w", err)
	}
	var idx [len(csvColumns)]int
	for i, name := range csvColumns {
		idx[i] = -1
		for j, h := range header {
			if strings.TrimSpace(h) == name {
				idx[i] = j
				break
			}
		}
		if idx[i] < 0 {
			return nil, fmt.Errorf("bench: CSV header %q lacks column %q", strings.Join(header, ","), name)
		}
	}
	var out []Result
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("bench: reading CSV: %w", err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		var vals [len(csvColumns)]float64
		for i := 1; i < len(csvColumns); i++ {
			if idx[i] >= len(rec) {
				return nil, fmt.Errorf("bench: CSV line %q has %d fields, want column %q", strings.Join(rec, ","), len(rec), csvColumns[i])
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(rec[idx[i]]), 64)
			if err != nil {
				return nil, fmt.Errorf("bench: CSV column %q: %w", csvColumns[i], err)
			}
			vals[i] = v
		}
		if idx[0] >= len(rec) {
			return nil, fmt.Errorf("bench: CSV line %q lacks the test name", strings.Join(rec, ","))
		}
		out = append(out, Result{
			Test: rec[idx[0]], RPS: vals[1], Avg: vals[2], Min: vals[3],
			P50: vals[4], P95: vals[5], P99: vals[6], Max: vals[7],
		})
	}
	if len(out) == 0 {
		return nil, errors.New("bench: redis-benchmark printed a CSV header but no results")
	}
	return out, nil
}

// Median returns the median of xs (the mean of the two middle values for an
// even count) and 0 for none. xs is not modified.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// MedianResult folds the results of several rounds of the same test into one:
// each field is the median of that field over the rounds. Taking medians per
// field (rather than picking the median round) keeps one noisy round from
// dragging every column.
func MedianResult(rounds []Result) Result {
	if len(rounds) == 0 {
		return Result{}
	}
	pick := func(f func(Result) float64) float64 {
		xs := make([]float64, len(rounds))
		for i, r := range rounds {
			xs[i] = f(r)
		}
		return Median(xs)
	}
	return Result{
		Test: rounds[0].Test,
		RPS:  pick(func(r Result) float64 { return r.RPS }),
		Avg:  pick(func(r Result) float64 { return r.Avg }),
		Min:  pick(func(r Result) float64 { return r.Min }),
		P50:  pick(func(r Result) float64 { return r.P50 }),
		P95:  pick(func(r Result) float64 { return r.P95 }),
		P99:  pick(func(r Result) float64 { return r.P99 }),
		Max:  pick(func(r Result) float64 { return r.Max }),
	}
}
