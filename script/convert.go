package script

import (
	"bytes"
	"math"
	"strconv"

	"github.com/basaltdb/basalt/resp"
	lua "github.com/yuin/gopher-lua"
)

// errorTable is luaPushErrorBuff: a Redis error ("-CODE msg" or a bare
// message, which gets the ERR code) as the {err="CODE msg"} table that
// redis.pcall returns and redis.call raises. Trailing CR/LF are trimmed.
func errorTable(L *lua.LState, e []byte) *lua.LTable {
	var msg string
	if len(e) > 0 && e[0] == '-' {
		if sp := bytes.IndexByte(e, ' '); sp < 0 {
			msg = "ERR " + trimCRLF(string(e[1:]))
		} else {
			msg = string(e[1:sp]) + " " + trimCRLF(string(e[sp+1:]))
		}
	} else {
		msg = "ERR " + trimCRLF(string(e))
	}
	t := L.CreateTable(0, 2)
	t.RawSetString("err", lua.LString(msg))
	return t
}

// trimCRLF is sdstrim(s, "\r\n"): CR and LF off both ends.
func trimCRLF(s string) string {
	for len(s) > 0 && (s[0] == '\r' || s[0] == '\n') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == '\r' || s[len(s)-1] == '\n') {
		s = s[:len(s)-1]
	}
	return s
}

// replyToLua converts one RESP2/RESP3 reply at b[i:] into a Lua value as
// redisProtocolToLuaType does, returning the value and the offset past it.
// The reply comes from the host, so it is trusted to be well formed; a
// malformed one converts to nil rather than panicking.
func replyToLua(L *lua.LState, b []byte, i int) (lua.LValue, int) {
	if i >= len(b) {
		return lua.LNil, len(b)
	}
	t := b[i]
	line, next := replyLine(b, i+1)
	switch t {
	case '+':
		tb := L.CreateTable(0, 1)
		tb.RawSetString("ok", lua.LString(line))
		return tb, next
	case '-':
		tb := errorTable(L, b[i:next-2])
		tb.RawSetString("ignore_error_stats_update", lua.LTrue)
		return tb, next
	case ':':
		n, _ := strconv.ParseInt(string(line), 10, 64)
		return lua.LNumber(float64(n)), next
	case '$', '=':
		n, _ := strconv.Atoi(string(line))
		if n < 0 {
			return lua.LFalse, next
		}
		end := next + n
		if end > len(b) {
			return lua.LNil, len(b)
		}
		s := b[next:end]
		if t == '=' {
			tb := L.CreateTable(0, 1)
			v := L.CreateTable(0, 2)
			if len(s) >= 4 {
				v.RawSetString("string", lua.LString(s[4:]))
				v.RawSetString("format", lua.LString(s[:3]))
			}
			tb.RawSetString("verbatim_string", v)
			return tb, end + 2
		}
		return lua.LString(s), end + 2
	case '*', '~', '%', '|', '>':
		n, _ := strconv.Atoi(string(line))
		if n < 0 {
			return lua.LFalse, next
		}
		switch t {
		case '*', '>':
			tb := L.CreateTable(n, 0)
			for j := 1; j <= n; j++ {
				var v lua.LValue
				v, next = replyToLua(L, b, next)
				tb.RawSetInt(j, v)
			}
			return tb, next
		case '~':
			set := L.CreateTable(0, n)
			for j := 0; j < n; j++ {
				var v lua.LValue
				v, next = replyToLua(L, b, next)
				if v != lua.LNil {
					set.RawSet(v, lua.LTrue)
				}
			}
			tb := L.CreateTable(0, 1)
			tb.RawSetString("set", set)
			return tb, next
		case '%':
			m := L.CreateTable(0, n)
			for j := 0; j < n; j++ {
				var k, v lua.LValue
				k, next = replyToLua(L, b, next)
				v, next = replyToLua(L, b, next)
				if k != lua.LNil {
					m.RawSet(k, v)
				}
			}
			tb := L.CreateTable(0, 1)
			tb.RawSetString("map", m)
			return tb, next
		default: // '|': attributes are not exposed to Lua; the reply follows.
			for j := 0; j < 2*n; j++ {
				next = skipReply(b, next)
			}
			return replyToLua(L, b, next)
		}
	case '_':
		return lua.LNil, next
	case '#':
		return lua.LBool(len(line) > 0 && line[0] == 't'), next
	case ',':
		f, _ := strconv.ParseFloat(string(line), 64)
		tb := L.CreateTable(0, 1)
		tb.RawSetString("double", lua.LNumber(f))
		return tb, next
	case '(':
		tb := L.CreateTable(0, 1)
		tb.RawSetString("big_number", lua.LString(line))
		return tb, next
	}
	return lua.LNil, next
}

// replyLine returns the text of the line starting at b[i:] (without CRLF)
// and the offset after its CRLF.
func replyLine(b []byte, i int) ([]byte, int) {
	j := bytes.Index(b[i:], []byte("\r\n"))
	if j < 0 {
		return b[i:], len(b)
	}
	return b[i : i+j], i + j + 2
}

// skipReply returns the offset past the reply at b[i:].
func skipReply(b []byte, i int) int {
	if i >= len(b) {
		return len(b)
	}
	t := b[i]
	line, next := replyLine(b, i+1)
	switch t {
	case '$', '=', '!':
		n, _ := strconv.Atoi(string(line))
		if n < 0 {
			return next
		}
		return min(next+n+2, len(b))
	case '*', '~', '>', '%', '|':
		n, _ := strconv.Atoi(string(line))
		if t == '%' || t == '|' {
			n *= 2
		}
		for j := 0; j < n; j++ {
			next = skipReply(b, next)
		}
		if t == '|' {
			next = skipReply(b, next)
		}
	}
	return next
}

// luaStackMax and luaStackBase model the C Lua stack that Redis's
// luaReplyToRedisReply consumes while it walks nested tables
// (LUAI_MAXCSTACK 8000, 2 slots in use on entry, room for 4 more needed
// at each step), so a too deeply nested or cyclic reply ends with the same
// "reached lua stack limit" error element at the same depth.
const (
	luaStackMax  = 8000
	luaStackBase = 2
)

// writeLuaReply is luaReplyToRedisReply: it appends the Lua value v to w
// (the calling client's protocol in w.Proto). scriptResp is the protocol
// the script selected with redis.setresp: with 2, booleans keep their
// RESP2 meaning (true -> 1, false -> null) even for a RESP3 client.
func writeLuaReply(w *resp.Writer, v lua.LValue, scriptResp int, used int) {
	if used+4 > luaStackMax {
		w.Error("ERR reached lua stack limit")
		return
	}
	switch v := v.(type) {
	case lua.LString:
		w.BulkString(string(v))
	case lua.LBool:
		if scriptResp == 2 {
			if v {
				w.Int(1)
			} else {
				w.Null()
			}
			return
		}
		w.Bool(bool(v))
	case lua.LNumber:
		w.Int(luaNumberToInt(float64(v)))
	case *lua.LTable:
		writeLuaTable(w, v, scriptResp, used)
	default:
		w.Null()
	}
}

// luaNumberToInt is C's (long long) cast of a lua_Number as x86-64 does
// it: truncation toward zero, and the "integer indefinite" value
// (math.MinInt64) for NaN and out of range values.
func luaNumberToInt(f float64) int64 {
	if math.IsNaN(f) || f >= 9.223372036854775807e18 || f < -9.223372036854775808e18 {
		return math.MinInt64
	}
	return int64(f)
}

func writeLuaTable(w *resp.Writer, t *lua.LTable, scriptResp int, used int) {
	if e, ok := t.RawGetString("err").(lua.LString); ok {
		writeErrorReply(w, string(e))
		return
	}
	if s, ok := t.RawGetString("ok").(lua.LString); ok {
		w.B = append(w.B, '+')
		w.B = appendNoCRLF(w.B, string(s))
		w.B = append(w.B, '\r', '\n')
		return
	}
	if d, ok := t.RawGetString("double").(lua.LNumber); ok {
		w.Double(float64(d))
		return
	}
	if s, ok := t.RawGetString("big_number").(lua.LString); ok {
		if w.Proto >= 3 {
			w.B = append(w.B, '(')
			w.B = appendNoCRLF(w.B, string(s))
			w.B = append(w.B, '\r', '\n')
		} else {
			w.Bulk(appendNoCRLF(nil, string(s)))
		}
		return
	}
	if vt, ok := t.RawGetString("verbatim_string").(*lua.LTable); ok {
		if f, ok := vt.RawGetString("format").(lua.LString); ok {
			if s, ok := vt.RawGetString("string").(lua.LString); ok {
				w.Verbatim(string(f), []byte(s))
				return
			}
		}
	}
	if m, ok := t.RawGetString("map").(*lua.LTable); ok {
		n := 0
		for k, _ := m.Next(lua.LNil); k != lua.LNil; k, _ = m.Next(k) {
			n++
		}
		w.MapLen(n)
		for k, v := m.Next(lua.LNil); k != lua.LNil; k, v = m.Next(k) {
			writeLuaReply(w, k, scriptResp, used+4)
			writeLuaReply(w, v, scriptResp, used+3)
		}
		return
	}
	if s, ok := t.RawGetString("set").(*lua.LTable); ok {
		n := 0
		for k, _ := s.Next(lua.LNil); k != lua.LNil; k, _ = s.Next(k) {
			n++
		}
		w.SetLen(n)
		for k, _ := s.Next(lua.LNil); k != lua.LNil; k, _ = s.Next(k) {
			writeLuaReply(w, k, scriptResp, used+3)
		}
		return
	}
	n := 0
	for t.RawGetInt(n+1) != lua.LNil {
		n++
	}
	w.ArrayLen(n)
	for j := 1; j <= n; j++ {
		writeLuaReply(w, t.RawGetInt(j), scriptResp, used+1)
	}
}

// writeErrorReply appends "-" + msg as addReplyErrorFormat("-%s") does:
// msg carries its own code; CR and LF become spaces.
func writeErrorReply(w *resp.Writer, msg string) {
	w.B = append(w.B, '-')
	w.B = appendNoCRLF(w.B, msg)
	w.B = append(w.B, '\r', '\n')
}

// appendNoCRLF appends s with CR and LF mapped to spaces (sdsmapchars).
func appendNoCRLF(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		dst = append(dst, c)
	}
	return dst
}
