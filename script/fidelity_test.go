package script

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// oracle is a real redis-server the differential tests compare against.
// The test that starts it owns it and kills it in its cleanup.
type oracle struct {
	conn net.Conn
	r    *bufio.Reader
}

const redisServerPath = "/usr/bin/redis-server"

// startOracle starts redis-server on a free port, or skips the test when
// it is not installed.
func startOracle(t *testing.T) *oracle {
	t.Helper()
	if _, err := os.Stat(redisServerPath); err != nil {
		t.Skip("no " + redisServerPath)
	}
	var port int
	var cmd *exec.Cmd
	var conn net.Conn
	for attempt := 0; attempt < 5 && conn == nil; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port = l.Addr().(*net.TCPAddr).Port
		l.Close()
		cmd = exec.Command(redisServerPath, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", t.TempDir(), "--logfile", "")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 100; i++ {
			c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
			if err == nil {
				conn = c
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if conn == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}
	if conn == nil {
		t.Fatal("redis-server did not start")
	}
	t.Cleanup(func() {
		conn.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	return &oracle{conn: conn, r: bufio.NewReader(conn)}
}

// do sends one command and returns its raw reply.
func (o *oracle) do(t *testing.T, args ...string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	o.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := o.conn.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := readRawReply(o.r, &out); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// readRawReply copies one whole RESP2/RESP3 reply from r to out.
func readRawReply(r *bufio.Reader, out *strings.Builder) error {
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	out.WriteString(line)
	if len(line) < 3 {
		return fmt.Errorf("short line %q", line)
	}
	body := line[1 : len(line)-2]
	switch line[0] {
	case '$', '=', '!':
		n, _ := strconv.Atoi(body)
		if n < 0 {
			return nil
		}
		buf := make([]byte, n+2)
		if _, err := ioReadFull(r, buf); err != nil {
			return err
		}
		out.Write(buf)
	case '*', '~', '>', '%', '|':
		n, _ := strconv.Atoi(body)
		if line[0] == '%' || line[0] == '|' {
			n *= 2
		}
		if line[0] == '|' {
			n++
		}
		for i := 0; i < n; i++ {
			if err := readRawReply(r, out); err != nil {
				return err
			}
		}
	}
	return nil
}

func ioReadFull(r *bufio.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// fidelitySnippets are scripts whose EVAL replies must be the same, byte
// for byte, from redis-server 7.0.15 and from this package. They need no
// data (the fake host knows no commands).
var fidelitySnippets = []string{
	// Runtime errors raised by the VM, with variable names.
	`local x; return x.y`,
	`local x; x.y = 1`,
	`local x = 5; return x.y`,
	`local x = true; return x.y`,
	`local t = {}; return t.a.b`,
	`local t = {}; t.a.b = 1`,
	`return KEYS[1].x`,
	`return ARGV.x.y`,
	`return string.nope.x`,
	`local x; return x[1]`,
	`local s = 'abc'; return s.x.y`,
	`local f; f()`,
	`local f = 5; f()`,
	`local t = {}; t.m()`,
	`local t = {}; t:m()`,
	`local t = {}; t.a.b()`,
	`nosuch()`,
	`return string.nosuch()`,
	`return ('x'):nosuch()`,
	`local x; return x + 1`,
	`local x; return 1 + x`,
	`local x = {}; return x * 2`,
	`local x = 'a'; return x - 1`,
	`return 'a' + 1`,
	`return {} + 1`,
	`return true + 1`,
	`local t = {}; return t.a + 1`,
	`local x; return -x`,
	`local x = {}; return -x`,
	`return -{}`,
	`local x; return x .. 'a'`,
	`local x = {}; return 'a' .. x`,
	`return 'a' .. true`,
	`return 'a' .. {}`,
	`local t = {}; return t.a .. 'x'`,
	`local x; return #x`,
	`local x = 5; return #x`,
	`return #true`,
	`local a, b = {}, {}; return a < b`,
	`return 1 < 'x'`,
	`return {} < 1`,
	`local x; return x < 1`,
	`return nil < nil`,
	`return true <= false`,
	`return 'a' < 'b'`,
	`for i = 'a', 2 do end`,
	`for i = 1, 'x' do end`,
	`for i = 1, 2, {} do end`,
	`for i = 1, 2, 0 do return i end`,
	`local t = setmetatable({}, {__index = function(t, k) return k .. '!' end}); return t.x`,
	`local t = setmetatable({}, {__call = function(self, a) return a end}); return t(7)`,
	`local x = nil; return x.y.z`,
	`local t = {a = {}}; return t.a.b.c`,
	`error('boom')`,
	`error('boom', 0)`,
	`error('boom', 2)`,
	`error({err = 'MY boom'})`,
	`error()`,
	`error(nil)`,
	`error(42)`,
	`error(true)`,
	`return pcall(error)`,
	`local ok, e = pcall(function() local x; return x.y end); return e`,
	`local ok, e = pcall(function() nosuch() end); return e`,
	`local ok, e = pcall(function() return 1 + {} end); return e`,
	`local ok, e = pcall(function() error('x') end); return e`,
	`local ok, e = pcall(function() error({1}) end); return type(e)`,
	`local ok, e = pcall(error, 'y'); return e`,
	`return select('#', pcall(error))`,
	// Stdlib argument errors.
	`return string.rep()`,
	`return string.rep('x')`,
	`return string.rep('x', 'y')`,
	`return string.rep({}, 2)`,
	`return string.sub()`,
	`return string.sub('abc', {})`,
	`return string.len()`,
	`return string.len(nil)`,
	`return string.upper()`,
	`return string.lower({})`,
	`return string.byte()`,
	`return string.char('x')`,
	`return string.char(256)`,
	`return string.char(-1)`,
	`return string.format()`,
	`return string.format('%d')`,
	`return string.format('%d', 'x')`,
	`return string.format('%s')`,
	`return string.format('%y', 1)`,
	`return string.format('%', 1)`,
	`return string.find()`,
	`return string.find('a')`,
	`return string.find('abc', '[a')`,
	`return string.find('abc', '%')`,
	`return string.match('abc', '(()')`,
	`return string.gsub('abc', 'a')`,
	`return string.gsub('abc', 'a', true)`,
	`return string.gsub('abc', '(a)', '%2')`,
	`return string.gmatch()`,
	`return string.reverse()`,
	`return table.insert()`,
	`return table.insert({}, 1, 2, 3)`,
	`return table.insert(nil, 1)`,
	`return table.remove()`,
	`return table.concat()`,
	`return table.concat({1, {}, 3})`,
	`return table.concat({1, 2}, {})`,
	`return table.sort()`,
	`return table.sort({3, 'a', 1})`,
	`return table.sort({1, 2}, 5)`,
	`return table.getn()`,
	`return table.maxn()`,
	`return table.unpack`,
	`return unpack()`,
	`return unpack({1, 2, 3}, 'x')`,
	`return math.floor()`,
	`return math.floor('x')`,
	`return math.max()`,
	`return math.min()`,
	`return math.sqrt({})`,
	`return math.random(0)`,
	`return math.random(3, 1)`,
	`return math.random(1, 2, 3)`,
	`return math.fmod(1)`,
	`return math.abs()`,
	`return tonumber()`,
	`return tonumber('10', 99)`,
	`return tonumber('10', 1)`,
	`return tostring()`,
	`return setmetatable()`,
	`return setmetatable({}, 1)`,
	`return getmetatable()`,
	`return ipairs()`,
	`return pairs()`,
	`return next()`,
	`return next({}, 'nokey')`,
	`return rawget()`,
	`return rawget({})`,
	`return rawequal()`,
	`return rawequal(1)`,
	`return select()`,
	`return select(0, 1)`,
	`return select('x', 1)`,
	`return type()`,
	`return assert()`,
	`return assert(false)`,
	`return assert(nil, 'custom msg')`,
	`return assert(false, 42)`,
	`return loadstring()`,
	`return loadstring('return +')`,
	`return {loadstring('x =')}`,
	`return xpcall()`,
	`return {xpcall(function() error('z') end, function(m) return 'h:' .. m end)}`,
	`return coroutine.create()`,
	`return coroutine.resume()`,
	`return coroutine.resume(coroutine.create(function() end), 1) and 'ok'`,
	`local co = coroutine.create(function() end); coroutine.resume(co); return {coroutine.resume(co)}`,
	`return coroutine.wrap(function() error('in co') end)()`,
	`return coroutine.status()`,
	`return coroutine.yield()`,
	`return string.rep('x', -1)`,
	`return string.format('%5.2s|', 'abc')`,
	`return string.format('%q', 'a\nb\0c"')`,
	`return string.format('%c%c', 65, 66)`,
	`return string.format('%x %X %o', 255, 255, 8)`,
	`return string.format('%e', 12345.678)`,
	`return string.format('%g', 0.1)`,
	`return string.format('%g', 1e20)`,
	`return string.format('%.3f', 2/3)`,
	`return string.format('%5d|%-5d|', 42, 42)`,
	`return string.format('%d', 3.5)`,
	`return string.format('%d', -3.5)`,
	`return string.format('%d', 2^31)`,
	`return string.format('%d', 2^53)`,
	`return string.format('%d', 1e100)`,
	`return string.format('%x', -1)`,
	`return string.format('%s', 0.1)`,
	`return string.format('%s', 1e15)`,
	`return string.format('%s %s', 1, 2)`,
	`return string.format('%s', true)`,
	`return string.format('%s', nil)`,
	`return string.format('%10.4s|', 'abcdefgh')`,
	`return string.format('%%')`,
	`return string.format('%i', 5)`,
	`return string.format('%u', 5)`,
	// Number formatting.
	`return 'x' .. 0.1`,
	`return 1e100 .. ''`,
	`return (1/3) .. ''`,
	`return 2^53 .. ''`,
	`return 2^63 .. ''`,
	`return 1e15 .. ''`,
	`return 1e14 .. ''`,
	`return 123456789012 .. ''`,
	`return -0.0 .. ''`,
	`return (1/0) .. ''`,
	`return (-1/0) .. ''`,
	`return (0/0) .. ''`,
	`return tostring(-0.0)`,
	`return tostring(1/0)`,
	`return tostring(-1/0)`,
	`return tostring(0/0)`,
	`return tostring(1e300 * 1e10)`,
	`return tostring(3.14159265358979)`,
	`return tostring(100)`,
	`return tostring(1e100)`,
	`return tostring(0.1 + 0.2)`,
	`return tostring(nil)`,
	`return tostring(true)`,
	`return tostring('x')`,
	`return tostring(5.5) .. tostring(-5.5)`,
	`return 10 / 4 .. ''`,
	`return 7 % 3 .. ' ' .. -7 % 3 .. ' ' .. 7 % -3 .. ' ' .. 5.5 % 2`,
	`return 2^0.5 .. ''`,
	`local t = {} t[1.5] = 1 for k in pairs(t) do return k .. '' end`,
	`return string.rep('ab', 3, ',')`,
	`return #string.rep('x', 5)`,
	`return ('%d'):format(7)`,
	`return ('abc'):upper()`,
	`return string.sub('hello', 2, -2) .. string.sub('hello', -3) .. string.sub('hello', 10)`,
	`return {string.byte('abc', 1, -1)}`,
	`return {string.find('hello world', 'o w')}`,
	`return {string.find('a.b', '.', 1, true)}`,
	`return {string.match('key:123', '(%a+):(%d+)')}`,
	`return {string.gsub('hello', 'l', 'L')}`,
	`return {string.gsub('abc', '%w', '%0%0')}`,
	`return {string.gsub('abc', '', '-')}`,
	`local r = {} for w in string.gmatch('one two three', '%a+') do r[#r+1] = w end return r`,
	`return string.format('%q', 1/3)`,
	`return table.concat({1, 2.5, 'x'}, '-')`,
	`return table.concat({0.1, 1e100}, ' ')`,
	// tonumber / tostring edge cases.
	`return tonumber('0x10')`,
	`return tonumber('  10  ')`,
	`return tonumber('10', 16)`,
	`return tonumber('ff', 16)`,
	`return tonumber('zz', 36)`,
	`return tonumber('8', 8)`,
	`return tonumber('1e1')`,
	`return tonumber('1e')`,
	`return tonumber('')`,
	`return tonumber('inf')`,
	`return tonumber('nan')`,
	`return tonumber('0x')`,
	`return tonumber(' 0x1p4 ')`,
	`return tonumber('.5') * 10`,
	`return tonumber('5.') * 10`,
	`return tonumber({})`,
	`return tonumber(nil)`,
	`return tonumber('10', 2)`,
	`return tonumber('-10', 16)`,
	`return tonumber(' -7 ', 10)`,
	`return tostring(tonumber('1e500'))`,
	`return '10' + 5`,
	`return '0x10' + 0`,
	`return ' 3 ' * '2'`,
	`return '3' .. 4`,
	`return 10 == '10'`,
	// Math.
	`return math.floor(3.7) .. ' ' .. math.ceil(3.2) .. ' ' .. math.floor(-3.5)`,
	`return tostring(math.huge)`,
	`return tostring(-math.huge)`,
	`return tostring(math.pi)`,
	`return math.max(1, 5, 3) .. math.min(4, 2, 8)`,
	`return tostring(math.sqrt(2))`,
	`return tostring(math.sqrt(-1))`,
	`return tostring(math.fmod(7, 3)) .. tostring(math.fmod(-7, 3))`,
	`return {math.modf(3.7)}`,
	`return tostring(select(2, math.modf(3.7)))`,
	`return tostring(select(2, math.modf(-3.7)))`,
	`return {math.frexp(8)}`,
	`return math.ldexp(1, 10)`,
	`return tostring(math.log(0))`,
	`return tostring(math.log10(1000))`,
	`return tostring(math.exp(1))`,
	`return tostring(math.pow(2, 0.5))`,
	`return tostring(math.sin(1)) .. tostring(math.cos(1)) .. tostring(math.tan(1))`,
	`return tostring(math.atan2(1, 2))`,
	`return tostring(math.deg(1)) .. ' ' .. tostring(math.rad(90))`,
	`return tostring(math.abs(-0.0))`,
	`return math.floor('3.5')`,
	`return tostring(math.mod and math.mod(7, 3))`,
	`return tostring(math.cosh(1)) .. tostring(math.sinh(1)) .. tostring(math.tanh(1))`,
	`return tostring(math.asin(1)) .. tostring(math.acos(0)) .. tostring(math.atan(1))`,
	// cjson arrays and numbers.
	`return cjson.encode({[1]=1,[2]=2,[4]=4})`,
	`return cjson.encode({[1]=1,[11]=2})`,
	`return cjson.encode({[1]=1,[12]=2})`,
	`return cjson.encode({[2]=1})`,
	`return cjson.encode({[3]=1})`,
	`return cjson.encode({[10]=1})`,
	`return cjson.encode({[11]=1})`,
	`return cjson.encode({[0]=1})`,
	`return cjson.encode({[1]=1, x=2})`,
	`return cjson.encode({[1]=1, [2.5]=2})`,
	`return cjson.encode({[1]=1,[2]=2,[3]=3,[4]=4,[5]=5,[6]=6,[20]=1})`,
	`return cjson.encode({0.1, 1/3, 1e300, -1e-300, 2^53, 123.456})`,
	`return cjson.encode(3)`,
	`return cjson.encode('x')`,
	`return cjson.encode(nil)`,
	`return cjson.encode(true)`,
	`return cjson.encode(0/0)`,
	`local t = {} t[1] = t return cjson.encode(t)`,
	`return cjson.encode({[1] = {}, [2] = {a = {}}})`,
	`return cjson.encode_sparse_array and 'y' or 'n'`,
	`cjson.encode_sparse_array(true) local r = cjson.encode({[1]=1,[20]=2}) cjson.encode_sparse_array(false) return r`,
	`return cjson.encode({a = 'é'})`,
	`return cjson.decode('[1,2,3]')[2]`,
	`return cjson.decode('{"a":{"b":[1,2]}}').a.b[2]`,
	`return cjson.decode('[]')[1]`,
	`return tostring(cjson.decode('1.5'))`,
	`return cjson.decode('"\\u0041"')`,
	`return cjson.decode('[1,2')`,
	`return cjson.decode('{"a":}')`,
	`return cjson.decode('tru')`,
	`return cjson.decode('[1,]')`,
	`return cjson.decode()`,
	`return cjson.decode('1', '2')`,
	// cmsgpack.
	`return cmsgpack.pack({1, 2, nil, 4})`,
	`return cmsgpack.pack({[1]=1, [3]=3})`,
	`return cmsgpack.pack({[2]=1})`,
	`return cmsgpack.pack(0.5, -0.5, 1e300)`,
	`return cmsgpack.pack(2^31, -2^31, 2^32, 2^63, -2^63)`,
	`return cmsgpack.pack(127, 128, 255, 256, 65535, 65536, -32, -33, -128, -129)`,
	`return {cmsgpack.unpack(cmsgpack.pack(0.25, 'x', true))}`,
	`return cmsgpack.unpack('')`,
	`return cmsgpack.unpack('\\193')`,
	`return {cmsgpack.unpack('\\145')}`,
	// Compile errors.
	`x`,
	`return +`,
	`local = 1`,
	`return 'abc`,
	`return [[abc`,
	`if true then`,
	`for i = 1 do end`,
	`return 1 2`,
	`local function() end`,
	`x = = 1`,
	`return )`,
	`return {1, 2`,
	`local t = {} t.`,
	`return 1 +`,
	`while true do`,
	`repeat local x = 1`,
	`function f( return end`,
	`return '\\q'`,
	`return '\\300'`,
	`return 0x`,
	`return 1..2`,
	`goto x`,
	`local a <const> = 1`,
	`return a.b:c`,
	`break`,
	"return 1\nreturn 2",
	"local x = 1\nlocal y = \n\n",
	"\n\nreturn +",
	`return ...`,
	`return select('#', ...)`,
	`return function() return ... end`,
	`return 1 // 2`,
	`return 1 ~= 2`,
	`return 5 & 3`,
	`return #{1, 2, 3} .. ''`,
	`return (('x'):rep(3))`,
	`local t = {} t[nil] = 1`,
	`local t = {} t[0/0] = 1`,
	`return rawset({}, nil, 1)`,
	`x = 1`,
	`_G.x = 1`,
	`return _G.nosuch`,
	`return nosuch`,
	`string.x = 1`,
	`return rawget(_G, 'nosuch')`,
	`return redis.call()`,
	`return redis.call(1)`,
	`return redis.call({})`,
	`return redis.pcall()`,
	`return redis.sha1hex()`,
	`return redis.error_reply()`,
	`return redis.status_reply()`,
	`return redis.log()`,
	`return redis.log(99, 'x')`,
	`return redis.log('x', 'y')`,
	`return redis.setresp()`,
	`return redis.setresp(4)`,
	`return redis.set_repl()`,
	`return redis.set_repl(99)`,
	`return redis.acl_check_cmd()`,
	`return redis.nosuch()`,
	`return struct.pack()`,
	`return struct.unpack()`,
	`return bit.tohex()`,
	`return bit.lshift(1)`,
	// More naming, formatting and syntax cases.
	`local f = string.rep; return f()`,
	`return ('x'):rep()`,
	`return ('x'):rep('y')`,
	`local s = 5; return s:upper()`,
	`local u; local function g() return u.x end; return g()`,
	`local u; local function g() u() end; g()`,
	`local t = {}; local function g() return t.x.y end; return g()`,
	`local a = {}; return a.b .. a.c`,
	`local a = 'x'; local b; return a .. b .. 'y'`,
	`local a, b = 1, {}; return a + b`,
	`local a = '10'; local b = {}; return a * b`,
	`return 2 ^ {}`,
	`return #nil`,
	`for k in 5 do end`,
	`return pcall(5)`,
	`return {pcall(nosuchfn)}`,
	`local ok, e = pcall(string.rep); return e`,
	`local ok, e = pcall(function() return ('x'):bad() end); return e`,
	`return select(-1, 'a', 'b')`,
	`return select('#')`,
	`return select(2, 'a', 'b', 'c')`,
	`return tostring(setmetatable({}, {__tostring = function() return 'T!' end}))`,
	`return assert(1, 2)`,
	`return assert(false, {})`,
	`return string.format('[%5s][%-5s][%05d][%+d][% d]', 'ab', 'ab', 42, 5, 5)`,
	`return string.format('%.0f %.1f %10.3f %-10.2e|', 2.5, 0.05, math.pi, 12345.6789)`,
	`return string.format('%g %g %g %g %g', 100000, 1000000, 0.0001, 0.00001, 123456789)`,
	`return string.format('%#x %#o %#X', 255, 8, 255)`,
	`return string.format('%.3d|%5.3d|%-5d|%05.1f', 7, 7, -7, -2.5)`,
	`return string.format('%G %E', 1e-10, 1e10)`,
	`return string.format('%f %e %g', 1/0, -1/0, 0/0)`,
	`return string.format('%c', 256 + 65)`,
	`return string.format('%123d', 1)`,
	`return string.format('%-+ #0-d', 1)`,
	`return string.format('%s', string.rep('a', 120)) == string.rep('a', 120)`,
	`return string.format('%.2s', 'abc')`,
	`return string.format('%d', '12')`,
	`return string.format('%d', ' 0x10 ')`,
	`return tonumber(' 12 ') + tonumber('0x1F') + tonumber('1e2')`,
	`return tonumber('12a')`,
	`return tonumber('z', 36)`,
	`return tonumber('', 16)`,
	`return tonumber('7fffffffffffffff', 16)`,
	`return tonumber('1', 10.5)`,
	`return string.char(72, 105)`,
	`return string.find('a+b', '+', 1, true)`,
	`return string.find('abc', '[%a')`,
	`return string.match('abc', ')')`,
	`return string.match('abc', '%b')`,
	`return string.match('abc', '%f')`,
	`return string.gsub('hello world', '(o)', '[%1]')`,
	`return table.concat({1, 2, 3}, ', ', 2, 3)`,
	`return table.concat({}, 'x')`,
	`local t = {1, 2} table.insert(t, 1, 0) return t`,
	`local t = {1, 2} table.insert(t, 'x', 0) return t`,
	`return math.max(1, '5', 3)`,
	`return math.min(2, 'x')`,
	"if x then\n\nreturn 1",
	"local t = {\n1,\n2",
	"f(\n1",
	"local x = 1\n(f)()",
	`return "abc`,
	"return \"ab\ncd\"",
	`return [==[abc]=]`,
	`return [=x`,
	`--[[ unfinished`,
	`return 1 .. 2`,
	`return 3e`,
	`local x = 08 return x`,
	`return 0x1F`,
	`a.b.c = 1`,
	`f() = 1`,
	`(a) = 1`,
	`a, b() = 1, 2`,
	`return not`,
	`local 1 = 2`,
	`for a.b = 1, 2 do end`,
	`for a b do end`,
	`return function(a, 1) end`,
	`return {[1] 2}`,
	`return {a = }`,
	`return '\\999'`,
	`return ~1`,
	`return a ~ b`,
	`return 1 ! 2`,
	`return @`,
	`return $x`,
	`return @`,
	`return ;`,
	`;`,
	`return 1;;`,
	`do break end`,
	`while true do local f = function() break end end`,
	`return {...}`,
	`local function f(...) return ... end return f(1, 2)`,
	`function t:m() end`,
	`local t = {} function t:m() return self == t end return t:m()`,
	"return " + strings.Repeat("(", 198) + "1" + strings.Repeat(")", 198),
	"return " + strings.Repeat("(", 199) + "1" + strings.Repeat(")", 199),
	strings.Repeat("do ", 199) + strings.Repeat("end ", 199),
	strings.Repeat("do ", 200) + strings.Repeat("end ", 200),
	"return " + strings.Repeat("-", 300) + "1",
	"return {" + strings.Repeat("{", 250) + strings.Repeat("}", 250) + "}",
}

// fidelityKnownDiffs are snippets known to answer differently, and why.
// They are reported, not failed.
var fidelityKnownDiffs = map[string]string{
	// The VM's OP_CONCAT formats numbers with gopher-lua's LNumber.String
	// (Go's shortest form, integers in full) instead of "%.14g"; only a
	// rewrite of the compiled code could route it through fmtLuaNumber.
	`return (1/3) .. ''`:  "concat number format",
	`return 2^53 .. ''`:   "concat number format",
	`return 2^63 .. ''`:   "concat number format",
	`return 1e15 .. ''`:   "concat number format",
	`return 1e14 .. ''`:   "concat number format",
	`return -0.0 .. ''`:   "concat number format",
	`return (1/0) .. ''`:  "concat number format",
	`return (-1/0) .. ''`: "concat number format",
	`return (0/0) .. ''`:  "concat number format",
	`return 2^0.5 .. ''`:  "concat number format",
	// gopher-lua's next answers nil for a key not in the table; raising
	// Lua's error would also break clearing fields while traversing, which
	// gopher-lua does by deleting the key.
	`return next({}, 'nokey')`: "next with a missing key",
	// auxwrap prefixes the position of the wrap call to a string error a
	// second time; gopher-lua's wrap passes the error through.
	`return coroutine.wrap(function() error('in co') end)()`: "coroutine.wrap error position",
}

// TestFidelity compares EVAL replies of redis-server and this package.
func TestFidelity(t *testing.T) {
	o := startOracle(t)
	_, vm := newTestVM(t, Config{})
	h := newFakeHost()
	fails, known := 0, 0
	for _, src := range fidelitySnippets {
		want := o.do(t, "EVAL", src, "0")
		got := eval(vm, h, 2, src)
		if got == want {
			if why, ok := fidelityKnownDiffs[src]; ok {
				t.Logf("EVAL %q 0 now matches (listed as known: %s)", src, why)
			}
			continue
		}
		if why, ok := fidelityKnownDiffs[src]; ok {
			known++
			t.Logf("known difference (%s): EVAL %q 0:\n got %q\nwant %q", why, src, got, want)
			continue
		}
		fails++
		t.Errorf("EVAL %q 0:\n got %q\nwant %q", src, got, want)
	}
	t.Logf("%d snippets, %d differ, %d known differences", len(fidelitySnippets), fails, known)
}

// TestSyntaxChecker checks the Lua 5.1 recognizer on every snippet: it
// must accept what redis-server compiles and word its refusals the same.
func TestSyntaxChecker(t *testing.T) {
	o := startOracle(t)
	const prefix = "-ERR Error compiling script (new function): "
	for _, src := range fidelitySnippets {
		want := o.do(t, "EVAL", src, "0")
		got := lua51SyntaxError([]byte(src), "user_script")
		if strings.HasPrefix(want, prefix) {
			want = strings.TrimSuffix(strings.TrimPrefix(want, prefix), "\r\n")
			if got != want {
				t.Errorf("%q: got %q, want %q", src, got, want)
			}
		} else if got != "" {
			t.Errorf("%q: refused a valid chunk: %q", src, got)
		}
	}
}
