package loop

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/basaltdb/basalt/command"
)

// blockingTestSpecs are two blocking commands over string keys that
// exercise the machinery without the list type:
//
//	BPOP key [key ...] timeout-ms   pops (deletes) the first existing key: [key value]
//	BMOVE src dst timeout-ms        moves src's value to dst: value
func blockingTestSpecs() []*command.Spec {
	pop := func(c *command.Ctx, k []byte) bool {
		e := c.Lookup(k)
		if e == nil {
			return false
		}
		c.Out.ArrayLen(2)
		c.Out.Bulk(k)
		c.Out.Bulk(e.Str)
		c.Shard(k).Delete(c.DB, k)
		c.Effect([]byte("DEL"), k)
		return true
	}
	move := func(c *command.Ctx, src []byte) bool {
		e := c.Lookup(src)
		if e == nil {
			return false
		}
		v := e.Str
		c.Shard(src).Delete(c.DB, src)
		dst := c.Args[2]
		d, _ := c.Shard(dst).Upsert(c.DB, dst, c.Now)
		d.Kind, d.Str = e.Kind, v
		c.Effect([]byte("DEL"), src)
		c.Effect([]byte("SET"), dst, v)
		c.Out.Bulk(v)
		return true
	}
	deadline := func(c *command.Ctx) int64 {
		ms, _ := strconv.ParseInt(string(c.Args[len(c.Args)-1]), 10, 64)
		if ms == 0 {
			return 0
		}
		return c.Now + ms
	}
	return []*command.Spec{
		{Name: "bpop", Arity: -3, FirstKey: 1, LastKey: -2, Flags: command.FlagWrite,
			Run: func(c *command.Ctx) {
				keys := c.Args[1 : len(c.Args)-1]
				for _, k := range keys {
					if pop(c, k) {
						return
					}
				}
				c.Block(keys, deadline(c))
			},
			Serve: pop},
		{Name: "bmove", Arity: 4, FirstKey: 1, LastKey: 2, Flags: command.FlagWrite,
			Run: func(c *command.Ctx) {
				if !move(c, c.Args[1]) {
					c.Block(c.Args[1:2], deadline(c))
				}
			},
			Serve: move},
	}
}

// send writes a command without reading its reply.
func (rc *rawClient) send(t *testing.T, args ...string) {
	t.Helper()
	if _, err := rc.c.Write(encode(args...)); err != nil {
		t.Fatal(err)
	}
}

// waitBlocked waits until n clients are blocked.
func waitBlocked(t *testing.T, e *Engine, n int64) {
	t.Helper()
	for i := 0; e.BlockedClients() != n; i++ {
		if i > 1000 {
			t.Fatalf("blocked clients %d, want %d", e.BlockedClients(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBlockedServedAcrossLoops(t *testing.T) {
	addr, e, _ := startEngine(t, 3)
	keys := keysOnLoops(e, 2)
	for _, k := range []string{keys[0][0], keys[1][0], keys[2][0]} {
		blk := dial(t, addr)
		blk.send(t, "bpop", k, "0")
		// A pipelined command behind the blocked one waits for it.
		blk.send(t, "get", "x")
		waitBlocked(t, e, 1)
		w := dial(t, addr)
		mustReply(t, w, "+OK", "set", k, "v")
		for _, want := range []string{"[" + k + " v]", "nil"} {
			if got, err := blk.readReply(); err != nil || got != want {
				t.Fatalf("key %s: got %q %v want %q", k, got, err, want)
			}
		}
		mustReply(t, w, "nil", "get", k)
		waitBlocked(t, e, 0)
	}
}

func TestBlockedTimeout(t *testing.T) {
	addr, e, _ := startEngine(t, 2)
	keys := keysOnLoops(e, 1)
	blk := dial(t, addr)
	start := time.Now()
	blk.send(t, "bpop", keys[0][0], keys[1][0], "150")
	if got, err := blk.readReply(); err != nil || got != "nil" {
		t.Fatalf("got %q %v", got, err)
	}
	if el := time.Since(start); el < 140*time.Millisecond || el > 2*time.Second {
		t.Fatalf("timed out after %v, want 150ms", el)
	}
	waitBlocked(t, e, 0)
	// The registration is gone: a later SET is not consumed.
	w := dial(t, addr)
	mustReply(t, w, "+OK", "set", keys[1][0], "v")
	mustReply(t, w, "v", "get", keys[1][0])
}

// TestBlockedFIFO: clients blocked on one key are served in the order they
// blocked, one element each.
func TestBlockedFIFO(t *testing.T) {
	addr, e, _ := startEngine(t, 3)
	k := keysOnLoops(e, 1)[2][0]
	var cls []*rawClient
	for i := 0; i < 4; i++ {
		c := dial(t, addr)
		c.send(t, "bpop", k, "0")
		waitBlocked(t, e, int64(i+1))
		cls = append(cls, c)
	}
	w := dial(t, addr)
	for i, c := range cls {
		mustReply(t, w, "+OK", "set", k, "v"+strconv.Itoa(i))
		want := "[" + k + " v" + strconv.Itoa(i) + "]"
		if got, err := c.readReply(); err != nil || got != want {
			t.Fatalf("client %d: got %q %v want %q", i, got, err, want)
		}
	}
	waitBlocked(t, e, 0)
}

// TestBlockedMultiKeyServedOnce: a multi-key write across loops that
// creates several waited keys serves each waiter once it completed.
func TestBlockedMultiKeyServedOnce(t *testing.T) {
	addr, e, _ := startEngine(t, 3)
	keys := keysOnLoops(e, 1)
	a, b := keys[0][0], keys[1][0]
	c1, c2 := dial(t, addr), dial(t, addr)
	c1.send(t, "bpop", a, b, "0")
	c2.send(t, "bpop", a, b, "0")
	waitBlocked(t, e, 2)
	w := dial(t, addr)
	mustReply(t, w, "+OK", "mset", a, "1", b, "2")
	got := map[string]bool{}
	for _, c := range []*rawClient{c1, c2} {
		r, err := c.readReply()
		if err != nil {
			t.Fatal(err)
		}
		got[r] = true
	}
	if !got["["+a+" 1]"] || !got["["+b+" 2]"] {
		t.Fatalf("replies %v", got)
	}
	mustReply(t, w, "[nil nil]", "mget", a, b)
}

// TestBlockedMoveAcrossLoops: BMOVE's destination lives on another loop,
// so serving goes through the executor.
func TestBlockedMoveAcrossLoops(t *testing.T) {
	addr, e, _ := startEngine(t, 3)
	keys := keysOnLoops(e, 1)
	src, dst := keys[0][0], keys[2][0]
	blk := dial(t, addr)
	blk.send(t, "bmove", src, dst, "0")
	waitBlocked(t, e, 1)
	w := dial(t, addr)
	mustReply(t, w, "+OK", "set", src, "moved")
	if got, err := blk.readReply(); err != nil || got != "moved" {
		t.Fatalf("got %q %v", got, err)
	}
	mustReply(t, w, "[nil moved]", "mget", src, dst)
}

// TestBlockedDisconnect: a client that went away is not served.
func TestBlockedDisconnect(t *testing.T) {
	addr, e, _ := startEngine(t, 2)
	k := keysOnLoops(e, 1)[1][0]
	blk := dial(t, addr)
	blk.send(t, "bpop", k, "0")
	waitBlocked(t, e, 1)
	blk.c.Close()
	waitBlocked(t, e, 0)
	w := dial(t, addr)
	mustReply(t, w, "+OK", "set", k, "kept")
	mustReply(t, w, "kept", "get", k)
}

func TestUnblockClient(t *testing.T) {
	addr, e, _ := startEngine(t, 2)
	k := keysOnLoops(e, 1)[1][0]
	for _, withErr := range []bool{false, true} {
		blk := dial(t, addr)
		blk.send(t, "bpop", k, "0")
		waitBlocked(t, e, 1)
		var ok bool
		e.RunOnAll(func(c *command.Ctx) {
			for _, l := range e.loops {
				for cl := range l.clients {
					if cl.blocked != nil {
						ok = e.UnblockClient(cl.sess.ID, withErr)
					}
				}
			}
		})
		if !ok {
			t.Fatal("UnblockClient reported no blocked client")
		}
		got, err := blk.readReply()
		want := "nil"
		if withErr {
			want = "-UNBLOCKED client unblocked via CLIENT UNBLOCK"
		}
		if err != nil || got != want {
			t.Fatalf("got %q %v want %q", got, err, want)
		}
		waitBlocked(t, e, 0)
	}
}

// TestBlockedStress: clients block on overlapping key sets across loops
// (with short timeouts) while writers create the keys; every value is
// popped exactly once and none is lost.
func TestBlockedStress(t *testing.T) {
	addr, e, _ := startEngine(t, 3)
	keys := keysOnLoops(e, 2)
	var all []string
	for _, ks := range keys {
		all = append(all, ks...)
	}
	const writers, perWriter, poppers = 4, 30, 6
	var mu sync.Mutex
	seen := map[string]int{}
	total := 0
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := dial(t, addr)
			k := all[w]
			for j := 0; j < perWriter; j++ {
				mustReply(t, c, "+OK", "set", k, "v"+strconv.Itoa(w)+"."+strconv.Itoa(j))
				for { // wait until consumed, so no value is overwritten
					c.send(t, "get", k)
					if r, err := c.readReply(); err != nil || r == "nil" {
						break
					}
					time.Sleep(time.Millisecond)
				}
			}
		}(w)
	}
	done := make(chan struct{})
	for p := 0; p < poppers; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			c := dial(t, addr)
			for {
				select {
				case <-done:
					return
				default:
				}
				c.send(t, "bpop", all[p%len(all)], all[(p+2)%len(all)], all[(p+3)%len(all)], "30")
				r, err := c.readReply()
				if err != nil {
					t.Error(err)
					return
				}
				if r == "nil" {
					continue
				}
				v := strings.TrimSuffix(r[strings.IndexByte(r, ' ')+1:], "]")
				mu.Lock()
				seen[v]++
				total++
				if total == writers*perWriter {
					close(done)
				}
				mu.Unlock()
			}
		}(p)
	}
	wg.Wait()
	if len(seen) != writers*perWriter {
		t.Errorf("%d distinct values popped, want %d", len(seen), writers*perWriter)
	}
	for v, n := range seen {
		if n != 1 {
			t.Errorf("value %s popped %d times", v, n)
		}
	}
	waitBlocked(t, e, 0)
}

// TestBlockedFollowsSlotMove: a client blocked on a key whose slot moves
// to another loop is served by the new owner.
func TestBlockedFollowsSlotMove(t *testing.T) {
	addr, e, _ := startEngine(t, 2)
	k := keysOnLoops(e, 1)[0][0]
	blk := dial(t, addr)
	blk.send(t, "bpop", k, "0")
	waitBlocked(t, e, 1)
	if err := e.MoveSlots(slotsOf([]string{k}), 1); err != nil {
		t.Fatal(err)
	}
	w := dial(t, addr)
	mustReply(t, w, "+OK", "set", k, "v")
	if got, err := blk.readReply(); err != nil || got != "["+k+" v]" {
		t.Fatalf("got %q %v", got, err)
	}
	waitBlocked(t, e, 0)
}
