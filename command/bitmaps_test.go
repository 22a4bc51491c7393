package command

import (
	"os"
	"strings"
	"testing"
)

// bitmapScript is a sequence of commands with the replies of
// redis-server 7.0.15 (short form, see expect). When BASALT_REDIS_ORACLE
// is set the script is also checked against that server.
var bitmapScript = []struct{ cmd, want string }{
	{"SETBIT b 7 1", ":0"},
	{"SETBIT b 7 1", ":1"},
	{"GET b", "\x01"},
	{"SETBIT b 4294967296 1", "-ERR bit offset is not an integer or out of range"},
	{"SETBIT b -1 1", "-ERR bit offset is not an integer or out of range"},
	{"SETBIT b abc 1", "-ERR bit offset is not an integer or out of range"},
	{"SETBIT b 0 2", "-ERR bit is not an integer or out of range"},
	{"SETBIT b 0 x", "-ERR bit is not an integer or out of range"},
	{"SETBIT b 0 -1", "-ERR bit is not an integer or out of range"},
	{"GETBIT b 7", ":1"},
	{"GETBIT b 6", ":0"},
	{"GETBIT b 100000", ":0"},
	{"GETBIT nokey 0", ":0"},
	{"GETBIT b -1", "-ERR bit offset is not an integer or out of range"},
	{"SET s foobar", "+OK"},
	{"BITCOUNT s", ":26"},
	{"BITCOUNT s 0 0", ":4"},
	{"BITCOUNT s 1 1", ":6"},
	{"BITCOUNT s 1 1 BYTE", ":6"},
	{"BITCOUNT s 5 30 BIT", ":17"},
	{"BITCOUNT s -1 -2", ":0"},
	{"BITCOUNT s -1 -2 bits", ":0"},
	{"BITCOUNT s 1", "-ERR syntax error"},
	{"BITCOUNT s 1 2 3", "-ERR syntax error"},
	{"BITCOUNT s 1 2 bits", "-ERR syntax error"},
	{"BITCOUNT s a 1", "-ERR value is not an integer or out of range"},
	{"BITCOUNT nokey a b", ":0"},
	{"BITCOUNT nokey 1 2 3 4", ":0"},
	{"SET p \xff\xf0\x00", "+OK"},
	{"BITPOS p 0", ":12"},
	{"BITPOS p 1 2", ":-1"},
	{"BITPOS p 0 2", ":16"},
	{"BITPOS p 0 0 0", ":-1"},
	{"BITPOS p 0 0 1", ":12"},
	{"BITPOS p 1 7 15 BIT", ":7"},
	{"BITPOS p 0 7 11 BIT", ":-1"},
	{"SET q \xff\xff\xff", "+OK"},
	{"BITPOS q 0", ":24"},
	{"BITPOS q 0 0 -1", ":-1"},
	{"BITPOS q 1 -1", ":16"},
	{"BITPOS nokey 1 a b c d", ":-1"},
	{"BITPOS nokey 0", ":0"},
	{"BITPOS nokey 2", "-ERR The bit argument must be 1 or 0."},
	{"BITPOS nokey a", "-ERR value is not an integer or out of range"},
	{"BITPOS s 1 1 2 BYTE x", "-ERR syntax error"},
	{"BITPOS s 1 0 1 bad", "-ERR syntax error"},
	{"BITPOS s 1 a", "-ERR value is not an integer or out of range"},
	{"SET x1 abc", "+OK"},
	{"SET x2 ab\xff\xff", "+OK"},
	{"BITOP AND d x1 x2", ":4"},
	{"GET d", "abc\x00"},
	{"BITOP OR d x1 x2 nokey", ":4"},
	{"GET d", "ab\xff\xff"},
	{"BITOP XOR d x1 x2", ":4"},
	{"GET d", "\x00\x00\x9c\xff"},
	{"BITOP NOT d x1", ":3"},
	{"GET d", "\x9e\x9d\x9c"},
	{"BITOP NOT d x1 x2", "-ERR BITOP NOT must be called with a single source key."},
	{"BITOP NAND d x1", "-ERR syntax error"},
	{"BITOP AND d nokey", ":0"},
	{"EXISTS d", ":0"},
	{"BITFIELD f SET i8 0 100 GET i8 0 INCRBY i8 0 100", "*3\r\n:0\r\n:100\r\n:-56"},
	{"BITFIELD f OVERFLOW SAT INCRBY i8 0 -100 INCRBY i8 0 -100", "*2\r\n:-128\r\n:-128"},
	{"BITFIELD f OVERFLOW FAIL INCRBY i8 0 -1 SET u8 #1 256 GET u8 #1", "*3\r\n$-1\r\n$-1\r\n:0"},
	{"BITFIELD f OVERFLOW SAT SET u8 8 -1 GET u8 8", "*2\r\n:0\r\n:255"},
	{"BITFIELD f SET u8 8 -1 GET u8 8", "*2\r\n:255\r\n:255"},
	{"BITFIELD f INCRBY u63 0 9223372036854775807 INCRBY i64 0 1", "*2\r\n:4647574077957996543\r\n:-9151595917793558529"},
	{"BITFIELD f GET u64 0", "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."},
	{"BITFIELD f GET i65 0", "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."},
	{"BITFIELD f GET I8 0", "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."},
	{"BITFIELD f GET i0 0", "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."},
	{"BITFIELD f GET i8 -1", "-ERR bit offset is not an integer or out of range"},
	{"BITFIELD f GET i8 #-1", "-ERR bit offset is not an integer or out of range"},
	{"BITFIELD f GET i64 #144115188075855872", "-ERR bit offset is not an integer or out of range"},
	{"BITFIELD f OVERFLOW BAD", "-ERR Invalid OVERFLOW type specified"},
	{"BITFIELD f GET i8", "-ERR syntax error"},
	{"BITFIELD f SET i8 0 x", "-ERR value is not an integer or out of range"},
	{"BITFIELD f BOGUS", "-ERR syntax error"},
	{"BITFIELD f", "*0"},
	{"BITFIELD_RO f GET u4 0 GET i4 #1", "*2\r\n:8\r\n:0"},
	{"BITFIELD_RO f SET u4 0 1", "-ERR BITFIELD_RO only supports the GET subcommand"},
	{"BITFIELD_RO nokey GET u8 100", "*1\r\n:0"},
	{"BITFIELD nokey2 GET u8 100", "*1\r\n:0"},
	{"EXISTS nokey2", ":0"},
	{"SET n 1", "+OK"},
	{"BITFIELD n GET u8 0", "*1\r\n:49"},
	{"GETBIT n 2", ":1"},
	{"BITCOUNT n", ":3"},
}

func TestBitmapScript(t *testing.T) {
	e := newTestEnv(t, 3)
	var o *oracleConn
	if os.Getenv("BASALT_REDIS_ORACLE") != "" {
		o = dialOracle(t)
	}
	for _, s := range bitmapScript {
		args := strings.Fields(s.cmd)
		if args[0] == "EXISTS" {
			// EXISTS belongs to the keys commands: ask the shard directly.
			got := ":0"
			if e.entry(args[1]) != nil {
				got = ":1"
			}
			if got != s.want {
				t.Fatalf("%s: got %s want %s", s.cmd, got, s.want)
			}
		} else {
			e.expect(s.cmd, s.want)
		}
		if o != nil {
			if got := short(o.do(args...)); got != s.want {
				t.Errorf("oracle disagrees with the script on %q: %q", s.cmd, got)
			}
		}
	}
}

func TestBitmapEffects(t *testing.T) {
	e := newTestEnv(t, 1)
	e.expect("SETBIT b 3 1", ":0")
	e.log.Reset()
	e.expect("SETBIT b 3 1", ":1") // unchanged: no effect
	e.expect("SETBIT b 2 0", ":0")
	e.expect("BITOP AND d nokey", ":0")
	e.expect("BITFIELD_RO b GET u8 0", "*1\r\n:16")
	e.expect("BITFIELD b GET u8 0", "*1\r\n:16")
	if !e.log.Empty() {
		t.Fatalf("no-op writes logged %q", e.log.B)
	}
	e.expect("SETBIT b 100 0", ":0") // grows the string: logged
	e.expect("BITFIELD b OVERFLOW FAIL INCRBY u2 0 9", "*1\r\n$-1")
	if e.log.N != 2 {
		t.Fatalf("%d records: %q", e.log.N, e.log.B)
	}
}
