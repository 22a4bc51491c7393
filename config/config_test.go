package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/internal/glob"
	"github.com/basaltdb/basalt/internal/numparse"
)

// Expected strings in these tests were checked against redis-server 7.0.15
// (only "Redis 7.0.15" in the banner reads "Basalt" here).

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func fileErr(line int, text, msg string) string {
	return "*** FATAL CONFIG FILE ERROR (Basalt) ***\nReading the configuration file, at line " +
		strconv.Itoa(line) + "\n>>> '" + text + "'\n" + msg
}

func TestParseMemory(t *testing.T) {
	const lo, hi = 1 << 20, 1<<63 - 1
	rng := "argument must be between 1048576 and 9223372036854775807 inclusive"
	bad := "argument must be a memory value"
	tests := []struct {
		in   string
		want int64
		msg  string
	}{
		{"1mb", 1 << 20, ""},
		{"1Mb", 1 << 20, ""},
		{"1MB", 1 << 20, ""},
		{"2GB", 2 << 30, ""},
		{"1G", 1000000000, ""},
		{"1048576b", 1 << 20, ""},
		{"1048576B", 1 << 20, ""},
		{"01048576", 1 << 20, ""},
		{"1024kb", 1 << 20, ""},
		{"1000k", 0, rng},
		{"1M", 0, rng}, // k, m, g are powers of 1000
		{"9223372036854775807", 1<<63 - 1, ""},
		{"9223372036854775808", 0, rng},
		{"18446744073709551615", 0, rng},
		{"99999999999999999999", 0, rng}, // strtoull saturates
		{"8589934592gb", 0, rng},         // 2^63 wraps negative
		{"17179869184gb", 0, rng},        // 2^64 wraps to 0
		{"17179869185gb", 1 << 30, ""},   // wraps to 2^30: Redis accepts it too
		{"", 0, rng},
		{"mb", 0, rng},
		{"1B", 0, rng},
		{"1K", 0, rng},
		{"1KB", 0, rng},
		{"1x", 0, bad},
		{"1.5mb", 0, bad},
		{" 1mb", 0, bad},
		{"1 mb", 0, bad},
		{"-5", 0, bad},
		{"+1048576", 0, bad},
		{"0x100000", 0, bad},
		{strings.Repeat("0", 128) + "1", 0, bad},
	}
	for _, tt := range tests {
		got, msg := parseMemory(tt.in, lo, hi)
		if got != tt.want || msg != tt.msg {
			t.Errorf("parseMemory(%q) = %d, %q; want %d, %q", tt.in, got, msg, tt.want, tt.msg)
		}
	}
}

func TestParseInt(t *testing.T) {
	nan := "argument couldn't be parsed into an integer"
	port := "argument must be between 0 and 65535 inclusive"
	tests := []struct {
		in   string
		want int64
		msg  string
	}{
		{"0", 0, ""},
		{"6379", 6379, ""},
		{"65535", 65535, ""},
		{"70000", 0, port},
		{"-1", 0, port},
		{"abc", 0, nan},
		{"1.5", 0, nan},
		{" 5", 0, nan},
		{"", 0, nan},
		{"+23456", 0, nan},
		{"023456", 0, nan},
		{"00", 0, nan},
		{"-0", 0, nan},
		{"0x10", 0, nan},
		{"-", 0, nan},
		{"99999999999999999999", 0, nan},
		{"9223372036854775807", 0, port},
	}
	for _, tt := range tests {
		got, msg := parseInt(tt.in, 0, 65535)
		if got != tt.want || msg != tt.msg {
			t.Errorf("parseInt(%q) = %d, %q; want %d, %q", tt.in, got, msg, tt.want, tt.msg)
		}
	}
	if v, ok := numparse.String2ll("-9223372036854775808"); !ok || v != -1<<63 {
		t.Errorf("numparse.String2ll(min) = %d, %v", v, ok)
	}
	if _, ok := numparse.String2ll("-9223372036854775809"); ok {
		t.Error("string2ll accepted below min")
	}
}

func TestStrtoll(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"5", 5, true}, {" 5", 5, true}, {"+5", 5, true}, {"-5", -5, true}, {"01", 1, true},
		{"", 0, true}, {" ", 0, false}, {"+", 0, false}, {"5x", 5, false}, {"x", 0, false},
	}
	for _, tt := range tests {
		got, ok := strtoll(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("strtoll(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestStringMatch: CONFIG GET's patterns, through the shared matcher.
func TestStringMatch(t *testing.T) {
	tests := []struct {
		pat, s string
		want   bool
	}{
		{"*", "port", true},
		{"p*", "port", true},
		{"p*", "bind", false},
		{"Po*", "port", true}, // CONFIG GET matches without case
		{"*o*t", "port", true},
		{"p?rt", "port", true},
		{"p?rt", "prt", false},
		{"[ab]ind", "bind", true},
		{"[^b]ind", "bind", false},
		{"p[^x]rt", "port", true},
		{"p[a-z]rt", "port", true},
		{"p[z-a]rt", "port", true},
		{"p[A-Z]rt", "port", true},
		{`p\ort`, "port", true},
		{`p\*rt`, "port", false},
		{`p\*rt`, "p*rt", true},
		{"bin[d", "bind", true}, // unterminated set: as Redis
		{"[", "bind", false},
		{"port*", "port", true},
		{"port**", "port", true},
		{"*-*-*", "tcp-keepalive", false},
		{"*-*", "tcp-keepalive", true},
		{"[\\]]x", "]x", true},
		{"", "", true},
		{"", "x", false},
	}
	for _, tt := range tests {
		if got := glob.Match([]byte(tt.pat), []byte(tt.s), true); got != tt.want {
			t.Errorf("glob.Match(%q, %q) = %v, want %v", tt.pat, tt.s, got, tt.want)
		}
	}
	if glob.Match([]byte("P*"), []byte("port"), false) {
		t.Error("case-sensitive match ignored case")
	}
}

func TestDefault(t *testing.T) {
	c := Default()
	want := map[string]string{
		"bind": "127.0.0.1", "port": "6379", "databases": "16", "maxclients": "10000",
		"timeout": "0", "tcp-keepalive": "300", "protected-mode": "yes",
		"proto-max-bulk-len": "536870912", "client-query-buffer-limit": "1073741824",
		"enable-debug-command": "no", "loglevel": "notice", "logfile": "", "pidfile": "",
		"daemonize": "no", "hz": "10", "save": "", "appendonly": "no", "requirepass": "",
	}
	for name, v := range want {
		got := c.Get(name)
		if len(got) != 1 || got[0] != [2]string{name, v} {
			t.Errorf("Default %s = %q, want %q", name, got, v)
		}
	}
	if c.Loops < 1 || c.Loops > MaxLoops || c.Loops != min(runtime.NumCPU(), MaxLoops) {
		t.Errorf("Default Loops = %d", c.Loops)
	}
}

func TestLoadNoArgs(t *testing.T) {
	c, err := LoadFrom(nil, strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	want := Default()
	want.Dir = wd
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load() = %+v, want %+v", c, want)
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "data")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	inc := writeFile(t, dir, "inc.conf", "timeout 30\n")
	conf := writeFile(t, dir, "basalt.conf", `# a comment
   # an indented comment
PORT 7001

hz 1000
save ""
appendonly no
requirepass "a\x41\"b c"
logfile ''
bind 127.0.0.1 "-::1"
Proto-Max-Bulk-Len 1mb
client-query-buffer-limit 2GB
maxclients 50
tcp-keepalive 0
protected-mode NO
enable-debug-command local
loglevel WARNING
databases 4
loops 3
pidfile basalt.pid
dir `+sub+`
include `+inc+`
port 7002
`)
	c, err := LoadFrom([]string{conf}, strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Bind: []string{"127.0.0.1", "-::1"}, Port: 7002, Dir: sub, Loops: 3, Databases: 4,
		RequirePass: `aA"b c`, MaxClients: 50, Timeout: 30, TCPKeepalive: 0, ProtectedMode: false,
		ProtoMaxBulkLen: 1 << 20, Limits: datatypes.DefaultLimits(), DBFilename: "dump.rdb", StopWritesOnBgsaveError: true, AutoAOFRewritePercentage: 100, AutoAOFRewriteMinSize: 64 << 20, SnapshotRetention: 7, SnapshotDir: "snapshots", ClientQueryBufferLimit: 2 << 30, EnableDebugCommand: "local",
		LogFile: "", LogLevel: "warning", PidFile: "basalt.pid", Hz: MaxHz, ConfigFile: conf,
		AppendFsync: "everysec", AppendDirName: "appendonlydir", AppendFileName: "appendonly.aof",
		AOFLoadTruncated: true, AOFUseRDBPreamble: true, ClientOutputBufferLimits: defaultOBufLimits(), BusyReplyThreshold: 5000,
		TrackingTableMaxKeys: 1000000,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
}

func TestLoadOverridesAndStdin(t *testing.T) {
	dir := t.TempDir()
	conf := writeFile(t, dir, "b.conf", "port 7001\nbind 10.0.0.1\nloops 0\n")
	wd, _ := os.Getwd()
	rel, err := filepath.Rel(wd, conf)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		stdin string
		check func(*Config) bool
	}{
		{"option overrides file", []string{rel, "--port", "7002"}, "",
			func(c *Config) bool { return c.Port == 7002 && c.ConfigFile == conf }},
		{"multi-arg option", []string{rel, "--bind", "127.0.0.1", "::1", "--port", "7003"}, "",
			func(c *Config) bool { return slices.Equal(c.Bind, []string{"127.0.0.1", "::1"}) && c.Port == 7003 }},
		{"multi-arg in one argument", []string{"--bind", "127.0.0.1 -::1"}, "",
			func(c *Config) bool { return slices.Equal(c.Bind, []string{"127.0.0.1", "-::1"}) }},
		{"name and value in one argument", []string{"--port 7004"}, "",
			func(c *Config) bool { return c.Port == 7004 }},
		{"save empty", []string{"--save", "", "--appendonly", "no"}, "",
			func(c *Config) bool { return c.Save == "" && !c.AppendOnly }},
		{"bare --save then option", []string{"--save", "--port", "7005"}, "",
			func(c *Config) bool { return c.Save == "" && c.Port == 7005 }},
		{"bare --save last", []string{"--port", "7006", "--save"}, "",
			func(c *Config) bool { return c.Port == 7006 }},
		{"stdin first", []string{"-", "--port", "7007"}, "port 1\ndatabases 2\n",
			func(c *Config) bool { return c.Port == 7007 && c.Databases == 2 }},
		{"stdin last after file", []string{rel, "--databases", "3", "-"}, "port 7008\n",
			func(c *Config) bool { return c.Port == 7008 && c.Databases == 3 && c.Bind[0] == "10.0.0.1" }},
		{"loops 0 is the CPU count", []string{rel}, "",
			func(c *Config) bool { return c.Loops == min(runtime.NumCPU(), MaxLoops) }},
		{"daemonize defaults the pidfile", []string{"--daemonize", "yes"}, "",
			func(c *Config) bool { return c.Daemonize && c.PidFile == DefaultDaemonPidFile }},
		{"hz clamps low", []string{"--hz", "0"}, "",
			func(c *Config) bool { return c.Hz == MinHz }},
		{"-- alone", []string{"--", "port", "7009"}, "",
			func(c *Config) bool { return c.Port == 7009 }},
	}
	for _, tt := range tests {
		c, err := LoadFrom(tt.args, strings.NewReader(tt.stdin))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !tt.check(c) {
			t.Errorf("%s: unexpected config %+v", tt.name, c)
		}
	}
}

func TestLoadIncludeGlobAndDepth(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.part", "port 7101\n")
	writeFile(t, dir, "b.part", "databases 7\n")
	conf := writeFile(t, dir, "main.conf", "include "+filepath.Join(dir, "*.part")+"\ninclude "+filepath.Join(dir, "none*.x")+"\n")
	c, err := LoadFrom([]string{conf}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 7101 || c.Databases != 7 {
		t.Errorf("glob include: port %d databases %d", c.Port, c.Databases)
	}
	loop := writeFile(t, dir, "loop.conf", "include "+filepath.Join(dir, "loop.conf")+"\n")
	_, err = LoadFrom([]string{loop}, nil)
	var fe *FileError
	if !errors.As(err, &fe) || fe.Msg != "include nesting is deeper than 16 files" {
		t.Errorf("include loop: %v", err)
	}
	// Errors inside an included file report that file's line.
	bad := writeFile(t, dir, "bad.part2", "\n\nprot 1\n")
	conf2 := writeFile(t, dir, "main2.conf", "port 1\ninclude "+bad+"\n")
	_, err = LoadFrom([]string{conf2}, nil)
	if err == nil || err.Error() != fileErr(3, "prot 1", "Bad directive or wrong number of arguments") {
		t.Errorf("error in include: %v", err)
	}
	// A relative include follows an earlier dir directive, as after Redis's chdir.
	writeFile(t, dir, "rel.part", "port 7102\n")
	conf3 := writeFile(t, dir, "main3.conf", "dir "+dir+"\ninclude rel.part\n")
	if c, err := LoadFrom([]string{conf3}, nil); err != nil || c.Port != 7102 {
		t.Errorf("relative include after dir: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	c3 := writeFile(t, dir, "c.conf", "port 1\n\n\n")
	badLine2 := writeFile(t, dir, "bad.conf", "port 6000\nprot 7000\n")
	notDir := writeFile(t, dir, "plain", "")
	missing := filepath.Join(dir, "nonexist.conf")
	tests := []struct {
		args []string
		want string
	}{
		// Command-line options read as lines after the file.
		{[]string{"--prot", "7000"}, fileErr(2, `prot "7000"`, "Bad directive or wrong number of arguments")},
		{[]string{"--port", "70000"}, fileErr(2, `port "70000"`, "argument must be between 0 and 65535 inclusive")},
		{[]string{"--port"}, fileErr(2, "port", "wrong number of arguments")},
		{[]string{"--port   "}, fileErr(2, "port", "wrong number of arguments")},
		{[]string{"--port", "--5"}, fileErr(2, `port "--5"`, "argument couldn't be parsed into an integer")},
		{[]string{"--hz", "5", "--port", "--5"}, fileErr(3, `port "--5"`, "argument couldn't be parsed into an integer")},
		{[]string{"--port", "5", "extra"}, fileErr(2, `port "5" "extra"`, "wrong number of arguments")},
		{[]string{"--save", "--prot"}, fileErr(3, "prot", "Bad directive or wrong number of arguments")},
		{[]string{`--prot`, `a\b`}, fileErr(2, `prot "a\\b"`, "Bad directive or wrong number of arguments")},
		{[]string{"--prot", "a\tb\x01"}, fileErr(2, `prot "a\tb\x01"`, "Bad directive or wrong number of arguments")},
		{[]string{"--port", "5", "--bind", "1", "2", "--prot", "3"}, fileErr(4, `prot "3"`, "Bad directive or wrong number of arguments")},
		{[]string{"--bind", "1 2", "--prot"}, fileErr(3, "prot", "Bad directive or wrong number of arguments")},
		{[]string{"-x"}, fileErr(2, `"-x"`, "Bad directive or wrong number of arguments")},
		{[]string{"--port=5"}, fileErr(2, "port=5", "Bad directive or wrong number of arguments")},
		{[]string{c3, "--prot", "5"}, fileErr(5, `prot "5"`, "Bad directive or wrong number of arguments")},
		{[]string{c3, "d.conf"}, fileErr(5, `"d.conf"`, "Bad directive or wrong number of arguments")},
		{[]string{"--databases", "0"}, fileErr(2, `databases "0"`, "argument must be between 1 and 2147483647 inclusive")},
		{[]string{"--maxclients", "0"}, fileErr(2, `maxclients "0"`, "argument must be between 1 and 4294967295 inclusive")},
		{[]string{"--maxclients", "99999999999"}, fileErr(2, `maxclients "99999999999"`, "argument must be between 1 and 4294967295 inclusive")},
		{[]string{"--protected-mode", "maybe"}, fileErr(2, `protected-mode "maybe"`, "argument must be 'yes' or 'no'")},
		{[]string{"--daemonize", "maybe"}, fileErr(2, `daemonize "maybe"`, "argument must be 'yes' or 'no'")},
		{[]string{"--proto-max-bulk-len", "1x"}, fileErr(2, `proto-max-bulk-len "1x"`, "argument must be a memory value")},
		{[]string{"--proto-max-bulk-len", "5"}, fileErr(2, `proto-max-bulk-len "5"`, "argument must be between 1048576 and 9223372036854775807 inclusive")},
		{[]string{"--loglevel", "nothing"}, fileErr(2, `loglevel "nothing"`, "argument(s) must be one of the following: debug, verbose, notice, warning")},
		{[]string{"--enable-debug-command", "foo"}, fileErr(2, `enable-debug-command "foo"`, "argument(s) must be one of the following: no, yes, local")},
		{[]string{"--hz", "abc"}, fileErr(2, `hz "abc"`, "argument couldn't be parsed into an integer")},
		{[]string{"--loops", "1025"}, fileErr(2, `loops "1025"`, "argument must be between 0 and 1024 inclusive")},
		{[]string{"--timeout", "-1"}, fileErr(2, `timeout "-1"`, "argument must be between 0 and 2147483647 inclusive")},
		{[]string{"--logfile", "a", "b"}, fileErr(2, `logfile "a" "b"`, "wrong number of arguments")},
		{[]string{"--save", "900"}, fileErr(2, `save "900"`, "Invalid save parameters")},
		{[]string{"--bind", "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17"}, fileErr(2, `bind "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17"`, "Too many bind addresses specified.")},
		{[]string{"--dir", filepath.Join(dir, "nonexist")}, fileErr(2, `dir "`+filepath.Join(dir, "nonexist")+`"`, "No such file or directory")},
		{[]string{"--dir", notDir}, fileErr(2, `dir "`+notDir+`"`, "Not a directory")},
		{[]string{"--dbfilename", "a/b.rdb"}, fileErr(2, `dbfilename "a/b.rdb"`, "dbfilename can't be a path, just a filename")},
		{[]string{"--appendfilename", "a/b"}, fileErr(2, `appendfilename "a/b"`, "appendfilename can't be a path, just a filename")},
		{[]string{"--appenddirname", "../x"}, fileErr(2, `appenddirname "../x"`, "appenddirname can't be a path, just a dirname")},
		{[]string{"--appendfsync", "sometimes"}, fileErr(2, `appendfsync "sometimes"`, "argument(s) must be one of the following: always, everysec, no")},
		// Config file lines.
		{[]string{badLine2}, fileErr(2, "prot 7000", "Bad directive or wrong number of arguments")},
		{[]string{badLine2, "--port", "5"}, fileErr(2, "prot 7000", "Bad directive or wrong number of arguments")},
		{[]string{"-", "--port", "1"}, fileErr(1, `port "23457`, "Unbalanced quotes in configuration line")},
		{[]string{missing}, "Fatal error, can't open config file '" + missing + "': No such file or directory"},
		{[]string{"--port", "5", "--bind"}, ErrNoListener.Error()},
		{[]string{"--port", "0"}, ErrNoListener.Error()},
		{[]string{"--bind", ""}, ErrNoListener.Error()},
	}
	for _, tt := range tests {
		stdin := `port "23457` + "\n"
		_, err := LoadFrom(tt.args, strings.NewReader(stdin))
		if err == nil || err.Error() != tt.want {
			t.Errorf("LoadFrom(%q) error:\n%v\nwant:\n%s", tt.args, err, tt.want)
		}
	}
	fileLines := []struct {
		line, text, msg string
	}{
		{`port "23457`, `port "23457`, "Unbalanced quotes in configuration line"},
		{`port 'a'b`, `port 'a'b`, "Unbalanced quotes in configuration line"},
		{`port "a"b`, `port "a"b`, "Unbalanced quotes in configuration line"},
		{"include", "include", "Bad directive or wrong number of arguments"},
		{"port 1 2", "port 1 2", "wrong number of arguments"},
		{"port 5 # comment", "port 5 # comment", "wrong number of arguments"},
		{"pidfile", "pidfile", "wrong number of arguments"},
		{"requirepass", "requirepass", "wrong number of arguments"},
		{"dir", "dir", "wrong number of arguments"},
		{"list-max-ziplist-entries 5", "list-max-ziplist-entries 5", "Bad directive or wrong number of arguments"},
		{"\t save 900 \r", "save 900", "Invalid save parameters"},
	}
	for _, tt := range fileLines {
		p := writeFile(t, dir, "line.conf", tt.line+"\n")
		_, err := LoadFrom([]string{p}, nil)
		if want := fileErr(1, tt.text, tt.msg); err == nil || err.Error() != want {
			t.Errorf("file line %q error:\n%v\nwant:\n%s", tt.line, err, want)
		}
	}
	for _, a := range []string{"-v", "--version"} {
		if _, err := LoadFrom([]string{a}, nil); err != ErrVersion {
			t.Errorf("%s: %v", a, err)
		}
	}
	for _, a := range []string{"-h", "--help"} {
		if _, err := LoadFrom([]string{a, "--port", "1"}, nil); err != ErrHelp {
			t.Errorf("%s: %v", a, err)
		}
	}
	// Only the first argument asks for help/version, as in redis-server.
	if _, err := LoadFrom([]string{"--port", "1", "--version"}, nil); err == nil || err == ErrVersion {
		t.Errorf("late --version: %v", err)
	}
}

func TestLoadAcceptsEmptyDirectives(t *testing.T) {
	// bind and save with no arguments are valid lines in Redis.
	dir := t.TempDir()
	p := writeFile(t, dir, "e.conf", "save\nbind\nbind 127.0.0.1\n")
	c, err := LoadFrom([]string{p}, nil)
	if err != nil || c.Save != "" || !slices.Equal(c.Bind, []string{"127.0.0.1"}) {
		t.Errorf("got %+v, %v", c, err)
	}
}

func TestGet(t *testing.T) {
	c := Default()
	c.Dir = "/data"
	c.Bind = []string{"127.0.0.1", "-::1"}
	tests := []struct {
		patterns []string
		want     [][2]string
	}{
		{[]string{"port"}, [][2]string{{"port", "6379"}}},
		{[]string{"PORT"}, [][2]string{{"PORT", "6379"}}}, // exact names are echoed as typed
		{[]string{"Po*"}, [][2]string{{"port", "6379"}}},
		{[]string{"port", "port"}, [][2]string{{"port", "6379"}}},
		{[]string{"PORT", "port", "p*"}, [][2]string{{"PORT", "6379"}, {"protected-mode", "yes"},
			{"proto-max-bulk-len", "536870912"}, {"pidfile", ""}}},
		{[]string{"bind"}, [][2]string{{"bind", "127.0.0.1 -::1"}}},
		{[]string{"[ab]ind"}, [][2]string{{"bind", "127.0.0.1 -::1"}}},
		{[]string{`p\ort`}, nil}, // no glob character: an exact lookup that fails
		{[]string{"nosuch", "no*such"}, nil},
		{[]string{"dir", "save", "appendonly"}, [][2]string{{"dir", "/data"}, {"save", ""}, {"appendonly", "no"}}},
		{[]string{"*-buffer-*", "*keepalive"}, [][2]string{{"client-query-buffer-limit", "1073741824"},
			{"client-output-buffer-limit", "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"}, {"tcp-keepalive", "300"}}},
	}
	for _, tt := range tests {
		got := c.Get(tt.patterns...)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Get(%q) = %q, want %q", tt.patterns, got, tt.want)
		}
	}
	all := c.Get("*")
	if len(all) != len(c.Names()) {
		t.Errorf("Get(*) has %d entries, Names %d", len(all), len(c.Names()))
	}
	for i, kv := range all {
		if kv[0] != c.Names()[i] {
			t.Errorf("Get(*)[%d] = %s, want %s", i, kv[0], c.Names()[i])
		}
	}
}

func TestSet(t *testing.T) {
	imm := func(name string) string {
		return "ERR CONFIG SET failed (possibly related to argument '" + name + "') - can't set immutable config"
	}
	failed := func(name, msg string) string {
		return "ERR CONFIG SET failed (possibly related to argument '" + name + "') - " + msg
	}
	tests := []struct {
		pairs [][2]string
		err   string
		check func(*Config) bool
	}{
		{[][2]string{{"foo", "1"}}, "ERR Unknown option or number of arguments for CONFIG SET - 'foo'", nil},
		{[][2]string{{"port", "1"}, {"foo", "2"}}, "ERR Unknown option or number of arguments for CONFIG SET - 'foo'", nil},
		{[][2]string{{"foo", "2"}, {"databases", "1"}}, "ERR Unknown option or number of arguments for CONFIG SET - 'foo'", nil},
		{[][2]string{{"databases", "2"}, {"foo", "1"}}, imm("databases"), nil},
		{[][2]string{{"port", "abc"}, {"databases", "2"}}, imm("databases"), nil},
		{[][2]string{{"DATABASES", "5"}}, imm("DATABASES"), nil},
		{[][2]string{{"daemonize", "yes"}}, imm("daemonize"), nil},
		{[][2]string{{"logfile", "x"}}, imm("logfile"), nil},
		{[][2]string{{"pidfile", "x"}}, imm("pidfile"), nil},
		{[][2]string{{"loops", "2"}}, imm("loops"), nil},
		{[][2]string{{"enable-debug-command", "yes"}}, imm("enable-debug-command"), nil},
		{[][2]string{{"dir", "/tmp"}}, failed("dir", "can't set protected config"), nil},
		{[][2]string{{"port", "1"}, {"PORT", "2"}}, failed("PORT", "duplicate parameter"), nil},
		{[][2]string{{"port", "abc"}}, failed("port", "argument couldn't be parsed into an integer"), nil},
		{[][2]string{{"PORT", "70000"}}, failed("port", "argument must be between 0 and 65535 inclusive"), nil},
		{[][2]string{{"port", ""}}, failed("port", "argument couldn't be parsed into an integer"), nil},
		{[][2]string{{"maxclients", "50"}, {"port", "abc"}}, failed("port", "argument couldn't be parsed into an integer"), nil},
		{[][2]string{{"port", "5"}, {"maxclients", "abc"}}, failed("maxclients", "argument couldn't be parsed into an integer"), nil},
		{[][2]string{{"maxclients", "0"}}, failed("maxclients", "argument must be between 1 and 4294967295 inclusive"), nil},
		{[][2]string{{"maxclients", "4294967296"}}, failed("maxclients", "argument must be between 1 and 4294967295 inclusive"), nil},
		{[][2]string{{"timeout", "2147483648"}}, failed("timeout", "argument must be between 0 and 2147483647 inclusive"), nil},
		{[][2]string{{"tcp-keepalive", "-1"}}, failed("tcp-keepalive", "argument must be between 0 and 2147483647 inclusive"), nil},
		{[][2]string{{"hz", "-1"}}, failed("hz", "argument must be between 0 and 2147483647 inclusive"), nil},
		{[][2]string{{"hz", "99999999999999999999"}}, failed("hz", "argument couldn't be parsed into an integer"), nil},
		{[][2]string{{"protected-mode", "maybe"}}, failed("protected-mode", "argument must be 'yes' or 'no'"), nil},
		{[][2]string{{"protected-mode", ""}}, failed("protected-mode", "argument must be 'yes' or 'no'"), nil},
		{[][2]string{{"appendonly", "maybe"}}, failed("appendonly", "argument must be 'yes' or 'no'"), nil},
		{[][2]string{{"appendonly", "yes"}}, failed("appendonly", msgAOFSwitch), nil},
		{[][2]string{{"appenddirname", "x"}}, "ERR CONFIG SET failed (possibly related to argument 'appenddirname') - can't set immutable config", nil},
		{[][2]string{{"proto-max-bulk-len", "1x"}}, failed("proto-max-bulk-len", "argument must be a memory value"), nil},
		{[][2]string{{"proto-max-bulk-len", "1000"}}, failed("proto-max-bulk-len", "argument must be between 1048576 and 9223372036854775807 inclusive"), nil},
		{[][2]string{{"client-query-buffer-limit", "1000"}}, failed("client-query-buffer-limit", "argument must be between 1048576 and 9223372036854775807 inclusive"), nil},
		{[][2]string{{"loglevel", "foo"}}, failed("loglevel", "argument(s) must be one of the following: debug, verbose, notice, warning"), nil},
		{[][2]string{{"loglevel", ""}}, failed("loglevel", "argument(s) must be one of the following: debug, verbose, notice, warning"), nil},
		{[][2]string{{"save", "1 2 3"}}, failed("save", "Invalid save parameters"), nil},
		{[][2]string{{"save", "a b"}}, failed("save", "Invalid save parameters"), nil},
		{[][2]string{{"save", "0 0"}}, failed("save", "Invalid save parameters"), nil},
		{[][2]string{{"save", "1 -5"}}, failed("save", "Invalid save parameters"), nil},
		{[][2]string{{"save", "  "}}, failed("save", "Invalid save parameters"), nil},
		{[][2]string{{"save", `"x`}}, failed("save", "Invalid save parameters"), nil},
		{[][2]string{{"save", "900 1 300 10"}}, "", func(c *Config) bool { return c.Save == "900 1 300 10" && len(c.SavePoints()) == 2 }},
		{[][2]string{{"bind", "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17"}}, failed("bind", "Too many bind addresses specified."), nil},
		{[][2]string{{"bind", "127.0.0.1   -::1"}}, failed("bind", "Failed to bind to specified addresses."), nil},
		{[][2]string{{"timeout", "1"}, {"TIMEOUT", "2"}, {"foo", "3"}}, failed("TIMEOUT", "duplicate parameter"), nil},
		{[][2]string{{"", "1"}}, "ERR Unknown option or number of arguments for CONFIG SET - ''", nil},
		{[][2]string{{"hz", "1e3"}}, failed("hz", "argument couldn't be parsed into an integer"), nil},
		{[][2]string{{"hz", "10"}, {"databases", "x"}}, imm("databases"), nil},
		{[][2]string{{"loglevel", "debug "}}, failed("loglevel", "argument(s) must be one of the following: debug, verbose, notice, warning"), nil},
		{[][2]string{{"protected-mode", " yes"}}, failed("protected-mode", "argument must be 'yes' or 'no'"), nil},
		{[][2]string{{"tcp-keepalive", "00"}}, failed("tcp-keepalive", "argument couldn't be parsed into an integer"), nil},
		{[][2]string{{"client-query-buffer-limit", "4gb"}, {"proto-max-bulk-len", "1"}}, failed("proto-max-bulk-len", "argument must be between 1048576 and 9223372036854775807 inclusive"), nil},
		{[][2]string{{"requirepass", ""}, {"timeout", "abc"}}, failed("timeout", "argument couldn't be parsed into an integer"), nil},
		{[][2]string{{"bind", " "}}, failed("bind", "Failed to bind to specified addresses."), nil},
		{[][2]string{{"appendonly", ""}}, failed("appendonly", "argument must be 'yes' or 'no'"), nil},
		{[][2]string{{"save", "1 2 x"}}, failed("save", "Invalid save parameters"), nil},
		{[][2]string{{"maxclients", "4294967295"}, {"maxclients", "1"}}, failed("maxclients", "duplicate parameter"), nil},
		// Successes.
		{[][2]string{{"port", "7000"}}, "", func(c *Config) bool { return c.Port == 7000 }},
		{[][2]string{{"timeout", "5"}, {"tcp-keepalive", "6"}, {"hz", "7"}}, "",
			func(c *Config) bool { return c.Timeout == 5 && c.TCPKeepalive == 6 && c.Hz == 7 }},
		{[][2]string{{"hz", "1000"}}, "", func(c *Config) bool { return c.Hz == MaxHz }},
		{[][2]string{{"hz", "0"}}, "", func(c *Config) bool { return c.Hz == MinHz }},
		{[][2]string{{"protected-mode", "NO"}}, "", func(c *Config) bool { return !c.ProtectedMode }},
		{[][2]string{{"loglevel", "WARNING"}}, "", func(c *Config) bool { return c.LogLevel == "warning" }},
		{[][2]string{{"loglevel", "Debug"}}, "", func(c *Config) bool { return c.LogLevel == "debug" }},
		{[][2]string{{"proto-max-bulk-len", "2GB"}}, "", func(c *Config) bool { return c.ProtoMaxBulkLen == 2<<30 }},
		{[][2]string{{"client-query-buffer-limit", "1G"}}, "", func(c *Config) bool { return c.ClientQueryBufferLimit == 1e9 }},
		{[][2]string{{"maxclients", "4294967295"}}, "", func(c *Config) bool { return c.MaxClients == 4294967295 }},
		{[][2]string{{"requirepass", "a b"}}, "", func(c *Config) bool { return c.RequirePass == "a b" }},
		{[][2]string{{"save", ""}, {"appendonly", "no"}}, "", func(c *Config) bool { return c.Save == "" && !c.AppendOnly }},
		{[][2]string{{"bind", "* -::*"}}, "", func(c *Config) bool { return slices.Equal(c.Bind, []string{"*", "-::*"}) }},
		{[][2]string{{"bind", ""}}, "", func(c *Config) bool { return len(c.Bind) == 0 }},
		{nil, "", func(c *Config) bool { return reflect.DeepEqual(c, Default()) }},
	}
	for _, tt := range tests {
		c := Default()
		err := c.Set(tt.pairs)
		switch {
		case tt.err != "":
			if err == nil || err.Error() != tt.err {
				t.Errorf("Set(%q) = %v, want %s", tt.pairs, err, tt.err)
			}
			if !reflect.DeepEqual(c, Default()) {
				t.Errorf("Set(%q) failed but changed the config: %+v", tt.pairs, c)
			}
		case err != nil:
			t.Errorf("Set(%q) = %v", tt.pairs, err)
		case !tt.check(c):
			t.Errorf("Set(%q) gave %+v", tt.pairs, c)
		}
	}
}

func TestSetAtomicAndClone(t *testing.T) {
	old := Default()
	next := old.Clone()
	if err := next.Set([][2]string{{"bind", "10.0.0.1"}, {"maxclients", "5"}}); err != nil {
		t.Fatal(err)
	}
	if old.Bind[0] != "127.0.0.1" || old.MaxClients != 10000 {
		t.Errorf("Set on a clone changed the original: %+v", old)
	}
	if got := Changed(old, next); !slices.Equal(got, []string{"bind", "maxclients"}) {
		t.Errorf("Changed = %q", got)
	}
	// A later bad value undoes the earlier good ones.
	before := next.Clone()
	err := next.Set([][2]string{{"port", "7777"}, {"timeout", "9"}, {"hz", "x"}})
	if err == nil || !reflect.DeepEqual(next, before) {
		t.Errorf("partial Set: %v, %+v", err, next)
	}
	if len(Changed(next, before)) != 0 {
		t.Error("Changed reports differences between equal configs")
	}
}

func TestBindAddrs(t *testing.T) {
	c := Default()
	c.Bind = []string{"*", "-::*", "-::1", "10.0.0.1", "localhost"}
	want := []BindAddr{{"0.0.0.0", false}, {"::", true}, {"::1", true}, {"10.0.0.1", false}, {"localhost", false}}
	if got := c.BindAddrs(); !reflect.DeepEqual(got, want) {
		t.Errorf("BindAddrs = %+v", got)
	}
}

func TestNamesDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/CONFIG.md")
	if err != nil {
		t.Skip("docs/CONFIG.md not found:", err)
	}
	for _, n := range Default().Names() {
		if !strings.Contains(string(doc), "`"+n+"`") {
			t.Errorf("docs/CONFIG.md does not document %s", n)
		}
	}
}

func TestFileErrorShape(t *testing.T) {
	e := &FileError{Line: 12, Text: "x", Msg: "m"}
	want := "*** FATAL CONFIG FILE ERROR (Basalt) ***\nReading the configuration file, at line 12\n>>> 'x'\nm"
	if e.Error() != want {
		t.Errorf("%q", e.Error())
	}
}

// TestGetPatternsMatchRedis: which of Basalt's directives CONFIG GET
// PATTERN returns, as redis-server 7.0.15 answered for the same names.
func TestGetPatternsMatchRedis(t *testing.T) {
	tests := []struct{ pattern, names string }{
		{`*`, "aof-load-truncated aof-use-rdb-preamble appenddirname appendfilename appendfsync appendonly auto-aof-rewrite-min-size auto-aof-rewrite-percentage bind busy-reply-threshold client-output-buffer-limit client-query-buffer-limit daemonize databases dbfilename dir enable-debug-command hash-max-listpack-entries hash-max-listpack-value hash-max-ziplist-entries hash-max-ziplist-value hll-sparse-max-bytes hz list-max-listpack-size list-max-ziplist-size logfile loglevel lua-time-limit maxclients notify-keyspace-events pidfile port protected-mode proto-max-bulk-len requirepass save set-max-intset-entries stop-writes-on-bgsave-error stream-node-max-bytes stream-node-max-entries tcp-keepalive timeout tracking-table-max-keys zset-max-listpack-entries zset-max-listpack-value zset-max-ziplist-entries zset-max-ziplist-value"},
		{`p*`, "pidfile port protected-mode proto-max-bulk-len"},
		{`*o*`, "aof-load-truncated aof-use-rdb-preamble appendonly auto-aof-rewrite-min-size auto-aof-rewrite-percentage busy-reply-threshold client-output-buffer-limit daemonize enable-debug-command logfile loglevel notify-keyspace-events port protected-mode proto-max-bulk-len stop-writes-on-bgsave-error stream-node-max-bytes stream-node-max-entries timeout"},
		{`?ort`, "port"},
		{`[pb]*`, "bind busy-reply-threshold pidfile port protected-mode proto-max-bulk-len"},
		{`[^p]*`, "aof-load-truncated aof-use-rdb-preamble appenddirname appendfilename appendfsync appendonly auto-aof-rewrite-min-size auto-aof-rewrite-percentage bind busy-reply-threshold client-output-buffer-limit client-query-buffer-limit daemonize databases dbfilename dir enable-debug-command hash-max-listpack-entries hash-max-listpack-value hash-max-ziplist-entries hash-max-ziplist-value hll-sparse-max-bytes hz list-max-listpack-size list-max-ziplist-size logfile loglevel lua-time-limit maxclients notify-keyspace-events requirepass save set-max-intset-entries stop-writes-on-bgsave-error stream-node-max-bytes stream-node-max-entries tcp-keepalive timeout tracking-table-max-keys zset-max-listpack-entries zset-max-listpack-value zset-max-ziplist-entries zset-max-ziplist-value"},
		{`*[d-f]`, "aof-load-truncated aof-use-rdb-preamble appenddirname appendfilename auto-aof-rewrite-min-size auto-aof-rewrite-percentage bind busy-reply-threshold daemonize dbfilename enable-debug-command hash-max-listpack-value hash-max-ziplist-value list-max-listpack-size list-max-ziplist-size logfile pidfile protected-mode save tcp-keepalive zset-max-listpack-value zset-max-ziplist-value"},
		{`*-*-*`, "aof-load-truncated aof-use-rdb-preamble auto-aof-rewrite-min-size auto-aof-rewrite-percentage busy-reply-threshold client-output-buffer-limit client-query-buffer-limit enable-debug-command hash-max-listpack-entries hash-max-listpack-value hash-max-ziplist-entries hash-max-ziplist-value hll-sparse-max-bytes list-max-listpack-size list-max-ziplist-size lua-time-limit notify-keyspace-events proto-max-bulk-len set-max-intset-entries stop-writes-on-bgsave-error stream-node-max-bytes stream-node-max-entries tracking-table-max-keys zset-max-listpack-entries zset-max-listpack-value zset-max-ziplist-entries zset-max-ziplist-value"},
		{`*\-*`, "aof-load-truncated aof-use-rdb-preamble auto-aof-rewrite-min-size auto-aof-rewrite-percentage busy-reply-threshold client-output-buffer-limit client-query-buffer-limit enable-debug-command hash-max-listpack-entries hash-max-listpack-value hash-max-ziplist-entries hash-max-ziplist-value hll-sparse-max-bytes list-max-listpack-size list-max-ziplist-size lua-time-limit notify-keyspace-events protected-mode proto-max-bulk-len set-max-intset-entries stop-writes-on-bgsave-error stream-node-max-bytes stream-node-max-entries tcp-keepalive tracking-table-max-keys zset-max-listpack-entries zset-max-listpack-value zset-max-ziplist-entries zset-max-ziplist-value"},
		{`b[i-n]nd`, "bind"},
		{`[a-c]*[!x]`, ""},
		{`*s?`, "requirepass"},
		{`da*es`, "databases"},
		{`P*T`, "port"},
		{`*[`, ""},
		{`[]`, ""},
		{`[^]*`, "aof-load-truncated aof-use-rdb-preamble appenddirname appendfilename appendfsync appendonly auto-aof-rewrite-min-size auto-aof-rewrite-percentage bind busy-reply-threshold client-output-buffer-limit client-query-buffer-limit daemonize databases dbfilename dir enable-debug-command hash-max-listpack-entries hash-max-listpack-value hash-max-ziplist-entries hash-max-ziplist-value hll-sparse-max-bytes hz list-max-listpack-size list-max-ziplist-size logfile loglevel lua-time-limit maxclients notify-keyspace-events pidfile port protected-mode proto-max-bulk-len requirepass save set-max-intset-entries stop-writes-on-bgsave-error stream-node-max-bytes stream-node-max-entries tcp-keepalive timeout tracking-table-max-keys zset-max-listpack-entries zset-max-listpack-value zset-max-ziplist-entries zset-max-ziplist-value"},
		{`*a*a*`, "aof-load-truncated aof-use-rdb-preamble appenddirname appendfilename auto-aof-rewrite-min-size auto-aof-rewrite-percentage databases enable-debug-command hash-max-listpack-entries hash-max-listpack-value hash-max-ziplist-entries hash-max-ziplist-value hll-sparse-max-bytes list-max-listpack-size stream-node-max-bytes stream-node-max-entries tracking-table-max-keys zset-max-listpack-entries zset-max-listpack-value zset-max-ziplist-value"},
		{`h?`, "hz"},
		{`dir`, "dir"},
		{`t[c]p*`, "tcp-keepalive"},
		{`\p*`, "pidfile port protected-mode proto-max-bulk-len"},
		{`*\*`, ""},
		{`sa[v`, ""},
		{`log*`, "logfile loglevel"},
		{`*max*`, "hash-max-listpack-entries hash-max-listpack-value hash-max-ziplist-entries hash-max-ziplist-value hll-sparse-max-bytes list-max-listpack-size list-max-ziplist-size maxclients proto-max-bulk-len set-max-intset-entries stream-node-max-bytes stream-node-max-entries tracking-table-max-keys zset-max-listpack-entries zset-max-listpack-value zset-max-ziplist-entries zset-max-ziplist-value"},
		{`[z-a]*`, "aof-load-truncated aof-use-rdb-preamble appenddirname appendfilename appendfsync appendonly auto-aof-rewrite-min-size auto-aof-rewrite-percentage bind busy-reply-threshold client-output-buffer-limit client-query-buffer-limit daemonize databases dbfilename dir enable-debug-command hash-max-listpack-entries hash-max-listpack-value hash-max-ziplist-entries hash-max-ziplist-value hll-sparse-max-bytes hz list-max-listpack-size list-max-ziplist-size logfile loglevel lua-time-limit maxclients notify-keyspace-events pidfile port protected-mode proto-max-bulk-len requirepass save set-max-intset-entries stop-writes-on-bgsave-error stream-node-max-bytes stream-node-max-entries tcp-keepalive timeout tracking-table-max-keys zset-max-listpack-entries zset-max-listpack-value zset-max-ziplist-entries zset-max-ziplist-value"},
	}
	c := Default()
	for _, tt := range tests {
		var got []string
		for _, kv := range c.Get(tt.pattern) {
			if !slices.Contains([]string{"loops", "snapshot-schedule", "snapshot-retention", "snapshot-dir", "restore", "encryption-key-file"}, kv[0]) { // Basalt's own directives
				got = append(got, kv[0])
			}
		}
		slices.Sort(got)
		if strings.Join(got, " ") != tt.names {
			t.Errorf("Get(%q) names = %q, redis %q", tt.pattern, strings.Join(got, " "), tt.names)
		}
	}
}

func TestSaveLinesAccumulate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "b.conf")
	if err := os.WriteFile(path, []byte("save 3600 1\nsave 300 100\nsave 60 10000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadFrom([]string{path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Save != "3600 1 300 100 60 10000" {
		t.Fatalf("save %q", c.Save)
	}
	c, err = LoadFrom([]string{path, "--save", ""}, nil)
	if err != nil || c.Save != "" {
		t.Fatalf("save %q %v", c.Save, err)
	}
}
