package script

import (
	"testing"
	"time"
)

// Library outputs as redis-server 7.0.15 returns them.
func TestLibraries(t *testing.T) {
	_, vm := newTestVM(t, Config{})
	h := newFakeHost()
	tests := []struct{ body, want string }{
		// cjson
		{`return cjson.encode({1,2,3,'a/b"c\\', true, false})`, "$30\r\n[1,2,3,\"a\\/b\\\"c\\\\\",true,false]\r\n"},
		{`return cjson.encode({a=1.5})`, "$9\r\n{\"a\":1.5}\r\n"},
		{`return cjson.encode({[1]=1,[3]=3})`, "$10\r\n[1,null,3]\r\n"},
		{`return cjson.encode({[1]=1,[20]=3})`, "-ERR user_script:1: Cannot serialise table: excessively sparse array script: {sha}, on @user_script:1.\r\n"},
		{`return cjson.encode({})`, "$2\r\n{}\r\n"},
		{`return cjson.encode(0.1)`, "$3\r\n0.1\r\n"},
		{`return cjson.encode(1e20)`, "$5\r\n1e+20\r\n"},
		{`return cjson.encode(123456789012345678)`, "$19\r\n1.2345678901235e+17\r\n"},
		{`return cjson.encode(1/0)`, "-ERR user_script:1: Cannot serialise number: must not be NaN or Inf script: {sha}, on @user_script:1.\r\n"},
		{`return cjson.encode(string.char(1,8,9,10,12,13,31,127,128,255))`, "$32\r\n\"\\u0001\\b\\t\\n\\f\\r\\u001f\\u007f\x80\xff\"\r\n"},
		{`return cjson.encode(cjson.null)`, "$4\r\nnull\r\n"},
		{`return cjson.encode({[true]=1})`, "-ERR user_script:1: Cannot serialise boolean: table key must be a number or string script: {sha}, on @user_script:1.\r\n"},
		{`return cjson.encode(function() end)`, "-ERR user_script:1: Cannot serialise function: type not supported script: {sha}, on @user_script:1.\r\n"},
		{`return cjson.encode({[1.5]=1})`, "$9\r\n{\"1.5\":1}\r\n"},
		{`return cjson.encode({[-1]=1})`, "$8\r\n{\"-1\":1}\r\n"},
		{`return cjson.encode()`, "-ERR user_script:1: bad argument #1 to 'encode' (expected 1 argument) script: {sha}, on @user_script:1.\r\n"},
		{`return cjson.encode({1,nil,3})`, "$10\r\n[1,null,3]\r\n"},
		{`return cjson.encode({{{}}})`, "$6\r\n[[{}]]\r\n"},
		{`return cjson.encode(-0.0)`, "$2\r\n-0\r\n"},
		{`local t = cjson.decode('[1,2.5,"x",null,true,{"a":[]}]') return {t[1], tostring(t[2]), t[3], t[4] == cjson.null, tostring(t[5]), type(t[6].a)}`, "*6\r\n:1\r\n$3\r\n2.5\r\n$1\r\nx\r\n:1\r\n$4\r\ntrue\r\n$5\r\ntable\r\n"},
		{`return cjson.decode('')`, "-ERR user_script:1: Expected value but found T_END at character 1 script: {sha}, on @user_script:1.\r\n"},
		{`return cjson.decode('[1,')`, "-ERR user_script:1: Expected value but found T_END at character 4 script: {sha}, on @user_script:1.\r\n"},
		{`return cjson.decode('{"a" 1}')`, "-ERR user_script:1: Expected colon but found T_NUMBER at character 6 script: {sha}, on @user_script:1.\r\n"},
		{`return cjson.decode('nul')`, "-ERR user_script:1: Expected value but found invalid token at character 1 script: {sha}, on @user_script:1.\r\n"},
		{`return cjson.decode('"\\u00e9\\ud83d\\ude00"')`, "$6\r\n\xc3\xa9\xf0\x9f\x98\x80\r\n"},
		{`return cjson.decode('[1] x')`, "-ERR user_script:1: Expected the end but found invalid token at character 5 script: {sha}, on @user_script:1.\r\n"},
		{`return cjson.decode('1e400')`, ":-9223372036854775808\r\n"},
		{`return tostring(cjson.decode('-0'))`, "$2\r\n-0\r\n"},
		{`return cjson.decode('"\\x"')`, "-ERR user_script:1: Expected value but found invalid escape code at character 2 script: {sha}, on @user_script:1.\r\n"},
		{`return cjson.decode('0x10')`, ":16\r\n"},
		{`return cjson.decode('{1:2}')`, "-ERR user_script:1: Expected object key string but found T_NUMBER at character 2 script: {sha}, on @user_script:1.\r\n"},
		{`return cjson.decode('"abc')`, "-ERR user_script:1: Expected value but found unexpected end of string at character 5 script: {sha}, on @user_script:1.\r\n"},
		{`return cjson.decode(5)`, ":5\r\n"},
		{`return cjson.decode({})`, "-ERR user_script:1: bad argument #1 to 'decode' (string expected, got table) script: {sha}, on @user_script:1.\r\n"},
		{`return cjson.decode('[NaN]')`, "*1\r\n:-9223372036854775808\r\n"},
		{`return tostring(cjson.decode('Infinity'))`, "$3\r\ninf\r\n"},
		// cmsgpack
		{`return cmsgpack.pack({1,2,3}, 'abc', string.rep('x', 40), -1, -100, 300, 1.5, 0.1, true, nil, {a=1}, {}, 2^40, -2^40)`,
			"$95\r\n\x93\x01\x02\x03\xa3abc\xd9(xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\xff\xd0\x9c\xcd\x01,\xca?\xc0\x00\x00\xcb?\xb9\x99\x99\x99\x99\x99\x9a\xc3\xc0\x81\xa1a\x01\x90\xcf\x00\x00\x01\x00\x00\x00\x00\x00\xd3\xff\xff\xff\x00\x00\x00\x00\x00\r\n"},
		{`return cmsgpack.pack()`, "-ERR user_script:1: bad argument #0 to 'pack' (MessagePack pack needs input.) script: {sha}, on @user_script:1.\r\n"},
		{`return {cmsgpack.unpack(cmsgpack.pack({1,{a='b'}}, 5))}`, "*2\r\n*2\r\n:1\r\n*0\r\n:5\r\n"},
		{`return {cmsgpack.unpack_one(cmsgpack.pack(1,2))}`, "*2\r\n:1\r\n:1\r\n"},
		{`return {cmsgpack.unpack_one(cmsgpack.pack(1,2), 1)}`, "*2\r\n:-1\r\n:2\r\n"},
		{`return {cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 2)}`, "*3\r\n:2\r\n:1\r\n:2\r\n"},
		{`return cmsgpack.pack(function() end)`, "$1\r\n\xc0\r\n"},
		// bit
		{`return {bit.tobit(2^32+5), bit.tohex(255), bit.tohex(-1,-4), bit.band(0xff, 0x0f, 0x3), bit.bswap(0x12345678), bit.rol(1, 33), bit.arshift(-256, 4), bit.rshift(-256, 4), bit.tobit(1.5), bit.tobit(2.5)}`,
			"*10\r\n:5\r\n$8\r\n000000ff\r\n$4\r\nFFFF\r\n:3\r\n:2018915346\r\n:2\r\n:-16\r\n:268435440\r\n:2\r\n:2\r\n"},
		{`return bit.band()`, "-ERR user_script:1: bad argument #1 to 'band' (number expected, got no value) script: {sha}, on @user_script:1.\r\n"},
		{`return bit.band('x')`, "-ERR user_script:1: bad argument #1 to 'band' (number expected, got string) script: {sha}, on @user_script:1.\r\n"},
		// struct
		{`return struct.pack('>i2<I4!4bxd', 1, 2, -3, 1.5)`, "$16\r\n\x00\x01\x02\x00\x00\x00\xfd\x00\x00\x00\x00\x00\x00\x00\xf8?\r\n"},
		{`return {struct.unpack('>i2<I4', struct.pack('>i2<I4', -1, 7))}`, "*3\r\n:-1\r\n:7\r\n:7\r\n"},
		{`return struct.pack('z', 1)`, "-ERR user_script:1: bad argument #1 to 'pack' (invalid format option 'z') script: {sha}, on @user_script:1.\r\n"},
		{`return struct.size('i!4d')`, ":12\r\n"},
		{`return struct.size('s')`, "-ERR user_script:1: bad argument #1 to 'size' (option 's' has no fixed size) script: {sha}, on @user_script:1.\r\n"},
		{`return {struct.unpack('bc0', struct.pack('bc0', 3, 'abc'))}`, "*2\r\n$3\r\nabc\r\n:5\r\n"},
		{`return struct.unpack('i', 'ab')`, "-ERR user_script:1: bad argument #2 to 'unpack' (data string too short) script: {sha}, on @user_script:1.\r\n"},
		{`return struct.pack('i')`, "-ERR user_script:1: bad argument #2 to 'pack' (number expected, got nil) script: {sha}, on @user_script:1.\r\n"},
		// math.random over redisLrand48
		{`math.randomseed(0); return {math.random(1000000), math.random(10,20)}`, "*2\r\n:170829\r\n:18\r\n"},
	}
	for _, tc := range tests {
		want := withSHA(tc.want, tc.body)
		if got := eval(vm, h, 2, tc.body); got != want {
			t.Errorf("%s:\n got %q\nwant %q", tc.body, got, want)
		}
	}
}

// redis.call conversions: RESP replies of the host to Lua values, and
// argument formatting.
func TestCallConversions(t *testing.T) {
	_, vm := newTestVM(t, Config{})
	h := newFakeHost()
	tests := []struct {
		body  string
		proto int
		want  string
	}{
		{`return redis.call('ping')`, 2, "+PONG\r\n"},
		{`return type(redis.call('ping'))`, 2, "$5\r\ntable\r\n"},
		{`return redis.call('ping').ok`, 2, "$4\r\nPONG\r\n"},
		{`return redis.call('get', 'nokey') == false`, 2, ":1\r\n"},
		{`local r = redis.call('lrange', 'l', 0, -1) return {r[1], r[2] == false, r[3], #r}`, 2, "*4\r\n$1\r\na\r\n:1\r\n:3\r\n:3\r\n"},
		{`return redis.call('nested')`, 2, "*2\r\n*1\r\n:1\r\n*0\r\n"},
		{`return redis.call('nullarr') == false`, 2, ":1\r\n"},
		{`return redis.call('set', 'k', 1.5)`, 2, "+OK\r\n"},
		{`return redis.call('set', 'k', 0.1)`, 2, "+OK\r\n"},
		{`return redis.call('hgetall', 'h')`, 3, "*2\r\n$1\r\na\r\n$1\r\n1\r\n"},
		{`redis.setresp(3) return redis.call('hgetall', 'h')`, 3, "%1\r\n$1\r\na\r\n$1\r\n1\r\n"},
		{`redis.setresp(3) return redis.call('hgetall', 'h')`, 2, "*2\r\n$1\r\na\r\n$1\r\n1\r\n"},
		{`redis.setresp(3) return redis.call('hgetall', 'h').map.a`, 2, "$1\r\n1\r\n"},
		{`redis.setresp(3) local s = redis.call('smembers').set return {s.a, s.b}`, 2, "*2\r\n:1\r\n:1\r\n"},
		{`redis.setresp(3) return redis.call('double').double`, 2, ":3\r\n"},
		{`redis.setresp(3) return redis.call('double')`, 3, ",3.5\r\n"},
		{`redis.setresp(3) return redis.call('bool')`, 3, "#t\r\n"},
		{`redis.setresp(3) return redis.call('null') == nil`, 3, "#t\r\n"},
		{`redis.setresp(3) return redis.call('big')`, 3, "(123456789012345678901\r\n"},
		{`redis.setresp(3) return redis.call('big').big_number`, 3, "$21\r\n123456789012345678901\r\n"},
		{`redis.setresp(3) return redis.call('verb')`, 3, "=7\r\ntxt:abc\r\n"},
		{`redis.setresp(3) local v = redis.call('verb').verbatim_string return v.format .. v.string`, 3, "$6\r\ntxtabc\r\n"},
		{`redis.setresp(3) return redis.call('attr')`, 3, ":5\r\n"},
		{`return {KEYS[1], KEYS[2], ARGV[1], #ARGV}`, 2, "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n:1\r\n"},
	}
	for _, tc := range tests {
		var got string
		if tc.body == `return {KEYS[1], KEYS[2], ARGV[1], #ARGV}` {
			got = eval(vm, h, tc.proto, tc.body, "2", "a", "b", "c")
		} else {
			got = eval(vm, h, tc.proto, tc.body)
		}
		if got != tc.want {
			t.Errorf("resp%d %s:\n got %q\nwant %q", tc.proto, tc.body, got, tc.want)
		}
	}
	want := []string{"set k 1.5", "set k 0.10000000000000001"}
	n := 0
	for _, c := range h.calls {
		if c == want[0] || c == want[1] {
			n++
		}
	}
	if n != 2 {
		t.Errorf("argument formatting: calls %q", h.calls)
	}
}

func TestStackLimit(t *testing.T) {
	_, vm := newTestVM(t, Config{})
	h := newFakeHost()
	got := eval(vm, h, 2, "local t = {} t[1] = t return t")
	// redis-server 7.0.15: 7995 nested *1 headers, then the error.
	want := ""
	for i := 0; i < 7995; i++ {
		want += "*1\r\n"
	}
	want += "-ERR reached lua stack limit\r\n"
	if got != want {
		t.Errorf("cyclic array: got %d bytes, want %d", len(got), len(want))
	}
}

func TestKillAndReadOnly(t *testing.T) {
	_, vm := newTestVM(t, Config{CheckEvery: 1000})
	h := newFakeHost()
	h.kill = func(run *Run) bool { return time.Since(run.Start) > 20*time.Millisecond }
	body := "while true do end"
	if got, want := eval(vm, h, 2, body), withSHA("-ERR Script killed by user with SCRIPT KILL... script: {sha}, on @user_script:1.\r\n", body); got != want {
		t.Errorf("kill:\n got %q\nwant %q", got, want)
	}
	body = "while true do pcall(function() while true do end end) end"
	if got, want := eval(vm, h, 2, body), withSHA("-ERR Script killed by user with SCRIPT KILL... script: {sha}, on @user_script:1.\r\n", body); got != want {
		t.Errorf("kill through pcall:\n got %q\nwant %q", got, want)
	}
	body = "local co = coroutine.wrap(function() while true do end end) co()"
	if got := eval(vm, h, 2, body); len(got) < 20 || got[:47] != "-ERR Script killed by user with SCRIPT KILL... " {
		t.Errorf("kill in coroutine: %q", got)
	}
	h.kill = nil
	// The VM is usable after a kill.
	if got := eval(vm, h, 2, "return 7"); got != ":7\r\n" {
		t.Errorf("after kill: %q", got)
	}
	if h.ints == 0 {
		t.Error("Interrupt never called")
	}
	// EVAL_RO
	if got := fcmd(vm, h, 2, "eval_ro", "return redis.call('set','k','v')", "0"); got != withSHA("-ERR Write commands are not allowed from read-only scripts. script: {sha}, on @user_script:1.\r\n", "return redis.call('set','k','v')") {
		t.Errorf("eval_ro: %q", got)
	}
	if got := fcmd(vm, h, 2, "eval_ro", "#!lua\nreturn 1", "0"); got != "-ERR Can not execute a script with write flag using *_ro command.\r\n" {
		t.Errorf("eval_ro shebang: %q", got)
	}
	// FUNCTION LOAD timeout.
	_, vm2 := newTestVM(t, Config{CheckEvery: 1000, LoadTimeout: 10 * time.Millisecond})
	if got := fcmd(vm2, nil, 2, "function", "load", "#!lua name=spin\nwhile true do end"); got != "-ERR Error registering functions: ERR FUNCTION LOAD timeout\r\n" {
		t.Errorf("load timeout: %q", got)
	}
}

func TestScriptCommands(t *testing.T) {
	e, vm := newTestVM(t, Config{})
	h := newFakeHost()
	sha := Sha1Hex([]byte("return 1"))
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"evalsha", "abc", "0"}, "-NOSCRIPT No matching script. Please use EVAL.\r\n"},
		{[]string{"evalsha", sha, "0"}, "-NOSCRIPT No matching script. Please use EVAL.\r\n"},
		{[]string{"script", "exists", sha, "x"}, "*2\r\n:0\r\n:0\r\n"},
		{[]string{"script", "load", "return 1"}, "$40\r\n" + sha + "\r\n"},
		{[]string{"script", "load", "return +"}, "-ERR Error compiling script (new function): user_script:1: unexpected symbol near '+'\r\n"},
		{[]string{"script", "exists", sha, "x"}, "*2\r\n:1\r\n:0\r\n"},
		{[]string{"evalsha", sha, "0"}, ":1\r\n"},
		{[]string{"evalsha", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", "0"}, ":1\r\n"},
		{[]string{"evalsha", sha, "x"}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"evalsha", sha, "-1"}, "-ERR Number of keys can't be negative\r\n"},
		{[]string{"evalsha", sha, "2", "a"}, "-ERR Number of keys can't be greater than number of args\r\n"},
		{[]string{"script", "flush", "bad"}, "-ERR SCRIPT FLUSH only support SYNC|ASYNC option\r\n"},
		{[]string{"script", "flush", "async"}, "+OK\r\n"},
		{[]string{"script", "exists", sha}, "*1\r\n:0\r\n"},
		{[]string{"evalsha", sha, "0"}, "-NOSCRIPT No matching script. Please use EVAL.\r\n"},
		{[]string{"script", "kill"}, "(host)"},
		{[]string{"script", "bogus"}, "-ERR unknown subcommand or wrong number of arguments for 'bogus'. Try SCRIPT HELP.\r\n"},
	}
	for _, st := range steps {
		if got := fcmd(vm, h, 2, st.args...); got != st.want {
			t.Errorf("%q:\n got %q\nwant %q", st.args, got, st.want)
		}
	}
	if e.Len() != 0 {
		t.Errorf("len %d", e.Len())
	}
	if sha != "e0e1f9fabfc9d4800c877a703b823ac0578ff8db" {
		t.Errorf("sha %s", sha)
	}
}

func TestPrepareError(t *testing.T) {
	if got := PrepareError(FlagEvalCompat, ServerState{OOM: true}); got != "" {
		t.Errorf("compat oom: %q", got)
	}
	if got := PrepareError(0, ServerState{OOM: true}); got != ErrOOMScript {
		t.Errorf("oom: %q", got)
	}
	if got := PrepareError(FlagAllowOOM, ServerState{OOM: true}); got != "" {
		t.Errorf("allow-oom: %q", got)
	}
	if got := PrepareError(FlagNoCluster, ServerState{Cluster: true}); got != ErrNoCluster {
		t.Errorf("cluster: %q", got)
	}
	if got := PrepareError(0, ServerState{ReadOnlyReplica: true}); got != ErrROReplicaScript {
		t.Errorf("ro replica: %q", got)
	}
	if got := PrepareError(FlagNoWrites, ServerState{ReadOnlyReplica: true}); got != "" {
		t.Errorf("no-writes ro replica: %q", got)
	}
}
