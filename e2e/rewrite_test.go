package e2e

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// waitRewrite waits until no AOF rewrite runs or is scheduled.
func waitRewrite(t *testing.T, c *Client) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		info := string(mustCall(t, c, "INFO", "persistence").Str)
		if strings.Contains(info, "aof_rewrite_in_progress:0") && strings.Contains(info, "aof_rewrite_scheduled:0") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("AOF rewrite did not finish")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAOFRewrite: BGREWRITEAOF under writes leaves a directory of one RDB
// base and one incr file that the server under test, redis-check-aof and
// a real redis-server 7.0 all load to the same dataset.
func TestAOFRewrite(t *testing.T) {
	kind := requireDurableTarget(t)
	requireRedis(t)
	seq := typesWriteSequence(11, 1500)
	dir := t.TempDir()
	srv := startDurable(t, kind, dir, "--appendonly", "yes", "--appendfsync", "always")
	c := srv.dial(t)
	writeSeq(t, c, seq[:1000])
	if r := mustCall(t, c, "BGREWRITEAOF"); !strings.HasPrefix(string(r.Line), "Background append only file rewriting") {
		t.Fatalf("BGREWRITEAOF: %s", r.Raw)
	}
	writeSeq(t, c, seq[1000:])
	waitRewrite(t, c)
	writeSeq(t, c, typesWriteSequence(12, 200))
	want := dumpDataset(t, c)
	c.Close()
	srv.kill()

	aofDir := filepath.Join(dir, "appendonlydir")
	m := readManifest(t, filepath.Join(aofDir, "appendonly.aof.manifest"))
	if len(m) != 2 || !strings.HasSuffix(m[0].name, ".base.rdb") || m[0].typ != "b" || m[1].typ != "i" {
		t.Fatalf("manifest after the rewrite: %+v", m)
	}
	entries, _ := os.ReadDir(aofDir)
	if len(entries) != 3 {
		t.Errorf("files after the rewrite: %d, want base, incr and manifest", len(entries))
	}
	again := startDurable(t, kind, dir, "--appendonly", "yes")
	ac := again.dial(t)
	compareDatasets(t, kind, want, kind+" restarted", dumpDataset(t, ac), 10*time.Second)
	ac.Close()
	again.kill()
	if checkAOF, err := exec.LookPath("redis-check-aof"); err == nil {
		if out, err := exec.Command(checkAOF, filepath.Join(aofDir, "appendonly.aof.manifest")).CombinedOutput(); err != nil {
			t.Errorf("redis-check-aof: %v\n%s", err, out)
		}
	}
	red := startDurable(t, "redis", dir, "--appendonly", "yes")
	rc := red.dial(t)
	compareDatasets(t, kind, want, "redis-server", dumpDataset(t, rc), 10*time.Second)
}

// TestAOFRewriteCrash kills the server at random moments of rewrites under
// write load: every acknowledged write is there after a restart.
func TestAOFRewriteCrash(t *testing.T) {
	kind := requireDurableTarget(t)
	rounds := 8
	if os.Getenv("BASALT_SOAK") != "" {
		rounds = 60
	}
	r := rand.New(rand.NewPCG(5, 6))
	dir := t.TempDir()
	acked := map[string]string{}
	for round := 0; round < rounds; round++ {
		srv := startDurable(t, kind, dir, "--appendonly", "yes", "--appendfsync", "always")
		c := srv.dial(t)
		checkAcked(t, c, acked, "round "+strconv.Itoa(round)) // every acknowledged key of earlier rounds
		if round == 0 {
			// Enough data that a rewrite takes a while to be killed in.
			for b := 0; b < 200; b++ {
				args := []string{"MSET"}
				for i := 0; i < 250; i++ {
					k := "pre:" + strconv.Itoa(b*250+i)
					args = append(args, k, strings.Repeat("v", 40))
					acked[k] = strings.Repeat("v", 40)
				}
				mustCall(t, c, args...)
			}
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for w := 0; w < 3; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				wc, err := Dial(srv.addr, replyTimeout)
				if err != nil {
					return
				}
				defer wc.Close()
				for i := 0; ; i++ {
					k := "r" + strconv.Itoa(round) + ":" + strconv.Itoa(w) + ":" + strconv.Itoa(i)
					v := strconv.Itoa(i)
					reply, err := wc.DoStrings("SET", k, v)
					if err != nil {
						return // killed
					}
					if string(reply) == "+OK\r\n" {
						mu.Lock()
						acked[k] = v
						mu.Unlock()
					}
				}
			}(w)
		}
		time.Sleep(time.Duration(r.IntN(30)) * time.Millisecond)
		_, _ = c.DoStrings("BGREWRITEAOF")
		time.Sleep(time.Duration(r.IntN(60)) * time.Millisecond)
		srv.kill()
		wg.Wait()
		c.Close()
	}
	srv := startDurable(t, kind, dir, "--appendonly", "yes")
	c := srv.dial(t)
	checkAcked(t, c, acked, "at the end")
	t.Logf("%d rounds, %d acknowledged writes kept", rounds, len(acked))
}

// checkAcked fails unless every acknowledged key holds its value.
func checkAcked(t *testing.T, c *Client, acked map[string]string, when string) {
	t.Helper()
	keys := make([]string, 0, len(acked))
	for k := range acked {
		keys = append(keys, k)
	}
	vals := mgetChunked(t, c, keys)
	for i, k := range keys {
		if string(vals[i]) != acked[k] {
			t.Fatalf("%s: %s = %q, acknowledged %q", when, k, vals[i], acked[k])
		}
	}
}
