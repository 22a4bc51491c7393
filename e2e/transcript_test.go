package e2e

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Scenario tests: a scenario is a Go function that drives one server
// through several connections (pipelines, kills, closes, limits) and
// records what it saw as a transcript. It runs once against redis-server
// and once against the target, concurrently, and the two transcripts must
// be equal line for line. Values that differ per instance (client ids,
// ports) are looked up without being recorded.

// side is one server as a scenario sees it. It is owned by the goroutine
// running the scenario for that server; it never calls t, so scenarios may
// run off the test goroutine.
type side struct {
	srv   *server
	lines []string
	conns []*conn
}

// conn is one named connection of a side.
type conn struct {
	s    *side
	name string
	c    *Client
}

// sentinel ends pipelines: its reply says every earlier reply has arrived.
// It is an unknown command because those are answered even before AUTH.
const sentinel = "__pipeline_end__"

// closeIdle is how long expectClose waits for a close that may be
// asynchronous (a kill handled on another event loop); a close that comes
// at once returns at once.
const closeIdle = 2 * time.Second

func (s *side) record(format string, a ...any) {
	s.lines = append(s.lines, fmt.Sprintf(format, a...))
}

// dial opens a named connection; a failure is recorded and leaves a conn
// whose every operation records that it is not connected.
func (s *side) dial(name string) *conn {
	c := &conn{s: s, name: name}
	cl, err := Dial(s.srv.addr, replyTimeout)
	if err != nil {
		s.record("%s: dial: %v", name, err)
	} else {
		c.c = cl
	}
	s.conns = append(s.conns, c)
	return c
}

func (s *side) closeAll() {
	for _, c := range s.conns {
		if c.c != nil {
			c.c.Close()
		}
	}
}

// describeErr renders a read or write error the same way on both sides:
// EOF and connection reset are both "closed".
func describeErr(err error) string {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "<closed>"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "<no reply: timed out>"
	}
	return "<" + err.Error() + ">"
}

// normalized renders a reply for the transcript, applying the deliberate
// differences of differences.go for args (HELLO's id, CLIENT LIST).
func normalized(args [][]byte, reply []byte) string {
	d, found := lookupDifference(args)
	if !found {
		return quoteReply(reply)
	}
	switch d.Cmp.Mode {
	case CmpSkip, CmpUnsupported:
		return "<not compared>"
	case CmpTypeOnly:
		if len(reply) > 0 && reply[0] != '-' {
			return "<type " + string(reply[:1]) + ">"
		}
	case CmpZeroFields:
		if v, err := ParseValue(reply); err == nil {
			return quoteReply(v.ZeroFields(d.Cmp.Fields...))
		}
	case CmpUnordered:
		if v, err := ParseValue(reply); err == nil {
			return quoteReply(v.Canonical(false))
		}
	}
	return quoteReply(reply)
}

// do sends one command, reads its reply and records both.
func (c *conn) do(args ...string) []byte {
	return c.doAs(argsText(bs(args...)), args...)
}

// doAs is do for a command holding per-instance values (a client id, an
// address): label stands for it in the transcript.
func (c *conn) doAs(label string, args ...string) []byte {
	line := c.name + ": " + label + " -> "
	if c.c == nil {
		c.s.record("%s<not connected>", line)
		return nil
	}
	r, err := c.c.Do(bs(args...))
	if err != nil {
		c.s.record("%s%s", line, describeErr(err))
		return nil
	}
	c.s.record("%s%s", line, normalized(bs(args...), r))
	return r
}

// quiet sends one command and returns its reply without recording it, for
// per-instance values (CLIENT ID). A failure is recorded.
func (c *conn) quiet(args ...string) string {
	if c.c == nil {
		c.s.record("%s: %s (unrecorded) -> <not connected>", c.name, argsText(bs(args...)))
		return ""
	}
	r, err := c.c.Do(bs(args...))
	if err != nil {
		c.s.record("%s: %s (unrecorded) -> %s", c.name, argsText(bs(args...)), describeErr(err))
		return ""
	}
	return string(r)
}

// quietInt is quiet for an integer reply (":12\r\n" -> "12").
func (c *conn) quietInt(args ...string) string {
	r := c.quiet(args...)
	if len(r) < 3 || r[0] != ':' {
		c.s.record("%s: %s: not an integer reply: %q", c.name, argsText(bs(args...)), r)
		return "0"
	}
	return r[1 : len(r)-2]
}

// localAddr is the connection's own address as the server sees it.
func (c *conn) localAddr() string {
	if c.c == nil {
		return "0.0.0.0:0"
	}
	return c.c.conn.LocalAddr().String()
}

// pipe writes cmds in one write followed by the sentinel, then records
// every reply up to the sentinel's, or until the server closes. The
// scenario must leave replies on at the end of cmds (CLIENT REPLY ON).
func (c *conn) pipe(cmds ...[]string) {
	var texts []string
	for _, a := range cmds {
		texts = append(texts, argsText(bs(a...)))
	}
	c.pipeAs(strings.Join(texts, "; "), cmds...)
}

// pipeAs is pipe for commands holding per-instance values: label stands
// for them in the transcript.
func (c *conn) pipeAs(label string, cmds ...[]string) {
	var buf []byte
	for _, a := range cmds {
		buf = AppendCommand(buf, bs(a...))
	}
	buf = AppendCommand(buf, bs(sentinel))
	c.s.record("%s: pipeline [%s]", c.name, label)
	if c.c == nil {
		c.s.record("%s: <not connected>", c.name)
		return
	}
	if err := c.c.WriteRaw(buf); err != nil {
		c.s.record("%s: write: %s", c.name, describeErr(err))
		return
	}
	end := "-ERR unknown command '" + sentinel + "', with args beginning with: \r\n"
	for i := 0; ; i++ {
		r, err := c.c.ReadReply()
		if err != nil {
			c.s.record("%s: reply %d: %s", c.name, i, describeErr(err))
			return
		}
		if string(r) == end {
			return
		}
		c.s.record("%s: reply %d: %s", c.name, i, quoteReply(r))
	}
}

// raw writes b (from another goroutine, so a server that stops reading and
// closes cannot block the scenario) and records everything the server sends
// until it closes or stays silent for idle. label names b in the transcript.
func (c *conn) raw(label string, b []byte, idle time.Duration) {
	c.s.record("%s: raw %s", c.name, label)
	if c.c == nil {
		c.s.record("%s: <not connected>", c.name)
		return
	}
	go c.c.WriteRaw(b) // a write error shows up as a close on the read side
	c.readUntilClose(idle)
}

// expectClose records what the server sends until it closes the
// connection or stays silent for closeIdle.
func (c *conn) expectClose() {
	if c.c == nil {
		c.s.record("%s: <not connected>", c.name)
		return
	}
	c.readUntilClose(closeIdle)
}

func (c *conn) readUntilClose(idle time.Duration) {
	data, closed, err := c.c.ReadUntilClose(idle)
	s := quoteReply(data)
	if closed {
		s += " then closed"
	} else {
		s += " and still open"
	}
	if err != nil {
		s += " " + describeErr(err)
	}
	c.s.record("%s: got %s", c.name, s)
}

// runScenario runs f against both servers of p at once and fails t at the
// first line where the transcripts differ.
func runScenario(t *testing.T, p pair, f func(s *side)) {
	t.Helper()
	ref, tgt := &side{srv: p.ref}, &side{srv: p.tgt}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer ref.closeAll()
		f(ref)
	}()
	func() {
		defer tgt.closeAll()
		f(tgt)
	}()
	<-done
	compareTranscripts(t, p, ref.lines, tgt.lines)
}

// compareTranscripts fails t if the transcripts differ, showing the lines
// before the first difference for context and every later differing line
// (up to a few: later ones often follow from the first).
func compareTranscripts(t *testing.T, p pair, ref, tgt []string) {
	t.Helper()
	verbose := os.Getenv("E2E_VERBOSE") != ""
	var msg strings.Builder
	diffs := 0
	for i := 0; i < max(len(ref), len(tgt)); i++ {
		a, b := "<transcript ended>", "<transcript ended>"
		if i < len(ref) {
			a = ref[i]
		}
		if i < len(tgt) {
			b = tgt[i]
		}
		if a == b {
			if verbose {
				t.Logf("%s", a)
			}
			continue
		}
		if diffs == 0 {
			ctx := ref[max(0, i-8):min(i, len(ref))]
			fmt.Fprintf(&msg, "transcripts differ at line %d\n  before (both):\n    %s", i, strings.Join(ctx, "\n    "))
		}
		diffs++
		if diffs <= 8 {
			fmt.Fprintf(&msg, "\n  line %d:\n    %s: %s\n    %s: %s", i, p.ref.name, a, p.tgt.name, b)
		}
	}
	if diffs > 0 {
		t.Fatalf("%s\n  (%d differing lines in all)", msg.String(), diffs)
	}
}
