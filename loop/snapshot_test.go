package loop

import (
	"bytes"
	"fmt"
	"math/rand/v2"
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

// testAgg is an aggregate for the snapshot tests: a list that RPUSH
// changes in place.
type testAgg struct{ items []string }

func (a *testAgg) Encoding() keyspace.Enc { return keyspace.EncQuicklist }
func (a *testAgg) Len() int               { return len(a.items) }
func (a *testAgg) Clone() keyspace.Aggregate {
	return &testAgg{items: append([]string(nil), a.items...)}
}

// snapRepr is how the test images show a value: the string, or the
// aggregate's items; with the expiry.
func snapRepr(e *keyspace.Entry) string {
	v := string(e.Str)
	if a, ok := e.Obj.(*testAgg); ok {
		v = "list:" + strings.Join(a.items, ",")
	}
	if e.Expire != 0 {
		v += "@" + strconv.FormatInt(e.Expire, 10)
	}
	return v
}

// testEntryEncoder images a key as key NUL repr NUL.
func testEntryEncoder(dst []byte, e *keyspace.Entry) []byte {
	return append(append(append(append(dst, e.Key...), 0), snapRepr(e)...), 0)
}

// slowEncoder is testEntryEncoder taking about d per key, so that the
// snapshot goroutine holds slots long enough for the loops to run into
// them and to copy most slots first.
func slowEncoder(d time.Duration) EntryEncoder {
	return func(dst []byte, e *keyspace.Entry) []byte {
		for t0 := time.Now(); time.Since(t0) < d; {
		}
		return testEntryEncoder(dst, e)
	}
}

// snapTestTable is the engine test table plus commands that change
// values in place and commands over the whole keyspace.
func snapTestTable() *command.Table {
	t := testTable()
	t.Add(
		// bump k: increments the first byte of k's value in place (as
		// SETRANGE, SETBIT and INCR do), creating "0" when absent.
		&command.Spec{Name: "bump", Arity: 2, FirstKey: 1, LastKey: 1, Flags: command.FlagWrite, Run: func(c *command.Ctx) {
			e, existed := c.Shard(c.Args[1]).Upsert(c.DB, c.Args[1], c.Now)
			if !existed || e.Obj != nil || len(e.Str) == 0 {
				e.Kind, e.Obj, e.Str = keyspace.KindString, nil, []byte("0")
			} else {
				e.Str[0]++
			}
			c.Out.OK()
		}},
		// rpush k v: appends to k's list in place.
		&command.Spec{Name: "rpush", Arity: 3, FirstKey: 1, LastKey: 1, Flags: command.FlagWrite, Run: func(c *command.Ctx) {
			e, existed := c.Shard(c.Args[1]).Upsert(c.DB, c.Args[1], c.Now)
			a, ok := e.Obj.(*testAgg)
			if !existed || !ok {
				a = &testAgg{}
				e.Kind, e.Obj, e.Str = keyspace.KindList, a, nil
			}
			a.items = append(a.items, string(c.Args[2]))
			c.Out.Int(int64(len(a.items)))
		}},
		&command.Spec{Name: "del", Arity: 2, FirstKey: 1, LastKey: 1, Flags: command.FlagWrite, Run: func(c *command.Ctx) {
			if c.Shard(c.Args[1]).Delete(c.DB, c.Args[1]) {
				c.Out.Int(1)
			} else {
				c.Out.Int(0)
			}
		}},
		// pexpireat k ms: sets an expiry far in the future.
		&command.Spec{Name: "pexpireat", Arity: 3, FirstKey: 1, LastKey: 1, Flags: command.FlagWrite, Run: func(c *command.Ctx) {
			sh := c.Shard(c.Args[1])
			e := sh.Lookup(c.DB, c.Args[1], c.Now)
			if e == nil {
				c.Out.Int(0)
				return
			}
			at, _ := strconv.ParseInt(string(c.Args[2]), 10, 64)
			sh.SetExpire(c.DB, e, at)
			c.Out.Int(1)
		}},
		&command.Spec{Name: "flushall", Arity: 1, Scope: command.ScopeAll, Flags: command.FlagWrite, Run: func(c *command.Ctx) {
			for _, sh := range c.Shards {
				sh.Flush(-1)
			}
			c.Out.OK()
		}},
		&command.Spec{Name: "swapdb", Arity: 3, Scope: command.ScopeAll, Flags: command.FlagWrite, Run: func(c *command.Ctx) {
			a, _ := strconv.Atoi(string(c.Args[1]))
			b, _ := strconv.Atoi(string(c.Args[2]))
			for _, sh := range c.Shards {
				sh.Swap(a, b)
			}
			c.Out.OK()
		}},
	)
	return t
}

// startSnapEngine is startEngine with snapTestTable and 4 databases.
func startSnapEngine(t *testing.T, loops int) (string, *Engine) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := config.Default()
	cfg.Databases = 4
	rec := &effectRecorder{}
	e, err := New(Options{Loops: loops, Addrs: []string{addr}, Table: snapTestTable(),
		Config: func() *config.Config { return cfg }, Effects: rec.add,
		Logf: func(string, ...any) {}})
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
	return addr, e
}

// snapCheck takes a snapshot with enc and checks that it images exactly
// the dataset of its instant (every database), each key once. It returns
// the snapshot's counters.
func snapCheck(t *testing.T, e *Engine, enc EntryEncoder) *snapStats {
	t.Helper()
	want := map[string]string{} // "db/key" -> repr
	got := map[string]string{}
	stats, err := e.snapshot(enc, func() {
		for _, sh := range e.shards {
			for d := 0; d < sh.Databases(); d++ {
				sh.ForEach(d, func(en *keyspace.Entry) bool {
					want[strconv.Itoa(d)+"/"+string(en.Key)] = snapRepr(en)
					return true
				})
			}
		}
	}, func(db int, data []byte) error {
		if len(data) == 0 {
			t.Errorf("empty image of db %d", db)
		}
		parseImage(data, func(k, v string) {
			k = strconv.Itoa(db) + "/" + k
			if _, dup := got[k]; dup {
				t.Errorf("key %s imaged twice", k)
			}
			got[k] = v
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("%d keys imaged, %d at the start", len(got), len(want))
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Fatalf("key %s imaged as %q (present %v), was %q at the start", k, g, ok, v)
		}
	}
	return stats
}

// parseImage calls fn for every key and value of a testEntryEncoder image.
func parseImage(data []byte, fn func(k, v string)) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, 0)
		j := i + 1 + bytes.IndexByte(data[i+1:], 0)
		fn(string(data[:i]), string(data[i+1:j]))
		data = data[j+1:]
	}
}

// runWriters runs n clients sending cmd(worker, i) in a loop until the
// returned stop is called (stop waits for them).
func runWriters(t *testing.T, addr string, n int, cmd func(w, i int) []string) (stop func()) {
	var quit atomic.Bool
	var wg sync.WaitGroup
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			wc := dial(t, addr)
			for i := 0; !quit.Load(); i++ {
				wc.send(t, cmd(w, i)...)
				r, err := wc.readReply()
				if err != nil {
					t.Error(err)
					return
				}
				if strings.HasPrefix(r, "-") {
					t.Errorf("%v: %s", cmd(w, i), r)
					return
				}
			}
		}(w)
	}
	return func() {
		quit.Store(true)
		wg.Wait()
	}
}

// loadKeys sets keys k0..k(n-1) of the client's database to "0".
func loadKeys(t *testing.T, c *rawClient, n int) {
	loadNamed(t, c, n, func(i int) string { return "k" + strconv.Itoa(i) })
}

// loadNamed sets keys name(0)..name(n-1) to "0", one SET each (the
// names may span loops).
func loadNamed(t *testing.T, c *rawClient, n int, name func(int) string) {
	for i := 0; i < n; i++ {
		c.send(t, "set", name(i), "0")
	}
	for i := 0; i < n; i++ {
		if r, err := c.readReply(); err != nil || r != "+OK" {
			t.Fatalf("set: %q %v", r, err)
		}
	}
}

// TestSnapshotPointInTime: while writers change every key (single-key
// and multi-key across loops), a snapshot images exactly the dataset of
// the instant it started, each key once.
func TestSnapshotPointInTime(t *testing.T) {
	addr, e := startSnapEngine(t, 3)
	const nkeys = 3000
	loadKeys(t, dial(t, addr), nkeys)
	stop := runWriters(t, addr, 4, func(w, i int) []string {
		i = w + 7*i
		k := "k" + strconv.Itoa(i%nkeys)
		if w%2 == 0 {
			return []string{"incr", k}
		}
		return []string{"mset", k, "9", "k" + strconv.Itoa((i*13)%nkeys), "8"}
	})
	defer stop()
	for round := 0; round < 3; round++ {
		snapCheck(t, e, testEntryEncoder)
	}
}

// TestSnapshotConcurrentImaging slows the encoder down so that the
// snapshot goroutine holds slots while the loops write all over the
// keyspace: loops wait for slots being read, copy the others, and change
// values in place (bump, rpush), delete keys, create keys and set
// expiries right after copying; every image must still be the instant's.
func TestSnapshotConcurrentImaging(t *testing.T) {
	addr, e := startSnapEngine(t, 3)
	// Keys in 8 slots (hash tags), so that a slot holds many keys and the
	// writers often hit the slot the snapshot goroutine is reading.
	const nkeys = 4000
	key := func(p string, i int) string { return "{" + strconv.Itoa(i%8) + "}" + p + strconv.Itoa(i) }
	c := dial(t, addr)
	for db := 0; db < 3; db++ {
		mustReply(t, c, "+OK", "select", strconv.Itoa(db))
		loadNamed(t, c, nkeys, func(i int) string { return key("k", i) })
		for i := 0; i < nkeys; i += 40 {
			mustReply(t, c, ":1", "rpush", key("l", i), "a")
		}
	}
	stop := runWriters(t, addr, 4, func(w, i int) []string {
		r := rand.IntN(nkeys)
		k := key("k", r)
		switch (w + i) % 7 {
		case 0:
			return []string{"select", strconv.Itoa(r % 3)}
		case 1:
			return []string{"bump", k}
		case 2:
			return []string{"rpush", key("l", r/40*40), strconv.Itoa(i)}
		case 3:
			return []string{"del", k}
		case 4:
			return []string{"set", key("new", r), "x"}
		case 5:
			return []string{"pexpireat", k, strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli()+int64(i), 10)}
		}
		return []string{"mset", k, strconv.Itoa(i), key("k", (r*13)%nkeys), "m"}
	})
	defer stop()
	var read, copied, waited, keys int64
	for round := 0; round < 8; round++ {
		st := snapCheck(t, e, slowEncoder(2*time.Microsecond))
		read += st.read.Load()
		copied += st.copied.Load()
		waited += st.waited.Load()
		keys += st.keys.Load()
	}
	t.Logf("slots read by the snapshot goroutine %d, imaged by loops %d; keys copied %d; waits %d", read, copied, keys, waited)
}

// TestSnapshotWritesFlowWhileReading holds the snapshot goroutine inside
// the slot it reads first: a write to another slot is answered meanwhile
// (its loop copies that key and holds the slot), a write to the slot
// being read waits until the slot is imaged, and both images show the
// values of the instant.
func TestSnapshotWritesFlowWhileReading(t *testing.T) {
	addr, e := startSnapEngine(t, 2)
	// a: the lowest slot, read first; b: another slot.
	a, b := "", ""
	for i := 0; a == "" || b == ""; i++ {
		k := "{" + strconv.Itoa(i) + "}x"
		switch s := hash.Slot([]byte(k)); {
		case s < 100 && a == "":
			a = k
		case s > 8000 && b == "":
			b = k
		}
	}
	c := dial(t, addr)
	mustReply(t, c, "+OK", "set", a, "old")
	mustReply(t, c, "+OK", "set", b, "old")
	entered, release := make(chan struct{}), make(chan struct{})
	enc := func(dst []byte, en *keyspace.Entry) []byte {
		if string(en.Key) == a {
			close(entered)
			<-release
		}
		return testEntryEncoder(dst, en)
	}
	got := map[string]string{}
	var stats *snapStats
	done := make(chan error, 1)
	go func() {
		var err error
		stats, err = e.snapshot(enc, nil, func(_ int, data []byte) error {
			parseImage(data, func(k, v string) { got[k] = v })
			return nil
		})
		done <- err
	}()
	<-entered
	mustReply(t, c, "+OK", "set", b, "new") // answered while a is being read
	ca := dial(t, addr)
	ca.send(t, "set", a, "new")
	replied := make(chan string, 1)
	go func() {
		r, _ := ca.readReply()
		replied <- r
	}()
	select {
	case r := <-replied:
		t.Fatalf("write to the slot being read answered (%q) before it was imaged", r)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if r := <-replied; r != "+OK" {
		t.Fatalf("set %s: %q", a, r)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got[a] != "old" || got[b] != "old" || len(got) != 2 {
		t.Fatalf("images %q, want both old", got)
	}
	// b's slot: its key copied before the write, the slot held, then
	// given back and read with a's.
	if stats.read.Load() != 2 || stats.keys.Load() != 1 || stats.waited.Load() == 0 {
		t.Fatalf("read %d, keys copied %d, waited %d; want 2, 1, >0", stats.read.Load(), stats.keys.Load(), stats.waited.Load())
	}
	mustReply(t, c, "new", "get", a)
}

// TestSnapshotWholeKeyspaceCommands: FLUSHALL and SWAPDB (every loop
// parked, every slot imaged first) and slot moves between loops during
// snapshots leave the images at the instant.
func TestSnapshotWholeKeyspaceCommands(t *testing.T) {
	addr, e := startSnapEngine(t, 3)
	const nkeys = 2000
	c := dial(t, addr)
	for round := 0; round < 4; round++ {
		for db := 0; db < 2; db++ {
			mustReply(t, c, "+OK", "select", strconv.Itoa(db))
			loadKeys(t, c, nkeys)
		}
		stop := runWriters(t, addr, 2, func(w, i int) []string {
			return []string{"bump", "k" + strconv.Itoa(rand.IntN(nkeys))}
		})
		done := make(chan struct{})
		go func() {
			defer close(done)
			time.Sleep(time.Millisecond)
			cmd := []string{"flushall"}
			switch round % 3 {
			case 1:
				cmd = []string{"swapdb", "0", "1"}
			case 2:
				cmd = nil
				var slots []uint16
				for s := 0; s < 16384; s += 5 {
					slots = append(slots, uint16(s))
				}
				if err := e.MoveSlots(slots, round%3); err != nil {
					t.Error(err)
				}
			}
			if cmd != nil {
				wc := dial(t, addr)
				wc.send(t, cmd...)
				if r, err := wc.readReply(); err != nil || r != "+OK" {
					t.Errorf("%v: %q %v", cmd, r, err)
				}
			}
		}()
		snapCheck(t, e, slowEncoder(time.Microsecond))
		<-done
		stop()
	}
}

// TestSnapshotEmitError: an emit error ends the snapshot with that error,
// and the loops are released (writes keep working, a later snapshot is
// complete).
func TestSnapshotEmitError(t *testing.T) {
	addr, e := startSnapEngine(t, 2)
	c := dial(t, addr)
	loadKeys(t, c, 1000)
	boom := fmt.Errorf("disk full")
	calls := 0
	err := e.Snapshot(testEntryEncoder, nil, func(int, []byte) error {
		calls++
		return boom
	})
	if err != boom || calls != 1 {
		t.Fatalf("got %v after %d emits, want %v after 1", err, calls, boom)
	}
	mustReply(t, c, "+OK", "set", "k1", "x")
	snapCheck(t, e, testEntryEncoder)
}
