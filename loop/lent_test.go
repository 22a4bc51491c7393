package loop

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/config"
	"github.com/basaltdb/basalt/script"
)

// startScriptEngine is startEngine with Lua: EVAL (keyed scripts run
// inline on the owner's runner, keyless ones on the executor with every
// loop parked, or inline with one loop) and SCRIPT KILL, allowed while
// busy; busy-reply-threshold is 50ms.
func startScriptEngine(t *testing.T, loops int) (string, *Engine, *effectRecorder) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := config.Default()
	cfg.BusyReplyThreshold = 50
	se, err := script.NewEngine(script.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(se.Close)
	var e *Engine
	tbl := testTable()
	kill := &command.Spec{Name: "script", Arity: 2, Scope: command.ScopeConn, Run: func(c *command.Ctx) { e.ScriptKill(c, true) }}
	tbl.Add(
		&command.Spec{Name: "eval", Arity: -3, Flags: command.FlagNoScript, Scope: command.ScopeAll,
			KeysFunc: ScriptKeys, ScopeFunc: ScriptScope, Run: func(c *command.Ctx) { e.Eval(c, false, false) }},
		kill,
	)
	rec := &effectRecorder{}
	e, err = New(Options{Loops: loops, Addrs: []string{addr}, Table: tbl,
		Config: func() *config.Config { return cfg }, Effects: rec.add, Logf: func(string, ...any) {},
		Script: ScriptOptions{Engine: se, Flags: map[*command.Spec]ScriptFlag{kill: ScriptAllowBusy}}})
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
	return addr, e, rec
}

// TestLentLoopsServeBusy drives lent mode at the loop level, keyless
// (executor, parked loops lent) and keyed (inline on the owner's runner,
// that loop lent) runaway scripts, with one and two loops: every
// connection, old or opened while busy, gets BUSY at once (not held: the
// script is published busy before any loop is lent); SCRIPT KILL works;
// what the script's client pipelined runs after; and a busy script that
// wrote leaves one atomic group of effects.
func TestLentLoopsServeBusy(t *testing.T) {
	const busy = "-" + script.ErrBusyEval
	for _, loops := range []int{1, 2} {
		for _, keyed := range []bool{false, true} {
			name := map[bool]string{false: "keyless", true: "keyed"}[keyed]
			t.Run(name+"/loops"+string(rune('0'+loops)), func(t *testing.T) {
				addr, e, rec := startScriptEngine(t, loops)
				keys := keysOnLoops(e, 2)
				var old []*rawClient
				for i := 0; i < 4; i++ {
					c := dial(t, addr)
					c.send(t, "set", keys[i%loops][0], "v")
					if r, err := c.readReply(); err != nil || r != "+OK" {
						t.Fatalf("SET: %q %v", r, err)
					}
					old = append(old, c)
				}
				runner := dial(t, addr)
				numkeys := []string{"0"}
				if keyed {
					numkeys = []string{"1", keys[loops-1][1]}
				}
				runner.send(t, append([]string{"eval", "while true do end"}, numkeys...)...)
				runner.send(t, "get", keys[0][0])
				deadline := time.Now().Add(10 * time.Second)
				for i, c := range old {
					for {
						c.send(t, "get", keys[i%loops][0])
						r, err := c.readReply()
						if err != nil {
							t.Fatalf("old connection %d: %v", i, err)
						}
						if r == busy {
							break
						}
						if time.Now().After(deadline) {
							t.Fatalf("old connection %d never got BUSY: %q", i, r)
						}
						time.Sleep(10 * time.Millisecond)
					}
				}
				for i := 0; i < 4; i++ {
					c := dial(t, addr)
					c.send(t, "ping")
					if r, err := c.readReply(); err != nil || r != busy {
						t.Fatalf("new connection: %q %v", r, err)
					}
				}
				killer := dial(t, addr)
				killer.send(t, "script", "kill")
				if r, err := killer.readReply(); err != nil || r != "+OK" {
					t.Fatalf("SCRIPT KILL: %q %v", r, err)
				}
				if r, err := runner.readReply(); err != nil || !strings.HasPrefix(r, "-ERR Script killed by user with SCRIPT KILL...") {
					t.Fatalf("killed script: %q %v", r, err)
				}
				if r, err := runner.readReply(); err != nil || r != "v" {
					t.Fatalf("GET pipelined behind the script: %q %v", r, err)
				}
				for i, c := range old {
					c.send(t, "get", keys[i%loops][0])
					if r, err := c.readReply(); err != nil || r != "v" {
						t.Fatalf("GET after: %q %v", r, err)
					}
				}
				// A busy script that wrote runs to its end; its effects are
				// one group, though it went busy halfway.
				rec.mu.Lock()
				rec.b = rec.b[:0]
				rec.mu.Unlock()
				runner.send(t, append([]string{"eval", `local k = KEYS[1] or 'c' redis.call('set', k, '1') redis.call('set', k, '2')
					local i = 0 while i < 3000000 do i = i + 1 end
					redis.call('set', k, '3') return redis.call('get', k)`}, numkeys...)...)
				time.Sleep(60 * time.Millisecond)
				killer.send(t, "script", "kill")
				if r, err := killer.readReply(); err != nil || (r != "-"+script.ErrUnkillableWritten && r != "-"+script.ErrNotBusy) {
					t.Fatalf("SCRIPT KILL of a writer: %q %v", r, err)
				}
				if r, err := runner.readReply(); err != nil || r != "3" {
					t.Fatalf("writing script: %q %v", r, err)
				}
				killer.send(t, "ping") // a turn of every loop later, the effects are handed off
				if r, err := killer.readReply(); err != nil || r != "+PONG" {
					t.Fatalf("PING: %q %v", r, err)
				}
				rec.mu.Lock()
				log := string(rec.b)
				rec.mu.Unlock()
				if strings.Count(log, "MULTI") != 1 || strings.Count(log, "EXEC") != 1 || strings.Count(log, "SET") != 3 ||
					strings.Index(log, "MULTI") > strings.Index(log, "SET") || strings.LastIndex(log, "EXEC") < strings.LastIndex(log, "SET") {
					t.Fatalf("effects of the writing script: %q", log)
				}
			})
		}
	}
}
