package script

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// Engine holds what all VMs share: the EVAL script registry with its
// compiled-proto cache, and the function libraries. It is safe for
// concurrent use. One per server.
type Engine struct {
	cfg Config

	mu      sync.RWMutex
	scripts map[string]*Script // sha -> script; authoritative for SCRIPT EXISTS
	gen     atomic.Uint64      // bumped by SCRIPT FLUSH: VMs drop their closures

	protos *ristretto.Cache[string, *lua.FunctionProto]

	funcs Functions
}

// Script is one EVAL script known to the registry. Immutable.
type Script struct {
	SHA   string
	Body  []byte
	Flags Flags
	// shebang is the length of the shebang line (0 without one).
	shebang int
}

// NewEngine creates the shared scripting state.
func NewEngine(cfg Config) (*Engine, error) {
	if cfg.CheckEvery <= 0 {
		cfg.CheckEvery = 100000
	}
	if cfg.ScriptCacheBytes <= 0 {
		cfg.ScriptCacheBytes = 64 << 20
	}
	if cfg.LoadTimeout == 0 {
		cfg.LoadTimeout = 500 * time.Millisecond
	}
	if cfg.Version == "" {
		cfg.Version = "7.0.15"
	}
	c, err := ristretto.NewCache(&ristretto.Config[string, *lua.FunctionProto]{
		NumCounters: 100000,
		MaxCost:     cfg.ScriptCacheBytes,
		BufferItems: 64,
	})
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, scripts: make(map[string]*Script), protos: c}
	e.funcs.libs = make(map[string]*Library)
	e.funcs.fns = make(map[string]*Function)
	return e, nil
}

// Close stops the proto cache's goroutines.
func (e *Engine) Close() { e.protos.Close() }

// Lookup returns the script with this SHA1 (any case), or nil.
func (e *Engine) Lookup(sha []byte) *Script {
	if len(sha) != 40 {
		return nil
	}
	var lower [40]byte
	for i, c := range sha {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	e.mu.RLock()
	s := e.scripts[string(lower[:])]
	e.mu.RUnlock()
	return s
}

// Exists is SCRIPT EXISTS for one sha (exact match, as Redis's dict).
func (e *Engine) Exists(sha []byte) bool {
	e.mu.RLock()
	_, ok := e.scripts[string(sha)]
	e.mu.RUnlock()
	return ok
}

// Len is the number of cached scripts (INFO's number_of_cached_scripts).
func (e *Engine) Len() int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return len(e.scripts)
}

// Flush is SCRIPT FLUSH: every script is forgotten; VMs drop their
// compiled closures on their next run.
func (e *Engine) Flush() {
	e.mu.Lock()
	e.scripts = make(map[string]*Script)
	e.gen.Add(1)
	e.mu.Unlock()
	e.protos.Clear()
}

// Load is SCRIPT LOAD (and the first half of EVAL): it checks the shebang,
// compiles the body and registers it. errMsg is the error reply text.
func (e *Engine) Load(body []byte) (s *Script, errMsg string) {
	sha := Sha1Hex(body)
	e.mu.RLock()
	s = e.scripts[sha]
	e.mu.RUnlock()
	if s != nil {
		return s, ""
	}
	flags, sb, errMsg := parseShebang(body)
	if errMsg != "" {
		return nil, errMsg
	}
	s = &Script{SHA: sha, Body: bytes.Clone(body), Flags: flags, shebang: sb}
	proto, err := compileChunk(s.Body[sb:], "user_script")
	if err != "" {
		return nil, "ERR Error compiling script (new function): " + err
	}
	e.mu.Lock()
	if old := e.scripts[sha]; old != nil {
		s = old
	} else {
		e.scripts[sha] = s
	}
	e.mu.Unlock()
	e.protos.Set(sha, proto, int64(len(body))+1)
	return s, ""
}

// proto returns the compiled script, from the cache or compiled again.
func (e *Engine) proto(s *Script) (*lua.FunctionProto, string) {
	if p, ok := e.protos.Get(s.SHA); ok {
		return p, ""
	}
	p, err := compileChunk(s.Body[s.shebang:], "user_script")
	if err != "" {
		return nil, "ERR Error compiling script (new function): " + err
	}
	e.protos.Set(s.SHA, p, int64(len(s.Body))+1)
	return p, ""
}

// compileChunk compiles Lua source as a chunk named name, reporting a
// syntax error as Lua 5.1's luaL_loadbuffer words it where gopher-lua's
// parser lets us ("user_script:1: unexpected symbol near '<eof>'").
func compileChunk(src []byte, name string) (p *lua.FunctionProto, errMsg string) {
	defer func() {
		if r := recover(); r != nil {
			p, errMsg = nil, fmt.Sprintf("%s: %v", name, r)
		}
	}()
	// Lua 5.1 refuses some chunks gopher-lua accepts (";", "3e", goto).
	if msg := lua51SyntaxError(src, name); msg != "" {
		return nil, msg
	}
	chunk, err := parse.Parse(bytes.NewReader(src), name)
	if err != nil {
		return nil, luaSyntaxError(err, src, name)
	}
	p, err = lua.Compile(chunk, name)
	if err != nil {
		return nil, luaSyntaxError(err, src, name)
	}
	// gopher-lua marks a main chunk "needs arg" (Lua 5.0's implicit arg
	// table), so every call of it would build an arg table with an "n"
	// field (a map): a third of a small EVALSHA's garbage. Lua 5.1, as
	// Redis builds it, gives a main chunk no arg, and gopher-lua declares
	// no arg local for it either: the table was unreachable.
	p.IsVarArg &^= lua.VarArgNeedsArg
	return p, ""
}

// luaSyntaxError rewrites a gopher-lua parse error in Lua 5.1's form.
func luaSyntaxError(err error, src []byte, name string) string {
	pe, ok := err.(*parse.Error)
	if !ok {
		if ce, ok := err.(*lua.CompileError); ok {
			return fmt.Sprintf("%s:%d: %s", name, ce.Line, ce.Message)
		}
		return err.Error()
	}
	line := pe.Pos.Line
	tok := pe.Token
	if line <= 0 || tok == "" {
		line = bytes.Count(src, []byte("\n")) + 1
		tok = "<eof>"
	}
	msg := pe.Message
	switch {
	case msg == "syntax error" || strings.HasPrefix(msg, "syntax error"):
		msg = "unexpected symbol"
	case strings.Contains(msg, "unterminated string"):
		msg = "unfinished string"
	case strings.Contains(msg, "unterminated multiline string"):
		msg = "unfinished long string"
	}
	return name + ":" + strconv.Itoa(line) + ": " + msg + " near '" + tok + "'"
}
