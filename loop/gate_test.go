package loop

import (
	"net"
	"strconv"
	"testing"
	"time"
)

// expectSilence fails if c receives anything within d.
func expectSilence(t *testing.T, c *rawClient, d time.Duration, what string) {
	t.Helper()
	c.c.SetReadDeadline(time.Now().Add(d))
	var b [64]byte
	n, err := c.c.Read(b[:])
	if n > 0 {
		t.Fatalf("%s: got %q before the log was durable", what, b[:n])
	}
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("%s: %v", what, err)
	}
	c.c.SetReadDeadline(time.Time{})
}

// TestReplyGate: with gating on, a write's reply, and the reply of a read
// that saw it (on the same loop or from another loop's client), leave only
// once the write's log position is durable; replies keep pipeline order.
func TestReplyGate(t *testing.T) {
	addr, e, rec := startEngine(t, 2)
	rec.gating.Store(true)
	e.SetReplyGate(true)
	keys := keysOnLoops(e, 2)
	k0, k1 := keys[0][0], keys[1][0]

	w := dial(t, addr)
	w.c.Write(append(encode("SET", k0, "a"), encode("SET", k1, "b")...))
	expectSilence(t, w, 150*time.Millisecond, "SET replies")
	seqs := rec.last()
	if seqs == 0 {
		t.Fatal("no effect batch handed off")
	}

	// A reader on any connection sees the values, but its reply waits too.
	r := dial(t, addr)
	r.c.Write(append(encode("GET", k0), encode("GET", k1)...))
	expectSilence(t, r, 150*time.Millisecond, "GET of not yet durable writes")

	e.Durable(seqs)
	for _, want := range []string{"+OK", "+OK"} {
		if got, err := w.readReply(); err != nil || got != want {
			t.Fatalf("SET reply %q %v, want %q", got, err, want)
		}
	}
	for _, want := range []string{"a", "b"} {
		if got, err := r.readReply(); err != nil || got != want {
			t.Fatalf("GET reply %q %v, want %q", got, err, want)
		}
	}

	// A cross-loop multi-key write (transaction executor) is gated too.
	w.c.Write(encode("MSET", k0, "x", k1, "y"))
	expectSilence(t, w, 150*time.Millisecond, "MSET reply")
	e.Durable(rec.last())
	if got, err := w.readReply(); err != nil || got != "+OK" {
		t.Fatalf("MSET reply %q %v", got, err)
	}

	// A read of a key with no pending write is not held, even while
	// another key's write is.
	w.c.Write(encode("SET", k0, "held"))
	expectSilence(t, w, 100*time.Millisecond, "SET reply")
	other := keys[0][1]
	mustReply(t, r, "nil", "GET", other)
	e.Durable(rec.last())
	if got, err := w.readReply(); err != nil || got != "+OK" {
		t.Fatalf("SET reply %q %v", got, err)
	}

	// With gating off, nothing waits.
	rec.gating.Store(false)
	e.SetReplyGate(false)
	w.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	mustReply(t, w, "+OK", "SET", k0, "z")
}

// TestReplyGateSameTurn: a read of a key written earlier in the same
// pipeline (same loop turn) waits too, also when the pipeline wrote many
// keys (the set path of writtenThisTurn).
func TestReplyGateSameTurn(t *testing.T) {
	addr, e, rec := startEngine(t, 1)
	rec.gating.Store(true)
	e.SetReplyGate(true)
	c := dial(t, addr)
	var pipe []byte
	for i := 0; i < 40; i++ {
		pipe = append(pipe, encode("SET", "k"+strconv.Itoa(i), "v")...)
	}
	c.c.Write(pipe)
	expectSilence(t, c, 100*time.Millisecond, "SETs")
	e.Durable(rec.last())
	for i := 0; i < 40; i++ {
		if got, err := c.readReply(); err != nil || got != "+OK" {
			t.Fatalf("SET %d: %q %v", i, got, err)
		}
	}
	// A write then a read of the same key in one pipeline (one turn).
	pipe = append(encode("SET", "k39", "w"), encode("GET", "k39")...)
	r := dial(t, addr)
	c.c.Write(pipe)
	expectSilence(t, c, 100*time.Millisecond, "SET+GET")
	// Another client's read of an unrelated key is not held.
	mustReply(t, r, "nil", "GET", "unrelated")
	e.Durable(rec.last())
	for _, want := range []string{"+OK", "w"} {
		if got, err := c.readReply(); err != nil || got != want {
			t.Fatalf("got %q %v, want %q", got, err, want)
		}
	}
}
