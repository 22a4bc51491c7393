package e2e

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/basaltdb/basalt/internal/hash"
)

// Transactions with several clients: WATCH against other connections'
// writes (differential, against redis-server), atomicity of MULTI/EXEC
// across loops, and EXECs cut by a crash with an append-only log.

// loKey and hiKey return keys in the lower and upper half of the slot
// space: with --loops 2 they live on different loops.
func loKey(prefix string, n int) string { return slotHalfKey(prefix, n, false) }
func hiKey(prefix string, n int) string { return slotHalfKey(prefix, n, true) }

func slotHalfKey(prefix string, n int, hi bool) string {
	for i := 0; ; i++ {
		k := prefix + ":" + strconv.Itoa(i)
		if (hash.Slot([]byte(k)) >= hash.SlotCount/2) == hi {
			if n == 0 {
				return k
			}
			n--
		}
	}
}

// txnFields records the CLIENT LIST fields of the client with id that
// transactions change (flags, multi), asked by c.
func txnFields(c *conn, who, id string) {
	line := c.quiet("CLIENT", "LIST", "ID", id)
	var flags, multi string
	for _, f := range strings.Fields(line) {
		switch {
		case strings.HasPrefix(f, "flags="):
			flags = f
		case strings.HasPrefix(f, "multi="):
			multi = f
		}
	}
	c.s.record("%s: CLIENT LIST of %s: %s %s", c.name, who, flags, multi)
}

func TestMultiWatchClients(t *testing.T) {
	if !hasTransactions() {
		t.Skip("transactions not implemented")
	}
	p := startPair(t)
	// Keys on each loop, so that the watching client and the key's loop
	// are the same or not whichever loop the connection landed on.
	keys := []string{loKey("w", 0), hiKey("w", 0)}
	for _, k := range keys {
		k := k
		t.Run(k, func(t *testing.T) {
			runScenario(t, p, func(s *side) {
				a, b := s.dial("a"), s.dial("b")
				a.do("FLUSHALL")
				other := loKey("o", 0)
				if k == other {
					other = hiKey("o", 0)
				}
				// Another client's write aborts the EXEC.
				a.do("SET", k, "1")
				a.do("WATCH", k)
				b.do("SET", k, "2")
				a.do("MULTI")
				a.do("SET", k, "3")
				a.do("EXEC")
				a.do("GET", k)
				// A write to another key does not; the watch ends with EXEC.
				a.do("WATCH", k)
				b.do("SET", other, "x")
				b.do("GET", k)
				a.do("MULTI")
				a.do("INCR", k)
				a.do("EXEC")
				b.do("SET", k, "10")
				a.do("MULTI")
				a.do("INCR", k)
				a.do("EXEC")
				// A write that changes nothing is no touch (DEL of nothing),
				// a write to the same value is one.
				a.do("WATCH", k, "nokey")
				b.do("DEL", "nokey")
				b.do("SREM", k+"s", "m")
				a.do("MULTI")
				a.do("GET", k)
				a.do("EXEC")
				a.do("WATCH", k)
				b.do("SET", k, "11")
				a.do("MULTI")
				a.do("GET", k)
				a.do("EXEC")
				// UNWATCH and DISCARD forget the watch.
				a.do("WATCH", k)
				a.do("UNWATCH")
				b.do("SET", k, "12")
				a.do("MULTI")
				a.do("GET", k)
				a.do("EXEC")
				a.do("WATCH", k)
				a.do("MULTI")
				a.do("DISCARD")
				b.do("SET", k, "13")
				a.do("MULTI")
				a.do("GET", k)
				a.do("EXEC")
				// Another client's EXEC that writes the key, and its
				// queued but not yet executed write.
				a.do("WATCH", k)
				b.do("MULTI")
				b.do("SET", k, "14")
				a.do("MULTI")
				a.do("GET", k)
				b.do("EXEC")
				a.do("EXEC")
				// Expiry by another client's access, and active expiry.
				b.do("SET", k, "v", "PX", "50")
				a.do("WATCH", k)
				time.Sleep(120 * time.Millisecond)
				b.do("GET", k)
				a.do("MULTI")
				a.do("PING")
				a.do("EXEC")
				b.do("SET", k, "v", "PX", "50")
				a.do("WATCH", k)
				time.Sleep(400 * time.Millisecond)
				b.do("EXISTS", k)
				a.do("MULTI")
				a.do("PING")
				a.do("EXEC")
				// Deletion by expiry of a key that was expired when watched
				// is no change.
				b.do("DEBUG", "SET-ACTIVE-EXPIRE", "0")
				b.do("SET", k, "v", "PX", "20")
				time.Sleep(60 * time.Millisecond)
				a.do("WATCH", k)
				b.do("GET", k)
				a.do("MULTI")
				a.do("PING")
				a.do("EXEC")
				b.do("DEBUG", "SET-ACTIVE-EXPIRE", "1")
				// FLUSHALL, FLUSHDB and SWAPDB by another client.
				b.do("SET", k, "1")
				a.do("WATCH", k)
				b.do("FLUSHALL")
				a.do("MULTI")
				a.do("PING")
				a.do("EXEC")
				a.do("WATCH", k)
				b.do("FLUSHDB")
				a.do("MULTI")
				a.do("PING")
				a.do("EXEC")
				b.do("SELECT", "1")
				b.do("SET", k, "1")
				a.do("WATCH", k)
				b.do("SWAPDB", "0", "1")
				a.do("MULTI")
				a.do("GET", k)
				a.do("EXEC")
				b.do("SELECT", "0")
				// RESP3: the failed EXEC is a null.
				a.do("HELLO", "3")
				a.do("WATCH", k)
				b.do("DEL", k)
				a.do("MULTI")
				a.do("PING")
				a.do("EXEC")
				a.do("HELLO", "2")
				// CLIENT LIST: x in MULTI with multi=<queued>, d once dirty.
				id := a.quietInt("CLIENT", "ID")
				txnFields(b, "a", id)
				a.do("WATCH", k)
				txnFields(b, "a", id)
				b.do("SET", k, "1")
				txnFields(b, "a", id)
				a.do("MULTI")
				a.do("PING")
				a.do("PING")
				txnFields(b, "a", id)
				a.do("EXEC")
				txnFields(b, "a", id)
				// A watching client that goes away leaves nothing behind.
				c := s.dial("c")
				c.do("WATCH", k, other)
				c.c.Close()
				c.c = nil
				time.Sleep(50 * time.Millisecond)
				b.do("SET", k, "2")
				b.do("SET", other, "2")
				b.do("DBSIZE")
			})
		})
	}
}

// TestMultiAtomicAcrossLoops: clients move amounts between accounts on
// both loops with MULTI/EXEC (DECRBY, INCRBY) and with WATCH-guarded
// read-modify-write transactions, while readers check that the total never
// changes, read with MULTI/EXEC (GETs) and with MGET. At the end every
// WATCH transaction that succeeded is accounted for.
func TestMultiAtomicAcrossLoops(t *testing.T) {
	if suite.target != "basalt" {
		t.Skip("checks Basalt's cross-loop scheme")
	}
	if !hasTransactions() {
		t.Skip("transactions not implemented")
	}
	srv := startServer(t, "basalt", "basalt")
	const accounts, initial = 8, 1000
	var accts []string
	for i := 0; i < accounts/2; i++ {
		accts = append(accts, loKey("acct", i), hiKey("acct", i))
	}
	setup, err := Dial(srv.addr, replyTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer setup.Close()
	for _, a := range accts {
		if _, err := call(setup, "SET", a, strconv.Itoa(initial)); err != nil {
			t.Fatal(err)
		}
	}
	counter := hiKey("casctr", 0)
	if _, err := call(setup, "SET", counter, "0"); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var transfers, casOK, casAborted, reads atomic.Int64
	errs := make(chan error, 32)
	fail := func(err error) {
		select {
		case errs <- err:
		default:
		}
		stop.Store(true)
	}
	dial := func() *Client {
		c, err := Dial(srv.addr, replyTimeout)
		if err != nil {
			fail(err)
			return nil
		}
		return c
	}
	// Transfers with plain MULTI/EXEC.
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := dial()
			if c == nil {
				return
			}
			defer c.Close()
			rng := rand.New(rand.NewSource(int64(w)))
			for !stop.Load() {
				from, to := accts[rng.Intn(accounts)], accts[rng.Intn(accounts)]
				n := strconv.Itoa(rng.Intn(50))
				var buf []byte
				for _, cmd := range [][]string{{"MULTI"}, {"DECRBY", from, n}, {"INCRBY", to, n}, {"EXEC"}} {
					buf = AppendCommand(buf, bs(cmd...))
				}
				if err := c.WriteRaw(buf); err != nil {
					fail(err)
					return
				}
				var last []byte
				for i := 0; i < 4; i++ {
					if last, err = c.ReadReply(); err != nil {
						fail(err)
						return
					}
				}
				if v, err := parseReply(last); err != nil || v.Kind != '*' || len(v.Elems) != 2 {
					fail(fmt.Errorf("transfer EXEC: %q %v", last, err))
					return
				}
				transfers.Add(1)
			}
		}(w)
	}
	// Optimistic transfers and a counter with WATCH.
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := dial()
			if c == nil {
				return
			}
			defer c.Close()
			rng := rand.New(rand.NewSource(int64(100 + w)))
			for !stop.Load() {
				from, to := accts[rng.Intn(accounts)], accts[rng.Intn(accounts)]
				if from == to {
					continue
				}
				if _, err := call(c, "WATCH", from, to, counter); err != nil {
					fail(err)
					return
				}
				vals, err := call(c, "MGET", from, to, counter)
				if err != nil || len(vals.Elems) != 3 {
					fail(fmt.Errorf("MGET: %v %v", vals, err))
					return
				}
				f, _ := strconv.Atoi(string(vals.Elems[0].Str))
				g, _ := strconv.Atoi(string(vals.Elems[1].Str))
				n, _ := strconv.Atoi(string(vals.Elems[2].Str))
				amt := rng.Intn(20)
				var buf []byte
				for _, cmd := range [][]string{{"MULTI"}, {"SET", from, strconv.Itoa(f - amt)},
					{"SET", to, strconv.Itoa(g + amt)}, {"SET", counter, strconv.Itoa(n + 1)}, {"EXEC"}} {
					buf = AppendCommand(buf, bs(cmd...))
				}
				if err := c.WriteRaw(buf); err != nil {
					fail(err)
					return
				}
				var last []byte
				for i := 0; i < 5; i++ {
					if last, err = c.ReadReply(); err != nil {
						fail(err)
						return
					}
				}
				switch string(last) {
				case "*-1\r\n":
					casAborted.Add(1)
				case "*3\r\n+OK\r\n+OK\r\n+OK\r\n":
					casOK.Add(1)
				default:
					fail(fmt.Errorf("WATCH transfer EXEC: %q", last))
					return
				}
			}
		}(w)
	}
	// Readers: the total is always the same.
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			c := dial()
			if c == nil {
				return
			}
			defer c.Close()
			for i := 0; !stop.Load(); i++ {
				var elems []Value
				if (i+r)%2 == 0 {
					v, err := call(c, append([]string{"MGET"}, accts...)...)
					if err != nil {
						fail(err)
						return
					}
					elems = v.Elems
				} else {
					var buf []byte
					buf = AppendCommand(buf, bs("MULTI"))
					for _, a := range accts {
						buf = AppendCommand(buf, bs("GET", a))
					}
					buf = AppendCommand(buf, bs("EXEC"))
					if err := c.WriteRaw(buf); err != nil {
						fail(err)
						return
					}
					var last []byte
					var err error
					for j := 0; j < accounts+2; j++ {
						if last, err = c.ReadReply(); err != nil {
							fail(err)
							return
						}
					}
					v, err := parseReply(last)
					if err != nil {
						fail(err)
						return
					}
					elems = v.Elems
				}
				sum := 0
				for _, e := range elems {
					n, err := strconv.Atoi(string(e.Str))
					if err != nil {
						fail(fmt.Errorf("account value %q", e.Str))
						return
					}
					sum += n
				}
				if len(elems) != accounts || sum != accounts*initial {
					fail(fmt.Errorf("read %d accounts summing to %d, want %d", len(elems), sum, accounts*initial))
					return
				}
				reads.Add(1)
			}
		}(r)
	}
	time.Sleep(3 * time.Second)
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	v := mustCall(t, setup, "GET", counter)
	if got := string(v.Str); got != strconv.FormatInt(casOK.Load(), 10) {
		t.Fatalf("WATCH counter is %s, %d WATCH transactions succeeded", got, casOK.Load())
	}
	if transfers.Load() == 0 || casOK.Load() == 0 || reads.Load() == 0 {
		t.Fatalf("too little traffic: %d transfers, %d WATCH transfers, %d reads", transfers.Load(), casOK.Load(), reads.Load())
	}
	t.Logf("%d transfers, %d WATCH transfers (%d aborted), %d consistent reads",
		transfers.Load(), casOK.Load(), casAborted.Load(), reads.Load())
}

// TestMultiAOFCrash: with an append-only log (appendfsync always and
// everysec), clients run EXECs that move amounts between accounts on both
// loops (and across databases) while the server is SIGKILLed; after each
// restart the totals are intact, so no transaction was half applied, and
// every acknowledged EXEC under appendfsync always survived.
func TestMultiAOFCrash(t *testing.T) {
	kind := requireDurableTarget(t)
	if kind == "basalt" && !hasTransactions() {
		t.Skip("transactions not implemented")
	}
	for _, fsync := range []string{"always", "everysec"} {
		t.Run(fsync, func(t *testing.T) {
			dir := t.TempDir()
			extra := []string{"--appendonly", "yes", "--appendfsync", fsync}
			const accounts, initial = 6, 1000
			var accts []string
			for i := 0; i < accounts/2; i++ {
				accts = append(accts, loKey("aof", i), hiKey("aof", i))
			}
			srv := startDurable(t, kind, dir, extra...)
			c := srv.dial(t)
			for _, a := range accts {
				mustCall(t, c, "SET", a, strconv.Itoa(initial))
			}
			mustCall(t, c, "SELECT", "1")
			mustCall(t, c, "SET", "ledger", "0")
			seq := map[string]int{} // per writer: highest acknowledged EXEC
			for round := 0; round < 4; round++ {
				var wg sync.WaitGroup
				var mu sync.Mutex
				for w := 0; w < 3; w++ {
					wg.Add(1)
					go func(w int) {
						defer wg.Done()
						cl, err := Dial(srv.addr, durableTimeout)
						if err != nil {
							return
						}
						defer cl.Close()
						rng := rand.New(rand.NewSource(int64(round*10 + w)))
						name := "w" + strconv.Itoa(w)
						for i := 1; ; i++ {
							from, to := accts[rng.Intn(accounts)], accts[rng.Intn(accounts)]
							n := strconv.Itoa(1 + rng.Intn(30))
							// A transfer, a ledger entry in db 1 and the
							// writer's sequence number: all or nothing.
							var buf []byte
							for _, cmd := range [][]string{{"MULTI"}, {"DECRBY", from, n}, {"INCRBY", to, n},
								{"SELECT", "1"}, {"INCRBY", "ledger", n}, {"DECRBY", "ledger", n},
								{"SET", name, strconv.Itoa(round*1000000 + i)}, {"SELECT", "0"}, {"EXEC"}} {
								buf = AppendCommand(buf, bs(cmd...))
							}
							if err := cl.WriteRaw(buf); err != nil {
								return
							}
							var last []byte
							for j := 0; j < 9; j++ {
								if last, err = cl.ReadReply(); err != nil {
									return
								}
							}
							if len(last) == 0 || last[0] != '*' {
								return
							}
							mu.Lock()
							seq[name] = round*1000000 + i
							mu.Unlock()
						}
					}(w)
				}
				time.Sleep(time.Duration(300+round*150) * time.Millisecond)
				srv.kill()
				wg.Wait()
				srv = startDurable(t, kind, dir, extra...)
				c = srv.dial(t)
				v := mustCall(t, c, append([]string{"MGET"}, accts...)...)
				sum := 0
				for _, e := range v.Elems {
					n, err := strconv.Atoi(string(e.Str))
					if err != nil {
						t.Fatalf("round %d: account value %q", round, e.Str)
					}
					sum += n
				}
				if sum != accounts*initial {
					t.Fatalf("round %d: accounts sum to %d after restart, want %d: a transaction was half applied", round, sum, accounts*initial)
				}
				mustCall(t, c, "SELECT", "1")
				if l := mustCall(t, c, "GET", "ledger"); string(l.Str) != "0" {
					t.Fatalf("round %d: ledger %q after restart, want 0", round, l.Str)
				}
				if fsync == "always" {
					for name, want := range seq {
						got := mustCall(t, c, "GET", name)
						n, _ := strconv.Atoi(string(got.Str))
						if n < want {
							t.Fatalf("round %d: %s is %q after restart, but EXEC %d was acknowledged", round, name, got.Str, want)
						}
					}
				}
				mustCall(t, c, "SELECT", "0")
			}
			// The log holds the transactions as MULTI ... EXEC groups.
			if kind == "basalt" {
				var logText []byte
				files, _ := filepath.Glob(filepath.Join(dir, "appendonlydir", "*.incr.aof"))
				for _, f := range files {
					b, _ := os.ReadFile(f)
					logText = append(logText, b...)
				}
				if !strings.Contains(string(logText), "*1\r\n$5\r\nMULTI\r\n") {
					t.Fatalf("no MULTI group in the log (%d bytes in %d incr files)", len(logText), len(files))
				}
			}
		})
	}
}

// TestMultiGoRedis: go-redis's optimistic transactions (Watch with
// TxPipelined, retried on redis.TxFailedErr) from several goroutines in
// RESP2 and RESP3 count every increment exactly once.
func TestMultiGoRedis(t *testing.T) {
	if suite.target == "basalt" && suite.buildErr != nil {
		t.Fatalf("cannot test Basalt: %v", suite.buildErr)
	}
	if !hasTransactions() {
		t.Skip("transactions not implemented")
	}
	srv := startServer(t, suite.target, suite.target)
	for _, proto := range []int{2, 3} {
		t.Run("resp"+strconv.Itoa(proto), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			rdb := redis.NewClient(&redis.Options{Addr: srv.addr, Protocol: proto, PoolSize: 8})
			defer rdb.Close()
			keys := []string{loKey("gr", proto), hiKey("gr", proto)}
			if err := rdb.Del(ctx, keys...).Err(); err != nil {
				t.Fatal(err)
			}
			const workers, per = 6, 40
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < per; i++ {
						for {
							err := rdb.Watch(ctx, func(tx *redis.Tx) error {
								a, err := tx.Get(ctx, keys[0]).Int()
								if err != nil && err != redis.Nil {
									return err
								}
								_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
									p.Set(ctx, keys[0], a+1, 0)
									p.Incr(ctx, keys[1])
									return nil
								})
								return err
							}, keys...)
							if err == redis.TxFailedErr {
								continue
							}
							if err != nil {
								errs <- err
								return
							}
							break
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			for _, k := range keys {
				if n, err := rdb.Get(ctx, k).Int(); err != nil || n != workers*per {
					t.Fatalf("%s = %d (%v), want %d", k, n, err, workers*per)
				}
			}
		})
	}
}
