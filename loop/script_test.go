package loop

import (
	"testing"

	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/config"
	"github.com/basaltdb/basalt/resp"
	"github.com/basaltdb/basalt/script"
)

func TestScriptKeysAndScope(t *testing.T) {
	args := func(s ...string) [][]byte {
		out := make([][]byte, len(s))
		for i, a := range s {
			out[i] = []byte(a)
		}
		return out
	}
	tests := []struct {
		args  [][]byte
		keys  int
		scope command.Scope
	}{
		{args("eval", "s", "0"), 0, command.ScopeAll},
		{args("eval", "s", "2", "a", "b", "c"), 2, command.ScopeKeys},
		{args("eval", "s", "3", "a", "b"), 0, command.ScopeAll}, // too many: the handler errors
		{args("eval", "s", "-1"), 0, command.ScopeAll},
		{args("eval", "s", "x", "a"), 0, command.ScopeAll},
	}
	for _, tt := range tests {
		if got := ScriptKeys(tt.args, nil); len(got) != tt.keys {
			t.Errorf("%q: keys %v", tt.args, got)
		}
		if got := ScriptScope(tt.args); got != tt.scope {
			t.Errorf("%q: scope %v", tt.args, got)
		}
	}
}

// TestScriptBusyAndKillStates: the BUSY rejection and SCRIPT KILL /
// FUNCTION KILL against the states of a published busy script.
func TestScriptBusyAndKillStates(t *testing.T) {
	tbl := command.NewTable()
	ping := &command.Spec{Name: "ping", Arity: -1, Scope: command.ScopeConn}
	shutdown := &command.Spec{Name: "shutdown", Arity: -1, Scope: command.ScopeConn}
	tbl.Add(ping, shutdown)
	cfg := config.Default()
	e, err := New(Options{Loops: 1, Table: tbl, Config: func() *config.Config { return cfg },
		Script: ScriptOptions{Flags: map[*command.Spec]ScriptFlag{shutdown: ScriptAllowBusy}}})
	if err != nil {
		t.Fatal(err)
	}
	kill := func(eval bool) string {
		w := resp.Writer{}
		e.ScriptKill(&command.Ctx{Out: &w}, eval)
		return string(w.B)
	}
	if got := e.busyRejection(ping, nil); got != "" {
		t.Errorf("not busy: %q", got)
	}
	if got := kill(true); got != "-"+script.ErrNotBusy+"\r\n" {
		t.Errorf("SCRIPT KILL, nothing runs: %q", got)
	}
	h := e.newScriptHost(nil, nil)
	h.gen = 7
	h.state.Store(7 << 2)
	b := &busyScript{name: "f", eval: false, gen: 7, state: &h.state}
	e.scr.busy.Store(b)
	if got := e.busyRejection(ping, [][]byte{[]byte("ping")}); got != script.ErrBusyFunction {
		t.Errorf("function busy: %q", got)
	}
	if got := e.busyRejection(shutdown, [][]byte{[]byte("shutdown")}); got != script.ErrBusyFunction {
		t.Errorf("SHUTDOWN without NOSAVE: %q", got)
	}
	if got := kill(true); got != "-"+script.ErrBusyFunction+"\r\n" {
		t.Errorf("SCRIPT KILL of a function: %q", got)
	}
	h.state.Store(7<<2 | runWrote)
	if got := kill(false); got != "-"+script.ErrUnkillableWritten+"\r\n" {
		t.Errorf("FUNCTION KILL after a write: %q", got)
	}
	h.state.Store(7 << 2)
	if got := kill(false); got != "+OK\r\n" || h.state.Load() != 7<<2|runKilled {
		t.Errorf("FUNCTION KILL: %q, state %d", got, h.state.Load())
	}
	h.state.Store(8 << 2) // the next run: a late kill must not hit it
	if got := kill(false); got != "-"+script.ErrNotBusy+"\r\n" || h.state.Load() != 8<<2 {
		t.Errorf("late FUNCTION KILL: %q, state %d", got, h.state.Load())
	}
	h.state.Store(7<<2 | runWrote)
	if got := e.busyRejection(shutdown, [][]byte{[]byte("shutdown"), []byte("NoSave")}); got != "" || h.state.Load()&3 != runKilled {
		t.Errorf("SHUTDOWN NOSAVE: %q, state %d", got, h.state.Load())
	}
	b2 := &busyScript{name: "sha", eval: true, gen: 9, state: &h.state}
	e.scr.busy.Store(b2)
	if got := e.busyRejection(ping, nil); got != script.ErrBusyEval {
		t.Errorf("eval busy: %q", got)
	}
}
