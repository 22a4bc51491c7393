package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// These tests cover the harness itself and need no server.

func TestSplitArgs(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		err  bool
	}{
		{in: `SET a b`, want: []string{"SET", "a", "b"}},
		{in: `  SET   a  `, want: []string{"SET", "a"}},
		{in: `SET "a b" c`, want: []string{"SET", "a b", "c"}},
		{in: `SET "\x00\xff\r\n" "\"q\"\\"`, want: []string{"SET", "\x00\xff\r\n", `"q"\`}},
		{in: `SET 'it\'s' ''`, want: []string{"SET", "it's", ""}},
		{in: `""`, want: []string{""}},
		{in: `GET\x00 k`, want: []string{`GET\x00`, "k"}},
		{in: `"\xZZ"`, want: []string{"xZZ"}},
		{in: `SET "a`, err: true},
		{in: `SET 'a`, err: true},
		{in: `SET "a"b`, err: true},
	}
	for _, c := range cases {
		got, err := SplitArgs(c.in)
		if c.err {
			if err == nil {
				t.Errorf("%s: want error, got %q", c.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		var gs []string
		for _, g := range got {
			gs = append(gs, string(g))
		}
		if strings.Join(gs, "|") != strings.Join(c.want, "|") || len(gs) != len(c.want) {
			t.Errorf("%s: got %q want %q", c.in, gs, c.want)
		}
	}
}

func TestParseScript(t *testing.T) {
	src := `# comment
!requires lists
!bigval BIG 5

SET k $BIG
!unordered
KEYS *
!sleep 10

!proto 3
!approx 7
PTTL k
!raw "*1\r\n" $BIG
!noreply
CLIENT REPLY OFF
!reconnect
`
	s, err := ParseScript("x.txt", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Requires) != 1 || s.Requires[0] != "lists" {
		t.Fatalf("requires %q", s.Requires)
	}
	if len(s.Cases) != 2 {
		t.Fatalf("%d cases: %+v", len(s.Cases), s.Cases)
	}
	c0, c1 := s.Cases[0], s.Cases[1]
	if c0.Line != 5 || len(c0.Steps) != 3 {
		t.Fatalf("case 0: %+v", c0)
	}
	if string(c0.Steps[0].Args[1]) != "k" || string(c0.Steps[0].Args[2]) != "abcde" {
		t.Errorf("bigval not substituted: %q", c0.Steps[0].Args)
	}
	if !c0.Steps[1].HasCmp || c0.Steps[1].Cmp.Mode != CmpUnordered || c0.Steps[1].Line != 7 {
		t.Errorf("unordered: %+v", c0.Steps[1])
	}
	if c0.Steps[2].Kind != StepSleep || c0.Steps[2].Sleep != 10*time.Millisecond {
		t.Errorf("sleep: %+v", c0.Steps[2])
	}
	if c1.Steps[0].Kind != StepProto || c1.Steps[0].Proto != 3 {
		t.Errorf("proto: %+v", c1.Steps[0])
	}
	if c1.Steps[1].Cmp.Mode != CmpApprox || c1.Steps[1].Cmp.Tolerance != 7 {
		t.Errorf("approx: %+v", c1.Steps[1])
	}
	if c1.Steps[2].Kind != StepRaw || string(c1.Steps[2].Raw) != "*1\r\nabcde" {
		t.Errorf("raw: %q", c1.Steps[2].Raw)
	}
	if c1.Steps[3].Cmp.Mode != CmpNoReply || c1.Steps[4].Kind != StepReconnect {
		t.Errorf("noreply/reconnect: %+v", c1.Steps[3:])
	}

	for _, bad := range []string{"!nosuch\n", "!unordered\n\nGET k\n", "!unordered\n!type-only\nGET k\n", "!sleep x\n", "GET \"k\n", "!unordered\n"} {
		if _, err := ParseScript("bad.txt", []byte(bad)); err == nil {
			t.Errorf("%q: want parse error", bad)
		}
	}
}

func TestReadReplyFraming(t *testing.T) {
	replies := []string{
		"+OK\r\n",
		"-ERR x\r\n",
		":-12\r\n",
		"$-1\r\n",
		"$0\r\n\r\n",
		"$5\r\na\r\nbc\r\n",
		"*-1\r\n",
		"*0\r\n",
		"*2\r\n$1\r\na\r\n*1\r\n:1\r\n",
		"_\r\n",
		",3.14\r\n",
		"#t\r\n",
		"(12345678901234567890\r\n",
		"!3\r\nerr\r\n",
		"=7\r\ntxt:abc\r\n",
		"%2\r\n+a\r\n:1\r\n+b\r\n*0\r\n",
		"~2\r\n+a\r\n+b\r\n",
		">2\r\n+pubsub\r\n+x\r\n",
		"|1\r\n+ttl\r\n:3\r\n$1\r\nv\r\n",
	}
	stream := strings.Join(replies, "")
	r := bufio.NewReaderSize(strings.NewReader(stream), 16) // small buffer: lines cross refills
	for _, want := range replies {
		got, err := readReply(r, nil, 0)
		if err != nil || string(got) != want {
			t.Fatalf("got %q, %v; want %q", got, err, want)
		}
		v, err := ParseValue(got)
		if err != nil || !bytes.Equal(v.Raw, got) {
			t.Fatalf("ParseValue(%q): %v %q", got, err, v.Raw)
		}
	}
	if _, err := readReply(r, nil, 0); !errors.Is(err, io.EOF) {
		t.Fatalf("at end: %v", err)
	}
	for _, bad := range []string{"?x\r\n", "$3\r\nab", "$2\r\nabcd", "*x\r\n", "+OK\n", "$-2\r\n"} {
		if _, err := readReply(bufio.NewReader(strings.NewReader(bad)), nil, 0); err == nil {
			t.Errorf("%q: want error", bad)
		}
	}
}

func TestNormalizers(t *testing.T) {
	parse := func(s string) Value {
		v, err := ParseValue([]byte(s))
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		return v
	}
	a := parse("*3\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nc\r\n")
	b := parse("*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n")
	if !bytes.Equal(a.Canonical(false), b.Canonical(false)) {
		t.Error("unordered arrays differ")
	}
	c := parse("*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\nb\r\n")
	if bytes.Equal(a.Canonical(false), c.Canonical(false)) {
		t.Error("different multisets compare equal")
	}
	h1 := parse("%2\r\n$2\r\nid\r\n:5\r\n$5\r\nproto\r\n:3\r\n")
	h2 := parse("%2\r\n$2\r\nid\r\n:9\r\n$5\r\nproto\r\n:3\r\n")
	h3 := parse("%2\r\n$2\r\nid\r\n:9\r\n$5\r\nproto\r\n:2\r\n")
	if !bytes.Equal(h1.ZeroFields("id"), h2.ZeroFields("id")) || bytes.Equal(h1.ZeroFields("id"), h3.ZeroFields("id")) {
		t.Error("ZeroFields")
	}
	cmp := Compare{Mode: CmpApprox, Tolerance: 2}
	if !sameReply(cmp, []byte(":100\r\n"), []byte(":99\r\n")) || sameReply(cmp, []byte(":100\r\n"), []byte(":97\r\n")) ||
		sameReply(cmp, []byte(":-1\r\n"), []byte(":-2\r\n")) {
		t.Error("approx")
	}
	if sameReply(Compare{Mode: CmpTypeOnly}, []byte("$1\r\na\r\n"), []byte("-ERR x\r\n")) ||
		!sameReply(Compare{Mode: CmpTypeOnly}, []byte("$1\r\na\r\n"), []byte("$2\r\nbb\r\n")) ||
		sameReply(Compare{Mode: CmpSkip}, []byte("-ERR a\r\n"), []byte("-ERR b\r\n")) {
		t.Error("type-only/skip must still compare errors exactly")
	}
}

func TestLookupDifference(t *testing.T) {
	check := func(args string, want CompareMode, found bool) {
		t.Helper()
		d, ok := lookupDifference(bs(strings.Fields(args)...))
		if ok != found || ok && d.Cmp.Mode != want {
			t.Errorf("%s: got %v %v", args, d.Cmp.Mode, ok)
		}
	}
	check("GET k", 0, false)
	check("info", CmpSkip, true)
	check("client list type normal", CmpTypeOnly, true)
	check("COMMAND", CmpTypeOnly, true)
	check("COMMAND GETKEYS get k", 0, false)
	check("COMMAND INFO", CmpTypeOnly, true)
	check("COMMAND INFO get", CmpCommandMeta, true)
	check("config get port", CmpSkip, true)
	check("config get maxmemory", CmpSkip, true)
	check("client setinfo lib-name x", CmpUnsupported, true)
}

// TestClientAgainstFakeServer checks Do, Send, ReadUntilClose and timeouts
// against an in-process listener.
func TestClientAgainstFakeServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		r := bufio.NewReader(c)
		want := string(AppendCommand(nil, bs("ECHO", "a b")))
		buf := make([]byte, len(want))
		io.ReadFull(r, buf)
		if string(buf) == want {
			c.Write([]byte("$3\r\na b\r\n"))
		}
		io.ReadFull(r, make([]byte, 4)) // "QUIT"
		c.Write([]byte("+bye\r\n"))
		c.Close()
	}()
	c, err := Dial(l.Addr().String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	reply, err := c.DoStrings("ECHO", "a b")
	if err != nil || string(reply) != "$3\r\na b\r\n" {
		t.Fatalf("%q %v", reply, err)
	}
	if err := c.WriteRaw([]byte("QUIT")); err != nil {
		t.Fatal(err)
	}
	data, closed, err := c.ReadUntilClose(time.Second)
	if err != nil || !closed || string(data) != "+bye\r\n" {
		t.Fatalf("%q %v %v", data, closed, err)
	}

	// A server that never answers makes ReadReply fail, not hang.
	go func() {
		c, err := l.Accept()
		if err == nil {
			defer c.Close()
			time.Sleep(2 * time.Second)
		}
	}()
	c2, err := Dial(l.Addr().String(), 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	start := time.Now()
	if _, err := c2.DoStrings("PING"); err == nil || time.Since(start) > time.Second {
		t.Fatalf("want a timeout, got %v after %v", err, time.Since(start))
	}
}
