package aof

import (
	"bytes"
	"testing"

	"github.com/basaltdb/basalt/datatypes/streams"
	"github.com/basaltdb/basalt/keyspace"
)

// TestAppendStreamCommands checks rewriteStreamObject's forms against the
// base file redis-server 7.0.15 wrote (aof-use-rdb-preamble no) after:
//
//	XADD x 1-1 a 1; XADD x 1-2 a 2 b 3; XADD x 2-0 a 4; XDEL x 1-1
//	XGROUP CREATE x g 0; XGROUP CREATE x 77 1-2 ENTRIESREAD 2
//	XGROUP CREATECONSUMER x g alice
//	XCLAIM x g bob 0 1-2 TIME 1700000000000 RETRYCOUNT 3 FORCE JUSTID
//	XCLAIM x g bob 0 2-0 TIME 1700000000001 RETRYCOUNT 0 FORCE JUSTID
//	XADD e MAXLEN 0 5-5 f v; XGROUP CREATE e g2 $
//	XGROUP CREATE m g 0 MKSTREAM
func TestAppendStreamCommands(t *testing.T) {
	fv := func(kv ...string) [][]byte {
		out := make([][]byte, len(kv))
		for i, s := range kv {
			out[i] = []byte(s)
		}
		return out
	}
	x := streams.New()
	x.Append(streams.ID{Ms: 1, Seq: 1}, fv("a", "1"), 4096, 100)
	x.Append(streams.ID{Ms: 1, Seq: 2}, fv("a", "2", "b", "3"), 4096, 100)
	x.Append(streams.ID{Ms: 2}, fv("a", "4"), 4096, 100)
	x.Delete(streams.ID{Ms: 1, Seq: 1})
	x.MaxDeleted = streams.ID{Ms: 1, Seq: 1}
	g := x.CreateGroup([]byte("g"), streams.ID{}, streams.InvalidEntriesRead)
	x.CreateGroup([]byte("77"), streams.ID{Ms: 1, Seq: 2}, 2)
	g.CreateConsumer([]byte("alice"), 5)
	bob := g.CreateConsumer([]byte("bob"), 6)
	g.AddNACK(streams.ID{Ms: 1, Seq: 2}, bob, 1700000000000, 3)
	g.AddNACK(streams.ID{Ms: 2}, bob, 1700000000001, 0)

	e := streams.New()
	e.Append(streams.ID{Ms: 5, Seq: 5}, fv("f", "v"), 4096, 100)
	e.Trim(streams.TrimMaxLen, 0, streams.ID{}, false, 0)
	e.CreateGroup([]byte("g2"), streams.ID{Ms: 5, Seq: 5}, streams.InvalidEntriesRead)

	m := streams.New()
	m.CreateGroup([]byte("g"), streams.ID{}, streams.InvalidEntriesRead)

	for _, tc := range []struct {
		key  string
		s    *streams.Stream
		want string
	}{
		{"e", e, "*7\r\n$4\r\nXADD\r\n$1\r\ne\r\n$6\r\nMAXLEN\r\n$1\r\n0\r\n$3\r\n0-1\r\n$1\r\nx\r\n$1\r\ny\r\n*7\r\n$6\r\nXSETID\r\n$1\r\ne\r\n$3\r\n5-5\r\n$12\r\nENTRIESADDED\r\n$1\r\n1\r\n$12\r\nMAXDELETEDID\r\n$3\r\n0-0\r\n*7\r\n$6\r\nXGROUP\r\n$6\r\nCREATE\r\n$1\r\ne\r\n$2\r\ng2\r\n$3\r\n5-5\r\n$11\r\nENTRIESREAD\r\n$2\r\n-1\r\n"},
		{"m", m, "*7\r\n$4\r\nXADD\r\n$1\r\nm\r\n$6\r\nMAXLEN\r\n$1\r\n0\r\n$3\r\n0-1\r\n$1\r\nx\r\n$1\r\ny\r\n*7\r\n$6\r\nXSETID\r\n$1\r\nm\r\n$3\r\n0-0\r\n$12\r\nENTRIESADDED\r\n$1\r\n0\r\n$12\r\nMAXDELETEDID\r\n$3\r\n0-0\r\n*7\r\n$6\r\nXGROUP\r\n$6\r\nCREATE\r\n$1\r\nm\r\n$1\r\ng\r\n$3\r\n0-0\r\n$11\r\nENTRIESREAD\r\n$2\r\n-1\r\n"},
		{"x", x, "*7\r\n$4\r\nXADD\r\n$1\r\nx\r\n$3\r\n1-2\r\n$1\r\na\r\n$1\r\n2\r\n$1\r\nb\r\n$1\r\n3\r\n*5\r\n$4\r\nXADD\r\n$1\r\nx\r\n$3\r\n2-0\r\n$1\r\na\r\n$1\r\n4\r\n*7\r\n$6\r\nXSETID\r\n$1\r\nx\r\n$3\r\n2-0\r\n$12\r\nENTRIESADDED\r\n$1\r\n3\r\n$12\r\nMAXDELETEDID\r\n$3\r\n1-1\r\n*7\r\n$6\r\nXGROUP\r\n$6\r\nCREATE\r\n$1\r\nx\r\n$2\r\n77\r\n$3\r\n1-2\r\n$11\r\nENTRIESREAD\r\n$1\r\n2\r\n*7\r\n$6\r\nXGROUP\r\n$6\r\nCREATE\r\n$1\r\nx\r\n$1\r\ng\r\n$3\r\n0-0\r\n$11\r\nENTRIESREAD\r\n$2\r\n-1\r\n*5\r\n$6\r\nXGROUP\r\n$14\r\nCREATECONSUMER\r\n$1\r\nx\r\n$1\r\ng\r\n$5\r\nalice\r\n*12\r\n$6\r\nXCLAIM\r\n$1\r\nx\r\n$1\r\ng\r\n$3\r\nbob\r\n$1\r\n0\r\n$3\r\n1-2\r\n$4\r\nTIME\r\n$13\r\n1700000000000\r\n$10\r\nRETRYCOUNT\r\n$1\r\n3\r\n$6\r\nJUSTID\r\n$5\r\nFORCE\r\n*12\r\n$6\r\nXCLAIM\r\n$1\r\nx\r\n$1\r\ng\r\n$3\r\nbob\r\n$1\r\n0\r\n$3\r\n2-0\r\n$4\r\nTIME\r\n$13\r\n1700000000001\r\n$10\r\nRETRYCOUNT\r\n$1\r\n0\r\n$6\r\nJUSTID\r\n$5\r\nFORCE\r\n"},
	} {
		ent := &keyspace.Entry{Key: []byte(tc.key), Kind: keyspace.KindStream, Enc: keyspace.EncStream, Obj: tc.s}
		if got := AppendEntryCommands(nil, ent); !bytes.Equal(got, []byte(tc.want)) {
			t.Errorf("%s:\n got %q\nwant %q", tc.key, got, tc.want)
		}
	}
	// A TTL follows the stream's commands.
	ent := &keyspace.Entry{Key: []byte("m"), Kind: keyspace.KindStream, Obj: m, Expire: 4102444800123}
	if got := AppendEntryCommands(nil, ent); !bytes.HasSuffix(got, []byte("*3\r\n$9\r\nPEXPIREAT\r\n$1\r\nm\r\n$13\r\n4102444800123\r\n")) {
		t.Errorf("TTL: %q", got)
	}
}
