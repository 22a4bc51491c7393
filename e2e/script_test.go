package e2e

import (
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/basaltdb/basalt/internal/hash"
)

// Scripting beyond the transcripts of testdata/script.txt: atomicity of
// scripts across loops, their effects in the AOF, BUSY and SCRIPT KILL /
// FUNCTION KILL, and the deliberate difference for undeclared keys. The
// tests that do not depend on Basalt's loops also run against Redis in
// self-test mode (BASALT_E2E_TARGET=redis).

// loopKeys returns n keys in each half of the slot space: with the test
// server's 2 loops, lo keys live on one loop and hi keys on the other.
func loopKeys(prefix string, n int) (lo, hi []string) {
	for i := 0; len(lo) < n || len(hi) < n; i++ {
		k := prefix + strconv.Itoa(i)
		if hash.Slot([]byte(k)) < hash.SlotCount/2 {
			if len(lo) < n {
				lo = append(lo, k)
			}
		} else if len(hi) < n {
			hi = append(hi, k)
		}
	}
	return lo, hi
}

// TestScriptAtomicAcrossLoops: scripts move units between two keys owned
// by different loops, declaring both keys (the executor parks the two
// loops) or none (every loop parked); readers using a script, MGET and
// MULTI/EXEC never see a sum other than the total.
func TestScriptAtomicAcrossLoops(t *testing.T) {
	kind := requireDurableTarget(t)
	p := startDurable(t, kind, t.TempDir())
	lo, hi := loopKeys("acct:", 1)
	a, b := lo[0], hi[0]
	const total = 2000
	setup := p.dial(t)
	mustCall(t, setup, "MSET", a, "1000", b, "1000")
	const transfer = `local v = tonumber(ARGV[1])
redis.call('DECRBY', KEYS[1], v)
redis.call('INCRBY', KEYS[2], v)
return redis.call('GET', KEYS[1])`
	const undeclared = `local v = tonumber(ARGV[3])
redis.call('DECRBY', ARGV[1], v)
redis.call('INCRBY', ARGV[2], v)
return 1`
	var stop atomic.Bool
	var wg sync.WaitGroup
	var moves atomic.Int64
	errs := make(chan error, 32)
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c, err := Dial(p.addr, replyTimeout)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			rng := rand.New(rand.NewSource(int64(w)))
			for i := 0; i < 300 && !stop.Load(); i++ {
				from, to := a, b
				if rng.Intn(2) == 0 {
					from, to = b, a
				}
				amt := strconv.Itoa(1 + rng.Intn(9))
				var err error
				if w%2 == 0 {
					_, err = call(c, "EVAL", transfer, "2", from, to, amt)
				} else {
					_, err = call(c, "EVAL", undeclared, "0", from, to, amt)
				}
				if err != nil {
					errs <- err
					return
				}
				moves.Add(1)
			}
		}(w)
	}
	check := func(what string, x, y Value) error {
		xv, _ := strconv.Atoi(string(x.Str))
		yv, _ := strconv.Atoi(string(y.Str))
		if xv+yv != total {
			return fmt.Errorf("%s saw %d + %d = %d, want %d", what, xv, yv, xv+yv, total)
		}
		return nil
	}
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			c, err := Dial(p.addr, replyTimeout)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for !stop.Load() {
				var v Value
				var err error
				if r == 0 {
					v, err = call(c, "EVAL", "return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2])}", "2", a, b)
				} else {
					v, err = call(c, "MGET", a, b)
				}
				if err == nil && len(v.Elems) != 2 {
					err = fmt.Errorf("read: %s", quoteReply(v.Raw))
				}
				if err == nil {
					err = check(fmt.Sprintf("reader %d", r), v.Elems[0], v.Elems[1])
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}(r)
	}
	done := make(chan struct{})
	go func() {
		// Writers finish on their own; then the readers are stopped.
		for moves.Load() < 6*300 && len(errs) == 0 {
			time.Sleep(10 * time.Millisecond)
		}
		stop.Store(true)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		stop.Store(true)
		t.Fatal("transfers did not finish in time")
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	v := mustCall(t, setup, "MGET", a, b)
	if err := check("final MGET", v.Elems[0], v.Elems[1]); err != nil {
		t.Error(err)
	}
	if moves.Load() == 0 {
		t.Error("no transfer ran")
	}
}

// TestScriptEffectsSurviveCrash: what scripts and functions wrote (inline,
// across loops, with undeclared keys, random and time-relative commands,
// a script that failed half way) and the function libraries come back
// after SIGKILL and a restart on the same AOF directory.
func TestScriptEffectsSurviveCrash(t *testing.T) {
	kind := requireDurableTarget(t)
	dir := t.TempDir()
	p := startDurable(t, kind, dir, "--appendonly", "yes", "--appendfsync", "always")
	c := p.dial(t)
	lo, hi := loopKeys("s:", 3)
	mustCall(t, c, "EVAL", "redis.call('SET', KEYS[1], 'inline'); redis.call('RPUSH', KEYS[2], 'a', 'b', 'c'); return 1", "2", lo[0], lo[1])
	mustCall(t, c, "EVAL", "redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[1]); redis.call('EXPIRE', KEYS[2], 1000); return 1", "2", lo[2], hi[0], "spread")
	mustCall(t, c, "EVAL", `redis.call('SADD', ARGV[1], 'm1', 'm2', 'm3', 'm4', 'm5')
redis.call('SPOP', ARGV[1])
redis.call('INCRBYFLOAT', ARGV[2], '1.5')
redis.call('HSET', ARGV[3], 'f', 'v', 'g', 'w')
redis.call('SELECT', 2)
redis.call('SET', ARGV[3], 'in-db-2')
return 1`, "0", hi[1], lo[0]+"f", hi[2])
	if _, err := call(c, "EVAL", "redis.call('SET', KEYS[1], 'before-error'); redis.call('LPUSH', KEYS[1], 'x')", "1", lo[1]+"e"); err == nil {
		t.Fatal("the failing script did not fail")
	}
	mustCall(t, c, "FUNCTION", "LOAD", "#!lua name=crashlib\nredis.register_function('bump', function(keys) return redis.call('INCR', keys[1]) end)")
	for i := 0; i < 5; i++ {
		mustCall(t, c, "FCALL", "bump", "1", hi[0]+"n")
	}
	mustCall(t, c, "EVAL", "redis.call('DEL', KEYS[1]); return redis.call('SET', KEYS[2], 'last')", "2", lo[1], hi[1]+"l")
	want := dumpDataset(t, c)
	p.kill()
	p2 := startDurable(t, kind, dir, "--appendonly", "yes", "--appendfsync", "always")
	c2 := p2.dial(t)
	got := dumpDataset(t, c2)
	compareDatasets(t, "before the crash", want, "after restart", got, 2*time.Second)
	if v := mustCall(t, c2, "FCALL", "bump", "1", hi[0]+"n"); string(v.Line) != "6" {
		t.Errorf("FCALL after restart: %s, want :6 (the library and its effects replayed)", quoteReply(v.Raw))
	}
}

// busyConn returns a connection on which PING answers BUSY (a loop the
// running script does not hold), trying new connections until the script
// is past busy-reply-threshold. Connections whose PING waits (on a loop
// the script holds) are closed. Its replies time out after a second.
func busyConn(t *testing.T, addr string, wantErr string) *Client {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		c, err := Dial(addr, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := c.DoStrings("PING")
		if err == nil && string(raw) == "-"+wantErr+"\r\n" {
			return c
		}
		c.Close()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no client got %q", wantErr)
	return nil
}

// TestScriptBusyAndKill: a long script makes other clients get BUSY;
// SCRIPT KILL stops it, FUNCTION KILL stops a function, each refuses the
// other kind, a script that wrote is UNKILLABLE, and SHUTDOWN NOSAVE
// still stops the server.
func TestScriptBusyAndKill(t *testing.T) {
	kind := requireDurableTarget(t)
	p := startDurable(t, kind, t.TempDir(), "--busy-reply-threshold", "100")
	const busyEval = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
	const busyFunc = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
	runner := p.dial(t)
	mustCall(t, runner, "FUNCTION", "LOAD", "#!lua name=spin\nredis.register_function('spin', function(keys) while true do end end)")

	// An EVAL that never ends.
	if err := runner.Send(bs("EVAL", "local i = 0 while true do i = i + 1 end", "1", "a")); err != nil {
		t.Fatal(err)
	}
	other := busyConn(t, p.addr, busyEval)
	for _, tc := range [][2]string{
		{"GET a", "-" + busyEval},
		{"FUNCTION KILL", "-" + busyEval},
		{"FUNCTION STATS", "-" + busyEval},
		{"SHUTDOWN", "-" + busyEval},
		{"SCRIPT KILL", "+OK"},
	} {
		raw, err := other.Do(bs(strings.Fields(tc[0])...))
		if err != nil || !strings.HasPrefix(string(raw), tc[1]) {
			t.Errorf("%s while busy: %q %v, want %q", tc[0], raw, err, tc[1])
		}
	}
	raw, err := runner.ReadReply()
	if err != nil || !strings.HasPrefix(string(raw), "-ERR Script killed by user with SCRIPT KILL... script: ") {
		t.Errorf("killed EVAL replied %q %v", raw, err)
	}
	if raw, _ := other.DoStrings("SCRIPT", "KILL"); string(raw) != "-NOTBUSY No scripts in execution right now.\r\n" {
		t.Errorf("SCRIPT KILL with nothing running: %q", raw)
	}
	other.Close()

	// A function that never ends.
	if err := runner.Send(bs("FCALL", "spin", "1", "a")); err != nil {
		t.Fatal(err)
	}
	other = busyConn(t, p.addr, busyFunc)
	if raw, _ := other.DoStrings("SCRIPT", "KILL"); string(raw) != "-"+busyFunc+"\r\n" {
		t.Errorf("SCRIPT KILL of a function: %q", raw)
	}
	v := mustCall(t, other, "FUNCTION", "STATS")
	if !strings.Contains(string(v.Raw), "$4\r\nspin\r\n") || !strings.Contains(string(v.Raw), "$5\r\nFCALL\r\n") && !strings.Contains(string(v.Raw), "$5\r\nfcall\r\n") {
		t.Errorf("FUNCTION STATS while a function runs: %q", v.Raw)
	}
	if raw, _ := other.DoStrings("FUNCTION", "KILL"); string(raw) != "+OK\r\n" {
		t.Errorf("FUNCTION KILL: %q", raw)
	}
	raw, err = runner.ReadReply()
	if err != nil || !strings.HasPrefix(string(raw), "-ERR Script killed by user with") {
		t.Errorf("killed FCALL replied %q %v", raw, err)
	}
	other.Close()
	mustCall(t, runner, "PING")

	// A script that wrote cannot be killed; SHUTDOWN NOSAVE still works.
	if err := runner.Send(bs("EVAL", "redis.call('SET', KEYS[1], 'x') while true do end", "1", "a")); err != nil {
		t.Fatal(err)
	}
	other = busyConn(t, p.addr, busyEval)
	const unkillable = "-UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.\r\n"
	if raw, _ := other.DoStrings("SCRIPT", "KILL"); string(raw) != unkillable {
		t.Errorf("SCRIPT KILL after a write: %q", raw)
	}
	_ = other.Send(bs("SHUTDOWN", "NOSAVE"))
	select {
	case <-p.done:
	case <-time.After(exitTimeout):
		t.Fatalf("SHUTDOWN NOSAVE while a script runs: the server did not exit\n%s", p.out)
	}
	other.Close()
}

// TestScriptUndeclaredKeyOfOtherLoop is Basalt's deliberate difference: a
// script that declared keys runs on their loops only, so a key of another
// loop it did not declare gets Redis Cluster's error for a key of another
// node, as a failure of redis.call and a value of redis.pcall.
func TestScriptUndeclaredKeyOfOtherLoop(t *testing.T) {
	if suite.target != "basalt" {
		t.Skip("Basalt's placement of scripts")
	}
	srv := startServer(t, "basalt", "basalt")
	c, err := Dial(srv.addr, replyTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	lo, hi := loopKeys("u:", 1)
	raw, _ := c.DoStrings("EVAL", "return redis.call('GET', ARGV[1])", "1", lo[0], hi[0])
	if !strings.HasPrefix(string(raw), "-ERR Script attempted to access a non local key in a cluster node script: ") {
		t.Errorf("undeclared key of another loop: %q", raw)
	}
	raw, _ = c.DoStrings("EVAL", "return redis.pcall('GET', ARGV[1])['err']", "1", lo[0], hi[0])
	if string(raw) != "$64\r\nERR Script attempted to access a non local key in a cluster node\r\n" {
		t.Errorf("pcall: %q", raw)
	}
	// Keys of the same loop, and any key without declared keys, are fine.
	lo2, _ := loopKeys("v:", 2)
	if raw, _ := c.DoStrings("EVAL", "return redis.call('SET', ARGV[1], 1)", "1", lo2[0], lo2[1]); string(raw) != "+OK\r\n" {
		t.Errorf("undeclared key of the same loop: %q", raw)
	}
	if raw, _ := c.DoStrings("EVAL", "return redis.call('SET', ARGV[1], 1)", "0", hi[0]); string(raw) != "+OK\r\n" {
		t.Errorf("no declared keys: %q", raw)
	}
}
