package script

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/basaltdb/basalt/resp"
)

func fcmd(vm *VM, h Host, proto int, args ...string) string {
	w := &resp.Writer{Proto: proto}
	argv := cmd(args...)
	switch strings.ToLower(args[0]) {
	case "function":
		if !vm.FunctionCommand(w, h, argv) {
			return "(host)"
		}
	case "fcall":
		vm.FCall(w, h, argv, false)
	case "fcall_ro":
		vm.FCall(w, h, argv, true)
	case "evalsha":
		vm.Eval(w, h, argv, true, false)
	case "eval_ro":
		vm.Eval(w, h, argv, false, true)
	case "script":
		if !vm.eng.ScriptCommand(w, argv) {
			return "(host)"
		}
	}
	return string(w.B)
}

// Expected replies from redis-server 7.0.15.
func TestFunctions(t *testing.T) {
	_, vm := newTestVM(t, Config{})
	h := newFakeHost()
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"function", "load", "return 1"}, "-ERR Missing library metadata\r\n"},
		{[]string{"function", "load", "#!lua\nreturn 1"}, "-ERR Library name was not given\r\n"},
		{[]string{"function", "load", "#!lua name=lib1\nreturn 1"}, "-ERR No functions registered\r\n"},
		{[]string{"function", "load", "#!lua name=lib1\nredis.register_function('f1', function(keys, args) return #keys end)"}, "$4\r\nlib1\r\n"},
		{[]string{"function", "load", "#!lua name=lib1\nredis.register_function('f1', function(keys, args) return 1 end)"}, "-ERR Library 'lib1' already exists\r\n"},
		{[]string{"function", "load", "#!lua name=lib2\nredis.register_function('f1', function(keys, args) return 1 end)"}, "-ERR Function f1 already exists\r\n"},
		{[]string{"function", "load", "#!lua name=lib2\nredis.register_function('f-2', function(keys, args) return 1 end)"}, "-ERR Error registering functions: ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long\r\n"},
		{[]string{"function", "load", "#!lua name=lib2\nredis.register_function{function_name='f2', callback=function(keys, args) return args[1] end, flags={'no-writes'}, description='desc'}"}, "$4\r\nlib2\r\n"},
		{[]string{"function", "list", "libraryname", "lib2"}, "*1\r\n*6\r\n$12\r\nlibrary_name\r\n$4\r\nlib2\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*1\r\n*6\r\n$4\r\nname\r\n$2\r\nf2\r\n$11\r\ndescription\r\n$4\r\ndesc\r\n$5\r\nflags\r\n*1\r\n+no-writes\r\n"},
		{[]string{"function", "list", "withcode", "libraryname", "lib1"}, "*1\r\n*8\r\n$12\r\nlibrary_name\r\n$4\r\nlib1\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*1\r\n*6\r\n$4\r\nname\r\n$2\r\nf1\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n$12\r\nlibrary_code\r\n$84\r\n#!lua name=lib1\nredis.register_function('f1', function(keys, args) return #keys end)\r\n"},
		{[]string{"function", "load", "#!lua name=lib3\nx=1"}, "-ERR Error registering functions: ERR user_function:2: Attempt to modify a readonly table\r\n"},
		{[]string{"function", "load", "#!lua name=lib3\nreturn redis.call('ping')"}, "-ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'\r\n"},
		{[]string{"function", "load", "#!lua name=lib3\nredis.register_function('f3', function() end)\nredis.register_function('f3', function() end)"}, "-ERR Error registering functions: ERR Function already exists in the library\r\n"},
		{[]string{"function", "load", "#!lua name=lib3\nredis.register_function{function_name='f3', callback=function() end, flags={'bad'}}"}, "-ERR Error registering functions: ERR unknown flag given\r\n"},
		{[]string{"function", "load", "#!lua name=lib3\nredis.register_function{function_name='f3', callback=function() end, foo=1}"}, "-ERR Error registering functions: ERR unknown argument given to redis.register_function\r\n"},
		{[]string{"function", "load", "#!lua name=lib3\nredis.register_function{function_name='f3'}"}, "-ERR Error registering functions: ERR redis.register_function must get a callback argument\r\n"},
		{[]string{"function", "load", "#!lua name=lib3\nredis.register_function{callback=function() end}"}, "-ERR Error registering functions: ERR redis.register_function must get a function name argument\r\n"},
		{[]string{"function", "load", "#!lua name=lib3\nredis.register_function('f3')"}, "-ERR Error registering functions: ERR calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).\r\n"},
		{[]string{"function", "load", "#!lua name=lib3\nredis.register_function(1, 2)"}, "-ERR Error registering functions: ERR second argument to redis.register_function must be a function\r\n"},
		{[]string{"function", "load", "#!lua name=lib3\nredis.register_function()"}, "-ERR Error registering functions: ERR wrong number of arguments to redis.register_function\r\n"},
		{[]string{"function", "load", "#!lua name=lib3\nredis.register_function('f3', function() end, 3)"}, "-ERR Error registering functions: ERR wrong number of arguments to redis.register_function\r\n"},
		{[]string{"function", "load", "#!lua name=lib3\nlocal a = cjson.encode({1}); redis.register_function('f3', function() end)"}, "-ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'cjson'\r\n"},
		{[]string{"function", "load", "#!lua name=lib3\nlocal a = redis.sha1hex('a'); redis.register_function('f3', function() end)"}, "-ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'sha1hex'\r\n"},
		{[]string{"function", "load", "#!lua name=lib3\nlocal t = type(1); redis.register_function('f3', function() end)"}, "-ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'type'\r\n"},
		{[]string{"function", "load", "#!lua name=lib3\nreturn 1 +"}, "-ERR Error compiling function: user_function:2: unexpected symbol near '<eof>'\r\n"},
		{[]string{"function", "load", "#!lua name=lib3"}, "-ERR Invalid library metadata\r\n"},
		{[]string{"function", "load", "#!lua name=lib3 foo=bar\n"}, "-ERR Invalid metadata value given: foo=bar\r\n"},
		{[]string{"function", "load", "#!lua name=lib-3\n"}, "-ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long\r\n"},
		{[]string{"function", "load", "#!lua name=\n"}, "-ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long\r\n"},
		{[]string{"function", "load", "#!python name=x\n"}, "-ERR Engine 'python' not found\r\n"},
		{[]string{"function", "load", "#!python name=x-y\n"}, "-ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long\r\n"},
		{[]string{"function", "load", "#!lua name=a name=b\n"}, "-ERR Invalid metadata value, name argument was given multiple times\r\n"},
		{[]string{"function", "load", "bogus", "#!lua name=x\n"}, "-ERR Unknown option given: bogus\r\n"},
		{[]string{"function", "load", "replace"}, "-ERR Missing library metadata\r\n"},
		{[]string{"function", "load", "#!lua name=lib3\nlocal t = redis.LOG_DEBUG .. redis.REDIS_VERSION; redis.log(redis.LOG_WARNING, 'hi'); redis.register_function('f3', function() end)"}, "$4\r\nlib3\r\n"},
		{[]string{"fcall", "f1", "0"}, ":0\r\n"},
		{[]string{"fcall", "F1", "2", "a", "b"}, ":2\r\n"},
		{[]string{"fcall", "nosuch", "0"}, "-ERR Function not found\r\n"},
		{[]string{"fcall", "nosuch", "x"}, "-ERR Function not found\r\n"},
		{[]string{"fcall", "f1", "x"}, "-ERR Bad number of keys provided\r\n"},
		{[]string{"fcall", "f1", "3", "a"}, "-ERR Number of keys can't be greater than number of args\r\n"},
		{[]string{"fcall", "f1", "-1"}, "-ERR Number of keys can't be negative\r\n"},
		{[]string{"fcall_ro", "f1", "0"}, "-ERR Can not execute a script with write flag using *_ro command.\r\n"},
		{[]string{"fcall", "f2", "0", "zz"}, "$2\r\nzz\r\n"},
		{[]string{"fcall_ro", "f2", "0", "zz"}, "$2\r\nzz\r\n"},
		{[]string{"function", "load", "#!lua name=lib4\nredis.register_function('f4', function(k, a) return redis.call('set', k[1], a[1]) end)\nredis.register_function('f5', function(k, a) error('oops') end)\nredis.register_function('f6', function(k, a) return y end)\nredis.register_function('k', function(keys, args) return KEYS end)"}, "$4\r\nlib4\r\n"},
		{[]string{"fcall", "f4", "1", "k", "v"}, "+OK\r\n"},
		{[]string{"fcall", "f5", "0"}, "-ERR user_function:3: oops script: f5, on @user_function:3.\r\n"},
		{[]string{"fcall", "f6", "0"}, "-ERR user_function:4: Script attempted to access nonexistent global variable 'y' script: f6, on @user_function:4.\r\n"},
		{[]string{"fcall", "k", "0"}, "-ERR user_function:5: Script attempted to access nonexistent global variable 'KEYS' script: k, on @user_function:5.\r\n"},
		{[]string{"function", "delete", "nolib"}, "-ERR Library not found\r\n"},
		{[]string{"function", "delete", "lib4"}, "+OK\r\n"},
		{[]string{"fcall", "f4", "1", "k", "v"}, "-ERR Function not found\r\n"},
		{[]string{"function", "flush", "bad"}, "-ERR FUNCTION FLUSH only supports SYNC|ASYNC option\r\n"},
		{[]string{"function", "restore", "junk"}, "-ERR DUMP payload version or checksum are wrong\r\n"},
		{[]string{"function", "list", "libraryname"}, "-ERR library name argument was not given\r\n"},
		{[]string{"function", "list", "bad"}, "-ERR Unknown argument bad\r\n"},
		{[]string{"function", "list", "withcode", "withcode"}, "-ERR Unknown argument withcode\r\n"},
		{[]string{"function", "list", "libraryname", "a", "libraryname", "b"}, "-ERR Unknown argument libraryname\r\n"},
		{[]string{"function", "list", "libraryname", "LIB[12]"}, "*2\r\n*6\r\n$12\r\nlibrary_name\r\n$4\r\nlib1\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*1\r\n*6\r\n$4\r\nname\r\n$2\r\nf1\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n*6\r\n$12\r\nlibrary_name\r\n$4\r\nlib2\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*1\r\n*6\r\n$4\r\nname\r\n$2\r\nf2\r\n$11\r\ndescription\r\n$4\r\ndesc\r\n$5\r\nflags\r\n*1\r\n+no-writes\r\n"},
		{[]string{"function", "stats"}, "(host)"},
		{[]string{"function", "kill"}, "(host)"},
		{[]string{"function", "flush"}, "+OK\r\n"},
		{[]string{"function", "list"}, "*0\r\n"},
	}
	for _, st := range steps {
		if got := fcmd(vm, h, 2, st.args...); got != st.want {
			t.Errorf("%q:\n got %q\nwant %q", st.args, got, st.want)
		}
	}
	if len(h.logs) != 1 || h.logs[0] != "3 hi" {
		t.Errorf("logs %q", h.logs)
	}
}

func TestFunctionFlagsListRESP3(t *testing.T) {
	_, vm := newTestVM(t, Config{})
	h := newFakeHost()
	fcmd(vm, h, 3, "function", "load", "#!lua name=probe\nredis.register_function{function_name='g', callback=function() return 1 end, flags={'no-writes','allow-oom','allow-stale','no-cluster','allow-cross-slot-keys'}}")
	got := fcmd(vm, h, 2, "function", "list")
	want := "*1\r\n*6\r\n$12\r\nlibrary_name\r\n$5\r\nprobe\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*1\r\n*6\r\n$4\r\nname\r\n$1\r\ng\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*5\r\n+no-writes\r\n+allow-oom\r\n+allow-stale\r\n+no-cluster\r\n+allow-cross-slot-keys\r\n"
	if got != want {
		t.Errorf("list:\n got %q\nwant %q", got, want)
	}
	got = fcmd(vm, h, 3, "function", "list")
	want = "*1\r\n%3\r\n$12\r\nlibrary_name\r\n$5\r\nprobe\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*1\r\n%3\r\n$4\r\nname\r\n$1\r\ng\r\n$11\r\ndescription\r\n_\r\n$5\r\nflags\r\n~5\r\n+no-writes\r\n+allow-oom\r\n+allow-stale\r\n+no-cluster\r\n+allow-cross-slot-keys\r\n"
	if got != want {
		t.Errorf("list resp3:\n got %q\nwant %q", got, want)
	}
}

func TestFunctionDumpRestore(t *testing.T) {
	e, vm := newTestVM(t, Config{})
	h := newFakeHost()
	// FUNCTION DUMP of redis-server 7.0.15 with this one library.
	fcmd(vm, h, 2, "function", "load", "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return args[1] end)\nredis.register_function('myfunc2', function(keys, args) return args[1] end)")
	want, _ := hex.DecodeString("f5c3406140a71f23216c7561206e616d653d6d796c69620a72656469732e72656769737465725f0b66756e6374696f6e28276d79400b02272c2040066012116b6579732c2061726773292072657475726e600c075b315d20656e6429e0174a0032e0204b0164290a00a4db130c174b69a4")
	got := e.Functions().Dump()
	if string(got) != string(want) {
		t.Fatalf("dump:\n got %x\nwant %x", got, want)
	}
	// Two libraries, uncompressed, as Redis dumped them.
	two, _ := hex.DecodeString("f5404523214c5541206e616d653d75700a72656469732e72656769737465725f66756e6374696f6e2827757066272c2066756e6374696f6e28292072657475726e203120656e6429f5405523216c7561206e616d653d6d796c69620a72656469732e72656769737465725f66756e6374696f6e28276d7966756e63272c2066756e6374696f6e286b6579732c2061726773292072657475726e203220656e64290a00e93088695bc5e059")
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"function", "restore", string(two)}, "-ERR Library mylib already exists\r\n"},
		{[]string{"function", "restore", string(two), "bad"}, "-ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.\r\n"},
		{[]string{"function", "restore", string(two), "replace"}, "+OK\r\n"},
		{[]string{"fcall", "myfunc", "0", "x"}, ":2\r\n"},
		{[]string{"fcall", "myfunc2", "0", "x"}, "-ERR Function not found\r\n"},
		{[]string{"fcall", "upf", "0"}, ":1\r\n"},
		{[]string{"function", "restore", string(want), "flush"}, "+OK\r\n"},
		{[]string{"fcall", "upf", "0"}, "-ERR Function not found\r\n"},
		{[]string{"fcall", "myfunc2", "0", "y"}, "$1\r\ny\r\n"},
		{[]string{"function", "restore", "\x00\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x00"}, "-ERR DUMP payload version or checksum are wrong\r\n"},
	}
	for _, st := range steps {
		if got := fcmd(vm, h, 2, st.args...); got != st.want {
			t.Errorf("%q:\n got %q\nwant %q", st.args[:2], got, st.want)
		}
	}
	// Another VM sees the libraries and instantiates them lazily.
	vm2 := e.NewVM()
	defer vm2.Close()
	if got := fcmd(vm2, h, 2, "fcall", "myfunc", "0", "z"); got != "$1\r\nz\r\n" {
		t.Errorf("vm2 fcall: %q", got)
	}
	var w resp.Writer
	e.WriteFunctionStats(&w, nil)
	if got := string(w.B); got != "*4\r\n$14\r\nrunning_script\r\n$-1\r\n$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n$15\r\nlibraries_count\r\n:1\r\n$15\r\nfunctions_count\r\n:2\r\n" {
		t.Errorf("stats: %q", got)
	}
	w.Reset()
	e.WriteFunctionStats(&w, &RunningScript{Name: "spin", Command: cmd("fcall", "spin", "0"), Duration: 301 * time.Millisecond})
	if got := string(w.B); got != "*4\r\n$14\r\nrunning_script\r\n*6\r\n$4\r\nname\r\n$4\r\nspin\r\n$7\r\ncommand\r\n*3\r\n$5\r\nfcall\r\n$4\r\nspin\r\n$1\r\n0\r\n$11\r\nduration_ms\r\n:301\r\n$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n$15\r\nlibraries_count\r\n:1\r\n$15\r\nfunctions_count\r\n:2\r\n" {
		t.Errorf("stats running: %q", got)
	}
}
