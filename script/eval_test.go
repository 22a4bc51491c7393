package script

import (
	"testing"
)

// Expected replies below were produced by redis-server 7.0.15 (raw RESP).
func TestEvalReplies(t *testing.T) {
	_, vm := newTestVM(t, Config{})
	h := newFakeHost()
	tests := []struct {
		body  string
		proto int
		want  string
	}{
		{"return {1,2,nil,4}", 2, "*2\r\n:1\r\n:2\r\n"},
		{"return 3.99", 2, ":3\r\n"},
		{"return -3.99", 2, ":-3\r\n"},
		{"return {err='bad'}", 2, "-bad\r\n"},
		{"return redis.error_reply('X')", 2, "-ERR X\r\n"},
		{"return redis.error_reply('MY err')", 2, "-MY err\r\n"},
		{"return redis.error_reply('')", 2, "-ERR \r\n"},
		{"return redis.error_reply(5)", 2, "-ERR wrong number or type of arguments\r\n"},
		{"return redis.status_reply('S')", 2, "+S\r\n"},
		{"return redis.status_reply(5)", 2, "-ERR wrong number or type of arguments\r\n"},
		{"return redis.status_reply('a\\r\\nb')", 2, "+a  b\r\n"},
		{"return redis.error_reply('a\\r\\nb')", 2, "-ERR a  b\r\n"},
		{"return {err='a\\r\\nb'}", 2, "-a  b\r\n"},
		{"return {err=5}", 2, "*0\r\n"},
		{"return {ok=5}", 2, "*0\r\n"},
		{"return true", 2, ":1\r\n"},
		{"return false", 2, "$-1\r\n"},
		{"return nil", 2, "$-1\r\n"},
		{"return true", 3, ":1\r\n"},
		{"return false", 3, "_\r\n"},
		{"return nil", 3, "_\r\n"},
		{"redis.setresp(3) return true", 3, "#t\r\n"},
		{"redis.setresp(3) return false", 3, "#f\r\n"},
		{"redis.setresp(3) return false", 2, ":0\r\n"},
		{"return {double=3.5}", 3, ",3.5\r\n"},
		{"return {big_number='123'}", 3, "(123\r\n"},
		{"return {map={a=1}}", 3, "%1\r\n$1\r\na\r\n:1\r\n"},
		{"return {set={a=true}}", 3, "~1\r\n$1\r\na\r\n"},
		{"return {double=3.5}", 2, "$3\r\n3.5\r\n"},
		{"return {big_number='123'}", 2, "$3\r\n123\r\n"},
		{"return {map={a=1}}", 2, "*2\r\n$1\r\na\r\n:1\r\n"},
		{"return {set={a=true}}", 2, "*1\r\n$1\r\na\r\n"},
		{"return {verbatim_string={format='txt',string='hi'}}", 2, "$2\r\nhi\r\n"},
		{"return {verbatim_string={format='txt',string='hi'}}", 3, "=6\r\ntxt:hi\r\n"},
		{"return {'a',{ok='x'},{err='y'},true,false,1.5}", 2, "*6\r\n$1\r\na\r\n+x\r\n-y\r\n:1\r\n$-1\r\n:1\r\n"},
		{"return 1e400", 2, ":-9223372036854775808\r\n"},
		{"return 0/0", 2, ":-9223372036854775808\r\n"},
		{"return _VERSION", 2, "$7\r\nLua 5.1\r\n"},
		{"return redis.REDIS_VERSION_NUM .. ' ' .. redis.REDIS_VERSION", 2, "$13\r\n458767 7.0.15\r\n"},
		{"return redis.sha1hex('')", 2, "$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n"},
		{"return redis.sha1hex(12)", 2, "$40\r\n7b52009b64fd0a2a49e6d8a939753077792b0554\r\n"},
		{"return redis.replicate_commands()", 2, ":1\r\n"},
		{"return redis.breakpoint()", 2, "$-1\r\n"},
		{"return redis.debug('x')", 2, "$-1\r\n"},
		{"return redis.set_repl(redis.REPL_ALL)", 2, "$-1\r\n"},
		{"return redis.acl_check_cmd('get','x')", 2, ":1\r\n"},
		{"return type(loadstring)", 2, "$8\r\nfunction\r\n"},
		{"return type(gcinfo)", 2, "$8\r\nfunction\r\n"},
		{"return type(getmetatable(_G))", 2, "$5\r\ntable\r\n"},
		{"return type(math.fmod)..type(string.gfind)..type(table.getn)..type(math.mod)..type(math.pow)..type(string.gmatch)..type(table.maxn)", 2,
			"$56\r\nfunctionfunctionfunctionfunctionfunctionfunctionfunction\r\n"},
		{"local n = 0; for k,v in pairs(redis) do n = n + 1 end return n", 2, ":23\r\n"},
		{"return ...", 2, "$-1\r\n"},
		{"return tostring(0.1)", 2, "$3\r\n0.1\r\n"},
	}
	for _, tc := range tests {
		if got := eval(vm, h, tc.proto, tc.body); got != tc.want {
			t.Errorf("resp%d %q:\n got %q\nwant %q", tc.proto, tc.body, got, tc.want)
		}
	}
}

func TestEvalGlobals(t *testing.T) {
	_, vm := newTestVM(t, Config{})
	h := newFakeHost()
	got := eval(vm, h, 2, "local t = {} for k,v in pairs(_G) do t[#t+1] = k .. ':' .. type(v) end table.sort(t) return table.concat(t, ' ')")
	want := "ARGV:table KEYS:table _G:table _VERSION:string __redis__err__handler:function assert:function bit:table cjson:table cmsgpack:table collectgarbage:function coroutine:table error:function gcinfo:function getmetatable:function ipairs:function load:function loadstring:function math:table next:function pairs:function pcall:function rawequal:function rawget:function rawset:function redis:table select:function setmetatable:function string:table struct:table table:table tonumber:function tostring:function type:function unpack:function xpcall:function"
	if got != "$548\r\n"+want+"\r\n" {
		t.Errorf("globals:\n got %q\nwant %q", got, want)
	}
	libs := map[string]string{
		"string":    "byte char dump find format gfind gmatch gsub len lower match rep reverse sub upper",
		"math":      "abs acos asin atan atan2 ceil cos cosh deg exp floor fmod frexp huge ldexp log log10 max min mod modf pi pow rad random randomseed sin sinh sqrt tan tanh",
		"table":     "concat foreach foreachi getn insert maxn remove setn sort",
		"coroutine": "create resume running status wrap yield",
		"cjson":     "_NAME _VERSION decode decode_invalid_numbers decode_max_depth encode encode_invalid_numbers encode_keep_buffer encode_max_depth encode_number_precision encode_sparse_array new null",
		"bit":       "arshift band bnot bor bswap bxor lshift rol ror rshift tobit tohex",
		"struct":    "pack size unpack",
		"cmsgpack":  "_COPYRIGHT _DESCRIPTION _NAME _VERSION pack unpack unpack_limit unpack_one",
		"redis":     "LOG_DEBUG LOG_NOTICE LOG_VERBOSE LOG_WARNING REDIS_VERSION REDIS_VERSION_NUM REPL_ALL REPL_AOF REPL_NONE REPL_REPLICA REPL_SLAVE acl_check_cmd breakpoint call debug error_reply log pcall replicate_commands set_repl setresp sha1hex status_reply",
	}
	for lib, want := range libs {
		got := eval(vm, h, 2, "local t = {} for k,v in pairs("+lib+") do t[#t+1] = k end table.sort(t) return table.concat(t, ' ')")
		if got != "$"+itoa(len(want))+"\r\n"+want+"\r\n" {
			t.Errorf("%s:\n got %q\nwant %q", lib, got, want)
		}
	}
}

func itoa(n int) string { return formatInt(int64(n)) }

func TestEvalErrors(t *testing.T) {
	_, vm := newTestVM(t, Config{})
	h := newFakeHost()
	tests := []struct{ body, want string }{
		{"x=1", "-ERR user_script:1: Attempt to modify a readonly table script: {sha}, on @user_script:1.\r\n"},
		{"return y", "-ERR user_script:1: Script attempted to access nonexistent global variable 'y' script: {sha}, on @user_script:1.\r\n"},
		{"return redis.call()", "-ERR Please specify at least one argument for this redis lib call script: {sha}, on @user_script:1.\r\n"},
		{"return redis.call({})", "-ERR Lua redis lib command arguments must be strings or integers script: {sha}, on @user_script:1.\r\n"},
		{"return redis.call('set', 'k', nil)", "-ERR Lua redis lib command arguments must be strings or integers script: {sha}, on @user_script:1.\r\n"},
		{"return redis.call('nosuch')", "-ERR Unknown Redis command called from script script: {sha}, on @user_script:1.\r\n"},
		{"return redis.pcall('nosuch')", "-ERR Unknown Redis command called from script\r\n"},
		{"error('boom')", "-ERR user_script:1: boom script: {sha}, on @user_script:1.\r\n"},
		{"error({err='x'})", "-x script: {sha}, on @user_script:1.\r\n"},
		{"error(5)", "-ERR user_script:1: 5 script: {sha}, on @user_script:1.\r\n"},
		{"error(nil)", "-ERR nil script: {sha}, on @user_script:1.\r\n"},
		{"error('x', 0)", "-ERR x script: {sha}, on @user_script:1.\r\n"},
		{"error('x', 2)", "-ERR x script: {sha}, on @user_script:1.\r\n"},
		{"local function f()\n  error('deep')\nend\nf()", "-ERR user_script:2: deep script: {sha}, on @user_script:2.\r\n"},
		{"local function f()\n  return redis.call('nosuch')\nend\nreturn f()", "-ERR Unknown Redis command called from script script: {sha}, on @user_script:2.\r\n"},
		{"return {pcall(function() redis.call('nosuch') end)}", "*2\r\n$-1\r\n$44\r\nERR Unknown Redis command called from script\r\n"},
		{"local ok, e = pcall(function() error('boo') end); return e", "$18\r\nuser_script:1: boo\r\n"},
		{"local ok, e = pcall(function() error({err='boo'}) end); return e", "$3\r\nboo\r\n"},
		{"local r = redis.pcall('nosuch'); return r.err", "$44\r\nERR Unknown Redis command called from script\r\n"},
		{"local r = redis.pcall('incr','s'); return r.err", "$43\r\nERR value is not an integer or out of range\r\n"},
		{"return redis.call('incr','s')", "-ERR value is not an integer or out of range script: {sha}, on @user_script:1.\r\n"},
		{"error('ERR x')", "-ERR user_script:1: ERR x script: {sha}, on @user_script:1.\r\n"},
		{"error({err='ERR x'})", "-ERR x script: {sha}, on @user_script:1.\r\n"},
		{"return redis.sha1hex()", "-ERR wrong number of arguments script: {sha}, on @user_script:1.\r\n"},
		{"return math.random(1,2,3)", "-ERR user_script:1: wrong number of arguments script: {sha}, on @user_script:1.\r\n"},
		{"return math.random(0)", "-ERR user_script:1: bad argument #1 to 'random' (interval is empty) script: {sha}, on @user_script:1.\r\n"},
		{"return math.random(5,1)", "-ERR user_script:1: bad argument #2 to 'random' (interval is empty) script: {sha}, on @user_script:1.\r\n"},
		{"return redis.set_repl()", "-ERR redis.set_repl() requires two arguments. script: {sha}, on @user_script:1.\r\n"},
		{"return redis.set_repl(99)", "-ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE. script: {sha}, on @user_script:1.\r\n"},
		{"return redis.setresp(4)", "-ERR RESP version must be 2 or 3. script: {sha}, on @user_script:1.\r\n"},
		{"return redis.setresp()", "-ERR redis.setresp() requires one argument. script: {sha}, on @user_script:1.\r\n"},
		{"return redis.log()", "-ERR redis.log() requires two arguments or more. script: {sha}, on @user_script:1.\r\n"},
		{"return redis.log('a','b')", "-ERR First argument must be a number (log level). script: {sha}, on @user_script:1.\r\n"},
		{"return redis.log(9,'b')", "-ERR Invalid debug level. script: {sha}, on @user_script:1.\r\n"},
		{"return redis.acl_check_cmd('nosuch')", "-ERR Invalid command passed to redis.acl_check_cmd() script: {sha}, on @user_script:1.\r\n"},
		{"string.x = 1", "-ERR user_script:1: Attempt to modify a readonly table script: {sha}, on @user_script:1.\r\n"},
		{"rawset(_G, 'x', 1)", "-ERR Attempt to modify a readonly table script: {sha}, on @user_script:1.\r\n"},
		{"setmetatable(_G, {})", "-ERR Attempt to modify a readonly table script: {sha}, on @user_script:1.\r\n"},
		{"return type(print)", "-ERR user_script:1: Script attempted to access nonexistent global variable 'print' script: {sha}, on @user_script:1.\r\n"},
		{"return type(os)", "-ERR user_script:1: Script attempted to access nonexistent global variable 'os' script: {sha}, on @user_script:1.\r\n"},
		{"return type(debug)", "-ERR user_script:1: Script attempted to access nonexistent global variable 'debug' script: {sha}, on @user_script:1.\r\n"},
		{"return type(getfenv)", "-ERR user_script:1: Script attempted to access nonexistent global variable 'getfenv' script: {sha}, on @user_script:1.\r\n"},
		{"return type(dofile)", "-ERR user_script:1: Script attempted to access nonexistent global variable 'dofile' script: {sha}, on @user_script:1.\r\n"},
		{"return redis.call('fatal')", "-ERR fatal from host script: {sha}, on @user_script:1.\r\n"},
		{"return redis.pcall('fatal')", "-ERR fatal from host script: {sha}, on @user_script:1.\r\n"},
		{"return redis.pcall('errnospace')", "-ERR FOO\r\n"},
		// compile errors
		{"return 1 +", "-ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'\r\n"},
		{"x = = 1", "-ERR Error compiling script (new function): user_script:1: unexpected symbol near '='\r\n"},
		{"local x = 1\nlocal y = (", "-ERR Error compiling script (new function): user_script:2: unexpected symbol near '<eof>'\r\n"},
		{"return 'abc", "-ERR Error compiling script (new function): user_script:1: unfinished string near '<eof>'\r\n"},
		// shebang
		{"#!lua flags=bogus\nreturn 1", "-ERR Unexpected flag in script shebang: bogus\r\n"},
		{"#!lua x=y\nreturn 1", "-ERR Unknown lua shebang option: x=y\r\n"},
		{"#!luax\nreturn 1", "-ERR Unexpected engine in script shebang: #!luax\r\n"},
		{"#!lua name=foo\nreturn 1", "-ERR Unknown lua shebang option: name=foo\r\n"},
		{"#!lua flags=no-writes", "-ERR Invalid script shebang\r\n"},
		{"#!/bin/lua\nreturn 1", "-ERR Unexpected engine in script shebang: #!/bin/lua\r\n"},
		{"#!lua flags=\nreturn 1", ":1\r\n"},
		{"#!lua flags=no-writes,allow-oom   \nreturn 1", ":1\r\n"},
		{"#!lua flags=allow-cross-slot-keys,no-cluster,allow-stale\nreturn 2", ":2\r\n"},
		{"#!lua flags=no-writes\nreturn redis.call('set','k','v')", "-ERR Write commands are not allowed from read-only scripts. script: {sha}, on @user_script:2.\r\n"},
		{"#!lua\nreturn redis.call('set','k','v')", "+OK\r\n"},
	}
	for _, tc := range tests {
		want := withSHA(tc.want, tc.body)
		if got := eval(vm, h, 2, tc.body); got != want {
			t.Errorf("%q:\n got %q\nwant %q", tc.body, got, want)
		}
	}
}
