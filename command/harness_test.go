package command

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/effect"
	"github.com/basaltdb/basalt/keyspace"
	"github.com/basaltdb/basalt/resp"
)

// testEnv runs handlers directly, without sockets: one shard owning every
// slot (or several shards with slots spread round-robin), a fixed clock.
type testEnv struct {
	t      *testing.T
	table  *Table
	shards []*keyspace.Shard
	slots  SlotMap
	db     int
	now    int64
	proto  int
	log    effect.Log
	limits datatypes.Limits
}

func newTestEnv(t *testing.T, nshards int) *testEnv {
	e := &testEnv{t: t, table: Builtin(), now: 1_700_000_000_000, proto: 2, limits: datatypes.DefaultLimits()}
	for i := 0; i < nshards; i++ {
		e.shards = append(e.shards, keyspace.NewShard(16))
	}
	for s := range e.slots {
		e.slots[s] = uint16(s % nshards)
	}
	return e
}

// eachShards runs f as subtests "shards=1" and "shards=3": keys on one
// shard, then spread over several.
func eachShards(t *testing.T, f func(t *testing.T, e *testEnv)) {
	for _, n := range []int{1, 3} {
		t.Run(fmt.Sprintf("shards=%d", n), func(t *testing.T) { f(t, newTestEnv(t, n)) })
	}
}

// do runs one command and returns its raw RESP reply.
func (e *testEnv) do(args ...string) string {
	bargs := make([][]byte, len(args))
	for i, a := range args {
		bargs[i] = []byte(a)
	}
	return e.doBytes(bargs)
}

func (e *testEnv) doBytes(args [][]byte) string {
	w := &resp.Writer{Proto: e.proto}
	spec := e.table.Lookup(args[0])
	if spec == nil {
		e.t.Fatalf("unknown command %q", args[0])
	}
	if (spec.Arity > 0 && len(args) != spec.Arity) || (spec.Arity < 0 && len(args) < -spec.Arity) {
		return "-" + ArityError(spec.Name) + "\r\n"
	}
	for _, s := range e.shards {
		s.Log = &e.log
	}
	c := &Ctx{Args: args, Out: w, Log: &e.log, Shards: e.shards, Slots: &e.slots, DB: e.db,
		Now: e.now, Rand: uint64(e.now), MaxBulkLen: 512 << 20, Limits: &e.limits, Spec: spec}
	spec.Run(c)
	return string(w.B)
}

// expect runs a command given as one space-separated string and checks the
// reply, written in a short form: "+OK", ":1", "$-1", "$3:foo" ...
func (e *testEnv) expect(cmd, want string) {
	e.t.Helper()
	got := e.do(strings.Fields(cmd)...)
	if got != want && short(got) != want {
		e.t.Fatalf("%s: got %q want %q", cmd, got, want)
	}
}

// short renders simple replies compactly: bulk "$3\r\nfoo\r\n" -> "foo".
func short(r string) string {
	if strings.HasPrefix(r, "$") && r != "$-1\r\n" {
		i := strings.Index(r, "\r\n")
		n, _ := strconv.Atoi(r[1:i])
		return r[i+2 : i+2+n]
	}
	return strings.TrimSuffix(r, "\r\n")
}
