package loop

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/internal/hash"
)

// slotsOf returns the distinct slots of keys.
func slotsOf(keys []string) []uint16 {
	seen := map[uint16]bool{}
	var out []uint16
	for _, k := range keys {
		s := hash.Slot([]byte(k))
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func mustReply(t *testing.T, c *rawClient, want string, args ...string) {
	t.Helper()
	c.c.Write(encode(args...))
	got, err := c.readReply()
	if err != nil || got != want {
		t.Fatalf("%v: got %q %v, want %q", args, got, err, want)
	}
}

// TestMoveSlotsKeepsKeys moves the slots of keys in three databases, some
// with a TTL, around every loop and back: values, TTLs, access times and
// per-shard counts follow the slots.
func TestMoveSlotsKeepsKeys(t *testing.T) {
	addr, e, _ := startEngine(t, 3)
	keys := keysOnLoops(e, 30)
	c := dial(t, addr)
	type kv struct {
		db  int
		key string
	}
	var all []kv
	for db := 0; db < 3; db++ {
		mustReply(t, c, "+OK", "SELECT", strconv.Itoa(db))
		for l := range keys {
			for i, k := range keys[l] {
				if (i+db)%3 == 0 {
					continue // leave holes, so databases differ
				}
				mustReply(t, c, "+OK", "SET", k, fmt.Sprintf("%d/%s", db, k))
				all = append(all, kv{db, k})
			}
		}
	}
	// Expiries and access times, set directly (the test table has no
	// EXPIRE): far in the future so that nothing expires meanwhile.
	type meta struct{ expire, access int64 }
	want := map[kv]meta{}
	e.RunOnAll(func(cx *command.Ctx) {
		for i, x := range all {
			s := cx.Shards[cx.Slots[hash.Slot([]byte(x.key))]]
			en := s.LookupNoTouch(x.db, []byte(x.key), cx.Now)
			var at int64
			if i%2 == 0 {
				at = cx.Now + int64(3600_000+i)
			}
			s.SetExpire(x.db, en, at)
			en.Access = int64(1000 + i)
			want[x] = meta{at, en.Access}
		}
	})
	// GET touches the access time: note it after the GETs of each check.
	noteAccess := func() {
		e.RunOnAll(func(cx *command.Ctx) {
			for x, m := range want {
				m.access = cx.Shards[cx.Slots[hash.Slot([]byte(x.key))]].LookupNoTouch(x.db, []byte(x.key), cx.Now).Access
				want[x] = m
			}
		})
	}
	check := func(step string) {
		t.Helper()
		e.RunOnAll(func(cx *command.Ctx) {
			if cx.Slots != e.SlotMap() {
				t.Errorf("%s: transaction ran under an old map", step)
			}
			for x, m := range want {
				slot := hash.Slot([]byte(x.key))
				for li, s := range cx.Shards {
					en := s.LookupNoTouch(x.db, []byte(x.key), cx.Now)
					owner := li == int(cx.Slots[slot])
					if owner != (en != nil) {
						t.Errorf("%s: db %d key %s on shard %d: found %v, owner %v", step, x.db, x.key, li, en != nil, owner)
						continue
					}
					if en != nil && (en.Expire != m.expire || en.Access != m.access) {
						t.Errorf("%s: db %d key %s: expire %d access %d, want %+v", step, x.db, x.key, en.Expire, en.Access, m)
					}
				}
			}
			for db := 0; db < 3; db++ {
				n, nexp := 0, 0
				for _, s := range cx.Shards {
					n += s.Len(db)
					nexp += s.ExpiresLen(db)
				}
				wn, wexp := 0, 0
				for x, m := range want {
					if x.db == db {
						wn++
						if m.expire != 0 {
							wexp++
						}
					}
				}
				if n != wn || nexp != wexp {
					t.Errorf("%s: db %d: %d keys %d with TTL, want %d %d", step, db, n, nexp, wn, wexp)
				}
			}
		})
		for db := 0; db < 3; db++ {
			mustReply(t, c, "+OK", "SELECT", strconv.Itoa(db))
			for x := range want {
				if x.db == db {
					mustReply(t, c, fmt.Sprintf("%d/%s", db, x.key), "GET", x.key)
				}
			}
		}
		if t.Failed() {
			t.FailNow()
		}
		noteAccess()
	}
	check("start")
	// Loop 0's slots go to 1, then everything to 2, then each set home.
	if err := e.MoveSlots(slotsOf(keys[0]), 1); err != nil {
		t.Fatal(err)
	}
	check("0->1")
	if err := e.MoveSlots(slotsOf(append(append(append([]string{}, keys[0]...), keys[1]...), keys[2]...)), 2); err != nil {
		t.Fatal(err)
	}
	check("all->2")
	for l := range keys {
		if err := e.MoveSlots(slotsOf(keys[l]), l); err != nil {
			t.Fatal(err)
		}
	}
	check("home")
	if err := e.MoveSlots(nil, 0); err != nil {
		t.Fatal(err)
	}
	if e.MoveSlots([]uint16{1}, 3) == nil || e.MoveSlots([]uint16{hash.SlotCount}, 0) == nil {
		t.Fatal("bad arguments accepted")
	}
}

// TestMoveSlotsUnderTraffic moves the slots of hot keys between loops
// while clients pipeline INCRs on them, from every loop, and others run
// cross-loop MSET/MGET: every INCR runs exactly once (the replies for a
// key are exactly 1..n), pipelines keep their order, and no MGET sees a
// torn MSET.
func TestMoveSlotsUnderTraffic(t *testing.T) {
	const loops = 3
	addr, e, _ := startEngine(t, loops)
	keys := keysOnLoops(e, 5)
	var hot []string
	for _, ks := range keys {
		hot = append(hot, ks[1:]...)
	}
	pair := []string{keys[0][0], keys[1][0]} // MSET/MGET across loops
	moving := slotsOf(append(append([]string{}, hot...), pair...))

	const incrClients, pipes, depth = 6, 60, 40
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	fail := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	// replies[key] collects every INCR reply for key.
	var mu sync.Mutex
	replies := map[string][]int{}
	for ci := 0; ci < incrClients; ci++ {
		wg.Add(1)
		go func(ci int) {
			defer wg.Done()
			c := dial(t, addr)
			r := rand.New(rand.NewPCG(uint64(ci), 1))
			got := map[string][]int{}
			for p := 0; p < pipes; p++ {
				var pipe []byte
				ks := make([]string, depth)
				for i := range ks {
					ks[i] = hot[r.IntN(len(hot))]
					pipe = append(pipe, encode("INCR", ks[i])...)
				}
				// Also a key-less command and a whole-keyspace one in the
				// middle, to mix inline and executor paths into the order.
				pipe = append(pipe, encode("PING")...)
				pipe = append(pipe, encode("DBSIZE")...)
				c.c.Write(pipe)
				for i, k := range ks {
					rep, err := c.readReply()
					if err != nil || rep[0] != ':' {
						fail(fmt.Errorf("client %d INCR %s: %q %v", ci, k, rep, err))
						return
					}
					n, _ := strconv.Atoi(rep[1:])
					// One client's replies for a key grow: its pipeline ran
					// in order.
					if prev := got[k]; len(prev) > 0 && prev[len(prev)-1] >= n {
						fail(fmt.Errorf("client %d: INCR %s went %d then %d (reply %d)", ci, k, prev[len(prev)-1], n, i))
						return
					}
					got[k] = append(got[k], n)
				}
				if rep, err := c.readReply(); err != nil || rep != "+PONG" {
					fail(fmt.Errorf("client %d: PING: %q %v", ci, rep, err))
					return
				}
				if rep, err := c.readReply(); err != nil || rep[0] != ':' {
					fail(fmt.Errorf("client %d: DBSIZE: %q %v", ci, rep, err))
					return
				}
			}
			mu.Lock()
			for k, v := range got {
				replies[k] = append(replies[k], v...)
			}
			mu.Unlock()
		}(ci)
	}
	// Writers and readers of a pair of keys whose slots move.
	var pairWG sync.WaitGroup
	for w := 0; w < 2; w++ {
		pairWG.Add(2)
		go func(w int) {
			defer pairWG.Done()
			c := dial(t, addr)
			for i := 0; !stop.Load(); i++ {
				v := fmt.Sprintf("w%d-%d", w, i)
				c.c.Write(encode("MSET", pair[0], v, pair[1], v))
				if rep, err := c.readReply(); err != nil || rep != "+OK" {
					fail(fmt.Errorf("MSET: %q %v", rep, err))
					return
				}
			}
		}(w)
		go func() {
			defer pairWG.Done()
			c := dial(t, addr)
			for !stop.Load() {
				c.c.Write(encode("MGET", pair[0], pair[1]))
				rep, err := c.readReply()
				if err != nil {
					fail(err)
					return
				}
				if parts := strings.Fields(strings.Trim(rep, "[]")); len(parts) != 2 || parts[0] != parts[1] {
					fail(fmt.Errorf("torn MGET: %s", rep))
					return
				}
			}
		}()
	}
	// The mover: random subsets of the hot slots to random loops.
	moves := 0
	moverDone := make(chan struct{})
	go func() {
		defer close(moverDone)
		r := rand.New(rand.NewPCG(42, 42))
		for !stop.Load() {
			var set []uint16
			for _, s := range moving {
				if r.IntN(2) == 0 {
					set = append(set, s)
				}
			}
			if err := e.MoveSlots(set, r.IntN(loops)); err != nil {
				fail(err)
				return
			}
			moves++
			time.Sleep(time.Duration(r.IntN(300)) * time.Microsecond)
		}
	}()
	wg.Wait()
	stop.Store(true)
	<-moverDone
	pairWG.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if moves < 10 {
		t.Fatalf("only %d moves happened during the traffic", moves)
	}
	total := 0
	c := dial(t, addr)
	for _, k := range hot {
		ns := replies[k]
		sort.Ints(ns)
		for i, n := range ns {
			if n != i+1 {
				t.Fatalf("%s: INCR replies are not 1..%d: at %d got %d", k, len(ns), i, n)
			}
		}
		mustReply(t, c, strconv.Itoa(len(ns)), "GET", k)
		total += len(ns)
	}
	if total != incrClients*pipes*depth {
		t.Fatalf("%d INCRs counted, %d sent", total, incrClients*pipes*depth)
	}
	t.Logf("%d moves during %d INCRs", moves, total)
}
