package server

import (
	"strings"

	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/command/meta"
	"github.com/basaltdb/basalt/loop"
	"github.com/basaltdb/basalt/script"
)

// Scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, FCALL, FCALL_RO, SCRIPT
// and FUNCTION. The script package runs Lua; the loop package places a
// run on the loops its declared keys need and serves BUSY and KILL
// (loop/script.go). The server owns the script.Engine (script cache and
// function libraries), created with the server and shared by every loop.

// addScriptCommands registers the scripting commands.
func (s *Server) addScriptCommands(t *command.Table) {
	eval := func(name string, sha, ro bool) *command.Spec {
		fl := command.FlagNoScript
		if ro {
			fl |= command.FlagReadOnly
		}
		// ScopeAll narrowed to ScopeKeys by ScriptScope when the script
		// declares keys (a ScopeFunc may only narrow).
		return &command.Spec{Name: name, Arity: -3, Flags: fl, Scope: command.ScopeAll,
			KeysFunc: loop.ScriptKeys, ScopeFunc: loop.ScriptScope,
			Run: func(c *command.Ctx) { s.engine.Eval(c, sha, ro) }}
	}
	fcall := func(name string, ro bool) *command.Spec {
		sp := eval(name, false, ro)
		sp.Run = func(c *command.Ctx) { s.engine.FCall(c, ro) }
		return sp
	}
	conn := func(name string, arity int, flags command.Flags, run command.Handler) *command.Spec {
		return &command.Spec{Name: name, Arity: arity, Flags: flags, Scope: command.ScopeConn, Run: run}
	}
	sub := func(specs ...*command.Spec) map[string]*command.Spec {
		m := make(map[string]*command.Spec, len(specs))
		for _, sp := range specs {
			m[sp.Name[strings.IndexByte(sp.Name, '|')+1:]] = sp
		}
		return m
	}
	scriptCmd := func(c *command.Ctx) { s.engine.ScriptCommand(c) }
	// FUNCTION LOAD, DELETE, FLUSH and RESTORE change what every loop may
	// call and are logged: they run with every loop parked, like other
	// writes over the whole keyspace, so the log orders them.
	fnWrite := func(name string, arity int) *command.Spec {
		return &command.Spec{Name: name, Arity: arity, Flags: command.FlagWrite | command.FlagNoScript, Scope: command.ScopeAll,
			Run: func(c *command.Ctx) { s.engine.FunctionCommand(c) }}
	}
	fnRead := func(c *command.Ctx) { s.engine.FunctionCommand(c) }
	t.Add(
		eval("eval", false, false),
		eval("evalsha", true, false),
		eval("eval_ro", false, true),
		eval("evalsha_ro", true, true),
		fcall("fcall", false),
		fcall("fcall_ro", true),
		&command.Spec{Name: "script", Arity: -2, Scope: command.ScopeConn, Run: cmdContainerHelp,
			Subs: sub(
				conn("script|load", 3, command.FlagNoScript, scriptCmd),
				conn("script|exists", -3, command.FlagNoScript, scriptCmd),
				conn("script|flush", -2, command.FlagNoScript, scriptCmd),
				conn("script|kill", 2, command.FlagNoScript, func(c *command.Ctx) { s.engine.ScriptKill(c, true) }),
				conn("script|debug", 3, command.FlagNoScript, scriptCmd),
				conn("script|help", 2, command.FlagLoading, scriptCmd),
			)},
		&command.Spec{Name: "function", Arity: -2, Scope: command.ScopeConn, Run: cmdContainerHelp,
			Subs: sub(
				fnWrite("function|load", -3),
				fnWrite("function|delete", 3),
				fnWrite("function|flush", -2),
				fnWrite("function|restore", -3),
				conn("function|dump", 2, command.FlagNoScript, fnRead),
				conn("function|list", -2, command.FlagNoScript, fnRead),
				conn("function|stats", 2, command.FlagNoScript, func(c *command.Ctx) { s.engine.FunctionStats(c) }),
				conn("function|kill", 2, command.FlagNoScript, func(c *command.Ctx) { s.engine.ScriptKill(c, false) }),
				conn("function|help", 2, command.FlagLoading, fnRead),
			)},
	)
}

// allowBusy are Redis 7.0's allow_busy commands (COMMAND INFO): served
// while a script is busy.
var allowBusy = [...]string{"auth", "hello", "quit", "reset", "shutdown", "multi", "discard", "watch", "unwatch",
	"replconf", "script|kill", "function|kill", "function|stats"}

// scriptOptions builds the loop's scripting options: the engine and
// Redis's flags that decide what a script may call (noscript, from the
// captured COMMAND metadata; may_replicate) and what runs while a script
// is busy (allow_busy).
func (s *Server) scriptOptions(se *script.Engine) loop.ScriptOptions {
	md := s.meta
	if md == nil {
		md = meta.New()
	}
	flags := make(map[*command.Spec]loop.ScriptFlag)
	mark := func(sp *command.Spec) {
		var f loop.ScriptFlag
		if m := md.LookupFull([]byte(sp.Name)); m != nil && m.HasFlag("noscript") {
			f |= loop.ScriptNoScript
		}
		switch sp.Name {
		case "publish", "spublish", "pfcount": // may_replicate (not in COMMAND INFO)
			f |= loop.ScriptMayReplicate
		}
		for _, n := range allowBusy {
			if sp.Name == n {
				f |= loop.ScriptAllowBusy
			}
		}
		if f != 0 {
			flags[sp] = f
		}
	}
	for _, sp := range s.table.All() {
		mark(sp)
		for _, sub := range sp.Subs {
			mark(sub)
		}
	}
	return loop.ScriptOptions{Engine: se, Flags: flags}
}

// newScriptEngine creates the script engine of one Run (closed when Run
// returns).
func newScriptEngine() (*script.Engine, error) {
	return script.NewEngine(script.Config{Version: Version})
}
