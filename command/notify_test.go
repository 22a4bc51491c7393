package command

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/basaltdb/basalt/internal/hash"
	"github.com/basaltdb/basalt/resp"
)

// eventRecorder is an Events that records what handlers report.
type eventRecorder struct {
	events   []string // "event key db", as the golden file writes them
	modified []string // "key db" of each Modified call
	flushed  []string // "db keys-present-at-the-call"
	swapped  []string
	env      *testEnv
}

func (r *eventRecorder) Modified(db int, key []byte) {
	r.modified = append(r.modified, fmt.Sprintf("%s %d", key, db))
}

func (r *eventRecorder) Notify(class NotifyClass, event string, db int, key []byte) {
	if want := notifyClassOf(event); want != class {
		r.env.t.Errorf("event %q emitted with class %#x, want %#x", event, class, want)
	}
	r.events = append(r.events, fmt.Sprintf("%s %s %d", event, key, db))
}

func (r *eventRecorder) Flushed(db int) {
	n := 0
	for _, sh := range r.env.shards {
		for d := 0; d < sh.Databases(); d++ {
			if db < 0 || d == db {
				n += sh.Len(d)
			}
		}
	}
	r.flushed = append(r.flushed, fmt.Sprintf("%d %d", db, n))
}

func (r *eventRecorder) Swapped(db1, db2 int) {
	r.swapped = append(r.swapped, fmt.Sprintf("%d %d", db1, db2))
}

// notifyClassOf is the class Redis emits each event with.
func notifyClassOf(event string) NotifyClass {
	switch event {
	case "new":
		return NotifyNew
	case "keymiss":
		return NotifyKeyMiss
	case "expired":
		return NotifyExpired
	case "del", "rename_from", "rename_to", "expire", "persist", "move_from", "move_to",
		"copy_to", "restore":
		return NotifyGeneric
	case "set", "setrange", "incrby", "incrbyfloat", "append", "setbit":
		return NotifyString
	case "lpush", "rpush", "lpop", "rpop", "linsert", "lset", "lrem", "ltrim", "sortstore":
		return NotifyList
	case "hset", "hdel", "hincrby", "hincrbyfloat":
		return NotifyHash
	case "sadd", "srem", "spop", "sinterstore", "sunionstore", "sdiffstore":
		return NotifySet
	case "zadd", "zincr", "zrem", "zremrangebyscore", "zremrangebyrank", "zremrangebylex",
		"zpopmin", "zpopmax", "zunionstore", "zinterstore", "zdiffstore", "zrangestore",
		"georadiusstore", "geosearchstore":
		return NotifyZset
	case "pfadd":
		return NotifyString
	}
	return 0
}

// splitCommand splits a golden-file command line on spaces; a
// double-quoted word may hold Go escapes (\x00, \n).
func splitCommand(t *testing.T, line string) [][]byte {
	var out [][]byte
	for line = strings.TrimSpace(line); line != ""; line = strings.TrimSpace(line) {
		if line[0] == '"' {
			end := 1
			for end < len(line) && line[end] != '"' {
				if line[end] == '\\' {
					end++
				}
				end++
			}
			s, err := strconv.Unquote(line[:end+1])
			if err != nil {
				t.Fatalf("bad quoted word in %q: %v", line, err)
			}
			out = append(out, []byte(s))
			line = line[end+1:]
			continue
		}
		i := strings.IndexByte(line, ' ')
		if i < 0 {
			i = len(line)
		}
		out = append(out, []byte(line[:i]))
		line = line[i:]
	}
	return out
}

type blockedCmd struct {
	spec *Spec
	args [][]byte
	keys [][]byte
	db   int
}

// TestNotifyGolden replays testdata/notify.golden, recorded from a real
// redis-server 7.0.15 with notify-keyspace-events EAmn (keyevent channel:
// every event with its key and db, "new" and "keymiss" included; active
// expiry off), and checks that every command reports the same keyspace
// events in the same order. A line "&cmd" runs a blocking command that
// parks until a later command serves it; "sleep N" advances the clock.
// testdata/notify_oracle.py re-records the file from a redis-server.
func TestNotifyGolden(t *testing.T) {
	f, err := os.Open("testdata/notify.golden")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type step struct {
		cmd  string
		want []string
		line int
	}
	var steps []step
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		if strings.HasPrefix(l, "    ") {
			steps[len(steps)-1].want = append(steps[len(steps)-1].want, strings.TrimSpace(l))
			continue
		}
		i := strings.Index(l, " -> ")
		if i < 0 {
			t.Fatalf("line %d: no reply: %q", n, l)
		}
		steps = append(steps, step{cmd: l[:i], line: n})
	}
	e := newTestEnv(t, 3)
	rec := &eventRecorder{env: e}
	for _, sh := range e.shards {
		sh.Expired = func(db int, key []byte) {
			rec.Notify(NotifyExpired, "expired", db, key)
			rec.Modified(db, key)
		}
	}
	var blocked []blockedCmd
	run := func(args [][]byte, db int) *Ctx {
		spec := e.table.Lookup(args[0])
		if spec == nil {
			t.Fatalf("unknown command %q", args[0])
		}
		for _, s := range e.shards {
			s.Log = &e.log
		}
		c := &Ctx{Args: args, Out: &resp.Writer{Proto: e.proto}, Log: &e.log, Shards: e.shards, Slots: &e.slots,
			DB: db, Now: e.now, Rand: uint64(e.now), MaxBulkLen: 512 << 20, Limits: &e.limits, Spec: spec,
			Events: rec}
		if spec.ArityOK(len(args)) {
			spec.Run(c)
		}
		return c
	}
	mismatches := 0
	for _, st := range steps {
		rec.events, rec.modified = rec.events[:0], rec.modified[:0]
		args := splitCommand(t, st.cmd)
		name := strings.ToLower(string(args[0]))
		switch {
		case name == "select":
			e.db, _ = strconv.Atoi(string(args[1]))
		case name == "sleep":
			ms, _ := strconv.Atoi(string(args[1]))
			e.now += int64(ms)
		case strings.HasPrefix(name, "&"):
			args[0] = args[0][1:]
			c := run(args, e.db)
			if c.Blocked {
				keys := make([][]byte, len(c.BlockKeys))
				for i, k := range c.BlockKeys {
					keys[i] = append([]byte(nil), k...)
				}
				blocked = append(blocked, blockedCmd{spec: c.Spec, args: args, keys: keys, db: e.db})
			}
		default:
			run(args, e.db)
			// Serve the parked clients whose keys may be ready, as the
			// loop does after each command.
			for i := 0; i < len(blocked); i++ {
				b := blocked[i]
				for _, k := range b.keys {
					if e.shards[e.slots[hash.Slot(k)]].LookupNoTouch(b.db, k, e.now) == nil {
						continue
					}
					c := &Ctx{Args: b.args, Out: &resp.Writer{Proto: e.proto}, Log: &e.log, Shards: e.shards,
						Slots: &e.slots, DB: b.db, Now: e.now, Rand: uint64(e.now), MaxBulkLen: 512 << 20,
						Limits: &e.limits, Spec: b.spec, Events: rec}
					if b.spec.Serve(c, k) {
						blocked = append(blocked[:i], blocked[i+1:]...)
						i--
						break
					}
				}
			}
		}
		got := strings.Join(rec.events, "\n")
		want := strings.Join(st.want, "\n")
		if got != want {
			mismatches++
			t.Errorf("line %d: %s\n got: %q\nwant: %q", st.line, st.cmd, rec.events, st.want)
		}
		checkModified(t, st.line, st.cmd, rec)
	}
	if mismatches > 0 {
		t.Logf("%d of %d commands differ", mismatches, len(steps))
	}
}

// checkModified checks that a command signalled (Modified) exactly the
// keys it reported a write event for: WATCH and tracking see the same
// changes as notifications do.
func checkModified(t *testing.T, line int, cmd string, rec *eventRecorder) {
	t.Helper()
	want := map[string]bool{}
	for _, ev := range rec.events {
		f := strings.Fields(ev)
		if f[0] == "new" || f[0] == "keymiss" {
			continue
		}
		want[f[1]+" "+f[2]] = true
	}
	got := map[string]bool{}
	for _, m := range rec.modified {
		got[m] = true
	}
	for k := range want {
		if !got[k] {
			t.Errorf("line %d: %s: event for %q without Modified", line, cmd, k)
		}
	}
	for k := range got {
		if !want[k] && !modifiedWithoutEvent(cmd) {
			t.Errorf("line %d: %s: Modified %q without an event", line, cmd, k)
		}
	}
}

// modifiedWithoutEvent lists the commands Redis signals a modified key
// for without a keyspace event: PFCOUNT refreshing its cached cardinality.
func modifiedWithoutEvent(cmd string) bool {
	return strings.HasPrefix(strings.ToLower(cmd), "pfcount ")
}

// TestNotifyFlushSwap checks that FLUSHDB and FLUSHALL report Flushed
// while the keys are still there (listeners look up the watched keys),
// and SWAPDB reports Swapped for two different databases only.
func TestNotifyFlushSwap(t *testing.T) {
	e := newTestEnv(t, 3)
	rec := &eventRecorder{env: e}
	run := func(db int, args ...string) {
		bargs := make([][]byte, len(args))
		for i, a := range args {
			bargs[i] = []byte(a)
		}
		spec := e.table.Lookup(bargs[0])
		c := &Ctx{Args: bargs, Out: &resp.Writer{Proto: 2}, Log: &e.log, Shards: e.shards, Slots: &e.slots,
			DB: db, Now: e.now, Limits: &e.limits, Spec: spec, Events: rec}
		spec.Run(c)
	}
	for _, k := range []string{"a", "b", "c", "d"} {
		run(0, "set", k, "v")
	}
	run(1, "set", "x", "v")
	run(1, "flushdb")
	run(0, "flushdb", "bogus") // syntax error: nothing flushed
	run(0, "swapdb", "0", "2")
	run(0, "swapdb", "3", "3")
	run(0, "swapdb", "0", "99")
	run(2, "flushall")
	if got, want := strings.Join(rec.flushed, ","), "1 1,-1 4"; got != want {
		t.Errorf("Flushed calls %q, want %q", got, want)
	}
	if got, want := strings.Join(rec.swapped, ","), "0 2"; got != want {
		t.Errorf("Swapped calls %q, want %q", got, want)
	}
}

// TestNotifyQuietWithoutListener checks that handlers run with Events
// nil (nobody listens) exactly as before: no panic on any path that
// reports events.
func TestNotifyQuietWithoutListener(t *testing.T) {
	e := newTestEnv(t, 3)
	for _, cmd := range []string{
		"set a 1 ex 100", "incr a", "rename a b", "copy b c db 1", "move c 2", "expire b 0",
		"rpush l x y", "lmove l l2 left right", "ltrim l 1 0", "sadd s a", "smove s s2 a",
		"zadd z 1 a", "zpopmin z", "hset h f v", "hdel h f", "pfadd p a", "pfmerge p2 p",
		"sort l2 store l3", "bitop not b l3", "geoadd g 1 1 m", "restore r 0 x", "flushall",
	} {
		e.do(strings.Fields(cmd)...)
	}
}
