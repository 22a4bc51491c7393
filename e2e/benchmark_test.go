package e2e

import (
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRedisBenchmark runs redis-benchmark's whole default test suite
// (every -t test, small -n) against the server under test: each test must
// report a result and no command may get an error reply.
func TestRedisBenchmark(t *testing.T) {
	requireRedis(t)
	bin := filepath.Join(filepath.Dir(suite.redis), "redis-benchmark")
	if _, err := exec.LookPath(bin); err != nil {
		if bin, err = exec.LookPath("redis-benchmark"); err != nil {
			t.Skip("redis-benchmark not installed")
		}
	}
	srv := startServer(t, suite.target, suite.target)
	host, port, _ := net.SplitHostPort(srv.addr)
	cmd := exec.Command(bin, "-h", host, "-p", port, "-n", "2000", "-c", "10", "-r", "1000", "-q")
	done := make(chan struct{})
	time.AfterFunc(3*time.Minute, func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Kill()
		}
	})
	out, err := cmd.CombinedOutput()
	close(done)
	text := string(out)
	if err != nil {
		t.Fatalf("redis-benchmark: %v\n%s", err, text)
	}
	if strings.Contains(text, "Error") || strings.Contains(text, "ERR") {
		t.Fatalf("redis-benchmark saw errors:\n%s", text)
	}
	for _, name := range []string{"PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "LPUSH", "RPUSH", "LPOP", "RPOP",
		"SADD", "HSET", "SPOP", "ZADD", "ZPOPMIN", "LPUSH (needed to benchmark LRANGE)", "LRANGE_100", "LRANGE_300",
		"LRANGE_500", "LRANGE_600", "MSET"} {
		if !strings.Contains(text, name+": ") && !strings.Contains(text, name+" (") {
			t.Errorf("no result for %s in:\n%s", name, text)
		}
	}
}
