package loop

import (
	"bufio"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/config"
	"github.com/basaltdb/basalt/effect"
	"github.com/basaltdb/basalt/internal/hash"
	"github.com/basaltdb/basalt/keyspace"
)

// testTable is a minimal command set exercising each routing path: single
// key (set/get/incr), multi key across loops (mset/mget), whole keyspace
// (dbsize), connection (ping, select).
func testTable() *command.Table {
	t := command.NewTable()
	set := func(c *command.Ctx, k, v []byte) {
		e, _ := c.Shard(k).Upsert(c.DB, k, c.Now)
		e.Kind, e.Str = keyspace.KindString, append([]byte(nil), v...)
		c.Effect([]byte("SET"), k, v)
	}
	t.Add(
		&command.Spec{Name: "set", Arity: 3, FirstKey: 1, LastKey: 1, Flags: command.FlagWrite, Run: func(c *command.Ctx) {
			set(c, c.Args[1], c.Args[2])
			c.Out.OK()
		}},
		&command.Spec{Name: "get", Arity: 2, FirstKey: 1, LastKey: 1, Run: func(c *command.Ctx) {
			if e := c.Lookup(c.Args[1]); e != nil {
				c.Out.Bulk(e.Str)
			} else {
				c.Out.Null()
			}
		}},
		&command.Spec{Name: "incr", Arity: 2, FirstKey: 1, LastKey: 1, Run: func(c *command.Ctx) {
			n := int64(0)
			if e := c.Lookup(c.Args[1]); e != nil {
				n, _ = strconv.ParseInt(string(e.Str), 10, 64)
			}
			n++
			set(c, c.Args[1], []byte(strconv.FormatInt(n, 10)))
			c.Out.Int(n)
		}},
		&command.Spec{Name: "mset", Arity: -3, FirstKey: 1, LastKey: -1, Step: 2, Run: func(c *command.Ctx) {
			for i := 1; i+1 < len(c.Args); i += 2 {
				set(c, c.Args[i], c.Args[i+1])
			}
			c.Out.OK()
		}},
		&command.Spec{Name: "mget", Arity: -2, FirstKey: 1, LastKey: -1, Run: func(c *command.Ctx) {
			c.Out.ArrayLen(len(c.Args) - 1)
			for _, k := range c.Args[1:] {
				if e := c.Lookup(k); e != nil {
					c.Out.Bulk(e.Str)
				} else {
					c.Out.Null()
				}
			}
		}},
		&command.Spec{Name: "dbsize", Arity: 1, Scope: command.ScopeAll, Run: func(c *command.Ctx) {
			n := 0
			for _, s := range c.Shards {
				n += s.Len(c.DB)
			}
			c.Out.Int(int64(n))
		}},
		&command.Spec{Name: "ping", Arity: -1, Scope: command.ScopeConn, Run: func(c *command.Ctx) { c.Out.SimpleString("PONG") }},
		&command.Spec{Name: "select", Arity: 2, Scope: command.ScopeConn, Run: func(c *command.Ctx) {
			n, _ := strconv.Atoi(string(c.Args[1]))
			c.Sess.DB = n
			c.Out.OK()
		}},
	)
	t.Add(blockingTestSpecs()...)
	return t
}

type effectRecorder struct {
	mu sync.Mutex
	b  []byte
	// With gating set, each batch gets the next log position and replies
	// wait for it, as with appendfsync always; the test calls Durable.
	gating atomic.Bool
	seq    uint64
}

func (r *effectRecorder) add(_ int, l *effect.Log) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.b = append(r.b, l.B...)
	if !r.gating.Load() {
		return 0
	}
	r.seq++
	return r.seq
}

func (r *effectRecorder) last() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seq
}

func startEngine(t *testing.T, loops int) (string, *Engine, *effectRecorder) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := config.Default()
	rec := &effectRecorder{}
	e, err := New(Options{Loops: loops, Addrs: []string{addr}, Table: testTable(),
		Config: func() *config.Config { return cfg }, Effects: rec.add,
		Logf: func(string, ...any) {}})
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan error, 1)
	done := make(chan error, 1)
	go func() { done <- e.Serve(ready) }()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("engine did not start")
	}
	t.Cleanup(func() {
		e.Stop()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("engine did not stop")
		}
	})
	return addr, e, rec
}

type rawClient struct {
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawClient{c: c, r: bufio.NewReader(c)}
}

func encode(args ...string) []byte {
	b := []byte("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		b = append(b, "$"+strconv.Itoa(len(a))+"\r\n"+a+"\r\n"...)
	}
	return b
}

// readReply reads one reply and renders it compactly: strings and errors
// as text, integers as ":n", nulls as "nil", arrays as [a b].
func (rc *rawClient) readReply() (string, error) {
	rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := rc.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	switch line[0] {
	case '+', '-':
		return line, nil
	case ':':
		return line, nil
	case '$':
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return "nil", nil
		}
		buf := make([]byte, n+2)
		if _, err := ioReadFull(rc.r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	case '*':
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return "nil", nil
		}
		parts := make([]string, n)
		for i := range parts {
			if parts[i], err = rc.readReply(); err != nil {
				return "", err
			}
		}
		return "[" + strings.Join(parts, " ") + "]", nil
	}
	return "", fmt.Errorf("bad reply %q", line)
}

func ioReadFull(r *bufio.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// keysOnLoops returns n keys owned by each loop.
func keysOnLoops(e *Engine, n int) [][]string {
	sm := e.SlotMap()
	out := make([][]string, len(e.loops))
	for i := 0; ; i++ {
		k := "key:" + strconv.Itoa(i)
		o := sm[hash.Slot([]byte(k))]
		if len(out[o]) < n {
			out[o] = append(out[o], k)
		}
		full := true
		for _, ks := range out {
			full = full && len(ks) == n
		}
		if full {
			return out
		}
	}
}

// TestPipelineOrderAcrossLoops sends one pipeline mixing keys of every loop
// and checks every reply comes back in order with read-your-writes.
func TestPipelineOrderAcrossLoops(t *testing.T) {
	addr, e, _ := startEngine(t, 3)
	keys := keysOnLoops(e, 20)
	c := dial(t, addr)
	var pipe []byte
	var want []string
	for i := 0; i < 20; i++ {
		for l := range keys {
			k := keys[l][i]
			v := fmt.Sprintf("v%d-%d", l, i)
			pipe = append(pipe, encode("SET", k, v)...)
			pipe = append(pipe, encode("GET", k)...)
			want = append(want, "+OK", v)
		}
		pipe = append(pipe, encode("MGET", keys[0][i], keys[1][i], keys[2][i])...)
		want = append(want, fmt.Sprintf("[v0-%d v1-%d v2-%d]", i, i, i))
		pipe = append(pipe, encode("PING")...)
		want = append(want, "+PONG")
	}
	pipe = append(pipe, encode("DBSIZE")...)
	want = append(want, ":60")
	// Send byte by byte for the first part to exercise partial parsing.
	for i := 0; i < 200; i++ {
		c.c.Write(pipe[i : i+1])
	}
	c.c.Write(pipe[200:])
	for i, w := range want {
		got, err := c.readReply()
		if err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		if got != w {
			t.Fatalf("reply %d: got %q want %q", i, got, w)
		}
	}
}

// TestMultiKeyAtomicAcrossLoops runs MSETs of one value over keys on every
// loop while readers MGET them: a reader must never see a mix.
func TestMultiKeyAtomicAcrossLoops(t *testing.T) {
	addr, e, _ := startEngine(t, 3)
	keys := keysOnLoops(e, 1)
	ks := []string{keys[0][0], keys[1][0], keys[2][0]}
	const writers, readers, rounds = 3, 3, 300
	var wg sync.WaitGroup
	errs := make(chan error, writers+readers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := dial(t, addr)
			for i := 0; i < rounds; i++ {
				v := fmt.Sprintf("w%d-%d", w, i)
				c.c.Write(encode("MSET", ks[0], v, ks[1], v, ks[2], v))
				if r, err := c.readReply(); err != nil || r != "+OK" {
					errs <- fmt.Errorf("mset: %q %v", r, err)
					return
				}
			}
		}(w)
	}
	for r := 0; r < readers; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := dial(t, addr)
			for i := 0; i < rounds; i++ {
				c.c.Write(encode("MGET", ks[0], ks[1], ks[2]))
				got, err := c.readReply()
				if err != nil {
					errs <- err
					return
				}
				parts := strings.Fields(strings.Trim(got, "[]"))
				if parts[0] != parts[1] || parts[1] != parts[2] {
					errs <- fmt.Errorf("torn read: %s", got)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestCountersAcrossLoops: concurrent INCRs from many clients on keys of
// all loops add up exactly, and the effect stream replays to the same
// values.
func TestCountersAcrossLoops(t *testing.T) {
	addr, e, rec := startEngine(t, 2)
	keys := keysOnLoops(e, 3)
	all := append(append([]string{}, keys[0]...), keys[1]...)
	const clients, per = 4, 200
	var wg sync.WaitGroup
	for ci := 0; ci < clients; ci++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := dial(t, addr)
			var pipe []byte
			for i := 0; i < per; i++ {
				pipe = append(pipe, encode("INCR", all[i%len(all)])...)
			}
			c.c.Write(pipe)
			for i := 0; i < per; i++ {
				if _, err := c.readReply(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	c := dial(t, addr)
	total := 0
	for _, k := range all {
		c.c.Write(encode("GET", k))
		r, _ := c.readReply()
		n, _ := strconv.Atoi(r)
		total += n
	}
	if total != clients*per {
		t.Fatalf("counters sum to %d, want %d", total, clients*per)
	}
	// Replaying the effects in hand-off order gives the same final values.
	time.Sleep(50 * time.Millisecond)
	rec.mu.Lock()
	stream := string(rec.b)
	rec.mu.Unlock()
	final := map[string]string{}
	for _, rec := range strings.Split(stream, "*3\r\n$3\r\nSET\r\n")[1:] {
		f := strings.Split(rec, "\r\n")
		final[f[1]] = f[3]
	}
	for _, k := range all {
		c.c.Write(encode("GET", k))
		r, _ := c.readReply()
		if final[k] != r {
			t.Fatalf("replayed %s = %q, live %q", k, final[k], r)
		}
	}
}
