package meta

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

const redisBin = "/usr/bin/redis-server"

// startRedis starts a private redis-server on a free port and stops exactly
// that process when the test ends.
func startRedis(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(redisBin); err != nil {
		t.Skip("no redis-server:", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(redisBin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatal("redis-server did not start")
	return ""
}

// rawConn sends commands and returns each reply's exact bytes.
type rawConn struct {
	t    *testing.T
	conn net.Conn
	buf  []byte
}

func dialRaw(t *testing.T, addr string, proto int) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := &rawConn{t: t, conn: c}
	if proto == 3 {
		r.do("HELLO", "3")
	}
	return r
}

func encodeCommand(dst []byte, args ...[]byte) []byte {
	dst = appendHeader(dst, '*', int64(len(args)))
	for _, a := range args {
		dst = appendBulkBytes(dst, a)
	}
	return dst
}

func strArgs(args ...string) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = []byte(a)
	}
	return out
}

func (r *rawConn) do(args ...string) []byte {
	return r.pipeline([][][]byte{strArgs(args...)})[0]
}

// pipeline sends all commands at once and returns their replies.
func (r *rawConn) pipeline(cmds [][][]byte) [][]byte {
	r.t.Helper()
	var out []byte
	for _, c := range cmds {
		out = encodeCommand(out, c...)
	}
	r.conn.SetDeadline(time.Now().Add(30 * time.Second))
	errc := make(chan error, 1)
	go func() { _, err := r.conn.Write(out); errc <- err }()
	replies := make([][]byte, 0, len(cmds))
	tmp := make([]byte, 1<<16)
	for len(replies) < len(cmds) {
		_, n, err := ParseNode(r.buf)
		if err == nil {
			replies = append(replies, append([]byte(nil), r.buf[:n]...))
			r.buf = r.buf[n:]
			continue
		}
		if !errors.Is(err, ErrIncomplete) {
			r.t.Fatal(err)
		}
		m, err := r.conn.Read(tmp)
		if err != nil {
			r.t.Fatal(err)
		}
		r.buf = append(r.buf, tmp[:m]...)
	}
	if err := <-errc; err != nil {
		r.t.Fatal(err)
	}
	return replies
}

func parse(t *testing.T, b []byte) Node {
	t.Helper()
	n, used, err := ParseNode(b)
	if err != nil || used != len(b) {
		t.Fatalf("parse %q: used %d, %v", b, used, err)
	}
	return n
}

// canonInfo sorts the subcommands of a COMMAND INFO entry (Redis sends
// them in dict order, which changes with each process's hash seed).
func canonInfo(n *Node) {
	if n.Kind != KindArray || len(n.Elems) != 10 {
		return
	}
	subs := n.Elems[9].Elems
	sort.SliceStable(subs, func(i, j int) bool { return subs[i].Elems[0].Str < subs[j].Elems[0].Str })
	for i := range subs {
		canonInfo(&subs[i])
	}
}

// canonDocs sorts the "subcommands" map of a COMMAND DOCS value.
// In RESP2 the maps arrive as flat arrays, so look keys up in both.
func canonDocs(n *Node) {
	var s *Node
	for i := 0; i+1 < len(n.Elems); i += 2 {
		if n.Elems[i].Str == "subcommands" {
			s = &n.Elems[i+1]
		}
	}
	if s == nil {
		return
	}
	type kv struct{ k, v Node }
	var kvs []kv
	for i := 0; i+1 < len(s.Elems); i += 2 {
		kvs = append(kvs, kv{s.Elems[i], s.Elems[i+1]})
	}
	sort.SliceStable(kvs, func(i, j int) bool { return kvs[i].k.Str < kvs[j].k.Str })
	s.Elems = s.Elems[:0]
	for _, p := range kvs {
		canonDocs(&p.v)
		s.Elems = append(s.Elems, p.k, p.v)
	}
}

func encode(n Node, proto int) []byte { return n.AppendRESP(nil, proto) }

// TestInfoDocsPerCommand compares COMMAND INFO and COMMAND DOCS for every
// command and subcommand, byte for byte (after ordering subcommands for
// containers), in RESP2 and RESP3.
func TestInfoDocsPerCommand(t *testing.T) {
	addr := startRedis(t)
	tbl := New()
	for _, proto := range []int{2, 3} {
		rc := dialRaw(t, addr, proto)
		for _, c := range tbl.all {
			for _, name := range []string{c.Name, strings.ToUpper(c.Name)} {
				real := rc.do("COMMAND", "INFO", name)
				ours := tbl.AppendInfo(nil, proto, strArgs(name))
				if len(c.Subcommands) > 0 {
					n := parse(t, real)
					canonInfo(&n.Elems[0])
					real = encode(n, proto)
				}
				if !bytes.Equal(real, ours) {
					t.Errorf("RESP%d COMMAND INFO %s:\nreal %q\nours %q", proto, name, real, ours)
				}
				real = rc.do("COMMAND", "DOCS", name)
				ours = tbl.AppendDocs(nil, proto, strArgs(name))
				if len(c.Subcommands) > 0 {
					n := parse(t, real)
					canonDocs(&n.Elems[1])
					real = encode(n, proto)
				}
				if !bytes.Equal(real, ours) {
					t.Errorf("RESP%d COMMAND DOCS %s:\nreal %q\nours %q", proto, name, real, ours)
				}
			}
		}
		// Several names, unknown and malformed ones included (containers
		// left out: their subcommand order is Redis's dict order).
		names := []string{"get", "nosuch", "client|id", "CONFIG|Get", "get|x", "client|",
			"client|nosuch", "|id", "a|b|c", "client|id|x", "", "|", "Set", "object|encoding", "GET"}
		real := rc.do(append([]string{"COMMAND", "INFO"}, names...)...)
		if ours := tbl.AppendInfo(nil, proto, strArgs(names...)); !bytes.Equal(real, ours) {
			t.Errorf("RESP%d COMMAND INFO %v:\nreal %q\nours %q", proto, names, real, ours)
		}
		real = rc.do(append([]string{"COMMAND", "DOCS"}, names...)...)
		if ours := tbl.AppendDocs(nil, proto, strArgs(names...)); !bytes.Equal(real, ours) {
			t.Errorf("RESP%d COMMAND DOCS %v:\nreal %q\nours %q", proto, names, real, ours)
		}
	}
}

// TestAllAsSets checks COMMAND, COMMAND INFO and COMMAND DOCS without
// names: Redis lists all its commands in dict order, so we compare our
// entries with Redis's entries for the same commands, as sets.
func TestAllAsSets(t *testing.T) {
	addr := startRedis(t)
	tbl := New()
	for _, proto := range []int{2, 3} {
		rc := dialRaw(t, addr, proto)
		for _, args := range [][]string{{"COMMAND"}, {"COMMAND", "INFO"}} {
			real := parse(t, rc.do(args...))
			ours := tbl.AppendInfo(nil, proto, nil)
			on := parse(t, ours)
			if len(on.Elems) != len(tbl.top) {
				t.Fatalf("ours has %d entries, want %d", len(on.Elems), len(tbl.top))
			}
			want := map[string]string{}
			for i := range real.Elems {
				e := &real.Elems[i]
				if tbl.Lookup([]byte(e.Elems[0].Str)) != nil {
					canonInfo(e)
					want[e.Elems[0].Str] = string(encode(*e, proto))
				}
			}
			if len(want) != len(tbl.top) {
				t.Errorf("%v: redis has %d of our %d commands", args, len(want), len(tbl.top))
			}
			for _, e := range on.Elems {
				if got := string(encode(e, proto)); got != want[e.Elems[0].Str] {
					t.Errorf("RESP%d %v entry %s:\nreal %q\nours %q", proto, args, e.Elems[0].Str, want[e.Elems[0].Str], got)
				}
			}
		}
		real := parse(t, rc.do("COMMAND", "DOCS"))
		on := parse(t, tbl.AppendDocs(nil, proto, nil))
		step := 2
		if proto == 2 && real.Kind != KindArray {
			t.Fatalf("RESP2 docs kind %q", real.Kind)
		}
		want := map[string]string{}
		for i := 0; i+1 < len(real.Elems); i += step {
			if tbl.Lookup([]byte(real.Elems[i].Str)) != nil {
				v := real.Elems[i+1]
				canonDocs(&v)
				want[real.Elems[i].Str] = string(encode(v, proto))
			}
		}
		if len(want) != len(tbl.top) || len(on.Elems) != 2*len(tbl.top) {
			t.Errorf("docs: redis has %d of our %d commands, ours %d elems", len(want), len(tbl.top), len(on.Elems))
		}
		for i := 0; i+1 < len(on.Elems); i += 2 {
			name := on.Elems[i].Str
			if got := string(encode(on.Elems[i+1], proto)); got != want[name] {
				t.Errorf("RESP%d COMMAND DOCS entry %s differs", proto, name)
			}
		}
	}
}

// listSet parses a COMMAND LIST reply into a set of names, keeping only the
// commands (and subcommands of the commands) in tbl.
func listSet(t *testing.T, tbl *Table, reply []byte) map[string]bool {
	n := parse(t, reply)
	set := map[string]bool{}
	for _, e := range n.Elems {
		if tbl.LookupFull([]byte(e.Str)) != nil {
			set[e.Str] = true
		}
	}
	return set
}

func TestList(t *testing.T) {
	addr := startRedis(t)
	tbl := New()
	rc := dialRaw(t, addr, 2)
	cats := map[string]bool{"nosuch": true, "STRING": true, "@read": true, "": true}
	for _, c := range tbl.all {
		for _, cat := range c.ACLCategories {
			cats[cat[1:]] = true
		}
	}
	var filters [][]string
	filters = append(filters, nil, []string{"FILTERBY", "MODULE", "x"}, []string{"filterby", "module", ""})
	for cat := range cats {
		filters = append(filters, []string{"FILTERBY", "ACLCAT", cat})
	}
	for _, p := range []string{"*", "get*", "client|*", "*|*", "c[lo]*", "[^g]et", "?et", "GET", "*e\\t",
		"x", "", "[a-c]*", "bit*", "*[", "[", "[a", "\\", "a\\", "[]]*", "[^]*", "*?*?*", "g[e-a]t", "g[\\e]t",
		"*o*e*", "*|i?", "[!g]et", "s[a-z", "*\\*", "config|*et", "*ex*"} {
		filters = append(filters, []string{"FILTERBY", "PATTERN", p})
	}
	for _, f := range filters {
		args := append([]string{"COMMAND", "LIST"}, f...)
		real := rc.do(args...)
		ours := tbl.AppendList(nil, strArgs(f...))
		rs, os := listSet(t, tbl, real), listSet(t, tbl, ours)
		if fmt.Sprint(rs) != fmt.Sprint(os) || len(parse(t, ours).Elems) != len(os) {
			t.Errorf("%q:\nreal %v\nours %v", args, rs, os)
		}
	}
	for _, f := range [][]string{{"FILTERBY"}, {"foo"}, {"FILTERBY", "bogus", "x"}, {"FILTERBY", "pattern"},
		{"filterby", "pattern", "a", "extra"}, {"FILTERBY", "ACLCAT", "read", "FILTERBY", "PATTERN", "x"}} {
		args := append([]string{"COMMAND", "LIST"}, f...)
		real := rc.do(args...)
		if ours := tbl.AppendList(nil, strArgs(f...)); !bytes.Equal(real, ours) {
			t.Errorf("%q: real %q ours %q", args, real, ours)
		}
	}
	if got, want := string(tbl.AppendCount(nil)), fmt.Sprintf(":%d\r\n", len(tbl.All())); got != want {
		t.Errorf("COUNT %q want %q", got, want)
	}
}

// docTokens collects the "token" strings of a command's documented
// arguments, to build plausible argument lists.
func docTokens(n *Node, out map[string]bool) {
	if n.Kind == KindMap {
		if tok := n.MapGet("token"); tok != nil {
			out[tok.Str] = true
		}
	}
	for i := range n.Elems {
		docTokens(&n.Elems[i], out)
	}
}

func randCase(r *rand.Rand, s string) string {
	b := []byte(s)
	for i := range b {
		if r.Intn(2) == 0 {
			if 'A' <= b[i] && b[i] <= 'Z' {
				b[i] += 'a' - 'A'
			}
		} else if 'a' <= b[i] && b[i] <= 'z' {
			b[i] -= 'a' - 'A'
		}
	}
	return string(b)
}

// getKeysCases builds COMMAND GETKEYS argument lists for c: every length
// from 0 to 9 extra arguments with distinct names, then random mixes of
// names, numbers and the command's keywords.
func getKeysCases(r *rand.Rand, c *Command) [][]string {
	prefix := []string{c.Name}
	if c.parent != nil {
		prefix = strings.Split(c.Name, "|")
	}
	toks := map[string]bool{}
	docTokens(&c.Docs, toks)
	for _, s := range c.KeySpecs {
		if s.Keyword != "" {
			toks[s.Keyword] = true
		}
	}
	var tokList []string
	for tok := range toks {
		tokList = append(tokList, tok)
	}
	sort.Strings(tokList)
	var cases [][]string
	for n := 0; n <= 9; n++ {
		args := append([]string(nil), prefix...)
		for i := 0; i < n; i++ {
			args = append(args, "k"+strconv.Itoa(i))
		}
		cases = append(cases, args)
	}
	nums := []string{"0", "1", "2", "3", "-1", "01", "+1", "-0", "x"}
	for i := 0; i < 150; i++ {
		args := make([]string, 0, 12)
		for _, p := range prefix {
			args = append(args, randCase(r, p))
		}
		n := r.Intn(10)
		for j := 0; j < n; j++ {
			switch k := r.Intn(10); {
			case k < 3 && len(tokList) > 0:
				args = append(args, randCase(r, tokList[r.Intn(len(tokList))]))
			case k < 5:
				args = append(args, nums[r.Intn(len(nums))])
			default:
				args = append(args, "a"+strconv.Itoa(j))
			}
		}
		cases = append(cases, args)
	}
	return cases
}

func TestGetKeys(t *testing.T) {
	addr := startRedis(t)
	tbl := New()
	r := rand.New(rand.NewSource(7))
	var cases [][]string
	for _, c := range tbl.all {
		cases = append(cases, getKeysCases(r, c)...)
	}
	cases = append(cases, [][]string{
		{"nosuch", "k"}, {"client", "nosuch"}, {"CONFIG", "k"}, {"config"}, {"object"}, {"object", "nosuch", "k"},
		{"get|x", "k"}, {"client|id", "k"}, {"ping", "x"}, {"get"}, {"GET", "a", "b"}, {"mset", "a"},
		{"", "x"}, {"object", "encoding"}, {"object", "ENCODING", "k", "x"},
	}...)
	for _, proto := range []int{2, 3} {
		rc := dialRaw(t, addr, proto)
		var cmds [][][]byte
		var valid [][]string
		for _, cs := range cases {
			if len(cs) < 2 {
				continue // COMMAND GETKEYS's own arity (-4) is the dispatcher's
			}
			valid = append(valid, cs)
			cmds = append(cmds, strArgs(append([]string{"COMMAND", "GETKEYS"}, cs...)...))
		}
		if proto == 3 {
			valid, cmds = valid[:len(valid)/4], cmds[:len(cmds)/4]
		}
		replies := rc.pipeline(cmds)
		for i, cs := range valid {
			ours := tbl.AppendGetKeys(nil, strArgs(cs...))
			if !bytes.Equal(replies[i], ours) {
				t.Errorf("RESP%d COMMAND GETKEYS %q:\nreal %q\nours %q", proto, cs, replies[i], ours)
			}
		}
		t.Logf("RESP%d: %d GETKEYS cases", proto, len(valid))
	}
}

// TestKeysNoAlloc checks the routing hot path allocates nothing.
func TestKeysNoAlloc(t *testing.T) {
	tbl := New()
	args := strArgs("MSET", "a", "1", "b", "2", "c", "3")
	dst := make([]int, 0, 8)
	var c *Command
	allocs := testing.AllocsPerRun(100, func() {
		c = tbl.Lookup(args[0])
		dst = c.Keys(args, dst)
	})
	if allocs != 0 {
		t.Errorf("%v allocs", allocs)
	}
	if fmt.Sprint(dst) != "[1 3 5]" {
		t.Errorf("keys %v", dst)
	}
	sub := strArgs("Object", "Encoding", "k")
	allocs = testing.AllocsPerRun(100, func() {
		c = tbl.LookupArgs(sub)
		dst = c.Keys(sub, dst)
	})
	if allocs != 0 || c == nil || c.Name != "object|encoding" || fmt.Sprint(dst) != "[2]" {
		t.Errorf("object encoding: %v allocs, %v, %v", allocs, c, dst)
	}
	if tbl.Lookup([]byte("client|id")) != nil || tbl.Lookup([]byte("a-very-long-name-that-is-not-a-command")) != nil {
		t.Error("Lookup found a non-command")
	}
}

// TestNodeRoundTrip checks kinds that the captured data does not contain.
func TestNodeRoundTrip(t *testing.T) {
	n := Node{Kind: KindArray, Elems: []Node{
		{Kind: KindDouble, Str: "1.5"}, {Kind: KindBool, Int: 1}, {Kind: KindBool}, {Kind: KindNull},
		{Kind: KindMap, Elems: []Node{{Kind: KindBulk, Str: "k"}, {Kind: KindSet, Elems: []Node{{Kind: KindSimple, Str: "x"}}}}},
	}}
	if got, want := string(n.AppendRESP(nil, 2)), "*5\r\n$3\r\n1.5\r\n:1\r\n:0\r\n$-1\r\n*2\r\n$1\r\nk\r\n*1\r\n+x\r\n"; got != want {
		t.Errorf("RESP2 %q want %q", got, want)
	}
	b3 := n.AppendRESP(nil, 3)
	if got, want := string(b3), "*5\r\n,1.5\r\n#t\r\n#f\r\n_\r\n%1\r\n$1\r\nk\r\n~1\r\n+x\r\n"; got != want {
		t.Errorf("RESP3 %q want %q", got, want)
	}
	p := parse(t, b3)
	if got := p.AppendRESP(nil, 3); !bytes.Equal(got, b3) {
		t.Errorf("round trip %q", got)
	}
}

// commandFromInfo builds a Command from a COMMAND INFO entry, as ./gen
// does, for commands outside the generated list.
func commandFromInfo(t *testing.T, info Node) *Command {
	e := info.Elems
	strs := func(n Node) []string {
		var out []string
		for _, x := range n.Elems {
			out = append(out, x.Str)
		}
		return out
	}
	c := &Command{Name: e[0].Str, Arity: int(e[1].Int), Flags: strs(e[2]), FirstKey: int(e[3].Int),
		LastKey: int(e[4].Int), Step: int(e[5].Int), ACLCategories: strs(e[6]), Tips: strs(e[7]),
		Info: info, Docs: Node{Kind: KindMap}}
	geti := func(n *Node, k string) int {
		if v := n.MapGet(k); v != nil {
			return int(v.Int)
		}
		return 0
	}
	for i := range e[8].Elems {
		ks := &e[8].Elems[i]
		bs, fk := ks.MapGet("begin_search"), ks.MapGet("find_keys")
		bspec, fspec := bs.MapGet("spec"), fk.MapGet("spec")
		s := KeySpec{Flags: strs(*ks.MapGet("flags")), BeginSearch: bs.MapGet("type").Str,
			Index: geti(bspec, "index"), StartFrom: geti(bspec, "startfrom"),
			FindKeys: fk.MapGet("type").Str, LastKey: geti(fspec, "lastkey"), KeyStep: geti(fspec, "keystep"),
			Limit: geti(fspec, "limit"), KeyNumIdx: geti(fspec, "keynumidx"), FirstKey: geti(fspec, "firstkey")}
		if kw := bspec.MapGet("keyword"); kw != nil {
			s.Keyword = kw.Str
		}
		c.KeySpecs = append(c.KeySpecs, s)
	}
	c.init(nil)
	return c
}

// TestGetKeysOtherSpecs exercises the keyword and keynum paths, which no
// command captured so far uses, with Redis commands whose key specs are
// complete (Redis then never needs their getkeys_proc).
func TestGetKeysOtherSpecs(t *testing.T) {
	addr := startRedis(t)
	rc := dialRaw(t, addr, 3)
	r := rand.New(rand.NewSource(11))
	checked := 0
	defer func() { t.Logf("%d cases", checked) }()
	for _, name := range []string{"zunionstore", "zinter", "zdiffstore", "sintercard", "lmpop", "blmpop",
		"zmpop", "bzmpop", "xread", "xreadgroup", "eval", "evalsha", "fcall", "georadius", "georadiusbymember",
		"pfcount", "msetnx", "blpop", "lcs"} {
		info := parse(t, rc.do("COMMAND", "INFO", name))
		c := commandFromInfo(t, info.Elems[0])
		docs := parse(t, rc.do("COMMAND", "DOCS", name))
		c.Docs = docs.Elems[1]
		var cmds [][][]byte
		var cases [][]string
		for _, cs := range getKeysCases(r, c) {
			args := strArgs(cs...)
			if _, ok := c.keys(args, nil); len(cs) < 2 || !ok && c.CheckArity(len(cs)) {
				// Where the specs fail Redis calls the command's own
				// getkeys_proc, which these Commands lack.
				continue
			}
			cases = append(cases, cs)
			cmds = append(cmds, strArgs(append([]string{"COMMAND", "GETKEYS"}, cs...)...))
		}
		checked += len(cases)
		replies := rc.pipeline(cmds)
		withKeys := 0
		for _, rep := range replies {
			if rep[0] == '*' && rep[1] != '0' {
				withKeys++
			}
		}
		t.Logf("%s: %d cases, %d with keys", name, len(cases), withKeys)
		for i, cs := range cases {
			ours := c.appendGetKeys(nil, strArgs(cs...))
			if !bytes.Equal(replies[i], ours) {
				t.Errorf("COMMAND GETKEYS %q:\nreal %q\nours %q", cs, replies[i], ours)
			}
		}
	}
}

func BenchmarkLookupKeys(b *testing.B) {
	tbl := New()
	args := strArgs("mset", "a", "1", "b", "2")
	dst := make([]int, 0, 8)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		dst = tbl.Lookup(args[0]).Keys(args, dst)
	}
}

func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		New()
	}
}
