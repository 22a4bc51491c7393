package bench

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestPubSubFanoutAgainstRedis checks the fan-out client against a real
// redis-server: every subscriber gets every message, the rate is positive.
func TestPubSubFanoutAgainstRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	redis, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed")
	}
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	srv, err := StartServer(ctx, "redis", redis, ServerArgs(port), port, filepath.Join(t.TempDir(), "redis.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	rate, err := PubSubFanout(ctx, srv.Addr(), 5, 300, 7, 16)
	if err != nil {
		t.Fatal(err)
	}
	if rate <= 0 {
		t.Fatalf("rate %v", rate)
	}
}
