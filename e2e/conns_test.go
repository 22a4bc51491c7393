package e2e

import (
	"strconv"
	"testing"
)

// Differential tests of per-connection state and of connections acting on
// each other: CLIENT REPLY, QUIT in a pipeline, CLIENT KILL, SELECT,
// SWAPDB and FLUSHALL seen across connections. Basalt runs two event loops
// here, so keys k0..k15 (spread over many slots) live on both.

// keysN returns k0..k(n-1).
func keysN(n int) []string {
	ks := make([]string, n)
	for i := range ks {
		ks[i] = "k" + strconv.Itoa(i)
	}
	return ks
}

// cmd builds a command from a name and argument lists.
func cmd(name string, args ...[]string) []string {
	out := []string{name}
	for _, a := range args {
		out = append(out, a...)
	}
	return out
}

// kv returns k0 v0 k1 v1 ... for keys, with values tagged by tag.
func kv(keys []string, tag string) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k, tag+"-"+k)
	}
	return out
}

func TestConnClientReply(t *testing.T) {
	t.Parallel()
	p := startPair(t)
	keys := keysN(8)
	runScenario(t, p, func(s *side) {
		a := s.dial("a")
		a.pipe(
			[]string{"CLIENT", "REPLY", "OFF"},
			[]string{"SET", "k0", "1"},
			[]string{"GET", "k0"},
			[]string{"INCR", "k0"},
			[]string{"NOSUCHCMD"},               // errors are suppressed too
			[]string{"GET"},                     // arity error
			[]string{"CLIENT", "REPLY", "SKIP"}, // no effect while OFF
			cmd("MSET", kv(keys, "a")),
			cmd("MGET", keys),
			[]string{"CLIENT", "REPLY", "ON"},
			cmd("MGET", keys),
			[]string{"GET", "k0"},
		)
		a.pipe(
			[]string{"CLIENT", "REPLY", "SKIP"},
			[]string{"INCR", "k0"}, // skipped
			[]string{"INCR", "k0"}, // answered
			[]string{"CLIENT", "REPLY", "SKIP"},
			[]string{"CLIENT", "REPLY", "SKIP"}, // the second SKIP is the skipped command, and skips the next
			[]string{"GET", "k0"},
			[]string{"GET", "k1"},
			[]string{"CLIENT", "REPLY", "SKIP"},
			[]string{"CLIENT", "REPLY", "ON"}, // skipped, but still ON
			[]string{"GET", "k2"},
			[]string{"CLIENT", "REPLY", "SKIP"},
			[]string{"CLIENT", "REPLY", "OFF"}, // skipped; now OFF
			[]string{"GET", "k3"},
			[]string{"CLIENT", "REPLY", "ON"},
			[]string{"CLIENT", "REPLY", "SKIP"},
			[]string{"NOSUCHCMD"}, // an error is skipped too
			[]string{"GET", "k4"},
			[]string{"CLIENT", "REPLY", "SKIP"},
			cmd("MGET", keys), // a multi-key command across loops, skipped
			cmd("MGET", keys),
			[]string{"CLIENT", "REPLY", "MAYBE"},
			[]string{"CLIENT", "REPLY"},
		)
		// REPLY OFF then a protocol error: the error reply is suppressed,
		// the connection still closes.
		b := s.dial("b")
		b.raw("REPLY OFF, SET, then a bad multibulk length",
			append(append(multibulk("CLIENT", "REPLY", "OFF"), multibulk("SET", "k5", "x")...), "*abc\r\n"...), rawIdle)
		a.do("GET", "k5")
		// REPLY SKIP then QUIT: QUIT's +OK is skipped.
		c := s.dial("c")
		c.raw("REPLY SKIP, QUIT", append(multibulk("CLIENT", "REPLY", "SKIP"), multibulk("QUIT")...), rawIdle)
		d := s.dial("d")
		d.raw("REPLY OFF, QUIT", append(multibulk("CLIENT", "REPLY", "OFF"), multibulk("QUIT")...), rawIdle)
		// RESET turns replies back on.
		e := s.dial("e")
		e.pipe([]string{"CLIENT", "REPLY", "OFF"}, []string{"GET", "k0"}, []string{"RESET"}, []string{"GET", "k0"})
		// Inline commands obey REPLY OFF too.
		f := s.dial("f")
		f.raw("inline REPLY OFF, GET, REPLY ON, GET",
			[]byte("CLIENT REPLY OFF\r\nGET k0\r\nCLIENT REPLY ON\r\nGET k0\r\n"), rawIdle)
	})
}

func TestConnQuitInPipeline(t *testing.T) {
	t.Parallel()
	p := startPair(t)
	keys := keysN(16)
	runScenario(t, p, func(s *side) {
		a := s.dial("a")
		a.pipe(cmd("MSET", kv(keys, "0")), []string{"SELECT", "1"}, cmd("MSET", kv(keys, "1")))
		b := s.dial("b")
		b.pipe(
			[]string{"SET", "k0", "x"},
			cmd("MGET", keys[:4]),
			[]string{"SELECT", "1"},
			[]string{"GET", "k1"},
			[]string{"QUIT"},
			[]string{"SET", "k2", "after-quit"},
			cmd("DEL", keys),
			[]string{"SELECT", "0"},
			[]string{"FLUSHALL"},
		)
		b.expectClose()
		// Nothing after QUIT ran.
		a.do("SELECT", "0")
		a.do(cmd("MGET", keys)...)
		a.do("SELECT", "1")
		a.do(cmd("MGET", keys)...)
		a.do("DBSIZE")

		// QUIT as the first command; QUIT with arguments; QUIT after an
		// unfinished request in the same write.
		c := s.dial("c")
		c.raw("QUIT, SET", append(multibulk("QUIT"), multibulk("SET", "k3", "no")...), rawIdle)
		d := s.dial("d")
		d.raw("inline: GET, QUIT extra, GET", []byte("GET k3\r\nQUIT extra\r\nGET k3\r\n"), rawIdle)
		e := s.dial("e")
		e.raw("GET, QUIT, half a request", append(append(multibulk("GET", "k3"), multibulk("QUIT")...), "*2\r\n$3\r\nGET\r\n"...), rawIdle)
		a.do("GET", "k3")
		// A long pipeline of multi-key writes, then QUIT, then more.
		f := s.dial("f")
		var cmds [][]string
		for i := 0; i < 200; i++ {
			cmds = append(cmds, cmd("MSET", kv(keys, "f"+strconv.Itoa(i))))
			cmds = append(cmds, []string{"INCR", "n" + strconv.Itoa(i%5)})
		}
		cmds = append(cmds, []string{"QUIT"})
		for i := 0; i < 50; i++ {
			cmds = append(cmds, []string{"INCR", "n" + strconv.Itoa(i%5)})
		}
		f.pipe(cmds...)
		a.do(cmd("MGET", keys)...)
		a.do("MGET", "n0", "n1", "n2", "n3", "n4")
	})
}

func TestConnClientKill(t *testing.T) {
	t.Parallel()
	p := startPair(t)
	runScenario(t, p, func(s *side) {
		admin := s.dial("admin")

		// By id: the victim sees the connection close, with nothing sent.
		v1 := s.dial("v1")
		v1.do("SET", "k1", "v")
		id := v1.quietInt("CLIENT", "ID")
		admin.doAs("CLIENT KILL ID <v1>", "CLIENT", "KILL", "ID", id)
		v1.expectClose()
		admin.doAs("CLIENT KILL ID <v1>", "CLIENT", "KILL", "ID", id) // gone already

		// A killed client that sent a command right after: it is closed
		// and the command does not run.
		v2 := s.dial("v2")
		id = v2.quietInt("CLIENT", "ID")
		admin.doAs("CLIENT KILL ID <v2>", "CLIENT", "KILL", "ID", id)
		v2.raw("SET after being killed", multibulk("SET", "k2", "after-kill"), closeIdle)
		admin.do("EXISTS", "k2")

		// By address, new form (count) and old form (+OK).
		v3 := s.dial("v3")
		v3.do("PING")
		admin.doAs("CLIENT KILL ADDR <v3>", "CLIENT", "KILL", "ADDR", v3.localAddr())
		v3.expectClose()
		v4 := s.dial("v4")
		v4.do("PING")
		admin.doAs("CLIENT KILL <v4>", "CLIENT", "KILL", v4.localAddr())
		v4.expectClose()
		admin.doAs("CLIENT KILL <v4>", "CLIENT", "KILL", v4.localAddr()) // no such client now
		admin.doAs("CLIENT KILL ADDR <v4>", "CLIENT", "KILL", "ADDR", v4.localAddr())

		// Killing oneself: SKIPME yes (default for the new form) protects
		// the caller; SKIPME no kills it after its reply. The old form
		// kills the caller after +OK.
		self := s.dial("self")
		selfID := self.quietInt("CLIENT", "ID")
		self.doAs("CLIENT KILL ID <self>", "CLIENT", "KILL", "ID", selfID)
		self.doAs("CLIENT KILL ADDR <self>", "CLIENT", "KILL", "ADDR", self.localAddr())
		self.doAs("CLIENT KILL ID <self> SKIPME yes", "CLIENT", "KILL", "ID", selfID, "SKIPME", "yes")
		self.doAs("CLIENT KILL ID <self> SKIPME no", "CLIENT", "KILL", "ID", selfID, "SKIPME", "no")
		self.expectClose()
		self2 := s.dial("self2")
		self2.do("PING")
		self2.doAs("CLIENT KILL <self2>", "CLIENT", "KILL", self2.localAddr())
		self2.expectClose()
		// SKIPME no in a pipeline: replies up to the kill, then close.
		self3 := s.dial("self3")
		self3.pipeAs("SET k3 before; CLIENT KILL ADDR <self3> SKIPME no; SET k3 after",
			[]string{"SET", "k3", "before"},
			[]string{"CLIENT", "KILL", "ADDR", self3.localAddr(), "SKIPME", "no"},
			[]string{"SET", "k3", "after"},
		)
		self3.expectClose()
		admin.do("GET", "k3")

		// Filters combined: ID and ADDR must both match.
		v5 := s.dial("v5")
		v6 := s.dial("v6")
		id5 := v5.quietInt("CLIENT", "ID")
		admin.doAs("CLIENT KILL ID <v5> ADDR <v6>", "CLIENT", "KILL", "ID", id5, "ADDR", v6.localAddr())
		admin.doAs("CLIENT KILL ID <v5> ADDR <v5> SKIPME no", "CLIENT", "KILL", "ID", id5, "ADDR", v5.localAddr(), "SKIPME", "no")
		v5.expectClose()
		v6.do("PING")

		// TYPE normal kills every other normal client; SKIPME no includes
		// the caller.
		v7 := s.dial("v7")
		v7.do("PING")
		admin.do("CLIENT", "KILL", "TYPE", "normal")
		v6.expectClose()
		v7.expectClose()
		admin.do("PING")
		admin.do("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no")
		admin.expectClose()

		// LADDR: the server's own address matches every client.
		w := s.dial("w")
		x := s.dial("x")
		x.do("PING")
		w.doAs("CLIENT KILL LADDR <server> SKIPME yes", "CLIENT", "KILL", "LADDR", s.srv.addr, "SKIPME", "yes")
		x.expectClose()
		w.do("CLIENT", "KILL", "LADDR", "127.0.0.1:1")
		w.do("CLIENT", "KILL", "ADDR", "127.0.0.1:1", "SKIPME")
		w.do("CLIENT", "KILL", "ID", "0")
		w.do("CLIENT", "KILL", "ID", "-1")
	})
}

func TestConnSelectAcrossLoops(t *testing.T) {
	t.Parallel()
	p := startPair(t)
	keys := keysN(16)
	runScenario(t, p, func(s *side) {
		a := s.dial("a")
		var cmds [][]string
		for db := 0; db < 4; db++ {
			cmds = append(cmds, []string{"SELECT", strconv.Itoa(db)})
			for i, k := range keys {
				if i%(db+1) == 0 {
					cmds = append(cmds, []string{"SET", k, "db" + strconv.Itoa(db) + "-" + k})
				}
			}
			cmds = append(cmds, []string{"INCRBY", "counter", strconv.Itoa(db + 1)})
		}
		// Interleave reads of every db, each preceded by its SELECT.
		for _, k := range keys {
			for db := 3; db >= 0; db-- {
				cmds = append(cmds, []string{"SELECT", strconv.Itoa(db)}, []string{"GET", k})
			}
		}
		for db := 0; db < 4; db++ {
			cmds = append(cmds, []string{"SELECT", strconv.Itoa(db)}, cmd("MGET", keys), []string{"DBSIZE"},
				[]string{"GET", "counter"}, cmd("EXISTS", keys), []string{"SELECT", "99"}, []string{"GET", "counter"})
		}
		a.pipe(cmds...)

		// A second connection starts in db 0 whatever a selected.
		b := s.dial("b")
		b.do(cmd("MGET", keys)...)
		b.pipe([]string{"SELECT", "2"}, cmd("DEL", keys[:8]), []string{"SELECT", "3"}, cmd("MGET", keys), []string{"SELECT", "2"}, cmd("MGET", keys))
		a.pipe([]string{"SELECT", "2"}, cmd("MGET", keys), []string{"DBSIZE"})

		// SELECT, MSET and MGET in one pipeline, switching dbs between
		// multi-key commands that span both loops.
		c := s.dial("c")
		var cc [][]string
		for i := 0; i < 30; i++ {
			db := strconv.Itoa(i % 3)
			cc = append(cc, []string{"SELECT", db}, cmd("MSET", kv(keys, "c"+strconv.Itoa(i))), cmd("MGET", keys),
				[]string{"APPEND", keys[i%16], "+"}, []string{"DEL", keys[(i*7)%16]}, cmd("EXISTS", keys))
		}
		c.pipe(cc...)
		for db := 0; db < 4; db++ {
			a.do("SELECT", strconv.Itoa(db))
			a.do(cmd("MGET", keys)...)
		}
	})
}

func TestConnSwapDBAndFlush(t *testing.T) {
	t.Parallel()
	p := startPair(t)
	keys := keysN(16)
	runScenario(t, p, func(s *side) {
		a := s.dial("a")
		b := s.dial("b")
		a.pipe(cmd("MSET", kv(keys, "zero")), []string{"SELECT", "1"}, cmd("MSET", kv(keys[:5], "one")))
		b.do("SELECT", "1")
		b.do(cmd("MGET", keys)...)
		// a swaps; b, still "in db 1", now sees db 0's old contents.
		a.do("SWAPDB", "0", "1")
		b.do(cmd("MGET", keys)...)
		b.do("DBSIZE")
		a.do(cmd("MGET", keys)...) // a is in db 1 too
		c := s.dial("c")           // a new connection is in db 0: the old db 1
		c.do(cmd("MGET", keys)...)
		c.do("DBSIZE")

		// SWAPDB in the middle of pipelines on two connections.
		a.pipe([]string{"SELECT", "0"}, []string{"SET", "k0", "before-swap"}, []string{"SWAPDB", "0", "2"},
			[]string{"GET", "k0"}, cmd("MGET", keys), []string{"SET", "k1", "after-swap"}, []string{"SWAPDB", "2", "0"},
			[]string{"GET", "k0"}, []string{"GET", "k1"}, []string{"SWAPDB", "1", "1"}, []string{"DBSIZE"})
		b.pipe([]string{"SELECT", "2"}, cmd("MGET", keys), []string{"SELECT", "0"}, cmd("MGET", keys))
		a.do("SWAPDB", "0", "16")
		a.do("SWAPDB", "-1", "0")
		a.do("SWAPDB", "a", "0")
		a.do("SWAPDB", "0")

		// Expiry moves with the db.
		a.pipe([]string{"SELECT", "3"}, []string{"SET", "ttl", "v", "EX", "1000"}, []string{"SWAPDB", "3", "4"},
			[]string{"EXISTS", "ttl"}, []string{"SELECT", "4"}, []string{"PERSIST", "ttl"}, []string{"TTL", "ttl"}, []string{"EXPIRE", "ttl", "1000"})

		// FLUSHALL from a is seen by b and c at once, in every db.
		a.do("FLUSHALL")
		b.pipe(cmd("MGET", keys), []string{"DBSIZE"}, []string{"SELECT", "1"}, []string{"DBSIZE"}, []string{"SELECT", "4"}, []string{"EXISTS", "ttl"})
		c.do("DBSIZE")

		// FLUSHDB empties only the caller's db.
		a.pipe([]string{"SELECT", "0"}, cmd("MSET", kv(keys, "x")), []string{"SELECT", "1"}, cmd("MSET", kv(keys, "y")), []string{"FLUSHDB"}, []string{"DBSIZE"})
		c.pipe([]string{"SELECT", "0"}, []string{"DBSIZE"}, []string{"SELECT", "1"}, []string{"DBSIZE"})

		// A pipeline that writes, FLUSHALLs, writes again and reads, while
		// another connection reads afterwards.
		var cmds [][]string
		for i := 0; i < 5; i++ {
			cmds = append(cmds, cmd("MSET", kv(keys, "p"+strconv.Itoa(i))), []string{"FLUSHALL"}, []string{"SET", keys[i], "after"},
				cmd("MGET", keys), []string{"DBSIZE"})
		}
		cmds = append(cmds, []string{"FLUSHALL", "ASYNC"}, []string{"DBSIZE"}, []string{"SET", "k9", "z"}, []string{"FLUSHALL", "SYNC"},
			[]string{"DBSIZE"}, []string{"FLUSHALL", "BAD"}, []string{"FLUSHDB", "ASYNC"}, []string{"DBSIZE"})
		b.pipe(cmds...)
		c.do("SELECT", "0")
		c.do(cmd("MGET", keys)...)
		a.do("SELECT", "0")
		a.do("DBSIZE")
	})
}
