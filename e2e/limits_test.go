package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Differential tests of the client limits: proto-max-bulk-len,
// client-query-buffer-limit, maxclients and timeout, set by flag and by
// CONFIG SET.

const mb = 1 << 20

// setHeader is a SET request up to the header of an n-byte value.
func setHeader(key string, n int) []byte {
	return []byte("*3\r\n$3\r\nSET\r\n$" + strconv.Itoa(len(key)) + "\r\n" + key + "\r\n$" + strconv.Itoa(n) + "\r\n")
}

// bulkLimitChecks are the proto-max-bulk-len checks for a limit of 1mb, run
// on connections of s (authenticated, when the server needs it).
func bulkLimitChecks(s *side) {
	a := s.dial("a")
	a.do("CONFIG", "GET", "proto-max-bulk-len")
	a.do("SET", "big", strings.Repeat("x", mb)) // exactly the limit: allowed
	a.do("STRLEN", "big")
	a.do("APPEND", "big", "")
	a.do("APPEND", "big", "y")
	a.do("STRLEN", "big")
	a.do("SETRANGE", "big", strconv.Itoa(mb-1), "z")
	a.do("SETRANGE", "big", strconv.Itoa(mb), "z")
	a.do("SETRANGE", "big", strconv.Itoa(mb-1), "zz")
	a.do("SETRANGE", "new", strconv.Itoa(mb), "")
	a.do("SETRANGE", "new", strconv.Itoa(mb), "z")
	a.do("EXISTS", "new")
	a.do("SETRANGE", "new", strconv.Itoa(mb-1), "z")
	a.do("STRLEN", "new")
	a.do("SET", "half", strings.Repeat("h", mb/2))
	a.do("APPEND", "half", strings.Repeat("h", mb/2))
	a.do("APPEND", "half", "h")
	a.do("SETBIT", "bits", strconv.Itoa(8*mb), "1")
	a.do("SETBIT", "bits", strconv.Itoa(8*mb-1), "1")
	a.do("STRLEN", "bits")
	a.do("GETRANGE", "big", "-3", "-1")

	b := s.dial("b")
	b.raw("SET header with a bulk of limit+1", setHeader("k", mb+1), rawIdle)
	c := s.dial("c")
	c.raw("SET header with a bulk of 2^31", setHeader("k", 1<<31), rawIdle)
	d := s.dial("d")
	d.raw("bulk length -5", []byte("*2\r\n$3\r\nGET\r\n$-5\r\n"), rawIdle)
	e := s.dial("e")
	e.raw("multibulk length 1048577", []byte("*1048577\r\n"), rawIdle)
	f := s.dial("f")
	f.raw("multibulk length 2^31", []byte("*2147483648\r\n"), rawIdle)
	g := s.dial("g")
	g.pipe([]string{"SET", "k", "1"}, []string{"GET", "k"})
	g.raw("SET header with a bulk of limit+1 after replies", setHeader("k", mb+1), rawIdle)

	a.do("CONFIG", "SET", "proto-max-bulk-len", "1000")
	a.do("CONFIG", "SET", "proto-max-bulk-len", "1048575")
	a.do("CONFIG", "SET", "proto-max-bulk-len", "2mb")
	a.do("CONFIG", "GET", "proto-max-bulk-len")
	a.do("APPEND", "big", "y")
	a.do("STRLEN", "big")
	h := s.dial("h")
	h.do("SET", "big2", strings.Repeat("x", mb+1))
	h.do("STRLEN", "big2")
	h.raw("SET header with a bulk of 2mb+1", setHeader("k", 2*mb+1), rawIdle)
}

func TestLimitsProtoMaxBulkLen(t *testing.T) {
	t.Parallel()
	t.Run("flag", func(t *testing.T) {
		t.Parallel()
		runScenario(t, startPairArgs(t, "--proto-max-bulk-len", "1mb"), bulkLimitChecks)
	})
	t.Run("config-set", func(t *testing.T) {
		t.Parallel()
		p := startPair(t)
		runScenario(t, p, func(s *side) {
			s.dial("setter").do("CONFIG", "SET", "proto-max-bulk-len", "1048576")
			bulkLimitChecks(s)
		})
	})
}

// queryBufferChecks are the client-query-buffer-limit checks for a limit of
// 1mb.
func queryBufferChecks(s *side) {
	a := s.dial("a")
	a.do("CONFIG", "GET", "client-query-buffer-limit")
	// A value of 3mb never completed: the buffer passes 1mb and the server
	// closes the connection.
	a.raw("SET header with a 3mb bulk, then 2mb of it",
		append(setHeader("k", 3*mb), strings.Repeat("x", 2*mb)...), closeIdle)

	// Complete commands adding up to more than the limit are fine: the
	// buffer is consumed as it is parsed.
	b := s.dial("b")
	var cmds [][]string
	for i := 0; i < 3000; i++ {
		cmds = append(cmds, []string{"SET", "k" + strconv.Itoa(i%7), strings.Repeat("v", 500)})
	}
	b.pipe(cmds...)
	b.do("STRLEN", "k3")

	// A value whose bulk and CRLF just fit, complete: stored. Two bytes more
	// and the buffer passes the limit before the value is complete.
	c := s.dial("c")
	c.do("SET", "nearly", strings.Repeat("n", mb-2))
	c.do("STRLEN", "nearly")
	d := s.dial("d")
	d.raw("SET of a complete value of limit-1 bytes", append(setHeader("over1", mb-1), strings.Repeat("x", mb-1)+"\r\n"...), closeIdle)
	c.do("EXISTS", "over1")
	d2 := s.dial("d2")
	d2.raw("SET of a complete 1.5mb value", append(setHeader("over2", 3*mb/2), strings.Repeat("x", 3*mb/2)+"\r\n"...), closeIdle)
	c.do("EXISTS", "over2")

	// An inline request with no newline: its own, smaller limit.
	e := s.dial("e")
	e.raw("70000 bytes of inline request without a newline", []byte(strings.Repeat("a", 70000)), rawIdle)

	// Many arguments, none of them large, never completed.
	f := s.dial("f")
	var many []byte
	many = append(many, "*300000\r\n$3\r\nDEL\r\n"...)
	for i := 0; i < 200000; i++ {
		many = append(many, "$6\r\nkey:xx\r\n"...)
	}
	f.raw("300000-argument DEL, 200000 arguments (2.4mb) sent", many, closeIdle)
}

func TestLimitsQueryBuffer(t *testing.T) {
	t.Parallel()
	t.Run("flag", func(t *testing.T) {
		t.Parallel()
		runScenario(t, startPairArgs(t, "--client-query-buffer-limit", "1mb"), queryBufferChecks)
	})
	t.Run("config-set", func(t *testing.T) {
		t.Parallel()
		p := startPair(t)
		runScenario(t, p, func(s *side) {
			a := s.dial("setter")
			a.do("CONFIG", "SET", "client-query-buffer-limit", "1000")
			a.do("CONFIG", "SET", "client-query-buffer-limit", "1mb")
			queryBufferChecks(s)
		})
	})
}

// waitClients waits until the server counts want connected clients (the
// harness's start-up probe may linger a moment), asking over c.
func waitClients(c *conn, want int) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := c.quiet("CLIENT", "LIST")
		if n := strings.Count(r, "\n") - 2; n == want || time.Now().After(deadline) {
			if n != want {
				c.s.record("%s: CLIENT LIST shows %d clients, want %d", c.name, n, want)
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// maxClientsChecks fills a server limited to 3 clients.
func maxClientsChecks(s *side, first *conn) {
	waitClients(first, 1)
	b := s.dial("b")
	c := s.dial("c")
	b.do("PING")
	c.do("PING")
	d := s.dial("d")
	d.expectClose()
	// A slot frees up when a client leaves.
	c.do("QUIT")
	c.expectClose()
	waitClients(first, 2)
	e := s.dial("e")
	e.do("PING")
	f := s.dial("f")
	f.raw("PING on a refused connection", multibulk("PING"), rawIdle)
	first.do("CONFIG", "GET", "maxclients")
	// Raising the limit admits more.
	first.do("CONFIG", "SET", "maxclients", "4")
	g := s.dial("g")
	g.do("PING")
	h := s.dial("h")
	h.expectClose()
	// Lowering it below the count keeps those connected, refuses new ones.
	first.do("CONFIG", "SET", "maxclients", "2")
	b.do("PING")
	e.do("PING")
	g.do("PING")
	i := s.dial("i")
	i.expectClose()
	first.do("CONFIG", "SET", "maxclients", "0")
}

func TestLimitsMaxClients(t *testing.T) {
	t.Parallel()
	t.Run("flag", func(t *testing.T) {
		t.Parallel()
		runScenario(t, startPairArgs(t, "--maxclients", "3"), func(s *side) {
			maxClientsChecks(s, s.dial("a"))
		})
	})
	t.Run("config-set", func(t *testing.T) {
		t.Parallel()
		runScenario(t, startPair(t), func(s *side) {
			a := s.dial("a")
			a.do("CONFIG", "SET", "maxclients", "3")
			maxClientsChecks(s, a)
		})
	})
}

// TestLimitsTimeout sets timeout 1 at run time and checks that an idle
// client is closed, silently, within a few seconds on both servers, and
// that a client that keeps talking is not.
func TestLimitsTimeout(t *testing.T) {
	t.Parallel()
	p := startPair(t)
	type result struct {
		idle, busy string
		after      time.Duration
	}
	run := func(srv *server) result {
		var res result
		a, err := Dial(srv.addr, 10*time.Second)
		if err != nil {
			res.idle = err.Error()
			return res
		}
		defer a.Close()
		busy, err := Dial(srv.addr, 10*time.Second)
		if err != nil {
			res.idle = err.Error()
			return res
		}
		defer busy.Close()
		if r, err := a.DoStrings("CONFIG", "SET", "timeout", "1"); err != nil || string(r) != "+OK\r\n" {
			res.idle = fmt.Sprintf("CONFIG SET timeout 1: %q %v", r, err)
			return res
		}
		start := time.Now()
		stop := make(chan struct{})
		busyDone := make(chan string)
		go func() {
			// Talks every 300ms: never idle for a whole second.
			for {
				select {
				case <-stop:
					r, err := busy.DoStrings("PING")
					busyDone <- fmt.Sprintf("%q %v", r, err)
					return
				case <-time.After(300 * time.Millisecond):
					if r, err := busy.DoStrings("PING"); err != nil || string(r) != "+PONG\r\n" {
						<-stop
						busyDone <- fmt.Sprintf("busy client: %q %v", r, err)
						return
					}
				}
			}
		}()
		data, closed, err := a.ReadUntilClose(5 * time.Second)
		res.after = time.Since(start)
		res.idle = fmt.Sprintf("got %q closed=%v err=%v", data, closed, err)
		close(stop)
		res.busy = <-busyDone
		return res
	}
	var ref result
	done := make(chan struct{})
	go func() { ref = run(p.ref); close(done) }()
	tgt := run(p.tgt)
	<-done
	t.Logf("idle client closed after %v (%s) and %v (%s)", ref.after, p.ref.name, tgt.after, p.tgt.name)
	if ref.idle != tgt.idle || ref.busy != tgt.busy {
		t.Fatalf("idle client:\n  %s:  %s\n  %s: %s\nbusy client:\n  %s:  %s\n  %s: %s",
			p.ref.name, ref.idle, p.tgt.name, tgt.idle, p.ref.name, ref.busy, p.tgt.name, tgt.busy)
	}
	for _, r := range []struct {
		name string
		res  result
	}{{p.ref.name, ref}, {p.tgt.name, tgt}} {
		if r.res.after < 900*time.Millisecond || r.res.after > 3500*time.Millisecond {
			t.Errorf("%s closed the idle client after %v, want 1-3.5s", r.name, r.res.after)
		}
	}
}
