package loop

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/config"
	"github.com/basaltdb/basalt/keyspace"
)

// startPubsub starts an engine with the test table plus pub/sub commands,
// "whichloop" (the index of the client's loop) and "nset" (SET that
// reports a "set" keyspace event). The test may publish a new config
// through cfgp.
func startPubsub(t *testing.T, loops int, cfg *config.Config) (string, *Engine) {
	return startPubsubCfg(t, loops, cfg, nil)
}

func startPubsubCfg(t *testing.T, loops int, cfg *config.Config, cfgp *atomic.Pointer[config.Config]) (string, *Engine) {
	if cfgp == nil {
		cfgp = new(atomic.Pointer[config.Config])
	}
	cfgp.Store(cfg)
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var e *Engine
	tab := testTable()
	conn := func(name string, arity int, run func(c *command.Ctx)) *command.Spec {
		return &command.Spec{Name: name, Arity: arity, Scope: command.ScopeConn, Run: run}
	}
	nset := func(c *command.Ctx) {
		for i := 1; i+1 < len(c.Args); i += 2 {
			k := c.Args[i]
			en, _ := c.Shard(k).Upsert(c.DB, k, c.Now)
			en.Kind, en.Str = keyspace.KindString, append([]byte(nil), c.Args[i+1]...)
			c.ModifiedNotify(command.NotifyString, "set", k)
		}
		c.Out.OK()
	}
	tab.Add(
		conn("subscribe", -2, func(c *command.Ctx) { e.Subscribe(c) }),
		conn("unsubscribe", -1, func(c *command.Ctx) { e.Unsubscribe(c) }),
		conn("psubscribe", -2, func(c *command.Ctx) { e.PSubscribe(c) }),
		conn("punsubscribe", -1, func(c *command.Ctx) { e.PUnsubscribe(c) }),
		conn("ssubscribe", -2, func(c *command.Ctx) { e.SSubscribe(c) }),
		conn("publish", 3, func(c *command.Ctx) { e.Publish(c) }),
		conn("spublish", 3, func(c *command.Ctx) { e.SPublish(c) }),
		conn("whichloop", 1, func(c *command.Ctx) { c.Out.Int(int64(e.runner(c).idx)) }),
		conn("id", 1, func(c *command.Ctx) { c.Out.Int(c.Sess.ID) }),
		// pushto id text: deliverTo the client with that id a RESP3 push.
		conn("pushto", 3, func(c *command.Ctx) {
			id, _ := strconv.ParseInt(string(c.Args[1]), 10, 64)
			var target *client
			e.ps.conns.Range(func(_, v any) bool {
				if cl := v.(*client); cl.sess.ID == id {
					target = cl
				}
				return target == nil
			})
			if target == nil {
				c.Out.Error("ERR no such client")
				return
			}
			e.deliverTo(e.runner(c), target, []byte("*2\r\n$4\r\npush\r\n$"+strconv.Itoa(len(c.Args[2]))+"\r\n"+string(c.Args[2])+"\r\n"))
			c.Out.OK()
		}),
		&command.Spec{Name: "nset", Arity: -3, FirstKey: 1, LastKey: -1, Step: 2, Flags: command.FlagWrite, Run: nset},
	)
	e, err = New(Options{Loops: loops, Addrs: []string{addr}, Table: tab,
		Config: cfgp.Load, Logf: func(string, ...any) {}})
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
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("engine did not stop")
		}
	})
	return addr, e
}

func (rc *rawClient) do(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := rc.c.Write(encode(args...)); err != nil {
		t.Fatal(err)
	}
	r, err := rc.readReply()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// dialOn connects until it gets a client on loop idx.
func dialOn(t *testing.T, addr string, idx int) *rawClient {
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

func TestNotifyBitsMatchCommand(t *testing.T) {
	pairs := [][2]uint16{
		{config.NotifyKeyspace, uint16(command.NotifyKeyspace)}, {config.NotifyKeyevent, uint16(command.NotifyKeyevent)},
		{config.NotifyGeneric, uint16(command.NotifyGeneric)}, {config.NotifyString, uint16(command.NotifyString)},
		{config.NotifyList, uint16(command.NotifyList)}, {config.NotifySet, uint16(command.NotifySet)},
		{config.NotifyHash, uint16(command.NotifyHash)}, {config.NotifyZset, uint16(command.NotifyZset)},
		{config.NotifyExpired, uint16(command.NotifyExpired)}, {config.NotifyEvicted, uint16(command.NotifyEvicted)},
		{config.NotifyStream, uint16(command.NotifyStream)}, {config.NotifyKeyMiss, uint16(command.NotifyKeyMiss)},
		{config.NotifyLoaded, uint16(command.NotifyLoaded)}, {config.NotifyModule, uint16(command.NotifyModule)},
		{config.NotifyNew, uint16(command.NotifyNew)}, {config.NotifyAll, uint16(command.NotifyAll)},
	}
	for i, p := range pairs {
		if p[0] != p[1] {
			t.Errorf("pair %d: config %b, command %b", i, p[0], p[1])
		}
	}
}

// TestPublishOrderAcrossLoops: one publisher, subscribers on its loop and
// on the other ones; every subscriber gets every message in order, and
// PUBLISH counts them all.
func TestPublishOrderAcrossLoops(t *testing.T) {
	const loops, n = 3, 2000
	addr, _ := startPubsub(t, loops, config.Default())
	var subs []*rawClient
	for i := 0; i < loops; i++ {
		s := dialOn(t, addr, i)
		if r := s.do(t, "SUBSCRIBE", "ch"); r != "[subscribe ch :1]" {
			t.Fatal(r)
		}
		subs = append(subs, s)
	}
	p := dialOn(t, addr, 0)
	pp := dialOn(t, addr, 1) // a second publisher on another loop, interleaving
	var pipe, pipe2 []byte
	for i := 0; i < n; i++ {
		pipe = append(pipe, encode("PUBLISH", "ch", "a"+strconv.Itoa(i))...)
		pipe2 = append(pipe2, encode("PUBLISH", "ch", "b"+strconv.Itoa(i))...)
	}
	var wg sync.WaitGroup
	for _, c := range []struct {
		rc   *rawClient
		pipe []byte
	}{{p, pipe}, {pp, pipe2}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.rc.c.Write(c.pipe); err != nil {
				t.Error(err)
				return
			}
			for i := 0; i < n; i++ {
				if r, err := c.rc.readReply(); err != nil || r != ":"+strconv.Itoa(loops) {
					t.Errorf("publish %d: %q %v", i, r, err)
					return
				}
			}
		}()
	}
	for si, s := range subs {
		next := map[byte]int{}
		for i := 0; i < 2*n; i++ {
			r, err := s.readReply()
			if err != nil {
				t.Fatalf("sub %d: %v", si, err)
			}
			var from byte
			var seq int
			if _, err := fmt.Sscanf(r, "[message ch %c%d]", &from, &seq); err != nil {
				t.Fatalf("sub %d: %q", si, r)
			}
			if seq != next[from] {
				t.Fatalf("sub %d: got %c%d, want %c%d", si, from, seq, from, next[from])
			}
			next[from]++
		}
	}
	wg.Wait()
}

// TestPatternsAndShardChannels: PSUBSCRIBE matches, SPUBLISH reaches only
// shard subscribers, counts include pattern matches.
func TestPatternsAndShardChannels(t *testing.T) {
	addr, e := startPubsub(t, 2, config.Default())
	a := dialOn(t, addr, 0)
	b := dialOn(t, addr, 1)
	if r := a.do(t, "SUBSCRIBE", "news.x"); r != "[subscribe news.x :1]" {
		t.Fatal(r)
	}
	if r := a.do(t, "PSUBSCRIBE", "news.*"); r != "[psubscribe news.* :2]" {
		t.Fatal(r)
	}
	if r := b.do(t, "PSUBSCRIBE", "n*"); r != "[psubscribe n* :1]" {
		t.Fatal(r)
	}
	if r := b.do(t, "SSUBSCRIBE", "news.x"); r != "[ssubscribe news.x :1]" {
		t.Fatal(r)
	}
	pub := dial(t, addr)
	if r := pub.do(t, "PUBLISH", "news.x", "hi"); r != ":3" {
		t.Fatal(r)
	}
	for _, want := range []string{"[message news.x hi]", "[pmessage news.* news.x hi]"} {
		if r, _ := a.readReply(); r != want {
			t.Fatalf("a got %q want %q", r, want)
		}
	}
	if r, _ := b.readReply(); r != "[pmessage n* news.x hi]" {
		t.Fatal(r)
	}
	if r := pub.do(t, "SPUBLISH", "news.x", "s"); r != ":1" {
		t.Fatal(r)
	}
	if r, _ := b.readReply(); r != "[smessage news.x s]" {
		t.Fatal(r)
	}
	if ch, pats, sh := e.PubsubStats(); ch != 1 || pats != 2 || sh != 1 {
		t.Fatalf("stats %d %d %d", ch, pats, sh)
	}
	if n := e.PubsubNumSub([]byte("news.x"), false); n != 1 {
		t.Fatal(n)
	}
	// RESP2 subscribed mode.
	if r := a.do(t, "GET", "k"); r != "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context" {
		t.Fatal(r)
	}
	if r := a.do(t, "UNSUBSCRIBE"); r != "[unsubscribe news.x :1]" {
		t.Fatal(r)
	}
	if r := a.do(t, "PUNSUBSCRIBE", "news.*", "zz"); r != "[punsubscribe news.* :0]" {
		t.Fatal(r)
	}
	if r, _ := a.readReply(); r != "[punsubscribe zz :0]" {
		t.Fatal(r)
	}
	if r := a.do(t, "UNSUBSCRIBE"); r != "[unsubscribe nil :0]" {
		t.Fatal(r)
	}
	if r := a.do(t, "GET", "k"); r != "nil" {
		t.Fatal(r)
	}
	b.c.Close() // disconnection drops its subscriptions
	deadline := time.Now().Add(5 * time.Second)
	for {
		ch, pats, sh := e.PubsubStats()
		if ch == 0 && pats == 0 && sh == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats after close %d %d %d", ch, pats, sh)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if r := pub.do(t, "PUBLISH", "news.x", "hi"); r != ":0" {
		t.Fatal(r)
	}
}

// TestKeyspaceNotifyOrder: keyspace then keyevent messages, in command
// order, for keys written on the subscriber's loop, on another loop, and
// by a transaction over both loops (executor).
func TestKeyspaceNotifyOrder(t *testing.T) {
	cfg := config.Default()
	cfg.NotifyKeyspaceEvents = config.NotifyKeyspace | config.NotifyKeyevent | config.NotifyAll
	var cfgp atomic.Pointer[config.Config]
	addr, e := startPubsubCfg(t, 2, cfg, &cfgp)
	keys := keysOnLoops(e, 3)
	subs := []*rawClient{dialOn(t, addr, 0), dialOn(t, addr, 1)}
	for _, s := range subs {
		if r := s.do(t, "PSUBSCRIBE", "__key*@*__:*"); r != "[psubscribe __key*@*__:* :1]" {
			t.Fatal(r)
		}
	}
	w := dialOn(t, addr, 0)
	var pipe []byte
	var want []string
	add := func(k string) {
		want = append(want, "[pmessage __key*@*__:* __keyspace@0__:"+k+" set]",
			"[pmessage __key*@*__:* __keyevent@0__:set "+k+"]")
	}
	for i := 0; i < 3; i++ {
		pipe = append(pipe, encode("NSET", keys[0][i], "v")...)
		add(keys[0][i])
		pipe = append(pipe, encode("NSET", keys[1][i], "v")...)
		add(keys[1][i])
		pipe = append(pipe, encode("NSET", keys[0][i], "v", keys[1][i], "w")...)
		add(keys[0][i])
		add(keys[1][i])
	}
	if _, err := w.c.Write(pipe); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 9; i++ {
		if r, err := w.readReply(); err != nil || r != "+OK" {
			t.Fatal(r, err)
		}
	}
	for si, s := range subs {
		for i, wt := range want {
			if r, err := s.readReply(); err != nil || r != wt {
				t.Fatalf("sub %d msg %d: %q %v, want %q", si, i, r, err, wt)
			}
		}
	}
	// Only E: one message per event; only K: the other one.
	cfg2 := *cfg
	cfg2.NotifyKeyspaceEvents = config.NotifyKeyevent | config.NotifyString
	cfgp.Store(&cfg2)
	if r := w.do(t, "NSET", keys[1][0], "x"); r != "+OK" {
		t.Fatal(r)
	}
	if r, _ := subs[0].readReply(); r != "[pmessage __key*@*__:* __keyevent@0__:set "+keys[1][0]+"]" {
		t.Fatal(r)
	}
}

// TestSlowSubscriberDisconnected: a subscriber that stops reading is
// closed once it holds more than the pubsub hard limit, while another
// subscriber keeps receiving everything.
func TestSlowSubscriberDisconnected(t *testing.T) {
	cfg := config.Default()
	cfg.ClientOutputBufferLimits[config.ClientPubsub] = config.OBufLimit{Hard: 1 << 20, Soft: 1 << 19, SoftSeconds: 60}
	addr, e := startPubsub(t, 2, cfg)
	slow := dialOn(t, addr, 0)
	fast := dialOn(t, addr, 1)
	for _, s := range []*rawClient{slow, fast} {
		if r := s.do(t, "SUBSCRIBE", "big"); r != "[subscribe big :1]" {
			t.Fatal(r)
		}
	}
	pub := dialOn(t, addr, 1)
	payload := string(bytes.Repeat([]byte("x"), 64<<10))
	const n = 400 // 25 MiB
	got := make(chan int, 1)
	go func() {
		count := 0
		for count < n {
			r, err := fast.readReply()
			if err != nil {
				break
			}
			if len(r) > 10 {
				count++
			}
		}
		got <- count
	}()
	receivers := map[string]int{}
	for i := 0; i < n; i++ {
		r := pub.do(t, "PUBLISH", "big", payload)
		receivers[r]++
	}
	if c := <-got; c != n {
		t.Fatalf("fast subscriber got %d of %d", c, n)
	}
	// The slow subscriber's loop may still be delivering its last batch
	// when the fast one has read everything.
	for deadline := time.Now().Add(5 * time.Second); e.OutputBufferKills() == 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if e.OutputBufferKills() != 1 {
		t.Fatalf("kills %d (receivers %v)", e.OutputBufferKills(), receivers)
	}
	if receivers[":1"] == 0 || receivers[":2"] == 0 {
		t.Fatalf("receivers %v", receivers)
	}
	// The slow one reads what reached its socket, then EOF.
	slow.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, slow.c); err != nil {
		t.Fatalf("slow subscriber: %v", err)
	}
}

// TestDeliverToInOrder: bytes delivered to a client on another loop, and
// on the same loop, arrive in order with the messages published by the
// same goroutine.
func TestDeliverToInOrder(t *testing.T) {
	addr, _ := startPubsub(t, 2, config.Default())
	for _, loop := range []int{0, 1} {
		x := dialOn(t, addr, loop)
		id := strings.TrimPrefix(x.do(t, "ID"), ":")
		ch := "ch" + strconv.Itoa(loop)
		if r := x.do(t, "SUBSCRIBE", ch); r != "[subscribe "+ch+" :1]" {
			t.Fatal(r)
		}
		y := dialOn(t, addr, 0)
		var pipe []byte
		var want []string
		for i := 0; i < 50; i++ {
			pipe = append(pipe, encode("PUBLISH", ch, "m"+strconv.Itoa(i))...)
			pipe = append(pipe, encode("PUSHTO", id, "r"+strconv.Itoa(i))...)
			want = append(want, "[message "+ch+" m"+strconv.Itoa(i)+"]", "[push r"+strconv.Itoa(i)+"]")
		}
		if _, err := y.c.Write(pipe); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 100; i++ {
			if r, err := y.readReply(); err != nil || (r != ":1" && r != "+OK") {
				t.Fatal(r, err)
			}
		}
		for i, w := range want {
			if r, err := x.readReply(); err != nil || r != w {
				t.Fatalf("loop %d, #%d: %q %v, want %q", loop, i, r, err, w)
			}
		}
	}
}
