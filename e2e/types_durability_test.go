package e2e

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestAOFAllTypes checks that the effects of every data-type write replay
// to the same dataset: a random sequence of writes over lists, sets,
// sorted sets, hashes, HyperLogLogs and geo sets (random picks like SPOP
// included, blocking commands served at once or timed out) is logged with
// appendfsync always; the server under test restarted on its log, and a
// real redis-server 7.0 started on it, both serve exactly what the server
// served before stopping. And the other way: what redis-server logged for
// the same sequence loads into the server under test unchanged.
func TestAOFAllTypes(t *testing.T) {
	kind := requireDurableTarget(t)
	requireRedis(t)
	seq := typesWriteSequence(1, 1500)

	t.Run("restart-and-to-redis", func(t *testing.T) {
		dir := t.TempDir()
		srv := startDurable(t, kind, dir, "--appendonly", "yes", "--appendfsync", "always")
		c := srv.dial(t)
		writeSeq(t, c, seq)
		want := dumpDataset(t, c)
		c.Close()
		srv.term(t)
		t.Logf("%s served %s before stopping", kind, datasetSummary(want))

		again := startDurable(t, kind, dir, "--appendonly", "yes")
		ac := again.dial(t)
		compareDatasets(t, kind, want, kind+" restarted", dumpDataset(t, ac), 10*time.Second)
		ac.Close()
		again.term(t)

		checkAOF := filepath.Join(filepath.Dir(suite.redis), "redis-check-aof")
		if _, err := os.Stat(checkAOF); err != nil {
			checkAOF, _ = exec.LookPath("redis-check-aof")
		}
		if checkAOF != "" {
			manifest := filepath.Join(dir, "appendonlydir", "appendonly.aof.manifest")
			if out, err := exec.Command(checkAOF, manifest).CombinedOutput(); err != nil {
				t.Errorf("redis-check-aof %s: %v\n%s", manifest, err, out)
			}
		}
		red := startDurable(t, "redis", dir, "--appendonly", "yes")
		rc := red.dial(t)
		compareDatasets(t, kind, want, "redis-server", dumpDataset(t, rc), 10*time.Second)
		if t.Failed() {
			t.Logf("redis-server's log:\n%s", red.out)
		}
	})

	// A directory redis-server rewrote: its base is an RDB holding keys.
	t.Run("from-redis-rewritten", func(t *testing.T) {
		dir := t.TempDir()
		red := startDurable(t, "redis", dir, "--appendonly", "yes", "--appendfsync", "always")
		rc := red.dial(t)
		half := len(seq) / 2
		writeSeq(t, rc, seq[:half])
		mustCall(t, rc, "BGREWRITEAOF")
		for deadline := time.Now().Add(30 * time.Second); ; {
			info := mustCall(t, rc, "INFO", "persistence")
			if strings.Contains(string(info.Str), "aof_rewrite_in_progress:0") && strings.Contains(string(info.Str), "aof_rewrite_scheduled:0") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("redis-server's rewrite did not finish")
			}
			time.Sleep(20 * time.Millisecond)
		}
		writeSeq(t, rc, seq[half:])
		want := dumpDataset(t, rc)
		rc.Close()
		red.term(t)
		srv := startDurable(t, kind, dir, "--appendonly", "yes")
		c := srv.dial(t)
		compareDatasets(t, "redis-server", want, kind, dumpDataset(t, c), 10*time.Second)
		if t.Failed() {
			t.Logf("%s's log:\n%s", kind, srv.out)
		}
	})

	t.Run("from-redis", func(t *testing.T) {
		dir := t.TempDir()
		red := startDurable(t, "redis", dir, "--appendonly", "yes", "--appendfsync", "always",
			"--aof-use-rdb-preamble", "no")
		rc := red.dial(t)
		writeSeq(t, rc, seq)
		want := dumpDataset(t, rc)
		rc.Close()
		red.term(t)
		srv := startDurable(t, kind, dir, "--appendonly", "yes")
		c := srv.dial(t)
		compareDatasets(t, "redis-server", want, kind, dumpDataset(t, c), 10*time.Second)
		if t.Failed() {
			t.Logf("%s's log:\n%s", kind, srv.out)
		}
	})
}

// writeSeq sends every command of seq to c; error replies are part of a
// sequence, a failed connection is not.
func writeSeq(t *testing.T, c *Client, seq [][]string) {
	t.Helper()
	for _, args := range seq {
		if _, err := c.Do(bs(args...)); err != nil {
			t.Fatalf("%s: %v", argsText(bs(args...)), err)
		}
	}
}

// typesWriteSequence is n seeded random writes over a few keys of each
// type, with the random and blocking commands whose effects must be
// resolved for replay. Errors (wrong types, missing keys) are part of it.
func typesWriteSequence(seed uint64, n int) [][]string {
	r := rand.New(rand.NewPCG(seed, seed*7+1))
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	num := func(n int) string { return strconv.Itoa(r.IntN(n)) }
	val := func() string { return pick("a", "b", "c", "d", "e", "f", "1", "2", "3", "10", "-5", "3.5", "x y", "") }
	l := func() string { return "l" + num(4) }
	s := func() string { return "s" + num(4) }
	z := func() string { return "z" + num(4) }
	h := func() string { return "h" + num(3) }
	score := func() string { return pick("1", "2", "2.5", "-1", "0", "1e3", "+inf", "-inf", num(100)) }
	var out [][]string
	for len(out) < n {
		var c []string
		switch r.IntN(40) {
		case 0, 1:
			c = []string{pick("LPUSH", "RPUSH"), l(), val(), val()}
		case 2:
			c = []string{pick("LPOP", "RPOP"), l(), pick("1", "2", "5")}
		case 3:
			c = []string{"LMOVE", l(), l(), pick("LEFT", "RIGHT"), pick("LEFT", "RIGHT")}
		case 4:
			c = []string{pick("LTRIM"), l(), num(3), pick("-1", "-2", "2")}
		case 5:
			c = []string{"LREM", l(), pick("0", "1", "-1"), val()}
		case 6:
			c = []string{"LINSERT", l(), pick("BEFORE", "AFTER"), val(), val()}
		case 7:
			c = []string{pick("BLPOP", "BRPOP"), l(), l(), "0.01"}
		case 8:
			c = []string{"BLMOVE", l(), l(), pick("LEFT", "RIGHT"), pick("LEFT", "RIGHT"), "0.01"}
		case 9:
			c = []string{"LMPOP", "2", l(), l(), pick("LEFT", "RIGHT"), "COUNT", pick("1", "3")}
		case 10, 11:
			c = []string{"SADD", s(), val(), val(), num(20)}
		case 12:
			c = []string{"SPOP", s(), pick("1", "2", "3")}
		case 13:
			c = []string{"SPOP", s()}
		case 14:
			c = []string{"SREM", s(), val(), num(20)}
		case 15:
			c = []string{"SMOVE", s(), s(), val()}
		case 16:
			c = []string{pick("SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"), s(), s(), s()}
		case 17, 18:
			c = []string{"ZADD", z(), score(), val(), score(), "m" + num(10)}
		case 19:
			c = []string{"ZADD", z(), pick("NX", "XX", "GT", "LT"), "CH", score(), "m" + num(10)}
		case 20:
			c = []string{"ZINCRBY", z(), score(), "m" + num(10)}
		case 21:
			c = []string{pick("ZPOPMIN", "ZPOPMAX"), z(), pick("1", "2")}
		case 22:
			c = []string{pick("ZUNIONSTORE", "ZINTERSTORE"), z(), "2", z(), z(), "WEIGHTS", "1", pick("2", "0.5"), "AGGREGATE", pick("SUM", "MIN", "MAX")}
		case 23:
			c = []string{"ZDIFFSTORE", z(), "2", z(), z()}
		case 24:
			c = []string{"ZRANGESTORE", z(), z(), "0", pick("-1", "2")}
		case 25:
			c = []string{"ZREMRANGEBYSCORE", z(), pick("-inf", "0"), pick("2", "+inf")}
		case 26:
			c = []string{pick("BZPOPMIN", "BZPOPMAX"), z(), z(), "0.01"}
		case 27:
			c = []string{"ZMPOP", "2", z(), z(), pick("MIN", "MAX"), "COUNT", "2"}
		case 28, 29:
			c = []string{"HSET", h(), "f" + num(6), val(), "f" + num(6), val()}
		case 30:
			c = []string{"HDEL", h(), "f" + num(6), "f" + num(6)}
		case 31:
			c = []string{"HINCRBY", h(), "n" + num(3), num(100)}
		case 32:
			c = []string{"HINCRBYFLOAT", h(), "x" + num(3), pick("1.5", "0.1", "-2.25", "1e3")}
		case 33:
			c = []string{"HSETNX", h(), "f" + num(8), val()}
		case 34:
			c = []string{"PFADD", "p" + num(2), val(), num(1000), num(1000)}
		case 35:
			c = []string{"PFMERGE", "p" + num(3), "p0", "p1"}
		case 36:
			c = []string{"GEOADD", "g", strconv.FormatFloat(r.Float64()*20-10, 'f', 5, 64), strconv.FormatFloat(r.Float64()*20-10, 'f', 5, 64), "m" + num(10)}
		case 37:
			c = []string{"GEOSEARCHSTORE", "g2", "g", "FROMLONLAT", "0", "0", "BYRADIUS", "800", "km", "ASC", pick("STOREDIST", "COUNT")}
			if c[len(c)-1] == "COUNT" {
				c = append(c, "3")
			}
		case 38:
			c = []string{"SORT", l(), "ALPHA", "STORE", "sorted"}
		case 39:
			c = []string{pick("DEL", "EXPIRE"), pick(l(), s(), z(), h()), "100000"}
			if c[0] == "DEL" {
				c = c[:2]
			}
		}
		out = append(out, c)
	}
	return out
}
