package e2e

import (
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestActiveExpiryShedsKeys loads a keyspace where 10% of the keys expire
// soon, stops touching them, and checks the active expiry cycle removes
// every one of them while a probe keeps getting replies. The probe's
// latencies are logged (speed targets live in bench/, not in tests).
// The short form uses 200k keys; `make soak` (BASALT_SOAK=1) uses 1M.
func TestActiveExpiryShedsKeys(t *testing.T) {
	if suite.target == "basalt" && suite.buildErr != nil {
		t.Fatalf("cannot test Basalt: %v", suite.buildErr)
	}
	n := 200_000
	if os.Getenv("BASALT_SOAK") != "" {
		n = 1_000_000
	}
	srv := startServer(t, suite.target, suite.target)
	c, err := Dial(srv.addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const ttlMs = 1500
	var pipe []byte
	pending := 0
	flush := func() {
		if err := c.WriteRaw(pipe); err != nil {
			t.Fatal(err)
		}
		for ; pending > 0; pending-- {
			if r, err := c.ReadReply(); err != nil || string(r) != "+OK\r\n" {
				t.Fatalf("load: %q %v", r, err)
			}
		}
		pipe = pipe[:0]
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		k := "key:" + strconv.Itoa(i)
		if i%10 == 0 {
			pipe = AppendCommand(pipe, bs("SET", k, "v", "PX", strconv.Itoa(ttlMs)))
		} else {
			pipe = AppendCommand(pipe, bs("SET", k, "v"))
		}
		pending++
		if pending == 1000 {
			flush()
		}
	}
	flush()
	t.Logf("loaded %d keys in %v", n, time.Since(start))

	probe, err := Dial(srv.addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	want := n - n/10
	var lat []time.Duration
	deadline := time.Now().Add(60 * time.Second)
	for {
		t0 := time.Now()
		r, err := probe.DoStrings("DBSIZE")
		if err != nil {
			t.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
		size, _ := strconv.Atoi(strings.TrimSpace(string(r[1:])))
		if size == want {
			break
		}
		if size < want {
			t.Fatalf("DBSIZE %d below %d: a key without expiry was lost", size, want)
		}
		if time.Now().After(deadline) {
			t.Fatalf("DBSIZE still %d after 60s, want %d", size, want)
		}
		time.Sleep(time.Millisecond)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("expired %d keys %v after loading; probe replies: %d, p50 %v, p99 %v, max %v",
		n/10, time.Since(start), len(lat), lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1])
	// Keys without expiry are all still there.
	for i := 1; i < n; i += n / 97 {
		if i%10 == 0 {
			continue
		}
		r, err := probe.DoStrings("EXISTS", "key:"+strconv.Itoa(i))
		if err != nil || string(r) != ":1\r\n" {
			t.Fatalf("key:%d: %q %v", i, r, err)
		}
	}
}
