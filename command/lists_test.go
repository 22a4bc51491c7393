package command

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/basaltdb/basalt/resp"
)

// listCtx builds the context doBytes would, for tests that look at the
// Ctx afterwards (Block) or set DenyBlocking.
func (e *testEnv) listCtx(args ...string) *Ctx {
	bargs := argsOf(strings.Join(args, " "))
	for _, s := range e.shards {
		s.Log = &e.log
	}
	return &Ctx{Args: bargs, Out: &resp.Writer{Proto: e.proto}, Log: &e.log, Shards: e.shards, Slots: &e.slots,
		DB: e.db, Now: e.now, Rand: uint64(e.now), MaxBulkLen: 512 << 20, Limits: &e.limits, Spec: e.table.Lookup(bargs[0])}
}

func TestListBasics(t *testing.T) {
	eachShards(t, func(t *testing.T, e *testEnv) {
		e.expect("RPUSH l a b c", ":3")
		e.expect("LPUSH l z", ":4")
		e.expect("OBJECT ENCODING l", "quicklist")
		e.expect("TYPE l", "+list")
		e.expect("LRANGE l 0 -1", "*4\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n")
		e.expect("LRANGE l -100 1", "*2\r\n$1\r\nz\r\n$1\r\na\r\n")
		e.expect("LRANGE l 5 10", "*0")
		e.expect("LRANGE l x 10", "-"+ErrNotInt)
		e.expect("LLEN l", ":4")
		e.expect("LINDEX l -1", "c")
		e.expect("LINDEX l 4", "$-1")
		e.expect("LSET l 1 A", "+OK")
		e.expect("LSET l 9 A", "-"+errListIndexRange)
		e.expect("LSET nokey 0 A", "-"+ErrNoSuchKey)
		e.expect("LINSERT l BEFORE b 1", ":5")
		e.expect("LINSERT l after nothere 1", ":-1")
		e.expect("LINSERT l middle b 1", "-"+ErrSyntax)
		e.expect("LREM l 0 1", ":1")
		e.expect("LPOS l c", ":3")
		e.expect("LPOP l", "z")
		e.expect("RPOP l 2", "*2\r\n$1\r\nc\r\n$1\r\nb\r\n")
		e.expect("LPOP l 0", "*0")
		e.expect("LPOP l 1 2", "-"+ArityError("lpop"))
		e.expect("LPOP l -1", "-"+errListPositive)
		e.expect("LPOP l 5", "*1\r\n$1\r\nA\r\n")
		e.expect("EXISTS l", ":0")
		e.expect("LPOP l", "$-1")
		e.expect("LPOP l 2", "*-1")
		e.expect("LPUSHX l a", ":0")
		e.expect("SET s x", "+OK")
		e.expect("LPUSH s a", "-"+ErrWrongType)
		e.expect("LPOS s a COUNT 0", "-"+ErrWrongType)
		e.expect("LPOS nokey a COUNT 0", "*0")
		e.expect("LPOS nokey a", "$-1")
		e.expect("LPOS nokey a RANK 0", "-"+errListRankZero)
		e.expect("LPOS nokey a COUNT x", "-"+errListCountNeg)
		e.expect("LPOS nokey a MAXLEN -1", "-"+errListMaxlenNeg)
		e.expect("LPOS nokey a RANK", "-"+ErrSyntax)
		e.proto = 3
		e.expect("LPOP nokey 2", "_")
		e.expect("LINDEX nokey 0", "_")
	})
}

func TestListLposRank(t *testing.T) {
	e := newTestEnv(t, 1)
	e.expect("RPUSH l a b a c a b a", ":7")
	e.expect("LPOS l a", ":0")
	e.expect("LPOS l a RANK 2", ":2")
	e.expect("LPOS l a RANK -1", ":6")
	e.expect("LPOS l a RANK -2 COUNT 2", "*2\r\n:4\r\n:2\r\n")
	e.expect("LPOS l a COUNT 0", "*4\r\n:0\r\n:2\r\n:4\r\n:6\r\n")
	e.expect("LPOS l a COUNT 0 MAXLEN 3", "*2\r\n:0\r\n:2\r\n")
	e.expect("LPOS l a RANK 5", "$-1")
	e.expect("LPOS l a RANK 5 COUNT 1", "*0")
	// -LONG_MIN wraps: every match qualifies, from the tail.
	e.expect("LPOS l a RANK -9223372036854775808", ":6")
	e.expect("LPOS l b RANK -9223372036854775808 COUNT 0", "*2\r\n:5\r\n:1\r\n")
}

func TestListTrimRemMove(t *testing.T) {
	eachShards(t, func(t *testing.T, e *testEnv) {
		e.expect("RPUSH l 1 2 3 4 5 6", ":6")
		e.expect("LTRIM l 1 -2", "+OK")
		e.expect("LRANGE l 0 -1", "*4\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n")
		e.keyEffects()
		e.expect("LTRIM l 0 -1", "+OK")
		e.keyExpectEffects("") // nothing removed, nothing recorded
		e.expect("LTRIM l 5 1", "+OK")
		e.keyExpectEffects("SELECT 0|LTRIM l 5 1")
		e.expect("EXISTS l", ":0")
		e.expect("RPUSH l a b a c a", ":5")
		e.expect("LREM l -2 a", ":2")
		e.expect("LRANGE l 0 -1", "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n")
		e.expect("LREM l -9223372036854775808 a", ":1")
		e.keyEffects()
		e.expect("LREM l 0 zz", ":0")
		e.keyExpectEffects("")
		// Rotation.
		e.expect("RPUSH r 1 2 3", ":3")
		e.expect("RPOPLPUSH r r", "3")
		e.expect("LMOVE r r LEFT RIGHT", "3")
		e.expect("LRANGE r 0 -1", "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n")
		e.expect("LMOVE r r right right", "3")
		e.expect("LMOVE r dst RIGHT LEFT", "3")
		e.expect("LMOVE r dst left LEFT", "1")
		e.expect("LRANGE dst 0 -1", "*2\r\n$1\r\n1\r\n$1\r\n3\r\n")
		e.expect("SET s x", "+OK")
		e.expect("LMOVE r s LEFT LEFT", "-"+ErrWrongType)
		e.expect("LMOVE nokey s LEFT LEFT", "$-1")
		e.expect("LMOVE r s UP LEFT", "-"+ErrSyntax)
		e.expect("LLEN r", ":1")
		e.keyEffects()
		e.expect("RPOPLPUSH r r2", "2")
		e.keyExpectEffects("SELECT 0|RPOPLPUSH r r2")
		e.expect("EXISTS r", ":0")
		// A one-element rotation keeps the key.
		e.expect("RPOPLPUSH r2 r2", "2")
		e.expect("LLEN r2", ":1")
	})
}

func TestListMpop(t *testing.T) {
	eachShards(t, func(t *testing.T, e *testEnv) {
		e.expect("RPUSH b 1 2 3", ":3")
		e.expect("LMPOP 2 a b RIGHT COUNT 2", "*2\r\n$1\r\nb\r\n*2\r\n$1\r\n3\r\n$1\r\n2\r\n")
		e.keyExpectEffects("SELECT 0|RPUSH b 1 2 3|RPOP b 2")
		e.expect("LMPOP 2 a b LEFT COUNT 10", "*2\r\n$1\r\nb\r\n*1\r\n$1\r\n1\r\n")
		e.keyExpectEffects("SELECT 0|LPOP b 1")
		e.expect("LMPOP 2 a b LEFT", "*-1")
		e.expect("LMPOP 0 a LEFT", "-"+errListNumkeys)
		e.expect("LMPOP x a LEFT", "-"+errListNumkeys)
		e.expect("LMPOP 2 a LEFT", "-"+ErrSyntax)
		e.expect("LMPOP 9223372036854775807 a LEFT", "-"+ErrSyntax)
		e.expect("LMPOP 1 a UP", "-"+ErrSyntax)
		e.expect("LMPOP 1 a LEFT COUNT 0", "-"+errListCountGT0)
		e.expect("LMPOP 1 a LEFT COUNT 1 COUNT 1", "-"+ErrSyntax)
		e.expect("LMPOP 1 a LEFT FOO", "-"+ErrSyntax)
		e.expect("SET s x", "+OK")
		e.expect("LMPOP 2 a s LEFT", "-"+ErrWrongType)
		e.expect("BLMPOP x 0 a LEFT", "-"+errListNumkeys)
		e.expect("BLMPOP x 1 a LEFT", "-ERR timeout is not a float or out of range")
	})
	spec := Builtin().Lookup([]byte("blmpop"))
	if got := spec.Keys(argsOf("BLMPOP 0 2 a b LEFT"), nil); fmt.Sprint(got) != "[3 4]" {
		t.Fatalf("BLMPOP keys %v", got)
	}
	if got := spec.Keys(argsOf("BLMPOP 0 3 a b LEFT"), nil); len(got) != 0 {
		t.Fatalf("BLMPOP bad numkeys keys %v", got)
	}
}

func TestListBlocking(t *testing.T) {
	eachShards(t, func(t *testing.T, e *testEnv) {
		e.expect("BLPOP a 0", "") // blocks: no reply
		c := e.listCtx("BLPOP", "a", "b", "1.5")
		c.Spec.Run(c)
		if !c.Blocked || len(c.BlockKeys) != 2 || c.BlockDeadline != e.now+1500 || len(c.Out.B) != 0 {
			t.Fatalf("BLPOP blocked=%v keys=%q deadline=%d reply=%q", c.Blocked, c.BlockKeys, c.BlockDeadline, c.Out.B)
		}
		for _, cmd := range []string{"BLPOP a 0", "BRPOP a b 0", "BLMPOP 0 1 a LEFT"} {
			c = e.listCtx(strings.Fields(cmd)...)
			c.DenyBlocking = true
			c.Spec.Run(c)
			if c.Blocked || string(c.Out.B) != "*-1\r\n" {
				t.Fatalf("%s in MULTI: %q", cmd, c.Out.B)
			}
		}
		for _, cmd := range []string{"BLMOVE a b LEFT LEFT 0", "BRPOPLPUSH a b 0"} {
			c = e.listCtx(strings.Fields(cmd)...)
			c.DenyBlocking = true
			c.Spec.Run(c)
			if c.Blocked || string(c.Out.B) != "$-1\r\n" {
				t.Fatalf("%s in MULTI: %q", cmd, c.Out.B)
			}
		}
		c = e.listCtx("BLMOVE", "a", "b", "LEFT", "RIGHT", "0")
		c.Spec.Run(c)
		if !c.Blocked || len(c.BlockKeys) != 1 || string(c.BlockKeys[0]) != "a" || c.BlockDeadline != 0 {
			t.Fatalf("BLMOVE blocked=%v keys=%q", c.Blocked, c.BlockKeys)
		}
		e.expect("BLPOP a -1", "-ERR timeout is negative")
		e.expect("BLPOP a inf", "-ERR timeout is negative")
		e.expect("BLPOP a 1e400", "-ERR timeout is negative")
		e.expect("BLPOP a nan", "-ERR timeout is not a float or out of range")
		e.expect("BLMOVE a b LEFT UP x", "-"+ErrSyntax)
		e.expect("BLMOVE a b LEFT LEFT x", "-ERR timeout is not a float or out of range")
		e.expect("BRPOPLPUSH a b x", "-ERR timeout is not a float or out of range")

		// Served at once.
		e.log.Reset()
		e.expect("RPUSH b 1 2 3", ":3")
		e.expect("BLPOP a b 0", "*2\r\n$1\r\nb\r\n$1\r\n1\r\n")
		e.expect("BRPOP a b 0", "*2\r\n$1\r\nb\r\n$1\r\n3\r\n")
		e.expect("BLMOVE b a RIGHT LEFT 0", "2")
		e.expect("BRPOPLPUSH a c 0", "2")
		e.expect("BLMPOP 0 2 x c RIGHT COUNT 5", "*2\r\n$1\r\nc\r\n*1\r\n$1\r\n2\r\n")
		e.keyExpectEffects("SELECT 0|RPUSH b 1 2 3|LPOP b|RPOP b|LMOVE b a RIGHT LEFT|RPOPLPUSH a c|RPOP c 1")
		e.expect("DBSIZE", ":0")
		e.expect("SET s x", "+OK")
		e.expect("BLPOP a s 0", "-"+ErrWrongType)
		e.expect("RPUSH a 1", ":1")
		e.expect("BLPOP s a 0", "-"+ErrWrongType)
		e.expect("BLMOVE a s LEFT LEFT 0", "-"+ErrWrongType)
	})
}

func TestListServe(t *testing.T) {
	eachShards(t, func(t *testing.T, e *testEnv) {
		serve := func(key string, args ...string) (bool, string) {
			c := e.listCtx(args...)
			ok := c.Spec.Serve(c, []byte(key))
			return ok, string(c.Out.B)
		}
		if ok, out := serve("a", "BLPOP", "a", "b", "0"); ok || out != "" {
			t.Fatalf("serve of a missing key: %v %q", ok, out)
		}
		e.expect("SET s x", "+OK")
		if ok, out := serve("s", "BLPOP", "s", "0"); ok || out != "" {
			t.Fatalf("serve of a string: %v %q", ok, out)
		}
		e.expect("RPUSH b 1 2 3 4 5 6", ":6")
		e.log.Reset()
		if ok, out := serve("b", "BLPOP", "a", "b", "0"); !ok || out != "*2\r\n$1\r\nb\r\n$1\r\n1\r\n" {
			t.Fatalf("BLPOP serve: %v %q", ok, out)
		}
		if ok, out := serve("b", "BRPOP", "a", "b", "0"); !ok || out != "*2\r\n$1\r\nb\r\n$1\r\n6\r\n" {
			t.Fatalf("BRPOP serve: %v %q", ok, out)
		}
		if ok, out := serve("b", "BLMPOP", "0", "2", "a", "b", "LEFT", "COUNT", "2"); !ok || out != "*2\r\n$1\r\nb\r\n*2\r\n$1\r\n2\r\n$1\r\n3\r\n" {
			t.Fatalf("BLMPOP serve: %v %q", ok, out)
		}
		if ok, out := serve("b", "BLMOVE", "b", "d", "LEFT", "RIGHT", "0"); !ok || out != "$1\r\n4\r\n" {
			t.Fatalf("BLMOVE serve: %v %q", ok, out)
		}
		if ok, out := serve("b", "BLMOVE", "b", "s", "LEFT", "RIGHT", "0"); !ok || out != "-"+ErrWrongType+"\r\n" {
			t.Fatalf("BLMOVE serve into a string: %v %q", ok, out)
		}
		if ok, out := serve("b", "BRPOPLPUSH", "b", "d", "0"); !ok || out != "$1\r\n5\r\n" {
			t.Fatalf("BRPOPLPUSH serve: %v %q", ok, out)
		}
		e.keyExpectEffects("SELECT 0|LPOP b|RPOP b|LPOP b 2|LMOVE b d LEFT RIGHT|RPOPLPUSH b d")
		e.expect("EXISTS b", ":0")
		e.expect("LRANGE d 0 -1", "*2\r\n$1\r\n5\r\n$1\r\n4\r\n")
	})
}

// TestListReplay: a random workload replayed from its effects gives the
// same lists.
func TestListReplay(t *testing.T) {
	src := newTestEnv(t, 3)
	src.limits.ListMaxListpackSize = 2 // many small nodes
	r := rand.New(rand.NewPCG(7, 8))
	keys := []string{"a", "b", "c"}
	k := func() string { return keys[r.IntN(len(keys))] }
	v := func() string { return strconv.Itoa(r.IntN(6)) }
	n := func() string { return strconv.Itoa(r.IntN(9) - 4) }
	for i := 0; i < 5000; i++ {
		var cmd []string
		switch r.IntN(16) {
		case 0:
			cmd = []string{"RPUSH", k(), v(), v()}
		case 1:
			cmd = []string{"LPUSH", k(), v()}
		case 2:
			cmd = []string{"LPUSHX", k(), v()}
		case 3:
			cmd = []string{"LPOP", k()}
		case 4:
			cmd = []string{"RPOP", k(), strconv.Itoa(r.IntN(3))}
		case 5:
			cmd = []string{"LSET", k(), n(), v()}
		case 6:
			cmd = []string{"LTRIM", k(), n(), n()}
		case 7:
			cmd = []string{"LREM", k(), n(), v()}
		case 8:
			cmd = []string{"LINSERT", k(), "BEFORE", v(), v()}
		case 9:
			cmd = []string{"LMOVE", k(), k(), "LEFT", "RIGHT"}
		case 10:
			cmd = []string{"RPOPLPUSH", k(), k()}
		case 11:
			cmd = []string{"LMPOP", "2", k(), k(), "RIGHT", "COUNT", "2"}
		case 12:
			cmd = []string{"BLPOP", k(), k(), "0"}
		case 13:
			cmd = []string{"BLMOVE", k(), k(), "RIGHT", "LEFT", "0"}
		case 14:
			cmd = []string{"BLMPOP", "0", "1", k(), "LEFT", "COUNT", "3"}
		default:
			cmd = []string{"RPUSH", k(), v(), v(), v()}
		}
		c := src.listCtx(cmd...)
		c.DenyBlocking = true
		c.Spec.Run(c)
	}
	dst := newTestEnv(t, 1)
	dst.replay(t, src.log.B)
	for _, k := range keys {
		if a, b := src.do("LRANGE", k, "0", "-1"), dst.do("LRANGE", k, "0", "-1"); a != b {
			t.Fatalf("%s: source %q, replayed %q", k, a, b)
		}
	}
}

// TestListModelCommands drives the commands with random arguments
// against a [][]byte model of three lists.
func TestListModelCommands(t *testing.T) {
	e := newTestEnv(t, 2)
	e.limits.ListMaxListpackSize = 3
	r := rand.New(rand.NewPCG(3, 4))
	model := map[string][][]byte{}
	for i := 0; i < 20000; i++ {
		key := "k" + strconv.Itoa(r.IntN(3))
		val := strconv.Itoa(r.IntN(5))
		switch r.IntN(4) {
		case 0:
			e.do("RPUSH", key, val)
			model[key] = append(model[key], []byte(val))
		case 1:
			e.do("LPUSH", key, val)
			model[key] = append([][]byte{[]byte(val)}, model[key]...)
		case 2:
			got := e.do("LPOP", key)
			if len(model[key]) == 0 {
				if got != "$-1\r\n" {
					t.Fatalf("#%d LPOP %s: %q", i, key, got)
				}
				continue
			}
			if short(got) != string(model[key][0]) {
				t.Fatalf("#%d LPOP %s: %q want %q", i, key, got, model[key][0])
			}
			model[key] = model[key][1:]
		default:
			start, stop := r.IntN(20)-10, r.IntN(20)-10
			got := e.do("LRANGE", key, strconv.Itoa(start), strconv.Itoa(stop))
			m := model[key]
			var want bytes.Buffer
			s, en, ok := clampRange(int64(start), int64(stop), int64(len(m)))
			if !ok {
				want.WriteString("*0\r\n")
			} else {
				fmt.Fprintf(&want, "*%d\r\n", en-s+1)
				for _, x := range m[s : en+1] {
					fmt.Fprintf(&want, "$%d\r\n%s\r\n", len(x), x)
				}
			}
			if got != want.String() {
				t.Fatalf("#%d LRANGE %s %d %d: %q want %q", i, key, start, stop, got, want.String())
			}
		}
	}
}

// TestListNoAlloc: the hot commands do not allocate once warm.
func TestListNoAlloc(t *testing.T) {
	e := newTestEnv(t, 1)
	for i := 0; i < 1000; i++ {
		e.do("RPUSH", "l", "element-"+strconv.Itoa(i), strconv.Itoa(i))
	}
	run := func(args ...string) float64 {
		c := e.listCtx(args...)
		out := c.Out
		return testing.AllocsPerRun(200, func() {
			out.Reset()
			e.log.Reset()
			c.Spec.Run(c)
		})
	}
	for _, cmd := range [][]string{
		{"LRANGE", "l", "0", "99"},
		{"LRANGE", "l", "-100", "-1"},
		{"LINDEX", "l", "500"},
		{"LLEN", "l"},
		{"LPOS", "l", "element-999"},
	} {
		if n := run(cmd...); n > 0 {
			t.Errorf("%q: %.1f allocations", cmd, n)
		}
	}
	// A push and a pop in turn keep the list as it is.
	c1, c2 := e.listCtx("LPUSH", "l", "x"), e.listCtx("RPOP", "l")
	if n := testing.AllocsPerRun(1000, func() {
		c1.Out.Reset()
		c2.Out.Reset()
		e.log.Reset()
		c1.Spec.Run(c1)
		c2.Spec.Run(c2)
	}); n > 0.1 {
		t.Errorf("LPUSH+RPOP: %.2f allocations", n)
	}
}

func BenchmarkListLrange100(b *testing.B) {
	e := newTestEnv(&testing.T{}, 1)
	for i := 0; i < 10000; i++ {
		e.do("LPUSH", "l", "xxx")
	}
	c := e.listCtx("LRANGE", "l", "0", "99")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c.Out.Reset()
		c.Spec.Run(c)
	}
}
