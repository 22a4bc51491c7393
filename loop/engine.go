// Package loop runs Basalt's per-core event loops on gnet: it owns the
// client connections, parses their pipelines, executes each command on the
// loop that owns its keys' slots (inline when that is the client's own
// loop, over a lock-free queue otherwise), keeps replies in pipeline order,
// and sends commands that span loops to the transaction executor.
package loop

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/config"
	"github.com/basaltdb/basalt/effect"
	"github.com/basaltdb/basalt/internal/hash"
	"github.com/basaltdb/basalt/keyspace"
)

// Options configure an Engine. Config returns the configuration in force
// (the server swaps it on CONFIG SET); it is called from every loop.
type Options struct {
	Loops  int
	Addrs  []string // host:port to listen on
	Table  *command.Table
	Config func() *config.Config
	// Effects receives each batch of effect records: loop is the producing
	// loop's index, or -1 for the transaction executor. It runs on that
	// goroutine and must copy what it keeps. May be nil. It returns the
	// batch's log position (0 when there is no log); while the reply gate
	// is on (SetReplyGate), replies that depend on the batch wait until
	// Durable reaches it.
	Effects func(loop int, log *effect.Log) uint64
	// WriteRefusal returns the error that write commands (and PING) get
	// while the log cannot write (Redis's MISCONF), or "". May be nil.
	WriteRefusal func() string
	// AllowProtected decides whether a connection may run FlagProtected
	// commands (DEBUG), and the error reply if not.
	AllowProtected func(s *command.Session) (bool, string)
	// Logf logs a notice.
	Logf func(format string, args ...any)
	// Script wires Lua scripting (script.go).
	Script ScriptOptions
}

// Stats are server-wide counters of rare events, updated atomically.
type Stats struct {
	Connections atomic.Int64 // total_connections_received
	Rejected    atomic.Int64 // rejected_connections
	Clients     atomic.Int64 // connected_clients
	Txns        atomic.Int64 // commands run on the executor
	Blocked     atomic.Int64 // blocked_clients
}

// LoopStats are one loop's counters of frequent events. Only the loop
// writes them (atomically, so INFO may read them from anywhere); keeping
// them per loop avoids cache-line contention between loops.
type LoopStats struct {
	Commands    atomic.Int64 // total_commands_processed
	NetInput    atomic.Int64
	NetOutput   atomic.Int64
	ExpiredKeys atomic.Int64
	CrossLoop   atomic.Int64 // commands sent to another loop
	_           [24]byte
}

// Totals sums the per-loop counters.
func (e *Engine) Totals() (t struct{ Commands, NetInput, NetOutput, ExpiredKeys, CrossLoop int64 }) {
	for _, l := range e.loops {
		t.Commands += l.Stats.Commands.Load()
		t.NetInput += l.Stats.NetInput.Load()
		t.NetOutput += l.Stats.NetOutput.Load()
		t.ExpiredKeys += l.Stats.ExpiredKeys.Load()
		t.CrossLoop += l.Stats.CrossLoop.Load()
	}
	return t
}

// ResetStats zeroes the counters (CONFIG RESETSTAT).
func (e *Engine) ResetStats() {
	e.Stats.Connections.Store(0)
	e.Stats.Rejected.Store(0)
	e.Stats.Txns.Store(0)
	for _, sh := range e.shards {
		sh.Hits.Store(0)
		sh.Misses.Store(0)
	}
	for _, l := range e.loops {
		l.Stats.Commands.Store(0)
		l.Stats.NetInput.Store(0)
		l.Stats.NetOutput.Store(0)
		l.Stats.ExpiredKeys.Store(0)
		l.Stats.CrossLoop.Store(0)
	}
}

// Engine is the set of loops and the executor. Create with New, start with
// Serve.
type Engine struct {
	gnet.BuiltinEventEngine
	opts   Options
	loops  []*Loop
	shards []*keyspace.Shard
	slots  atomic.Pointer[command.SlotMap]
	exec   *executor
	dirty  atomic.Int64 // changes made (Dirty)
	gnet   gnet.Engine

	mu    sync.Mutex // guards byEL, known and anchorPorts until ready
	byEL  map[gnet.EventLoop]*Loop
	known int
	// anchorPorts are the local ports of discovery's own connections, so
	// that OnOpen tells them from clients that connect during start-up.
	anchorPorts map[int]bool
	ready       chan struct{}
	started     atomic.Bool

	nextID       atomic.Int64
	Stats        Stats
	ActiveExpire atomic.Bool
	startTime    time.Time
	stopOnce     sync.Once
	stopped      chan struct{}
	rnd          atomic.Uint64
	// durable is the highest log position known durable (see Durable).
	durable   atomic.Uint64
	replyGate atomic.Bool
	// Listeners of keyspace events (events.go).
	watches  watchRegistry
	tracking trackingTable
	ps       pubsubRegistry // pub/sub channels and patterns (pubsub.go)
	scr      scriptState    // running and busy scripts (script.go)
}

// Durable records that log positions up to seq are durable and wakes the
// loops holding replies that wait for them. Any goroutine may call it (the
// log's committer does).
func (e *Engine) Durable(seq uint64) {
	for {
		cur := e.durable.Load()
		if seq <= cur {
			return
		}
		if e.durable.CompareAndSwap(cur, seq) {
			break
		}
	}
	for _, l := range e.loops {
		if l.gatedN.Load() > 0 && l.durWake.cas(false, true) {
			l.send(&l.durMsg)
		}
	}
}

// New builds an engine with opts.Loops loops, each with an empty shard, and
// the slots split in contiguous ranges across them.
func New(opts Options) (*Engine, error) {
	if opts.Loops < 1 {
		return nil, errors.New("loops must be at least 1")
	}
	cfg := opts.Config()
	e := &Engine{
		opts: opts, byEL: make(map[gnet.EventLoop]*Loop), anchorPorts: make(map[int]bool),
		ready: make(chan struct{}), stopped: make(chan struct{}), startTime: time.Now(),
	}
	e.rnd.Store(uint64(time.Now().UnixNano()))
	e.ActiveExpire.Store(true)
	sm := new(command.SlotMap)
	for s := range sm {
		sm[s] = uint16(s * opts.Loops / hash.SlotCount)
	}
	e.slots.Store(sm)
	for i := 0; i < opts.Loops; i++ {
		l := &Loop{idx: i, eng: e, shard: keyspace.NewShard(cfg.Databases), clients: make(map[*client]struct{})}
		l.durMsg = msg{kind: msgFunc, fn: (*Loop).onDurable}
		l.shard.Log = &l.log
		l.sink.e, l.sink.l = e, l
		l.shard.Expired = l.keyExpired
		l.log.Discard = opts.Effects == nil
		l.out = make([]*batch, opts.Loops)
		e.loops = append(e.loops, l)
		e.shards = append(e.shards, l.shard)
	}
	e.exec = newExecutor(e)
	return e, nil
}

// Loops returns the loops (for tests and admin commands).
func (e *Engine) Loops() []*Loop { return e.loops }

// Shards returns every shard. Touch one only from its loop, or from a
// ScopeAll handler while every loop is parked.
func (e *Engine) Shards() []*keyspace.Shard { return e.shards }

// SlotMap returns the slot-to-loop table in force.
func (e *Engine) SlotMap() *command.SlotMap { return e.slots.Load() }

// SetSlotMap publishes a new slot-to-loop table. Moving a slot's keys
// between shards is the rebalancer's job (later issue); today this is only
// safe on an empty keyspace.
func (e *Engine) SetSlotMap(m *command.SlotMap) { e.slots.Store(m) }

// StartTime is when the engine was created.
func (e *Engine) StartTime() time.Time { return e.startTime }

func (e *Engine) cfg() *config.Config { return e.opts.Config() }

func (e *Engine) now() int64 { return time.Now().UnixMilli() }

// Dirty counts the changes made so far (effect records, expiries
// included): Redis's server.dirty, for save points and INFO.
func (e *Engine) Dirty() int64 { return e.dirty.Load() }

// LoadEntry returns the entry for key in database db of the shard owning
// it, creating it (empty) when absent, and that shard. For loading a
// dataset: call it only before Serve or from a transaction that parked
// every loop (RunOnAll).
func (e *Engine) LoadEntry(db int, key []byte) (*keyspace.Shard, *keyspace.Entry) {
	sh := e.shards[e.slots.Load()[hash.Slot(key)]]
	en, _ := sh.Upsert(db, key, e.now())
	return sh, en
}

func (e *Engine) rand() uint64 {
	return e.rnd.Add(0x9E3779B97F4A7C15) ^ rand.Uint64()
}

// Serve listens and runs the loops; it returns when the engine stops.
// ready is closed once every loop is known and clients are being served.
func (e *Engine) Serve(ready chan<- error) error {
	go e.exec.run()
	go e.ticker()
	addrs := make([]string, len(e.opts.Addrs))
	for i, a := range e.opts.Addrs {
		addrs[i] = "tcp://" + a
	}
	opts := []gnet.Option{
		gnet.WithMulticore(true),
		gnet.WithNumEventLoop(e.opts.Loops),
		gnet.WithReuseAddr(true),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithLogger(gnetLogger{e.opts.Logf}),
	}
	go e.discover(ready)
	err := gnet.Rotate(e, addrs, opts...)
	e.shutdownInternals()
	return err
}

// gnetLogger passes gnet's warnings and errors to our log and drops its
// chatter.
type gnetLogger struct{ logf func(string, ...any) }

func (gnetLogger) Debugf(string, ...any) {}
func (gnetLogger) Infof(string, ...any)  {}
func (l gnetLogger) Warnf(f string, a ...any) {
	if l.logf != nil {
		l.logf("gnet: "+f, a...)
	}
}
func (l gnetLogger) Errorf(f string, a ...any) { l.Warnf(f, a...) }
func (l gnetLogger) Fatalf(f string, a ...any) { l.Warnf(f, a...) }

// OnBoot keeps the gnet engine handle.
func (e *Engine) OnBoot(eng gnet.Engine) gnet.Action {
	e.gnet = eng
	e.started.Store(true)
	return gnet.None
}

// discover connects to our own listener until every gnet event loop has
// been seen once (gnet assigns accepted connections round-robin), so each
// loop's handle is known before clients rely on cross-loop messages.
func (e *Engine) discover(ready chan<- error) {
	deadline := time.Now().Add(10 * time.Second)
	var anchors []net.Conn
	defer func() {
		for _, c := range anchors {
			c.Close()
		}
	}()
	addr := e.opts.Addrs[0]
	if strings.HasPrefix(addr, "0.0.0.0:") || strings.HasPrefix(addr, "*:") {
		addr = "127.0.0.1:" + addr[strings.LastIndexByte(addr, ':')+1:]
	} else if strings.HasPrefix(addr, "[::]:") {
		addr = "[::1]:" + addr[strings.LastIndexByte(addr, ':')+1:]
	}
	for {
		e.mu.Lock()
		n := e.known
		e.mu.Unlock()
		if n == len(e.loops) {
			break
		}
		if time.Now().After(deadline) {
			if ready != nil {
				ready <- fmt.Errorf("could not reach all %d event loops (saw %d)", len(e.loops), n)
			}
			return
		}
		if !e.started.Load() {
			time.Sleep(time.Millisecond)
			continue
		}
		c, err := e.dialAnchor(addr)
		if err != nil {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		anchors = append(anchors, c)
		// Wait for OnOpen to register it before dialing again, so the
		// round-robin balancer moves on to the next loop.
		for i := 0; i < 200; i++ {
			e.mu.Lock()
			m := e.known
			e.mu.Unlock()
			if m > n {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	close(e.ready)
	// Clients that connected during start-up waited with their input
	// unread (process holds it until ready): serve it now.
	for _, l := range e.loops {
		l.send(&msg{kind: msgFunc, fn: func(l *Loop) {
			for cl := range l.clients {
				l.process(cl)
			}
		}})
	}
	if ready != nil {
		ready <- nil
	}
}

// dialAnchor connects one discovery connection, recording its local port
// before the connection is made so that OnOpen can recognise it.
func (e *Engine) dialAnchor(addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: time.Second, Control: func(network, _ string, rc syscall.RawConn) error {
		var err error
		cerr := rc.Control(func(fd uintptr) {
			var sa syscall.Sockaddr = &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
			if network == "tcp6" {
				sa = &syscall.SockaddrInet6{Addr: [16]byte{15: 1}}
			}
			if err = syscall.Bind(int(fd), sa); err != nil {
				return
			}
			var got syscall.Sockaddr
			if got, err = syscall.Getsockname(int(fd)); err != nil {
				return
			}
			port := 0
			switch a := got.(type) {
			case *syscall.SockaddrInet4:
				port = a.Port
			case *syscall.SockaddrInet6:
				port = a.Port
			}
			e.mu.Lock()
			e.anchorPorts[port] = true
			e.mu.Unlock()
		})
		if cerr != nil {
			return cerr
		}
		return err
	}}
	return d.Dial("tcp", addr)
}

// isAnchor reports whether a connection from remote is one of discovery's.
func (e *Engine) isAnchor(remote net.Addr) bool {
	a, ok := remote.(*net.TCPAddr)
	if !ok || !a.IP.IsLoopback() {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.anchorPorts[a.Port]
}

// loopOf maps a gnet event loop to ours, assigning the next free index the
// first time a loop is seen.
func (e *Engine) loopOf(el gnet.EventLoop) *Loop {
	e.mu.Lock()
	defer e.mu.Unlock()
	if l, ok := e.byEL[el]; ok {
		return l
	}
	if e.known >= len(e.loops) {
		return nil
	}
	l := e.loops[e.known]
	l.el = el
	e.byEL[el] = l
	e.known++
	return l
}

// Stop closes every connection and stops the loops.
func (e *Engine) Stop() {
	e.stopOnce.Do(func() {
		close(e.stopped)
		if e.gnet.Validate() == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = e.gnet.Stop(ctx)
		}
	})
}

func (e *Engine) shutdownInternals() {
	select {
	case <-e.exec.stop:
	default:
		close(e.exec.stop)
	}
	<-e.exec.done
}

// ticker drives the periodic work of each loop (active expiry, client
// timeouts) at hz times a second.
func (e *Engine) ticker() {
	for {
		hz := e.cfg().Hz
		if hz < 1 {
			hz = 10
		}
		select {
		case <-e.stopped:
			return
		case <-time.After(time.Second / time.Duration(hz)):
		}
		select {
		case <-e.ready:
		default:
			continue
		}
		for _, l := range e.loops {
			l.send(&msg{kind: msgFunc, fn: (*Loop).tick})
		}
	}
}

// RunOnAll runs fn as a transaction with every loop parked, waits for it,
// and returns. For admin paths (tests, INFO from outside a client).
func (e *Engine) RunOnAll(fn func(c *command.Ctx)) {
	<-e.ready
	t := &txn{loops: e.loops, proto: 2}
	t.m.t = t
	done := make(chan struct{})
	t.fn = func(c *command.Ctx) { fn(c); close(done) }
	e.exec.submit(t)
	<-done
}

// ForEachSession calls fn for every connected client's session. Call it
// only from a transaction that parked every loop (a ScopeAll handler).
func (e *Engine) ForEachSession(fn func(s *command.Session)) {
	for _, l := range e.loops {
		for cl := range l.clients {
			fn(&cl.sess)
		}
	}
}

// KillClient closes the connection of session s. Safe from any goroutine
// while s's loop is parked or from s's loop.
func (e *Engine) KillClient(s *command.Session) {
	for _, l := range e.loops {
		for cl := range l.clients {
			if &cl.sess == s {
				cl.killed = true
				_ = cl.conn.Close()
				return
			}
		}
	}
}
