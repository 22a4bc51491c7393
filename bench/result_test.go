package bench

import (
	"strings"
	"testing"
)

// realCSV is redis-benchmark 7.0.15 output for `-t set,get -q --csv`.
const realCSV = `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
"SET","606060.62","1.100","0.344","1.031","1.823","2.255","2.831"
"GET","476190.47","1.272","0.192","0.751","5.391","10.727","10.999"
`

func TestParseCSV(t *testing.T) {
	got, err := ParseCSV(strings.NewReader(realCSV))
	if err != nil {
		t.Fatal(err)
	}
	want := []Result{
		{Test: "SET", RPS: 606060.62, Avg: 1.100, Min: 0.344, P50: 1.031, P95: 1.823, P99: 2.255, Max: 2.831},
		{Test: "GET", RPS: 476190.47, Avg: 1.272, Min: 0.192, P50: 0.751, P95: 5.391, P99: 10.727, Max: 10.999},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d results, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("result %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestParseCSVTolerates(t *testing.T) {
	// Warnings before the header, \r progress junk, CRLF, blank lines, a
	// test name with spaces and parentheses, and reordered/extra columns.
	in := "WARNING: Could not fetch server CONFIG\r\n" +
		`"rps","test","extra","p99_latency_ms","p50_latency_ms","avg_latency_ms","min_latency_ms","p95_latency_ms","max_latency_ms"` + "\r\n" +
		`"1000.5","LRANGE_100 (first 100 elements)","x","9","5","4","1","8","10"` + "\r\n\r\n"
	got, err := ParseCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Test: "LRANGE_100 (first 100 elements)", RPS: 1000.5, Avg: 4, Min: 1, P50: 5, P95: 8, P99: 9, Max: 10}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("got %+v, want [%+v]", got, want)
	}
}

func TestParseCSVErrors(t *testing.T) {
	for name, in := range map[string]string{
		"empty":          "",
		"no header":      `"SET","1","1","1","1","1","1","1"` + "\n",
		"header only":    strings.SplitAfter(realCSV, "\n")[0],
		"missing column": `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","max_latency_ms"` + "\n" + `"SET","1","1","1","1","1","1"` + "\n",
		"bad number":     strings.Replace(realCSV, "606060.62", "fast", 1),
		"short line":     strings.Replace(realCSV, `,"2.831"`, "", 1),
	} {
		if got, err := ParseCSV(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error, got %+v", name, got)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{7}, 7},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{5, 5, 1, 100, 6}, 5},
	} {
		in := append([]float64(nil), c.in...)
		if got := Median(in); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.in, got, c.want)
		}
		for i := range in {
			if in[i] != c.in[i] {
				t.Errorf("Median modified its input: %v", in)
			}
		}
	}
}

func TestMedianResultPerField(t *testing.T) {
	rounds := []Result{
		{Test: "SET", RPS: 100, P50: 1, P99: 9},
		{Test: "SET", RPS: 300, P50: 3, P99: 1},
		{Test: "SET", RPS: 200, P50: 2, P99: 5},
	}
	got := MedianResult(rounds)
	want := Result{Test: "SET", RPS: 200, P50: 2, P99: 5}
	if got != want {
		t.Fatalf("MedianResult = %+v, want %+v", got, want)
	}
	if (MedianResult(nil) != Result{}) {
		t.Fatal("MedianResult(nil) not zero")
	}
}
