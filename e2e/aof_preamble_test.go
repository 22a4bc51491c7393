package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestAOFOldStylePreamble: an old-style single-file AOF (Redis before 7.0:
// <dir>/appendonly.aof) whose content is an RDB preamble holding keys
// followed by AOF commands. redis-server itself makes the two parts (the
// .base.rdb of a BGREWRITEAOF with aof-use-rdb-preamble yes, then the incr
// file of the writes after it); their concatenation is the old-style file.
// redis-server 7.0 upgrades and loads it (checked too, as the oracle), and
// so must Basalt: keys from the RDB part, changed and new keys from the
// commands.
func TestAOFOldStylePreamble(t *testing.T) {
	kind := requireDurableTarget(t)
	requireRedis(t)

	src := t.TempDir()
	red := startDurable(t, "redis", src, "--appendonly", "yes", "--appendfsync", "always",
		"--aof-use-rdb-preamble", "yes")
	c := red.dial(t)
	// The RDB part: several types, a TTL, a second database, and a value
	// large enough that the RDB reader reads ahead into the commands.
	big := strings.Repeat("0123456789abcdef", 16<<10) // 256 KiB
	for _, args := range [][]string{
		{"SET", "rdb:s", "from-rdb"},
		{"SET", "rdb:big", big},
		{"SET", "rdb:ttl", "t", "PX", "100000000"},
		{"SET", "overwritten", "old"},
		{"SET", "deleted", "x"},
		{"RPUSH", "rdb:list", "a", "b", "c"},
		{"HSET", "rdb:hash", "f1", "v1", "f2", "v2"},
		{"ZADD", "rdb:zset", "1", "one", "2", "two"},
		{"SADD", "rdb:set", "x", "y"},
		{"SELECT", "3"},
		{"SET", "rdb:db3", "three"},
		{"SELECT", "0"},
	} {
		mustCall(t, c, args...)
	}
	for i := range 1000 {
		mustCall(t, c, "SET", "rdb:n:"+strconv.Itoa(i), strconv.Itoa(i*7))
	}
	preambleRewrite(t, c)
	// The command part.
	for _, args := range [][]string{
		{"SET", "overwritten", "new"},
		{"DEL", "deleted"},
		{"RPUSH", "rdb:list", "d"},
		{"INCR", "cmd:counter"},
		{"INCR", "cmd:counter"},
		{"SET", "cmd:ttl", "u", "EX", "100000"},
		{"SELECT", "5"},
		{"SET", "cmd:db5", "five"},
		{"SELECT", "3"},
		{"APPEND", "rdb:db3", "-more"},
	} {
		mustCall(t, c, args...)
	}
	want := dumpDataset(t, c)
	c.Close()
	red.term(t)

	aofDir := filepath.Join(src, "appendonlydir")
	var base, incr string
	for _, e := range readManifest(t, filepath.Join(aofDir, "appendonly.aof.manifest")) {
		switch e.typ {
		case "b":
			base = e.name
		case "i":
			incr = e.name // one incr file after the rewrite
		}
	}
	if !strings.HasSuffix(base, ".base.rdb") || incr == "" {
		t.Fatalf("redis-server's AOF directory: base %q, incr %q", base, incr)
	}
	rdbPart, err := os.ReadFile(filepath.Join(aofDir, base))
	if err != nil {
		t.Fatal(err)
	}
	cmdPart, err := os.ReadFile(filepath.Join(aofDir, incr))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(rdbPart), "REDIS") || !strings.HasPrefix(string(cmdPart), "*") {
		t.Fatalf("unexpected parts: %.9q, %.9q", rdbPart, cmdPart)
	}
	oldStyle := append(rdbPart, cmdPart...)

	for _, who := range []string{"redis", kind} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "appendonly.aof"), oldStyle, 0o644); err != nil {
			t.Fatal(err)
		}
		srv := startDurable(t, who, dir, "--appendonly", "yes")
		sc := srv.dial(t)
		got := dumpDataset(t, sc)
		compareDatasets(t, "redis-server", want, who+" on the old-style AOF", got, 10*time.Second)
		if g := got[0]["rdb:big"].val; g != big {
			t.Errorf("%s: rdb:big holds %d bytes, want %d", who, len(g), len(big))
		}
		// The file now is the directory's base, and the server appends to
		// its new incr file: a restart serves the same.
		mustCall(t, sc, "SET", "after", "restart")
		want2 := dumpDataset(t, sc)
		sc.Close()
		srv.term(t)
		if _, err := os.Stat(filepath.Join(dir, "appendonly.aof")); !os.IsNotExist(err) {
			t.Errorf("%s: the old-style file is still in dir (%v)", who, err)
		}
		srv = startDurable(t, who, dir, "--appendonly", "yes")
		sc = srv.dial(t)
		compareDatasets(t, who+" before the restart", want2, who+" after it", dumpDataset(t, sc), 10*time.Second)
		if t.Failed() {
			t.Logf("%s's log:\n%s", who, srv.out)
		}
		sc.Close()
		srv.term(t)
	}
}

// preambleRewrite runs BGREWRITEAOF on redis-server and waits until it has
// finished with status ok.
func preambleRewrite(t *testing.T, c *Client) {
	t.Helper()
	if r := mustCall(t, c, "BGREWRITEAOF"); !strings.Contains(string(r.Line), "rewriting") {
		t.Fatalf("BGREWRITEAOF: %s", quoteReply(r.Raw))
	}
	deadline := time.Now().Add(durableTimeout)
	for time.Now().Before(deadline) {
		info := string(mustCall(t, c, "INFO", "persistence").Str)
		if strings.Contains(info, "aof_rewrite_in_progress:0") && strings.Contains(info, "aof_rewrite_scheduled:0") &&
			strings.Contains(info, "aof_last_bgrewrite_status:ok") && strings.Contains(info, "aof_rewrites:1") {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("BGREWRITEAOF did not finish")
}
