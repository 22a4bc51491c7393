// Command gen captures command metadata (COMMAND INFO and COMMAND DOCS) from
// a real redis-server 7.0 and writes it as Go literals for package meta.
//
// Run it through `go generate ./command/meta/`. It starts its own
// redis-server on a free port (or talks to -addr), asks over RESP3 for each
// name in commandNames, and writes a deterministic file: subcommands are
// sorted by name because Redis returns them in dict order, which changes from
// run to run with the hash seed.
//
// It deliberately does not import package meta: meta cannot compile without
// the file this program writes.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"net"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"
)

// commandNames lists the top-level commands Basalt implements. Later issues
// append to it and rerun `go generate`.
var commandNames = []string{
	"PING", "ECHO", "HELLO", "AUTH", "SELECT", "QUIT", "RESET", "CLIENT", "COMMAND", "INFO",
	"CONFIG", "DBSIZE", "FLUSHDB", "FLUSHALL", "SWAPDB", "TIME", "LASTSAVE", "SHUTDOWN",
	"OBJECT", "DEBUG", "WAIT",
	"DEL", "UNLINK", "EXISTS", "TYPE", "EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT", "TTL",
	"PTTL", "EXPIRETIME", "PEXPIRETIME", "PERSIST", "KEYS", "SCAN", "RANDOMKEY", "RENAME",
	"RENAMENX", "COPY", "MOVE", "TOUCH",
	"GET", "SET", "SETNX", "SETEX", "PSETEX", "GETEX", "GETDEL", "GETSET", "MGET", "MSET",
	"MSETNX", "INCR", "DECR", "INCRBY", "DECRBY", "INCRBYFLOAT", "APPEND", "STRLEN",
	"GETRANGE", "SETRANGE", "SUBSTR", "LCS",
	"SETBIT", "GETBIT", "BITCOUNT", "BITPOS", "BITOP", "BITFIELD", "BITFIELD_RO",
	"MEMORY",
	"HSET", "HSETNX", "HGET", "HMGET", "HMSET", "HDEL", "HLEN", "HSTRLEN", "HEXISTS", "HKEYS",
	"HVALS", "HGETALL", "HINCRBY", "HINCRBYFLOAT", "HRANDFIELD", "HSCAN",
	"LPUSH", "RPUSH", "LPUSHX", "RPUSHX", "LPOP", "RPOP", "LLEN", "LINDEX", "LSET", "LRANGE",
	"LTRIM", "LREM", "LINSERT", "LPOS", "LMOVE", "RPOPLPUSH", "LMPOP", "BLPOP", "BRPOP",
	"BLMOVE", "BRPOPLPUSH", "BLMPOP",
	"SADD", "SREM", "SCARD", "SISMEMBER", "SMISMEMBER", "SMEMBERS", "SRANDMEMBER", "SPOP",
	"SMOVE", "SINTER", "SINTERCARD", "SINTERSTORE", "SUNION", "SUNIONSTORE", "SDIFF",
	"SDIFFSTORE", "SSCAN",
	"ZADD", "ZINCRBY", "ZREM", "ZCARD", "ZCOUNT", "ZLEXCOUNT", "ZSCORE", "ZMSCORE", "ZRANK",
	"ZREVRANK", "ZRANGE", "ZRANGESTORE", "ZREVRANGE", "ZRANGEBYSCORE", "ZREVRANGEBYSCORE",
	"ZRANGEBYLEX", "ZREVRANGEBYLEX", "ZREMRANGEBYRANK", "ZREMRANGEBYSCORE", "ZREMRANGEBYLEX",
	"ZPOPMIN", "ZPOPMAX", "ZMPOP", "ZRANDMEMBER", "ZUNION", "ZINTER", "ZDIFF", "ZUNIONSTORE",
	"ZINTERSTORE", "ZDIFFSTORE", "ZINTERCARD", "ZSCAN", "BZPOPMIN", "BZPOPMAX", "BZMPOP",
	"PFADD", "PFCOUNT", "PFMERGE", "PFSELFTEST", "PFDEBUG",
	"GEOADD", "GEODIST", "GEOHASH", "GEOPOS", "GEOSEARCH", "GEOSEARCHSTORE", "GEORADIUS",
	"GEORADIUSBYMEMBER", "GEORADIUS_RO", "GEORADIUSBYMEMBER_RO",
	"SORT", "SORT_RO", "BGREWRITEAOF",
	"DUMP", "RESTORE", "SAVE", "BGSAVE",
	"XADD", "XRANGE", "XREVRANGE", "XLEN", "XDEL", "XTRIM", "XREAD", "XGROUP", "XREADGROUP",
	"XACK", "XPENDING", "XCLAIM", "XAUTOCLAIM", "XINFO", "XSETID",
	"MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH",
	"EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "SCRIPT", "FUNCTION", "FCALL", "FCALL_RO",
	"SUBSCRIBE", "UNSUBSCRIBE", "PSUBSCRIBE", "PUNSUBSCRIBE", "PUBLISH", "PUBSUB",
	"SSUBSCRIBE", "SUNSUBSCRIBE", "SPUBLISH",
}

// node is a parsed RESP3 value; it mirrors meta.Node.
type node struct {
	kind  byte // RESP3 type byte: + $ : * % ~ _ , # ( =
	str   string
	i     int64
	elems []node // arrays and sets: the elements; maps: key, value, key, value...
}

func main() {
	addr := flag.String("addr", "", "host:port of a running redis-server 7.0 (default: start one)")
	server := flag.String("server", "/usr/bin/redis-server", "redis-server binary to start when -addr is empty")
	out := flag.String("out", "meta_gen.go", "output file")
	flag.Parse()
	if err := run(*addr, *server, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(addr, server, out string) error {
	if addr == "" {
		a, stop, err := startServer(server)
		if err != nil {
			return err
		}
		defer stop()
		addr = a
	}
	c, err := dial(addr)
	if err != nil {
		return err
	}
	defer c.conn.Close()
	hello, err := c.do("HELLO", "3")
	if err != nil {
		return err
	}
	if v := mapGet(hello, "version"); v == nil || !strings.HasPrefix(v.str, "7.0.") {
		return fmt.Errorf("need redis 7.0, got %+v", v)
	}

	var cmds []command
	seen := map[string]bool{}
	for _, name := range commandNames {
		lname := strings.ToLower(name)
		if seen[lname] {
			return fmt.Errorf("duplicate command %q", name)
		}
		seen[lname] = true
		info, err := c.do("COMMAND", "INFO", lname)
		if err != nil {
			return err
		}
		if info.kind != '*' || len(info.elems) != 1 || info.elems[0].kind != '*' {
			return fmt.Errorf("COMMAND INFO %s: unexpected reply %+v", name, info)
		}
		docs, err := c.do("COMMAND", "DOCS", lname)
		if err != nil {
			return err
		}
		if docs.kind != '%' || len(docs.elems) != 2 || docs.elems[0].str != lname {
			return fmt.Errorf("COMMAND DOCS %s: unexpected reply %+v", name, docs)
		}
		cmd, err := buildCommand(info.elems[0], docs.elems[1])
		if err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
		cmds = append(cmds, cmd)
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })

	var b bytes.Buffer
	b.WriteString("// Code generated by \"go run ./gen -out meta_gen.go\" from redis-server 7.0; DO NOT EDIT.\n\n")
	b.WriteString("package meta\n\n")
	b.WriteString("// generatedCommands returns fresh copies of the captured metadata, sorted\n")
	b.WriteString("// by name; the caller owns them.\n")
	b.WriteString("func generatedCommands() []Command {\n\treturn []Command{\n")
	for i := range cmds {
		writeCommand(&b, &cmds[i])
		b.WriteString(",\n")
	}
	b.WriteString("\t}\n}\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		return fmt.Errorf("format: %v", err)
	}
	return os.WriteFile(out, src, 0o644)
}

// startServer runs redis-server on a free local port and returns its address
// and a function that stops exactly that process.
func startServer(bin string) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no")
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() {
		cmd.Process.Kill()
		cmd.Wait()
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr, stop, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	return "", nil, errors.New("redis-server did not start")
}

type client struct {
	conn net.Conn
	r    *bufio.Reader
}

func dial(addr string) (*client, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &client{conn: c, r: bufio.NewReader(c)}, nil
}

func (c *client) do(args ...string) (node, error) {
	var b []byte
	b = fmt.Appendf(b, "*%d\r\n", len(args))
	for _, a := range args {
		b = fmt.Appendf(b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.conn.Write(b); err != nil {
		return node{}, err
	}
	n, err := readNode(c.r)
	if err == nil && n.kind == '-' {
		err = fmt.Errorf("%v: %s", args, n.str)
	}
	return n, err
}

// readNode parses one RESP2/RESP3 value. Error replies come back as kind '-'.
func readNode(r *bufio.Reader) (node, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return node{}, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return node{}, fmt.Errorf("bad line %q", line)
	}
	kind, body := line[0], line[1:len(line)-2]
	switch kind {
	case '+', '-', ',', '(':
		return node{kind: kind, str: body}, nil
	case ':':
		i, err := strconv.ParseInt(body, 10, 64)
		return node{kind: kind, i: i}, err
	case '#':
		if body == "t" {
			return node{kind: kind, i: 1}, nil
		}
		return node{kind: kind}, nil
	case '_':
		return node{kind: kind}, nil
	case '$', '=':
		n, err := strconv.Atoi(body)
		if err != nil {
			return node{}, err
		}
		if n < 0 {
			return node{kind: '_'}, nil
		}
		buf := make([]byte, n+2)
		if _, err := readFull(r, buf); err != nil {
			return node{}, err
		}
		return node{kind: kind, str: string(buf[:n])}, nil
	case '*', '~', '%', '>':
		n, err := strconv.Atoi(body)
		if err != nil {
			return node{}, err
		}
		if n < 0 {
			return node{kind: '_'}, nil
		}
		count := n
		if kind == '%' {
			count = 2 * n
		}
		nd := node{kind: kind, elems: make([]node, 0, count)}
		for i := 0; i < count; i++ {
			e, err := readNode(r)
			if err != nil {
				return node{}, err
			}
			nd.elems = append(nd.elems, e)
		}
		return nd, nil
	}
	return node{}, fmt.Errorf("unknown RESP type %q", kind)
}

func readFull(r *bufio.Reader, buf []byte) (int, error) {
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

func mapGet(m node, key string) *node {
	if m.kind != '%' {
		return nil
	}
	for i := 0; i+1 < len(m.elems); i += 2 {
		if m.elems[i].str == key {
			return &m.elems[i+1]
		}
	}
	return nil
}

type keySpec struct {
	notes     string
	flags     []string
	bsType    string
	index     int64
	keyword   string
	startFrom int64
	fkType    string
	lastKey   int64
	keyStep   int64
	limit     int64
	keyNumIdx int64
	firstKey  int64
}

type command struct {
	name                    string
	arity                   int64
	flags                   []string
	firstKey, lastKey, step int64
	aclCategories           []string
	tips                    []string
	keySpecs                []keySpec
	subcommands             []command
	info, docs              node
}

// buildCommand canonicalizes the trees (subcommands sorted by name) and
// extracts the typed fields from the COMMAND INFO entry.
func buildCommand(info, docs node) (command, error) {
	if len(info.elems) != 10 {
		return command{}, fmt.Errorf("COMMAND INFO entry has %d elements", len(info.elems))
	}
	e := info.elems
	c := command{
		name:          e[0].str,
		arity:         e[1].i,
		flags:         strs(e[2]),
		firstKey:      e[3].i,
		lastKey:       e[4].i,
		step:          e[5].i,
		aclCategories: strs(e[6]),
		tips:          strs(e[7]),
	}
	for _, ks := range e[8].elems {
		spec, err := buildKeySpec(ks)
		if err != nil {
			return command{}, err
		}
		c.keySpecs = append(c.keySpecs, spec)
	}
	sort.SliceStable(e[9].elems, func(i, j int) bool {
		return e[9].elems[i].elems[0].str < e[9].elems[j].elems[0].str
	})
	subDocs := mapGet(docs, "subcommands")
	if subDocs != nil {
		sortMap(subDocs)
	}
	for _, si := range e[9].elems {
		var sd node
		if subDocs != nil {
			if d := mapGet(*subDocs, si.elems[0].str); d != nil {
				sd = *d
			}
		}
		if sd.kind == 0 {
			return command{}, fmt.Errorf("no docs for subcommand %s", si.elems[0].str)
		}
		sub, err := buildCommand(si, sd)
		if err != nil {
			return command{}, err
		}
		c.subcommands = append(c.subcommands, sub)
	}
	c.info, c.docs = info, docs
	return c, nil
}

// sortMap orders a map node's entries by key.
func sortMap(m *node) {
	type kv struct{ k, v node }
	var kvs []kv
	for i := 0; i+1 < len(m.elems); i += 2 {
		kvs = append(kvs, kv{m.elems[i], m.elems[i+1]})
	}
	sort.SliceStable(kvs, func(i, j int) bool { return kvs[i].k.str < kvs[j].k.str })
	m.elems = m.elems[:0]
	for _, p := range kvs {
		m.elems = append(m.elems, p.k, p.v)
	}
}

func buildKeySpec(ks node) (keySpec, error) {
	var s keySpec
	if n := mapGet(ks, "notes"); n != nil {
		s.notes = n.str
	}
	if n := mapGet(ks, "flags"); n != nil {
		s.flags = strs(*n)
	}
	bs, fk := mapGet(ks, "begin_search"), mapGet(ks, "find_keys")
	if bs == nil || fk == nil {
		return s, fmt.Errorf("key spec without begin_search/find_keys: %+v", ks)
	}
	s.bsType = mapGet(*bs, "type").str
	bspec := mapGet(*bs, "spec")
	switch s.bsType {
	case "index":
		s.index = mapGet(*bspec, "index").i
	case "keyword":
		s.keyword = mapGet(*bspec, "keyword").str
		s.startFrom = mapGet(*bspec, "startfrom").i
	}
	s.fkType = mapGet(*fk, "type").str
	fspec := mapGet(*fk, "spec")
	switch s.fkType {
	case "range":
		s.lastKey = mapGet(*fspec, "lastkey").i
		s.keyStep = mapGet(*fspec, "keystep").i
		s.limit = mapGet(*fspec, "limit").i
	case "keynum":
		s.keyNumIdx = mapGet(*fspec, "keynumidx").i
		s.firstKey = mapGet(*fspec, "firstkey").i
		s.keyStep = mapGet(*fspec, "keystep").i
	}
	return s, nil
}

func strs(n node) []string {
	var out []string
	for _, e := range n.elems {
		out = append(out, e.str)
	}
	return out
}

func writeStrings(b *bytes.Buffer, ss []string) {
	if ss == nil {
		b.WriteString("nil")
		return
	}
	b.WriteString("[]string{")
	for i, s := range ss {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(s))
	}
	b.WriteString("}")
}

func writeCommand(b *bytes.Buffer, c *command) {
	fmt.Fprintf(b, "{\nName: %q,\nArity: %d,\nFlags: ", c.name, c.arity)
	writeStrings(b, c.flags)
	fmt.Fprintf(b, ",\nFirstKey: %d, LastKey: %d, Step: %d,\nACLCategories: ", c.firstKey, c.lastKey, c.step)
	writeStrings(b, c.aclCategories)
	b.WriteString(",\nTips: ")
	writeStrings(b, c.tips)
	b.WriteString(",\n")
	if len(c.keySpecs) > 0 {
		b.WriteString("KeySpecs: []KeySpec{\n")
		for _, s := range c.keySpecs {
			fmt.Fprintf(b, "{Notes: %q, Flags: ", s.notes)
			writeStrings(b, s.flags)
			fmt.Fprintf(b, ", BeginSearch: %q, Index: %d, Keyword: %q, StartFrom: %d, FindKeys: %q, LastKey: %d, KeyStep: %d, Limit: %d, KeyNumIdx: %d, FirstKey: %d},\n",
				s.bsType, s.index, s.keyword, s.startFrom, s.fkType, s.lastKey, s.keyStep, s.limit, s.keyNumIdx, s.firstKey)
		}
		b.WriteString("},\n")
	}
	if len(c.subcommands) > 0 {
		b.WriteString("Subcommands: []Command{\n")
		for i := range c.subcommands {
			writeCommand(b, &c.subcommands[i])
			b.WriteString(",\n")
		}
		b.WriteString("},\n")
	}
	b.WriteString("Info: ")
	writeNode(b, c.info, 0)
	b.WriteString(",\nDocs: ")
	writeNode(b, c.docs, 0)
	b.WriteString(",\n}")
}

// writeNode writes a meta.Node literal: {Kind, Str, Int, Elems}, one
// container element per line.
func writeNode(b *bytes.Buffer, n node, depth int) {
	if depth == 0 {
		b.WriteString("Node")
	}
	kind := n.kind
	switch kind {
	case '=', '(':
		kind = '$' // no such values in 7.0 metadata; keep the text as a bulk
	case '>':
		kind = '*'
	}
	switch kind {
	case '*', '%', '~':
		if len(n.elems) == 0 {
			fmt.Fprintf(b, "{%s, \"\", 0, nil}", kindName(kind))
			return
		}
		fmt.Fprintf(b, "{%s, \"\", 0, []Node{\n", kindName(kind))
		for _, e := range n.elems {
			writeNode(b, e, depth+1)
			b.WriteString(",\n")
		}
		b.WriteString("}}")
	default:
		fmt.Fprintf(b, "{%s, %q, %d, nil}", kindName(kind), n.str, n.i)
	}
}

func kindName(k byte) string {
	switch k {
	case '+':
		return "KindSimple"
	case '$':
		return "KindBulk"
	case ':':
		return "KindInt"
	case '*':
		return "KindArray"
	case '%':
		return "KindMap"
	case '~':
		return "KindSet"
	case '_':
		return "KindNull"
	case ',':
		return "KindDouble"
	case '#':
		return "KindBool"
	}
	panic(fmt.Sprintf("unexpected RESP kind %q", k))
}
