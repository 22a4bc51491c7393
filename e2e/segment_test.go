package e2e

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestDeepPipelineDiff sends one deep pipeline (thousands of commands
// whose keys alternate between loops, with runtime errors, and between
// blocks an unknown command, a wrong arity, SELECT and MSET) in a single write to both
// servers and compares every reply byte for byte: Basalt runs runs of
// such commands as one executor segment (loop/segment.go), which must not
// change replies or their order.
func TestDeepPipelineDiff(t *testing.T) {
	p := startPair(t)
	rnd := rand.New(rand.NewPCG(7, 9))
	var pipe []byte
	n := 0
	add := func(args ...string) {
		b := make([][]byte, len(args))
		for i, a := range args {
			b[i] = []byte(a)
		}
		pipe = AppendCommand(pipe, b)
		n++
	}
	// Blocks of plain keyed commands (runtime errors included), long
	// enough to become segments, separated by commands that end one.
	for block := 0; block < 6; block++ {
		for i := 0; i < 700; i++ {
			k := fmt.Sprintf("k%d", rnd.IntN(300))
			switch r := rnd.IntN(100); {
			case r < 35:
				add("SET", k, fmt.Sprint(i))
			case r < 55:
				add("GET", k)
			case r < 75:
				add("INCR", k) // WRONGTYPE / not an integer on some keys
			case r < 88:
				add("LPUSH", k, fmt.Sprint(i)) // WRONGTYPE on strings
			default:
				add("DEL", k)
			}
		}
		switch block % 3 {
		case 0:
			add("NOSUCHCOMMAND", "x")
		case 1:
			add("GET") // wrong arity
		default:
			add("SELECT", fmt.Sprint(block%2))
		}
		add("MSET", "k1", "a", "k2", "b", "k3", "c")
	}
	add("SELECT", "0")
	add("ECHO", "end-of-pipeline")
	var got [2][]byte
	txns := func(addr string) int64 {
		c, err := Dial(addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		info, err := c.DoStrings("INFO", "stats")
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		if i := bytes.Index(info, []byte("executor_transactions:")); i >= 0 {
			fmt.Sscanf(string(info[i+len("executor_transactions:"):]), "%d", &n)
		}
		return n
	}
	before := txns(p.tgt.addr)
	for side, addr := range []string{p.ref.addr, p.tgt.addr} {
		c, err := Dial(addr, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.WriteRaw(pipe); err != nil {
			t.Fatal(err)
		}
		var out []byte
		for i := 0; i < n; i++ {
			r, err := c.ReadReply()
			if err != nil {
				t.Fatalf("side %d: reply %d of %d: %v", side, i, n, err)
			}
			out = append(out, r...)
		}
		if !bytes.HasSuffix(out, []byte("$15\r\nend-of-pipeline\r\n")) {
			t.Fatalf("side %d: pipeline did not end with its ECHO", side)
		}
		got[side] = out
	}
	if suite.target == "basalt" {
		// How much of a block is buffered when the loop looks depends on
		// how the socket delivers the pipeline: at least one segment (the
		// MSETs over loops add transactions too; a block without them
		// would be 700 round trips).
		if d := txns(p.tgt.addr) - before; d < 1 {
			t.Errorf("executor transactions grew by %d: the blocks did not run as segments", d)
		}
	}
	if !bytes.Equal(got[0], got[1]) {
		i := 0
		for i < len(got[0]) && i < len(got[1]) && got[0][i] == got[1][i] {
			i++
		}
		lo := max(i-200, 0)
		t.Fatalf("replies differ at byte %d:\n redis  %q\n target %q", i, got[0][lo:min(i+200, len(got[0]))], got[1][lo:min(i+200, len(got[1]))])
	}
}
