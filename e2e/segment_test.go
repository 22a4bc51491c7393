package e2e

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestDeepPipelineDiff sends one deep pipeline (thousands of commands
// whose keys alternate between loops, with runtime errors, an unknown
// command and a wrong arity in the middle) in a single write to both
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
	for i := 0; i < 6000; i++ {
		k := fmt.Sprintf("k%d", rnd.IntN(300))
		switch r := rnd.IntN(100); {
		case r < 30:
			add("SET", k, fmt.Sprint(i))
		case r < 50:
			add("GET", k)
		case r < 65:
			add("INCR", k) // WRONGTYPE / not an integer on some keys
		case r < 75:
			add("LPUSH", k, fmt.Sprint(i)) // WRONGTYPE on strings
		case r < 85:
			add("DEL", k, fmt.Sprintf("k%d", rnd.IntN(300)))
		case r < 95:
			add("MSET", k, "x", fmt.Sprintf("k%d", rnd.IntN(300)), "y")
		case r < 97:
			add("NOSUCHCOMMAND", k)
		case r < 98:
			add("GET") // wrong arity
		default:
			add("SELECT", fmt.Sprint(rnd.IntN(2)))
		}
	}
	add("SELECT", "0")
	add("ECHO", "end-of-pipeline")
	var got [2][]byte
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
	if !bytes.Equal(got[0], got[1]) {
		i := 0
		for i < len(got[0]) && i < len(got[1]) && got[0][i] == got[1][i] {
			i++
		}
		lo := max(i-200, 0)
		t.Fatalf("replies differ at byte %d:\n redis  %q\n target %q", i, got[0][lo:min(i+200, len(got[0]))], got[1][lo:min(i+200, len(got[1]))])
	}
}
