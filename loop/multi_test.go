package loop

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/config"
	"github.com/basaltdb/basalt/internal/hash"
	"github.com/basaltdb/basalt/keyspace"
)

// txnTestTable is testTable with the transaction commands, writes that
// report their keys (Modified) as the real handlers do, and FLUSHALL,
// SWAPDB and DEL.
func txnTestTable() *command.Table {
	t := testTable()
	set := func(c *command.Ctx, k, v []byte) {
		e, _ := c.Shard(k).Upsert(c.DB, k, c.Now)
		e.Kind, e.Str = keyspace.KindString, append([]byte(nil), v...)
		c.Shard(k).SetExpire(c.DB, e, 0)
		c.Effect([]byte("SET"), k, v)
		c.Modified(k)
	}
	t.Add(
		&command.Spec{Name: "set", Arity: 3, FirstKey: 1, LastKey: 1, Flags: command.FlagWrite, Run: func(c *command.Ctx) {
			set(c, c.Args[1], c.Args[2])
			c.Out.OK()
		}},
		&command.Spec{Name: "incr", Arity: 2, FirstKey: 1, LastKey: 1, Flags: command.FlagWrite, Run: func(c *command.Ctx) {
			n := int64(0)
			if e := c.Lookup(c.Args[1]); e != nil {
				n, _ = strconv.ParseInt(string(e.Str), 10, 64)
			}
			n++
			set(c, c.Args[1], []byte(strconv.FormatInt(n, 10)))
			c.Out.Int(n)
		}},
		&command.Spec{Name: "incrby", Arity: 3, FirstKey: 1, LastKey: 1, Flags: command.FlagWrite, Run: func(c *command.Ctx) {
			n := int64(0)
			if e := c.Lookup(c.Args[1]); e != nil {
				n, _ = strconv.ParseInt(string(e.Str), 10, 64)
			}
			d, _ := strconv.ParseInt(string(c.Args[2]), 10, 64)
			n += d
			set(c, c.Args[1], []byte(strconv.FormatInt(n, 10)))
			c.Out.Int(n)
		}},
		&command.Spec{Name: "mset", Arity: -3, FirstKey: 1, LastKey: -1, Step: 2, Flags: command.FlagWrite, Run: func(c *command.Ctx) {
			for i := 1; i+1 < len(c.Args); i += 2 {
				set(c, c.Args[i], c.Args[i+1])
			}
			c.Out.OK()
		}},
		&command.Spec{Name: "del", Arity: -2, FirstKey: 1, LastKey: -1, Flags: command.FlagWrite, Run: func(c *command.Ctx) {
			n := 0
			for _, k := range c.Args[1:] {
				if c.Lookup(k) != nil {
					c.Shard(k).Delete(c.DB, k)
					c.Effect([]byte("DEL"), k)
					c.Modified(k)
					n++
				}
			}
			c.Out.Int(int64(n))
		}},
		&command.Spec{Name: "flushall", Arity: 1, Scope: command.ScopeAll, Flags: command.FlagWrite, Run: func(c *command.Ctx) {
			if c.Events != nil {
				c.Events.Flushed(-1)
			}
			for _, sh := range c.Shards {
				sh.Flush(-1)
			}
			c.Log.AppendStrings(c.DB, "FLUSHALL")
			c.Out.OK()
		}},
		&command.Spec{Name: "swapdb", Arity: 3, Scope: command.ScopeAll, Flags: command.FlagWrite, Run: func(c *command.Ctx) {
			a, _ := strconv.Atoi(string(c.Args[1]))
			b, _ := strconv.Atoi(string(c.Args[2]))
			if c.Events != nil {
				c.Events.Swapped(a, b)
			}
			for _, sh := range c.Shards {
				sh.Swap(a, b)
			}
			c.Log.AppendStrings(c.DB, "SWAPDB", string(c.Args[1]), string(c.Args[2]))
			c.Out.OK()
		}},
	)
	t.Add(TxnCommands()...)
	return t
}

func startTxnEngine(t *testing.T, loops int, opts ...func(*Options)) (string, *Engine, *effectRecorder) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := config.Default()
	rec := &effectRecorder{}
	o := Options{Loops: loops, Addrs: []string{addr}, Table: txnTestTable(),
		Config: func() *config.Config { return cfg }, Effects: rec.add,
		Logf: func(string, ...any) {}}
	for _, f := range opts {
		f(&o)
	}
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan error, 1)
	done := make(chan error, 1)
	go func() { done <- e.Serve(ready) }()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("engine did not start")
	}
	t.Cleanup(func() {
		e.Stop()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("engine did not stop")
		}
	})
	return addr, e, rec
}

// do sends one command and returns its reply as readReply renders it.
func (rc *rawClient) txDo(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := rc.c.Write(encode(args...)); err != nil {
		t.Fatal(err)
	}
	r, err := rc.readReply()
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return r
}

func expect(t *testing.T, c *rawClient, want string, args ...string) {
	t.Helper()
	if got := c.txDo(t, args...); got != want {
		t.Fatalf("%v: got %q, want %q", args, got, want)
	}
}

// TestTxnExec runs transactions inline (one loop) and across loops: the
// replies come in one array, SELECT moves the later commands, runtime
// errors do not roll back, and the effects form one MULTI/EXEC group.
func TestTxnExec(t *testing.T) {
	for _, loops := range []int{1, 3} {
		t.Run(strconv.Itoa(loops), func(t *testing.T) {
			addr, e, rec := startTxnEngine(t, loops)
			keys := keysOnLoops(e, 2)
			var ks []string
			for _, k := range keys {
				ks = append(ks, k...)
			}
			c := dial(t, addr)
			expect(t, c, "+OK", "MULTI")
			for i, k := range ks {
				expect(t, c, "+QUEUED", "SET", k, strconv.Itoa(i))
			}
			expect(t, c, "+QUEUED", "MGET", ks[0], ks[len(ks)-1])
			expect(t, c, "+QUEUED", "SELECT", "2")
			expect(t, c, "+QUEUED", "INCR", ks[0])
			expect(t, c, "+QUEUED", "DBSIZE")
			want := "[" + strings.Repeat("+OK ", len(ks)) + "[0 " + strconv.Itoa(len(ks)-1) + "] +OK :1 :1]"
			expect(t, c, want, "EXEC")
			expect(t, c, "1", "GET", ks[0]) // SELECT 2 stays after EXEC
			expect(t, c, "+OK", "SELECT", "0")
			expect(t, c, "0", "GET", ks[0])
			time.Sleep(20 * time.Millisecond)
			rec.mu.Lock()
			stream := string(rec.b)
			rec.mu.Unlock()
			m := strings.Index(stream, "*1\r\n$5\r\nMULTI\r\n")
			x := strings.Index(stream, "*1\r\n$4\r\nEXEC\r\n")
			if m < 0 || x < m {
				t.Fatalf("no MULTI/EXEC group in the effects: %q", stream)
			}
			group := stream[m:x]
			for _, k := range ks {
				if !strings.Contains(group, "$"+strconv.Itoa(len(k))+"\r\n"+k+"\r\n") {
					t.Fatalf("effect of %s outside the group: %q", k, stream)
				}
			}
			if !strings.Contains(group, "SELECT\r\n$1\r\n2\r\n") {
				t.Fatalf("INCR in db 2 not in the group: %q", group)
			}
			// Errors while queueing abort; EXEC and DISCARD need MULTI.
			expect(t, c, "+OK", "MULTI")
			expect(t, c, "+QUEUED", "SET", ks[0], "x")
			expect(t, c, "-ERR unknown command 'NOPE', with args beginning with: ", "NOPE")
			expect(t, c, "-EXECABORT Transaction discarded because of previous errors.", "EXEC")
			expect(t, c, "0", "GET", ks[0])
			expect(t, c, "-ERR EXEC without MULTI", "EXEC")
			expect(t, c, "-ERR DISCARD without MULTI", "DISCARD")
		})
	}
}

// TestTxnReplyGate: the EXEC reply waits until its effects are durable,
// inline and across loops, and a later read of a key it wrote too.
func TestTxnReplyGate(t *testing.T) {
	for _, loops := range []int{1, 2} {
		t.Run(strconv.Itoa(loops), func(t *testing.T) {
			addr, e, rec := startTxnEngine(t, loops)
			rec.gating.Store(true)
			e.SetReplyGate(true)
			keys := keysOnLoops(e, 1)
			k0, k1 := keys[0][0], keys[len(keys)-1][0]
			c := dial(t, addr)
			expect(t, c, "+OK", "MULTI")
			expect(t, c, "+QUEUED", "SET", k0, "a")
			expect(t, c, "+QUEUED", "SET", k1, "b")
			c.c.Write(encode("EXEC"))
			expectSilence(t, c, 150*time.Millisecond, "EXEC reply")
			r := dial(t, addr)
			r.c.Write(encode("GET", k1))
			expectSilence(t, r, 150*time.Millisecond, "GET of a key EXEC wrote")
			e.Durable(rec.last())
			if got, err := c.readReply(); err != nil || got != "[+OK +OK]" {
				t.Fatalf("EXEC: %q %v", got, err)
			}
			if got, err := r.readReply(); err != nil || got != "b" {
				t.Fatalf("GET: %q %v", got, err)
			}
		})
	}
}

// TestTxnWatch: WATCH against writes by other clients on every loop,
// FLUSHALL and SWAPDB; the registry is idle again once nothing is
// watched.
func TestTxnWatch(t *testing.T) {
	addr, e, _ := startTxnEngine(t, 2)
	keys := keysOnLoops(e, 1)
	a, b := dial(t, addr), dial(t, addr)
	for _, k := range []string{keys[0][0], keys[1][0]} {
		expect(t, a, "+OK", "WATCH", k, keys[0][0], keys[1][0])
		expect(t, b, ":1", "INCR", k+"x") // a write of another key: no touch
		expect(t, a, "+OK", "MULTI")
		expect(t, a, "+QUEUED", "INCR", k)
		expect(t, a, "[:1]", "EXEC")
		expect(t, a, "+OK", "WATCH", k)
		expect(t, b, ":2", "INCR", k)
		expect(t, a, "+OK", "MULTI")
		expect(t, a, "+QUEUED", "INCR", k)
		expect(t, a, "nil", "EXEC")
		expect(t, a, "+OK", "WATCH", k)
		expect(t, b, "+OK", "FLUSHALL")
		expect(t, a, "+OK", "MULTI")
		expect(t, a, "nil", "EXEC")
		expect(t, a, "+OK", "WATCH", k)
		expect(t, b, "+OK", "FLUSHALL") // the key does not exist: no touch
		expect(t, a, "+OK", "MULTI")
		expect(t, a, "[]", "EXEC")
		expect(t, a, "+OK", "WATCH", k)
		expect(t, b, "+OK", "SELECT", "1")
		expect(t, b, "+OK", "SET", k, "1")
		expect(t, b, "+OK", "SWAPDB", "0", "1")
		expect(t, a, "+OK", "MULTI")
		expect(t, a, "nil", "EXEC")
		expect(t, b, "+OK", "FLUSHALL")
		expect(t, b, "+OK", "SELECT", "0")
	}
	expect(t, a, "+OK", "WATCH", keys[0][0], keys[1][0])
	expect(t, a, "+OK", "UNWATCH")
	if e.watches.active() {
		t.Fatal("registry active after UNWATCH")
	}
	expect(t, a, "+OK", "WATCH", keys[1][0])
	a.c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for e.watches.active() {
		if time.Now().After(deadline) {
			t.Fatal("registry active after the watching client left")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTxnWatchRegistry checks Redis's touch rules on the registry itself:
// the expired-at-WATCH flag, the keys a flush or swap touches, and the
// check EXEC makes.
func TestTxnWatchRegistry(t *testing.T) {
	cfg := config.Default()
	e, err := New(Options{Loops: 2, Addrs: []string{"127.0.0.1:0"}, Table: txnTestTable(),
		Config: func() *config.Config { return cfg }, Logf: func(string, ...any) {}})
	if err != nil {
		t.Fatal(err)
	}
	r := &e.watches
	now := time.Now().UnixMilli()
	put := func(db int, key string, expire int64) {
		sh, en := e.LoadEntry(db, []byte(key))
		en.Kind, en.Str = keyspace.KindString, []byte("v")
		sh.SetExpire(db, en, expire)
	}
	del := func(db int, key string) {
		e.shards[e.slots.Load()[hash.Slot([]byte(key))]].Delete(db, []byte(key))
	}
	watch := func(w *watcher, db int, keys ...string) {
		var bk [][]byte
		for _, k := range keys {
			bk = append(bk, []byte(k))
		}
		r.watch(e, w, db, bk, now)
	}
	if r.active() {
		t.Fatal("active with nothing watched")
	}

	// A live key: any touch dirties; UNWATCH clears.
	var w1, w2 watcher
	put(0, "live", 0)
	watch(&w1, 0, "live", "live")
	if len(w1.keys) != 1 || !r.active() {
		t.Fatalf("watch: %d keys, active %v", len(w1.keys), r.active())
	}
	r.touch(1, []byte("live"))
	r.touch(0, []byte("other"))
	if w1.failed(now) {
		t.Fatal("dirty after touches of other keys")
	}
	r.touch(0, []byte("live"))
	if !w1.failed(now) {
		t.Fatal("not dirty after a touch")
	}
	r.unwatchAll(&w1)
	if w1.failed(now) || r.active() {
		t.Fatal("still dirty or active after unwatchAll")
	}

	// A key that expires after WATCH fails EXEC without any touch.
	put(0, "soon", now+50)
	watch(&w1, 0, "soon")
	if w1.failed(now) || !w1.failed(now+50) {
		t.Fatal("expiry after WATCH not seen")
	}
	r.unwatchAll(&w1)

	// Expired when watched: deleting it is no change; touching it while
	// it is still there stops at that watcher (Redis 7.0's break).
	put(0, "old", now-10)
	watch(&w1, 0, "old")
	watch(&w2, 0, "old")
	if w1.failed(now) {
		t.Fatal("an expired key fails EXEC")
	}
	r.touch(0, []byte("old"))
	if w1.failed(now) || w2.failed(now) {
		t.Fatal("touch of a still present expired key dirtied")
	}
	del(0, "old")
	r.touch(0, []byte("old"))
	if w1.failed(now) || w2.failed(now) {
		t.Fatal("deletion of an expired key dirtied")
	}
	put(0, "old", 0)
	r.touch(0, []byte("old"))
	if !w1.failed(now) || !w2.failed(now) {
		t.Fatal("re-creation not seen")
	}
	r.unwatchAll(&w1)
	r.unwatchAll(&w2)

	// FLUSH: only watched keys that exist are touched; an expired one is
	// no change.
	put(0, "gone", now-10)
	watch(&w1, 0, "live")
	watch(&w2, 0, "missing", "gone")
	r.flushed(e, -1)
	if !w1.failed(now) || w2.failed(now) {
		t.Fatalf("flush: live dirty %v, missing/expired dirty %v", w1.failed(now), w2.failed(now))
	}
	r.unwatchAll(&w1)
	r.unwatchAll(&w2)

	// SWAPDB: a key existing in either database is touched, except a
	// missing one replaced by an expired one.
	put(3, "swapped", 0)
	put(3, "expswap", now-10)
	watch(&w1, 2, "swapped")
	watch(&w2, 2, "expswap", "nowhere")
	r.swapped(e, 2, 3)
	if !w1.failed(now) || w2.failed(now) {
		t.Fatalf("swap: dirty %v %v", w1.failed(now), w2.failed(now))
	}
	if !w2.keys[0].expired.Load() {
		t.Fatal("a missing key replaced by an expired one is not flagged expired")
	}
	r.unwatchAll(&w1)
	r.unwatchAll(&w2)
	if r.active() || r.n.Load() != 0 {
		t.Fatalf("registry not empty: %d", r.n.Load())
	}
}

// TestTxnConcurrent (run it with -race): transfers with MULTI/EXEC and
// with WATCH across loops while readers check the total, with MULTI/EXEC
// reads and MGET; WATCH transactions that succeeded are all counted.
func TestTxnConcurrent(t *testing.T) {
	addr, e, _ := startTxnEngine(t, 3)
	keys := keysOnLoops(e, 2)
	var accts []string
	for _, k := range keys {
		accts = append(accts, k...)
	}
	const initial = 100
	setup := dial(t, addr)
	for _, a := range accts {
		expect(t, setup, "+OK", "SET", a, strconv.Itoa(initial))
	}
	expect(t, setup, "+OK", "SET", "ctr", "0")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	var okCAS [2]int
	const rounds = 150
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := dial(t, addr)
			for i := 0; i < rounds; i++ {
				from, to := accts[(i+w)%len(accts)], accts[(i*5+w+1)%len(accts)]
				var p []byte
				p = append(p, encode("MULTI")...)
				p = append(p, encode("INCRBY", from, "-3")...)
				p = append(p, encode("INCRBY", to, "3")...)
				p = append(p, encode("EXEC")...)
				c.c.Write(p)
				var last string
				for j := 0; j < 4; j++ {
					var err error
					if last, err = c.readReply(); err != nil {
						errs <- err
						return
					}
				}
				if !strings.HasPrefix(last, "[:") {
					errs <- fmt.Errorf("transfer EXEC: %s", last)
					return
				}
			}
		}(w)
	}
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := dial(t, addr)
			for i := 0; i < rounds; i++ {
				if r := c.txDo(t, "WATCH", "ctr"); r != "+OK" {
					errs <- fmt.Errorf("WATCH: %s", r)
					return
				}
				n, _ := strconv.Atoi(c.txDo(t, "GET", "ctr"))
				var p []byte
				p = append(p, encode("MULTI")...)
				p = append(p, encode("SET", "ctr", strconv.Itoa(n+1))...)
				p = append(p, encode("EXEC")...)
				c.c.Write(p)
				var last string
				for j := 0; j < 3; j++ {
					var err error
					if last, err = c.readReply(); err != nil {
						errs <- err
						return
					}
				}
				if last == "[+OK]" {
					okCAS[w]++
				} else if last != "nil" {
					errs <- fmt.Errorf("CAS EXEC: %s", last)
					return
				}
			}
		}(w)
	}
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			c := dial(t, addr)
			for i := 0; i < rounds; i++ {
				var got string
				if (i+r)%2 == 0 {
					got = c.txDo(t, append([]string{"MGET"}, accts...)...)
				} else {
					p := encode("MULTI")
					for _, a := range accts {
						p = append(p, encode("GET", a)...)
					}
					p = append(p, encode("EXEC")...)
					c.c.Write(p)
					for j := 0; j < len(accts)+2; j++ {
						var err error
						if got, err = c.readReply(); err != nil {
							errs <- err
							return
						}
					}
				}
				sum := 0
				for _, f := range strings.Fields(strings.Trim(got, "[]")) {
					n, _ := strconv.Atoi(f)
					sum += n
				}
				if sum != initial*len(accts) {
					errs <- fmt.Errorf("torn read: %s", got)
					return
				}
			}
		}(r)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	expect(t, setup, strconv.Itoa(okCAS[0]+okCAS[1]), "GET", "ctr")
}

// TestTxnWriteRefusal: while the log cannot be written, queued writes are
// refused (and the EXEC fails), and an EXEC of writes queued before is
// refused as Redis's processCommand does: EXECABORT with the reason.
func TestTxnWriteRefusal(t *testing.T) {
	var refuse atomic.Bool
	const misconf = "MISCONF Errors writing to the AOF file: No space left on device"
	addr, e, _ := startTxnEngine(t, 2, func(o *Options) {
		o.WriteRefusal = func() string {
			if refuse.Load() {
				return misconf
			}
			return ""
		}
	})
	keys := keysOnLoops(e, 1)
	c := dial(t, addr)
	expect(t, c, "+OK", "MULTI")
	expect(t, c, "+QUEUED", "SET", keys[0][0], "1")
	expect(t, c, "+QUEUED", "SET", keys[1][0], "1")
	refuse.Store(true)
	expect(t, c, "-EXECABORT Transaction discarded because of: "+misconf, "EXEC")
	expect(t, c, "-ERR EXEC without MULTI", "EXEC")
	expect(t, c, "+OK", "MULTI")
	expect(t, c, "-"+misconf, "SET", keys[0][0], "2")
	expect(t, c, "+QUEUED", "GET", keys[0][0])
	expect(t, c, "-EXECABORT Transaction discarded because of previous errors.", "EXEC")
	expect(t, c, "+OK", "MULTI")
	expect(t, c, "+QUEUED", "GET", keys[0][0])
	expect(t, c, "+QUEUED", "GET", keys[1][0])
	expect(t, c, "[nil nil]", "EXEC")
	refuse.Store(false)
}
