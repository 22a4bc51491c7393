package loop

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/basaltdb/basalt/aof"
	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/config"
	"github.com/basaltdb/basalt/keyspace"
)

// replayEngine is an engine over the builtin command table that is never
// served: what start-up recovery replays into.
func replayEngine(tb testing.TB, loops int) *Engine {
	tb.Helper()
	cfg := config.Default()
	e, err := New(Options{Loops: loops, Table: command.Builtin(),
		Config: func() *config.Config { return cfg }, Logf: func(string, ...any) {}})
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

func cmd(args ...string) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = []byte(a)
	}
	return out
}

// lookup returns key's entry in database db, or nil.
func lookup(e *Engine, db int, key string) *keyspace.Entry {
	c := command.Ctx{Shards: e.shards, Slots: e.slots.Load(), DB: db}
	return c.Shard([]byte(key)).Lookup(db, []byte(key), 0)
}

func TestReplayerApply(t *testing.T) {
	e := replayEngine(t, 2)
	r := e.Replayer(1000)
	for _, c := range [][][]byte{
		cmd("SET", "a", "1"),
		cmd("set", "b", "2"),
		cmd("SeLeCt", "3"),
		cmd("SET", "c", "3"),
		cmd("INCR", "c"),
		cmd("HSET", "h", "f", "v"),
		cmd("LPUSH", "c", "x"), // a WRONGTYPE error reply is ignored, as Redis does
		cmd("select", "notanumber"),
		cmd("SET", "d", "4"),
		cmd("SELECT", "99"), // out of range: stays in database 3
		cmd("SET", "e", "5"),
		cmd("FLUSHDB"), // needs the whole keyspace: must be replayable
		cmd("SET", "f", "6"),
		cmd("select", "0"),
		cmd("DEL", "b"),
		cmd("OBJECT", "FREQ", "a"), // a subcommand spec: replies with an error, ignored
	} {
		if err := r.Apply(c); err != nil {
			t.Fatalf("%q: %v", c, err)
		}
	}
	r.Done()
	for _, k := range []struct {
		db   int
		key  string
		want string
	}{{0, "a", "1"}, {0, "b", ""}, {3, "c", ""}, {3, "d", ""}, {3, "e", ""}, {3, "f", "6"}, {0, "f", ""}} {
		got := ""
		if en := lookup(e, k.db, k.key); en != nil {
			got = string(en.Str)
		}
		if got != k.want {
			t.Errorf("db %d key %q = %q, want %q", k.db, k.key, got, k.want)
		}
	}
	// The shards' effect logs are the loops' again.
	for i, sh := range e.shards {
		if sh.Log != &e.loops[i].log {
			t.Errorf("shard %d: log not given back", i)
		}
	}
}

func TestReplayerApplyErrors(t *testing.T) {
	e := replayEngine(t, 1)
	r := e.Replayer(1000)
	defer r.Done()
	for _, c := range []struct {
		args [][]byte
		want string
	}{
		{nil, "empty command"},
		{cmd("NOSUCH", "x"), "Unknown command 'NOSUCH'"},
		{cmd("GET"), "wrong number of arguments for 'get'"},
		{cmd("ping"), "Unknown command 'ping'"}, // not a write a log can hold
		{cmd("SET", "k"), "wrong number of arguments for 'set'"},
		{cmd("select"), "Unknown command 'select'"}, // SELECT is only special with its argument
	} {
		err := r.Apply(c.args)
		if err == nil || err.Error() != c.want {
			t.Errorf("%q: error %v, want %q", c.args, err, c.want)
		}
	}
}

// writeMixedLog writes an AOF directory of n commands shaped like the
// persist benchmark's dataset (bench.PersistDataset: per 1000 keys 988
// SETs, 10 HSETs of 10 fields, an RPUSH of 100 and a ZADD of 200), as
// Basalt logs them, and returns the directory.
func writeMixedLog(tb testing.TB, n int) string {
	tb.Helper()
	dir := tb.TempDir()
	var b []byte
	arr := func(k int) {
		b = append(b, '*')
		b = strconv.AppendInt(b, int64(k), 10)
		b = append(b, "\r\n"...)
	}
	bulk := func(s string) {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(b, "\r\n"...)
		b = append(b, s...)
		b = append(b, "\r\n"...)
	}
	val := func(i int) string { return "v" + strings.Repeat("0", 9-len(strconv.Itoa(i%1e9))) + strconv.Itoa(i%1e9) }
	b = append(b, "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"...)
	for i := range n {
		switch {
		case i%100 == 1:
			arr(22)
			bulk("HSET")
			bulk("hash:" + strconv.Itoa(i))
			for f := range 10 {
				bulk("f" + strconv.Itoa(f))
				bulk(val(i*10 + f))
			}
		case i%1000 == 2:
			arr(102)
			bulk("RPUSH")
			bulk("list:" + strconv.Itoa(i))
			for k := range 100 {
				bulk(val(i*100 + k))
			}
		case i%1000 == 3:
			arr(402)
			bulk("ZADD")
			bulk("zset:" + strconv.Itoa(i))
			for m := range 200 {
				bulk(strconv.Itoa((i*200 + m) % 1000003))
				bulk("m" + strconv.Itoa(m))
			}
		default:
			arr(3)
			bulk("SET")
			bulk("key:" + strconv.Itoa(i))
			bulk(val(i))
		}
	}
	name := "appendonly.aof"
	if err := os.WriteFile(filepath.Join(dir, name+".1.incr.aof"), b, 0o644); err != nil {
		tb.Fatal(err)
	}
	manifest := "file " + name + ".1.incr.aof seq 1 type i\n"
	if err := os.WriteFile(filepath.Join(dir, name+".manifest"), []byte(manifest), 0o644); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// TestReplayMixedLog replays the benchmark's log end to end through
// aof.Load: every key arrives.
func TestReplayMixedLog(t *testing.T) {
	const n = 5000
	dir := writeMixedLog(t, n)
	e := replayEngine(t, 2)
	r := e.Replayer(1000)
	st, err := aof.Load(aof.Options{Dir: dir, FileName: "appendonly.aof"}, r.Apply)
	r.Done()
	if err != nil {
		t.Fatal(err)
	}
	if st.Commands != n+1 {
		t.Errorf("%d commands, want %d", st.Commands, n+1)
	}
	keys := 0
	for _, sh := range e.shards {
		keys += sh.Len(0)
	}
	if keys != n {
		t.Errorf("%d keys, want %d", keys, n)
	}
}

// BenchmarkReplay is start-up recovery of a 1M-key mixed log (the persist
// benchmark's AOF phase, without the process start): aof.Load feeding
// Replayer.Apply. Run with -benchtime 3x; -cpuprofile shows where it goes.
func BenchmarkReplay(b *testing.B) {
	n := 1000000
	if testing.Short() {
		n = 100000
	}
	dir := writeMixedLog(b, n)
	var cpu time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		e := replayEngine(b, 2)
		runtime.GC()
		c0 := cpuTime()
		b.StartTimer()
		r := e.Replayer(1000)
		if _, err := aof.Load(aof.Options{Dir: dir, FileName: "appendonly.aof"}, r.Apply); err != nil {
			b.Fatal(err)
		}
		r.Done()
		b.StopTimer()
		cpu += cpuTime() - c0
		b.StartTimer()
	}
	// CPU time (all threads, GC included) varies less than wall time on a
	// shared machine.
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestReplayerGCPercent: a replay raises the GC percent and Done puts the
// process's value back, also when replayers of two engines overlap in
// either order; a GOGC above the replay's (or off) is left alone.
func TestReplayerGCPercent(t *testing.T) {
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)
	e1, e2 := replayEngine(t, 1), replayEngine(t, 1)
	gc := func() int { p := debug.SetGCPercent(-1); debug.SetGCPercent(p); return p }

	r := e1.Replayer(0)
	if gc() != replayGCPercent {
		t.Fatalf("during replay: %d", gc())
	}
	r.Done()
	r.Done() // twice is harmless
	if gc() != 100 {
		t.Fatalf("after Done: %d", gc())
	}
	for _, firstDone := range []bool{true, false} {
		a, b := e1.Replayer(0), e2.Replayer(0)
		if firstDone {
			a.Done()
			b.Done()
		} else {
			b.Done()
			a.Done()
		}
		if gc() != 100 {
			t.Fatalf("overlapping replayers (first done first: %v): %d", firstDone, gc())
		}
	}
	for _, user := range []int{-1, 1000} {
		debug.SetGCPercent(user)
		r := e1.Replayer(0)
		if gc() != user {
			t.Fatalf("GOGC %d: %d during replay", user, gc())
		}
		r.Done()
		if gc() != user {
			t.Fatalf("GOGC %d: %d after", user, gc())
		}
	}
}

// TestReplayerLoadingMode: a replay puts every shard in loading mode and
// Done ends it; a BeginLoad nested in it (an AOF's RDB preamble) leaves
// the mode to the replayer.
func TestReplayerLoadingMode(t *testing.T) {
	e := replayEngine(t, 2)
	loading := func() int {
		n := 0
		for _, sh := range e.shards {
			if sh.Loading() != keyspace.NotLoading {
				n++
			}
		}
		return n
	}
	r := e.Replayer(0)
	if loading() != 2 {
		t.Fatalf("%d shards loading during a replay", loading())
	}
	end := e.BeginLoad(keyspace.LoadingSized)
	e.ReserveKeys(0, 1000000)
	end()
	if loading() != 2 {
		t.Fatal("a nested BeginLoad ended the replay's loading mode")
	}
	if e.shards[0].Loading() != keyspace.LoadingGrow {
		t.Fatal("a nested BeginLoad changed the replay's mode")
	}
	if err := r.Apply(cmd("SET", "k", "v")); err != nil {
		t.Fatal(err)
	}
	r.Done()
	if loading() != 0 {
		t.Fatalf("%d shards still loading after Done", loading())
	}
	if lookup(e, 0, "k") == nil {
		t.Fatal("key lost")
	}
	end = e.BeginLoad(keyspace.LoadingSized)
	if loading() != 2 {
		t.Fatal("BeginLoad")
	}
	end()
	if loading() != 0 {
		t.Fatal("end of BeginLoad")
	}
}
