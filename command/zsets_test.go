package command

import (
	"strings"
	"testing"

	"github.com/basaltdb/basalt/resp"
)

// zsetCtx builds a Ctx for args on e, as doBytes does, without running it.
func zsetCtx(e *testEnv, args ...string) (*Ctx, *resp.Writer) {
	bargs := make([][]byte, len(args))
	for i, a := range args {
		bargs[i] = []byte(a)
	}
	w := &resp.Writer{Proto: e.proto}
	spec := e.table.Lookup(bargs[0])
	for _, s := range e.shards {
		s.Log = &e.log
	}
	return &Ctx{Args: bargs, Out: w, Log: &e.log, Shards: e.shards, Slots: &e.slots, DB: e.db,
		Now: e.now, Rand: uint64(e.now), MaxBulkLen: 512 << 20, Limits: &e.limits, Spec: spec}, w
}

func TestZsetBasics(t *testing.T) {
	e := newTestEnv(t, 3)
	e.expect("ZADD z 1 a 2 b 3 c", ":3")
	e.expect("ZSCORE z b", "2")
	e.expect("ZRANGE z 0 -1", "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n")
	e.expect("ZADD z INCR 0.5 a", "1.5")
	e.expect("ZRANK z a", ":0")
	e.expect("ZREVRANK z a", ":2")
	e.expect("ZUNIONSTORE d 2 z z", ":3")
	e.expect("ZSCORE d c", "6")
	e.expect("ZPOPMAX z", "*2\r\n$1\r\nc\r\n$1\r\n3\r\n")
	e.expect("ZREM z a b", ":2")
	e.expect("EXISTS z", ":0")
	e.expect("SET s x", "+OK")
	e.expect("ZADD s 1 a", "-"+ErrWrongType)
}

func TestZsetEffects(t *testing.T) {
	e := newTestEnv(t, 1)
	e.log.Reset()
	e.do("ZADD", "z", "1", "a", "2", "b")
	e.do("ZADD", "z", "NX", "5", "a") // no change: no effect
	e.do("ZPOPMIN", "z")
	e.do("ZMPOP", "1", "z", "MAX", "COUNT", "9")
	got := string(e.log.B)
	for _, want := range []string{"ZADD", "ZPOPMIN\r\n$1\r\nz\r\n$1\r\n1", "ZPOPMAX\r\n$1\r\nz\r\n$1\r\n1"} {
		if !strings.Contains(got, want) {
			t.Fatalf("effects %q lack %q", got, want)
		}
	}
	if strings.Count(got, "ZADD") != 1 {
		t.Fatalf("no-op ZADD logged: %q", got)
	}
}

func TestZsetBlocking(t *testing.T) {
	e := newTestEnv(t, 2)
	c, w := zsetCtx(e, "BZPOPMIN", "k1", "k2", "0")
	c.Spec.Run(c)
	if !c.Blocked || len(w.B) != 0 || len(c.BlockKeys) != 2 || c.BlockDeadline != 0 {
		t.Fatalf("BZPOPMIN on empty keys: blocked=%v reply=%q keys=%d", c.Blocked, w.B, len(c.BlockKeys))
	}
	c, _ = zsetCtx(e, "BZPOPMAX", "k1", "1.5")
	c.Spec.Run(c)
	if !c.Blocked || c.BlockDeadline != e.now+1500 {
		t.Fatalf("deadline %d", c.BlockDeadline)
	}
	c, w = zsetCtx(e, "BZPOPMIN", "k1", "0")
	c.DenyBlocking = true
	c.Spec.Run(c)
	if c.Blocked || string(w.B) != "*-1\r\n" {
		t.Fatalf("DenyBlocking: %q", w.B)
	}

	// Serve: nothing there yet.
	c, w = zsetCtx(e, "BZPOPMIN", "k1", "k2", "0")
	if c.Spec.Serve(c, []byte("k2")) || len(w.B) != 0 {
		t.Fatalf("Serve on empty key: %q", w.B)
	}
	e.expect("ZADD k2 1 a 2 b", ":2")
	e.log.Reset()
	c, w = zsetCtx(e, "BZPOPMIN", "k1", "k2", "0")
	if !c.Spec.Serve(c, []byte("k2")) {
		t.Fatal("Serve did not serve")
	}
	if string(w.B) != "*3\r\n$2\r\nk2\r\n$1\r\na\r\n$1\r\n1\r\n" {
		t.Fatalf("Serve reply %q", w.B)
	}
	if !strings.Contains(string(e.log.B), "ZPOPMIN") {
		t.Fatalf("Serve effect %q", e.log.B)
	}
	c, w = zsetCtx(e, "BZMPOP", "0", "2", "k1", "k2", "MAX", "COUNT", "5")
	if !c.Spec.Serve(c, []byte("k2")) {
		t.Fatal("BZMPOP Serve did not serve")
	}
	if string(w.B) != "*2\r\n$2\r\nk2\r\n*1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n" {
		t.Fatalf("BZMPOP Serve reply %q", w.B)
	}
	e.expect("EXISTS k2", ":0")
	e.expect("SET k1 str", "+OK")
	c, w = zsetCtx(e, "BZPOPMIN", "k1", "0")
	if c.Spec.Serve(c, []byte("k1")) || len(w.B) != 0 {
		t.Fatalf("Serve on a string: %q", w.B)
	}
	// Served at once when data is there.
	e.expect("ZADD k3 5 x", ":1")
	c, w = zsetCtx(e, "BZMPOP", "0", "2", "nokey", "k3", "MIN")
	c.Spec.Run(c)
	if c.Blocked || string(w.B) != "*2\r\n$2\r\nk3\r\n*1\r\n*2\r\n$1\r\nx\r\n$1\r\n5\r\n" {
		t.Fatalf("BZMPOP immediate: blocked=%v %q", c.Blocked, w.B)
	}
}

func TestZsetKeys(t *testing.T) {
	tb := Builtin()
	cases := []struct {
		cmd  string
		want []int
	}{
		{"ZUNIONSTORE d 2 a b WEIGHTS 1 2", []int{1, 3, 4}},
		{"ZINTER 2 a b", []int{2, 3}},
		{"ZMPOP 1 a MIN", []int{2}},
		{"BZMPOP 0 2 a b MIN", []int{3, 4}},
		{"BZPOPMIN a b 0", []int{1, 2}},
		{"ZRANGESTORE d s 0 -1", []int{1, 2}},
		{"ZUNION 9 a", []int{2}},
	}
	for _, tc := range cases {
		f := strings.Fields(tc.cmd)
		args := make([][]byte, len(f))
		for i, a := range f {
			args[i] = []byte(a)
		}
		got := tb.Lookup(args[0]).Keys(args, nil)
		if len(got) != len(tc.want) {
			t.Fatalf("%s: keys %v want %v", tc.cmd, got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Fatalf("%s: keys %v want %v", tc.cmd, got, tc.want)
			}
		}
	}
}
