package loop

import (
	"bufio"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/config"
	"github.com/basaltdb/basalt/keyspace"
)

// trackingTestTable is the test table for client-side caching: reads flagged
// read-only, writes that report Modified, FLUSHALL, and the tracking
// commands of the engine.
func trackingTestTable(e **Engine) *command.Table {
	t := command.NewTable()
	set := func(c *command.Ctx, k, v []byte) {
		en, _ := c.Shard(k).Upsert(c.DB, k, c.Now)
		en.Kind, en.Str = keyspace.KindString, append([]byte(nil), v...)
		c.Modified(k)
	}
	conn := func(name string, arity int, run command.Handler) *command.Spec {
		return &command.Spec{Name: name, Arity: arity, Scope: command.ScopeConn, Run: run}
	}
	t.Add(
		&command.Spec{Name: "set", Arity: 3, FirstKey: 1, LastKey: 1, Flags: command.FlagWrite, Run: func(c *command.Ctx) {
			set(c, c.Args[1], c.Args[2])
			c.Out.OK()
		}},
		&command.Spec{Name: "mset", Arity: -3, FirstKey: 1, LastKey: -1, Step: 2, Flags: command.FlagWrite, Run: func(c *command.Ctx) {
			for i := 1; i+1 < len(c.Args); i += 2 {
				set(c, c.Args[i], c.Args[i+1])
			}
			c.Out.OK()
		}},
		&command.Spec{Name: "get", Arity: 2, FirstKey: 1, LastKey: 1, Flags: command.FlagReadOnly, Run: func(c *command.Ctx) {
			if en := c.Lookup(c.Args[1]); en != nil {
				c.Out.Bulk(en.Str)
			} else {
				c.Out.Null()
			}
		}},
		&command.Spec{Name: "flushall", Arity: 1, Scope: command.ScopeAll, Flags: command.FlagWrite, Run: func(c *command.Ctx) {
			if c.Events != nil {
				c.Events.Flushed(-1)
			}
			for _, sh := range c.Shards {
				for db := 0; db < sh.Databases(); db++ {
					sh.Flush(db)
				}
			}
			c.Out.OK()
		}},
		conn("hello3", 1, func(c *command.Ctx) { c.Sess.Proto, c.Out.Proto = 3, 3; c.Out.OK() }),
		conn("id", 1, func(c *command.Ctx) { c.Out.Int(c.Sess.ID) }),
		conn("whichloop", 1, func(c *command.Ctx) { c.Out.Int(int64((*e).clientOf(c.Sess).loop.idx)) }),
		conn("subscribe", -2, func(c *command.Ctx) { (*e).Subscribe(c) }),
		&command.Spec{Name: "client", Arity: -2, Scope: command.ScopeConn, Subs: map[string]*command.Spec{
			"tracking":     conn("client|tracking", -3, func(c *command.Ctx) { (*e).ClientTracking(c) }),
			"caching":      conn("client|caching", 3, func(c *command.Ctx) { (*e).ClientCaching(c) }),
			"trackinginfo": conn("client|trackinginfo", 2, func(c *command.Ctx) { (*e).ClientTrackingInfo(c) }),
		}},
	)
	return t
}

func startTrackingEngine(t *testing.T, loops int, cfg *config.Config) (string, *Engine) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var e *Engine
	e, err = New(Options{Loops: loops, Addrs: []string{addr}, Table: trackingTestTable(&e),
		Config: func() *config.Config { return cfg }, Logf: func(string, ...any) {}})
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan error, 1)
	done := make(chan error, 1)
	go func() { done <- e.Serve(ready) }()
	if err := <-ready; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.Stop()
		<-done
	})
	return addr, e
}

// trackDialOn connects until it gets a client on loop idx.
func trackDialOn(t *testing.T, addr string, idx int) *rawClient {
	t.Helper()
	for i := 0; i < 64; i++ {
		c := dial(t, addr)
		if c.do(t, "WHICHLOOP") == ":"+strconv.Itoa(idx) {
			return c
		}
		c.c.Close()
	}
	t.Fatalf("no connection landed on loop %d", idx)
	return nil
}

// readPush reads one RESP3 push or reply, rendered like readReply (a push
// as >[...]).
func (rc *rawClient) readAny(t *testing.T) string {
	t.Helper()
	rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := rc.r.Peek(1)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] == '>' || b[0] == '_' {
		line, _ := rc.r.ReadString('\n')
		if b[0] == '_' {
			return "nil"
		}
		n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
		parts := make([]string, n)
		for i := range parts {
			parts[i] = rc.readAny(t)
		}
		return ">[" + strings.Join(parts, " ") + "]"
	}
	r, err := rc.readReply()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func expectNothing(t *testing.T, rc *rawClient) {
	t.Helper()
	rc.c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if b, err := rc.r.Peek(1); err == nil {
		line, _ := rc.r.ReadString('\n')
		t.Fatalf("unexpected %q (%q)", b, line)
	}
	rc.r = bufio.NewReader(rc.c)
}

// TestTrackingAcrossLoops: a RESP3 tracker on loop 0 reading keys of
// every loop gets each invalidation once; a RESP2 tracker on loop 0
// redirecting to a subscriber on loop 1 has its invalidations of a key
// of loop 2 delivered there; FLUSHALL sends each tracking client exactly
// one null; the counters follow.
func TestTrackingAcrossLoops(t *testing.T) {
	addr, e := startTrackingEngine(t, 3, config.Default())
	keys := keysOnLoops(e, 2)
	tr := trackDialOn(t, addr, 0)
	tr.do(t, "HELLO3")
	if r := tr.do(t, "CLIENT", "TRACKING", "on"); r != "+OK" {
		t.Fatal(r)
	}
	w := trackDialOn(t, addr, 1)
	for _, ks := range keys {
		tr.c.Write(encode("GET", ks[0]))
		tr.readAny(t)
	}
	if c, k, it, _ := e.TrackingStats(); c != 1 || k != 3 || it != 3 {
		t.Fatalf("stats %d %d %d", c, k, it)
	}
	for _, ks := range keys {
		w.do(t, "SET", ks[0], "v")
		if got := tr.readAny(t); got != ">[invalidate ["+ks[0]+"]]" {
			t.Fatalf("got %q", got)
		}
		w.do(t, "SET", ks[0], "v2") // forgotten
	}
	expectNothing(t, tr)
	if _, k, it, _ := e.TrackingStats(); k != 0 || it != 0 {
		t.Fatalf("table not empty: %d %d", k, it)
	}

	sub := trackDialOn(t, addr, 1)
	subID := strings.TrimPrefix(sub.do(t, "ID"), ":")
	sub.do(t, "SUBSCRIBE", "__redis__:invalidate")
	r2 := trackDialOn(t, addr, 0)
	if r := r2.do(t, "CLIENT", "TRACKING", "on", "REDIRECT", subID); r != "+OK" {
		t.Fatal(r)
	}
	r2.do(t, "GET", keys[2][1]) // RESP2
	w.do(t, "SET", keys[2][1], "x")
	if got, _ := sub.readReply(); got != "[message __redis__:invalidate ["+keys[2][1]+"]]" {
		t.Fatalf("redirected: %q", got)
	}
	w.do(t, "FLUSHALL")
	if got := tr.readAny(t); got != ">[invalidate nil]" {
		t.Fatalf("flush: %q", got)
	}
	if got, _ := sub.readReply(); got != "[message __redis__:invalidate nil]" {
		t.Fatalf("flush redirected: %q", got)
	}
	expectNothing(t, tr)
	expectNothing(t, sub)
}

// TestTrackingNoStaleCache is the property client-side caching exists
// for: a client that caches what its reads return and drops what it is
// told is invalid never keeps a value the server no longer has, however
// its reads (pipelined, on other loops) interleave with other clients'
// writes.
func TestTrackingNoStaleCache(t *testing.T) {
	addr, e := startTrackingEngine(t, 3, config.Default())
	var keys []string
	for _, ks := range keysOnLoops(e, 4) {
		keys = append(keys, ks...)
	}
	tr := trackDialOn(t, addr, 0)
	tr.do(t, "HELLO3")
	tr.do(t, "CLIENT", "TRACKING", "on")
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		defer c.Close()
		rd := bufio.NewReader(c)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			c.Write(encode("SET", keys[rand.IntN(len(keys))], strconv.Itoa(i)))
			if _, err := rd.ReadString('\n'); err != nil {
				return
			}
		}
	}()
	cache := map[string]string{}
	for round := 0; round < 300; round++ {
		var batch []string
		var raw []byte
		for j := 0; j < 8; j++ {
			k := keys[rand.IntN(len(keys))]
			batch = append(batch, k)
			raw = append(raw, encode("GET", k)...)
		}
		tr.c.Write(raw)
		for got := 0; got < len(batch); {
			r := tr.readAny(t)
			if strings.HasPrefix(r, ">[invalidate [") {
				delete(cache, strings.TrimSuffix(strings.TrimPrefix(r, ">[invalidate ["), "]]"))
				continue
			}
			cache[batch[got]] = r
			got++
		}
	}
	close(stop)
	<-done
	time.Sleep(100 * time.Millisecond)
	// Drain the last invalidations, then compare with the server.
	for {
		tr.c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := tr.r.Peek(1); err != nil {
			break
		}
		r := tr.readAny(t)
		delete(cache, strings.TrimSuffix(strings.TrimPrefix(r, ">[invalidate ["), "]]"))
	}
	tr.r = bufio.NewReader(tr.c)
	check := dial(t, addr)
	for k, v := range cache {
		if now := check.do(t, "GET", k); now != v {
			t.Errorf("stale cache: %s = %q, server has %q", k, v, now)
		}
	}
}

// TestTrackingTableLimit: past tracking-table-max-keys, keys are
// forgotten and their clients told.
func TestTrackingTableLimit(t *testing.T) {
	cfg := config.Default()
	cfg.TrackingTableMaxKeys = 3
	addr, e := startTrackingEngine(t, 2, cfg)
	tr := dial(t, addr)
	tr.do(t, "HELLO3")
	tr.do(t, "CLIENT", "TRACKING", "on")
	pushes := 0
	for i := 0; i < 10; i++ {
		tr.c.Write(encode("GET", "lim"+strconv.Itoa(i)))
		for {
			r := tr.readAny(t)
			if strings.HasPrefix(r, ">[invalidate") {
				pushes++
				continue
			}
			break
		}
	}
	time.Sleep(50 * time.Millisecond)
	for {
		tr.c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := tr.r.Peek(1); err != nil {
			break
		}
		tr.readAny(t)
		pushes++
	}
	if _, k, _, _ := e.TrackingStats(); k != 3 {
		t.Errorf("keys %d, want 3", k)
	}
	if pushes != 7 {
		t.Errorf("%d invalidations, want 7", pushes)
	}
}
