package resp

import (
	"bytes"
	"fmt"
	"math/rand"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// result is everything observable from parsing a stream to its end.
type result struct {
	cmds    [][]string
	skipped int    // requests with no arguments (empty line, *0, *-1)
	rest    int    // bytes left unconsumed
	err     string // "" when no protocol error
}

func (r result) String() string {
	return fmt.Sprintf("cmds=%q skipped=%d rest=%d err=%q", r.cmds, r.skipped, r.rest, r.err)
}

func toStrings(args [][]byte) []string {
	s := make([]string, len(args))
	for i, a := range args {
		s[i] = string(a)
	}
	return s
}

// parseWhole parses data given all at once.
func parseWhole(t testing.TB, data []byte, lim *Limits) result {
	var p Parser
	return drain(t, &p, data, lim, result{}, true)
}

// drain calls Parse until it needs more input or fails, accumulating
// into r. It returns the result with rest = unconsumed length.
func drain(t testing.TB, p *Parser, buf []byte, lim *Limits, r result, final bool) result {
	for {
		args, n, err := p.Parse(buf, lim)
		if n < 0 || n > len(buf) {
			t.Fatalf("n=%d out of range (len %d)", n, len(buf))
		}
		if err != nil {
			if args != nil || n != 0 {
				t.Fatalf("error with args=%q n=%d", args, n)
			}
			r.err = err.Error()
			r.rest = len(buf)
			return r
		}
		if n == 0 {
			if args != nil {
				t.Fatalf("incomplete with args %q", args)
			}
			r.rest = len(buf)
			return r
		}
		if args == nil {
			r.skipped++
		} else {
			if len(args) == 0 {
				t.Fatalf("non-nil empty args")
			}
			r.cmds = append(r.cmds, toStrings(args))
		}
		buf = buf[n:]
	}
}

// parseChunks feeds data in pieces ending at the given cut points. Each
// step copies the unconsumed bytes into a fresh array (the caller may
// move its buffer), appends the new piece and parses as far as possible.
func parseChunks(t testing.TB, data []byte, lim *Limits, cuts []int) result {
	var p Parser
	var r result
	var pending []byte
	prev := 0
	cuts = append(cuts, len(data))
	for _, c := range cuts {
		if c < prev {
			continue
		}
		if len(pending) < 1024 {
			// Move the unconsumed bytes to a fresh array and clobber the
			// old one, so that a stale slice kept by the parser shows up.
			nb := make([]byte, 0, len(pending)+c-prev)
			nb = append(nb, pending...)
			for i := range pending {
				pending[i] = '#'
			}
			pending = nb
		}
		// Large pending data just grows (and sometimes moves) by append,
		// which keeps byte-at-a-time feeding of big inputs linear.
		pending = append(pending, data[prev:c]...)
		prev = c
		r = drain(t, &p, pending, lim, r, false)
		if r.err != "" {
			r.rest += len(data) - c
			return r
		}
		pending = pending[len(pending)-r.rest:]
	}
	r.rest = len(pending)
	return r
}

func bytewise(t testing.TB, data []byte, lim *Limits) result {
	cuts := make([]int, len(data))
	for i := range cuts {
		cuts[i] = i
	}
	return parseChunks(t, data, lim, cuts)
}

func cmds(c ...[]string) [][]string { return c }
func cmd(a ...string) []string      { return a }

var validCases = []struct {
	name string
	in   string
	want result
}{
	{"set", "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n",
		result{cmds: cmds(cmd("SET", "key", "value"))}},
	{"pipeline", "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n",
		result{cmds: cmds(cmd("PING"), cmd("GET", "k"), cmd("ECHO", "hi"))}},
	{"binary", "*2\r\n$4\r\nECHO\r\n$8\r\na\r\nb\x00\r\n\xff\r\n",
		result{cmds: cmds(cmd("ECHO", "a\r\nb\x00\r\n\xff"))}},
	{"nul bulk", "*1\r\n$1\r\n\x00\r\n", result{cmds: cmds(cmd("\x00"))}},
	{"empty bulk", "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", result{cmds: cmds(cmd("ECHO", ""))}},
	{"star zero", "*0\r\n*1\r\n$4\r\nPING\r\n", result{cmds: cmds(cmd("PING")), skipped: 1}},
	{"star minus", "*-1\r\n*-9223372036854775808\r\nPING\r\n", result{cmds: cmds(cmd("PING")), skipped: 2}},
	// Redis skips the two bytes after a bulk and after a count line
	// without checking them.
	{"unchecked crlf", "*1\r\n$4\r\nPINGXY*1\rX$4\r\nPING\r\n", result{cmds: cmds(cmd("PING"), cmd("PING"))}},
	{"unchecked then inline", "*1\r\n$1\r\na\r\r\n", result{cmds: cmds(cmd("a")), skipped: 1}},
	{"partial", "*2\r\n$3\r\nGET\r\n$1\r\n", result{rest: 17}},
	{"partial bulk", "*1\r\n$4\r\nPING", result{rest: 12}},
	{"partial after bulk", "*1\r\n$4\r\nPING\r", result{rest: 13}},
	{"cr last", "*1\r", result{rest: 3}},
	{"big bulk", "*2\r\n$3\r\nSET\r\n$70000\r\n" + strings.Repeat("v", 70000) + "\r\n",
		result{cmds: cmds(cmd("SET", strings.Repeat("v", 70000)))}},
	{"many args", "*12\r\n" + strings.Repeat("$1\r\na\r\n", 12),
		result{cmds: cmds(strings.Fields(strings.Repeat("a ", 12)))}},
	// A NUL before the line end hides it from Redis's strchr: it waits.
	{"nul in count line", "*1\x00\r\n$4\r\nPING\r\n", result{rest: 15}},
	{"nul in bulk line", "*1\r\n$4\x00\r\nPING\r\n", result{rest: 15}},
	{"nul in inline", "PI\x00NG\r\nPING\r\n", result{rest: 13}},

	{"inline", "PING\r\n", result{cmds: cmds(cmd("PING"))}},
	{"inline lf", "SET a b\nGET a\r\n", result{cmds: cmds(cmd("SET", "a", "b"), cmd("GET", "a"))}},
	{"inline empty", "\r\n\n   \r\n\t\n", result{skipped: 4}},
	{"inline partial", "SET a b\r", result{rest: 8}},
	{"inline spaces", "  SET\t a   b  \r\n", result{cmds: cmds(cmd("SET", "a", "b"))}},
	{"inline quotes", `SET "a b" 'c d'` + "\r\n", result{cmds: cmds(cmd("SET", "a b", "c d"))}},
	{"inline escapes", `ECHO "\x41\x4a\n\r\t\b\a\\\"\q\x4g"` + "\n",
		result{cmds: cmds(cmd("ECHO", "AJ\n\r\t\b\a\\\"qx4g"))}},
	{"inline hex", `ECHO "\x00\xff\xFf"` + "\n", result{cmds: cmds(cmd("ECHO", "\x00\xff\xff"))}},
	{"inline single", `ECHO 'a\'b\\c\n'` + "\n", result{cmds: cmds(cmd("ECHO", `a'b\\c\n`))}},
	{"inline mid quote", `ECHO ab"cd" x'y z'` + "\n", result{cmds: cmds(cmd("ECHO", "abcd", "xy z"))}},
	{"inline empty quotes", `ECHO "" ''` + "\n", result{cmds: cmds(cmd("ECHO", "", ""))}},
	{"inline quote then space", "ECHO \"a\"\t'b'\v\"c\"\f\"d\"\r\"e\"\r\n",
		result{cmds: cmds(cmd("ECHO", "a", "b", "c", "d", "e"))}},
	// \v and \f are skipped as blanks but do not end an unquoted token.
	{"inline vt", "ECHO a\vb \v\fc\r\n", result{cmds: cmds(cmd("ECHO", "a\vb", "c"))}},
	{"inline cr mid", "ECHO a\rb\r\n", result{cmds: cmds(cmd("ECHO", "a", "b"))}},
	{"inline cr only stripped once", "ECHO a\r\r\n", result{cmds: cmds(cmd("ECHO", "a"))}},
	{"inline then multibulk", "PING\r\n*1\r\n$4\r\nPING\r\nECHO x\n",
		result{cmds: cmds(cmd("PING"), cmd("PING"), cmd("ECHO", "x"))}},
	{"star mid line is inline", "ECHO *1\r\n", result{cmds: cmds(cmd("ECHO", "*1"))}},
	{"dollar inline", "$4\r\n", result{cmds: cmds(cmd("$4"))}},
	{"inline high bytes", "ECHO \xa0\x85x\r\n", result{cmds: cmds(cmd("ECHO", "\xa0\x85x"))}},
	{"count 2^31-1 waits", "*2147483647\r\n", result{rest: 13}},
	{"bulk max waits", "*1\r\n$536870912\r\n", result{rest: 16}},
}

type errCase struct {
	name string
	in   string
	lim  *Limits
	err  string
}

const (
	eMbCount   = "Protocol error: too big mbulk count string"
	eMbLen     = "Protocol error: invalid multibulk length"
	eMbUnauth  = "Protocol error: unauthenticated multibulk length"
	eBulkCount = "Protocol error: too big bulk count string"
	eBulkLen   = "Protocol error: invalid bulk length"
	eBulkAuth  = "Protocol error: unauthenticated bulk length"
	eInline    = "Protocol error: too big inline request"
	eQuotes    = "Protocol error: unbalanced quotes in request"
)

var auth = &Limits{RequireAuth: true}

var errorCases = []errCase{
	{"mb letters", "*abc\r\n", nil, eMbLen},
	{"mb plus", "*+1\r\n", nil, eMbLen},
	{"mb leading zero", "*01\r\n", nil, eMbLen},
	{"mb minus zero", "*-0\r\n", nil, eMbLen},
	{"mb space", "* 1\r\n", nil, eMbLen},
	{"mb trailing space", "*1 \r\n", nil, eMbLen},
	{"mb empty", "*\r\n", nil, eMbLen},
	{"mb lf before cr", "*1\nPING\r\n", nil, eMbLen},
	{"mb over int max", "*2147483648\r\n", nil, eMbLen},
	{"mb overflow neg", "*-9223372036854775809\r\n", nil, eMbLen},
	{"mb overflow", "*99999999999999999999\r\n", nil, eMbLen},
	{"mb custom max", "*5\r\n", &Limits{MaxMultibulk: 4}, eMbLen},
	{"mb unauth", "*11\r\n", auth, eMbUnauth},
	{"mb too big", "*" + strings.Repeat("1", InlineMaxSize), nil, eMbCount},
	{"mb too big nul", "*1\x00\r\n" + strings.Repeat("a", InlineMaxSize), nil, eMbCount},
	{"expected dollar", "*1\r\nX\r\n", nil, "Protocol error: expected '$', got 'X'"},
	{"expected dollar cr", "*1\r\n\r\n", nil, "Protocol error: expected '$', got ' '"},
	{"expected dollar lf", "*1\r\n\n\r\n", nil, "Protocol error: expected '$', got ' '"},
	{"expected dollar second", "*2\r\n$1\r\na\r\n:1\r\n", nil, "Protocol error: expected '$', got ':'"},
	{"bulk negative", "*1\r\n$-1\r\n", nil, eBulkLen},
	{"bulk leading zero", "*1\r\n$01\r\n", nil, eBulkLen},
	{"bulk empty", "*1\r\n$\r\n", nil, eBulkLen},
	{"bulk plus", "*1\r\n$+1\r\n", nil, eBulkLen},
	{"bulk over default", "*1\r\n$536870913\r\n", nil, eBulkLen},
	{"bulk overflow", "*1\r\n$9223372036854775808\r\n", nil, eBulkLen},
	{"bulk custom max", "*1\r\n$11\r\n", &Limits{MaxBulkLen: 10}, eBulkLen},
	{"bulk unauth", "*10\r\n$16385\r\n", auth, eBulkAuth},
	{"bulk too big", "*1\r\n$" + strings.Repeat("1", InlineMaxSize), nil, eBulkCount},
	{"inline too big", strings.Repeat("a", InlineMaxSize+1), nil, eInline},
	{"inline too big nul", "a\x00b\n" + strings.Repeat("a", InlineMaxSize), nil, eInline},
	{"dq unterminated", `ECHO "abc` + "\r\n", nil, eQuotes},
	{"sq unterminated", `ECHO 'abc` + "\n", nil, eQuotes},
	{"dq followed", `ECHO "ab"c` + "\n", nil, eQuotes},
	{"sq followed", `ECHO 'ab'c` + "\n", nil, eQuotes},
	{"dq escaped end", `ECHO "abc\"` + "\n", nil, eQuotes},
	{"dq backslash end", `ECHO "abc\` + "\n", nil, eQuotes},
	{"sq backslash end", `ECHO 'abc\'` + "\n", nil, eQuotes},
	{"after valid", "PING\r\n*x\r\n", nil, eMbLen},
}

func TestParseValid(t *testing.T) {
	for _, tc := range validCases {
		t.Run(tc.name, func(t *testing.T) {
			got := parseWhole(t, []byte(tc.in), nil)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("whole:\n got %v\nwant %v", got, tc.want)
			}
			if bw := bytewise(t, []byte(tc.in), nil); !reflect.DeepEqual(bw, tc.want) {
				t.Fatalf("bytewise:\n got %v\nwant %v", bw, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			got := parseWhole(t, []byte(tc.in), tc.lim)
			if got.err != tc.err {
				t.Fatalf("whole: got %v, want err %q", got, tc.err)
			}
			bw := bytewise(t, []byte(tc.in), tc.lim)
			if !reflect.DeepEqual(bw, got) {
				t.Fatalf("bytewise:\n got %v\nwant %v", bw, got)
			}
		})
	}
}

// Limits that must NOT fail.
func TestParseAtLimits(t *testing.T) {
	for _, tc := range []struct {
		in  string
		lim *Limits
	}{
		{"*10\r\n$16384\r\n", auth},
		{"*-5\r\n", auth},
		{"*4\r\n", &Limits{MaxMultibulk: 4}},
		{"*1\r\n$10\r\n", &Limits{MaxBulkLen: 10}},
		{"*" + strings.Repeat("1", InlineMaxSize-1), nil},
		{strings.Repeat("a", InlineMaxSize), nil},
		{"*1\r\n$" + strings.Repeat("1", InlineMaxSize-1), nil},
	} {
		if got := parseWhole(t, []byte(tc.in), tc.lim); got.err != "" || len(got.cmds) != 0 {
			t.Errorf("%.40q: %v", tc.in, got)
		}
	}
}

func TestErrorIsProtocolError(t *testing.T) {
	var p Parser
	_, _, err := p.Parse([]byte("*x\r\n"), nil)
	if err != ErrInvalidMbulkLen {
		t.Fatalf("got %v", err)
	}
	if _, ok := err.(*ProtocolError); !ok {
		t.Fatalf("type %T", err)
	}
}

func TestRandomSplits(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	var all []byte
	var want result
	for _, tc := range validCases {
		if tc.want.rest != 0 {
			continue
		}
		all = append(all, tc.in...)
		want.cmds = append(want.cmds, tc.want.cmds...)
		want.skipped += tc.want.skipped
	}
	if got := parseWhole(t, all, nil); !reflect.DeepEqual(got, want) {
		t.Fatalf("whole concat:\n got %v\nwant %v", got, want)
	}
	for iter := 0; iter < 300; iter++ {
		k := rng.Intn(40)
		cuts := make([]int, k)
		for i := range cuts {
			cuts[i] = rng.Intn(len(all) + 1)
		}
		sortInts(cuts)
		if got := parseChunks(t, all, nil, cuts); !reflect.DeepEqual(got, want) {
			t.Fatalf("cuts %v:\n got %v\nwant %v", cuts, got, want)
		}
	}
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// Zero-copy: plain args point into the caller's buffer.
func TestZeroCopy(t *testing.T) {
	var p Parser
	buf := []byte("*2\r\n$3\r\nGET\r\n$3\r\nkey\r\nSET a \"b\" \"c\\n\"\r\n")
	args, n, err := p.Parse(buf, nil)
	if err != nil || n != 22 {
		t.Fatal(n, err)
	}
	if &args[1][0] != &buf[17] || cap(args[1]) != 3 {
		t.Fatalf("multibulk arg not a clipped sub-slice of buf")
	}
	args, _, err = p.Parse(buf[n:], nil)
	if err != nil || len(args) != 4 {
		t.Fatal(args, err)
	}
	in := func(a []byte) bool {
		if len(a) == 0 {
			return false
		}
		x := uintptr(unsafe.Pointer(&a[0]))
		return x >= uintptr(unsafe.Pointer(&buf[0])) && x <= uintptr(unsafe.Pointer(&buf[len(buf)-1]))
	}
	if !in(args[1]) || !in(args[2]) {
		t.Fatalf("plain/quoted inline args should be zero-copy")
	}
	if in(args[3]) || string(args[3]) != "c\n" {
		t.Fatalf("escaped arg %q should be decoded into scratch", args[3])
	}
}

func TestNeed(t *testing.T) {
	var p Parser
	in := []byte("*1\r\n$100\r\n")
	if _, n, err := p.Parse(in, nil); n != 0 || err != nil {
		t.Fatal(n, err)
	}
	if got := p.Need(); got != len(in)+102 {
		t.Fatalf("Need = %d", got)
	}
}

func TestSteadyStateNoAllocs(t *testing.T) {
	pipe := benchPipeline(16)
	inline := []byte("SET key \"va\\x41lue\" other\r\n")
	var p Parser
	allocs := testing.AllocsPerRun(100, func() {
		buf := pipe
		for len(buf) > 0 {
			_, n, err := p.Parse(buf, nil)
			if err != nil || n == 0 {
				panic("bad")
			}
			buf = buf[n:]
		}
		if _, n, _ := p.Parse(inline, nil); n != len(inline) {
			panic("bad inline")
		}
	})
	if allocs != 0 {
		t.Fatalf("allocs per run = %v", allocs)
	}
}

// A huge request must not leave the connection holding huge buffers.
func TestShrinkAfterHugeCommand(t *testing.T) {
	var p Parser
	in := []byte("*10000\r\n" + strings.Repeat("$1\r\nx\r\n", 10000))
	if _, n, err := p.Parse(in, nil); n != len(in) || err != nil {
		t.Fatal(n, err)
	}
	if _, n, _ := p.Parse([]byte("PING\r\n"), nil); n != 6 {
		t.Fatal(n)
	}
	if cap(p.spans) > 4096 || cap(p.args) > 4096 {
		t.Fatalf("buffers kept: %d %d", cap(p.spans), cap(p.args))
	}
}

func benchPipeline(n int) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		k := "key:" + strconv.Itoa(i)
		fmt.Fprintf(&b, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\nvalue-0123456789\r\n", len(k), k)
	}
	return b.Bytes()
}

func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct {
		name string
		in   []byte
	}{
		{"SetPipeline100", benchPipeline(100)},
		{"Inline100", bytes.Repeat([]byte("SET key:12345 value-0123456789\r\n"), 100)},
		{"InlineQuoted100", bytes.Repeat([]byte("SET \"key 1\" \"va\\x41lue\"\r\n"), 100)},
		{"Bulk64K", []byte("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$65536\r\n" + strings.Repeat("v", 65536) + "\r\n")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var p Parser
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.in)))
			for b.Loop() {
				buf := bc.in
				for len(buf) > 0 {
					_, n, err := p.Parse(buf, nil)
					if err != nil || n == 0 {
						b.Fatal(n, err)
					}
					buf = buf[n:]
				}
			}
		})
	}
}
