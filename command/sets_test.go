package command

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/basaltdb/basalt/datatypes/sets"
	"github.com/basaltdb/basalt/keyspace"
)

// Replies below were checked against redis-server 7.0.15.

func TestSetsBasics(t *testing.T) {
	e := newTestEnv(t, 3)
	e.expect("SADD s 3 1 2", ":3")
	e.expect("SADD s 2 4", ":1")
	e.expect("SMEMBERS s", "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4")
	e.expect("SISMEMBER s 01", ":0")
	e.expect("SMISMEMBER s 1 5", "*2\r\n:1\r\n:0")
	e.expect("SMISMEMBER nokey a", "*1\r\n:0")
	e.expect("SREM s 1 7 3", ":2")
	e.expect("SREM s 2 4 5", ":2")
	e.expect("EXISTS s", ":0")
	e.expect("SET str x", "+OK")
	e.expect("SADD str a", "-"+ErrWrongType)
	e.expect("SMISMEMBER str a", "-"+ErrWrongType)
	e.expect("SMOVE nokey str a", ":0")
	e.expect("SPOP str abc", "-ERR value is out of range, must be positive")
	e.expect("SPOP nokey -1", "-ERR value is out of range, must be positive")
	e.expect("SRANDMEMBER nokey abc", "-ERR value is not an integer or out of range")
	e.expect("SRANDMEMBER s -9223372036854775808", "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
	e.expect("SINTERCARD 0 s", "-ERR numkeys should be greater than 0")
	e.expect("SINTERCARD 2 s", "-ERR Number of keys can't be greater than number of args")
	e.expect("SINTERCARD 1 s LIMIT -1", "-ERR LIMIT can't be negative")
	e.expect("SINTERCARD 1 s LIMIT", "-ERR syntax error")
	e.expect("SSCAN nokey 0 FOO", "*2\r\n$1\r\n0\r\n*0")
	e.expect("SSCAN nokey abc", "-ERR invalid cursor")
	e.expect("SSCAN str 0 FOO", "-"+ErrWrongType)
	e.proto = 3
	e.expect("SMEMBERS nokey", "~0")
	e.expect("SPOP nokey 1", "~0")
	e.expect("SRANDMEMBER nokey 1", "*0")
	e.expect("SPOP nokey", "_")
	e.expect("SADD s 2 1", ":2")
	e.expect("SINTER s s", "~2\r\n$1\r\n1\r\n$1\r\n2")
	e.expect("SPOP s 5", "~2\r\n$1\r\n1\r\n$1\r\n2")
}

// TestSetsAcrossShards runs the multi-key commands with keys spread over
// shards.
func TestSetsAcrossShards(t *testing.T) {
	e := newTestEnv(t, 4)
	for i := 0; i < 8; i++ {
		k := "k" + strconv.Itoa(i)
		e.do("SADD", k, "1", "2", "x", strconv.Itoa(i))
	}
	e.expect("SINTERCARD 8 k0 k1 k2 k3 k4 k5 k6 k7", ":3")
	e.expect("SINTERSTORE d k0 k1 k2 k3 k4 k5 k6 k7", ":3")
	e.expect("SUNIONSTORE u k0 k1 k2 k3 k4 k5 k6 k7", ":9")
	e.expect("SDIFFSTORE f k0 k1 k2 k3", ":1")
	e.expect("SDIFFSTORE f k0 k0 k1", ":0")
	e.expect("EXISTS f", ":0")
	e.expect("SDIFFSTORE f k0 k1", ":1")
	e.expect("SMEMBERS f", "*1\r\n$1\r\n0")
	e.expect("SMOVE k1 f 1", ":1")
	e.expect("SMEMBERS f", "*2\r\n$1\r\n0\r\n$1\r\n1")
	e.expect("OBJECT ENCODING f", "intset")
	e.expect("OBJECT ENCODING d", "hashtable")
}

func (e *testEnv) effects(t *testing.T) []string {
	var out []string
	for _, r := range parseEffects(t, e.log.B) {
		parts := make([]string, len(r))
		for i, a := range r {
			parts[i] = string(a)
		}
		out = append(out, strings.Join(parts, " "))
	}
	e.log.Reset()
	return out
}

func TestSetsEffects(t *testing.T) {
	e := newTestEnv(t, 1)
	e.do("SADD", "s", "a")
	e.do("SADD", "s", "a")            // no change: nothing
	e.do("SREM", "s", "zz")           // nothing
	e.do("SMOVE", "s", "s", "a")      // nothing
	e.do("SINTERSTORE", "d", "nokey") // d absent: nothing
	got := e.effects(t)
	want := []string{"SELECT 0", "SADD s a"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q want %q", got, want)
	}

	e.do("SPOP", "s")
	if got := e.effects(t); !slices.Equal(got, []string{"SELECT 0", "SREM s a"}) {
		t.Fatalf("SPOP: %q", got)
	}
	e.do("SADD", "s", "1", "2", "3")
	e.effects(t)
	e.do("SPOP", "s", "5")
	if got := e.effects(t); !slices.Equal(got, []string{"SELECT 0", "DEL s"}) {
		t.Fatalf("SPOP all: %q", got)
	}

	// Big pops come as SREM records of at most 1024 members, which
	// together remove exactly the popped members.
	args := []string{"SADD", "b"}
	for i := 0; i < 4000; i++ {
		args = append(args, "m"+strconv.Itoa(i))
	}
	e.do(args...)
	e.effects(t)
	for _, count := range []string{"600", "2500"} { // case 2, then case 3
		reply := e.do("SPOP", "b", count)
		recs := e.effects(t)[1:]
		n, _ := strconv.Atoi(count)
		if len(recs) != (n+1023)/1024 {
			t.Fatalf("SPOP %s: %d records", count, len(recs))
		}
		popped := map[string]bool{}
		for _, r := range recs {
			f := strings.Fields(r)
			if f[0] != "SREM" || f[1] != "b" || len(f)-2 > 1024 {
				t.Fatalf("record %.60q", r)
			}
			for _, m := range f[2:] {
				popped[m] = true
			}
		}
		if len(popped) != n || !strings.HasPrefix(reply, "*"+count+"\r\n") {
			t.Fatalf("SPOP %s popped %d, reply %.20q", count, len(popped), reply)
		}
		for m := range popped {
			if !strings.Contains(reply, "\r\n"+m+"\r\n") {
				t.Fatalf("%s logged, not replied", m)
			}
			if e.do("SISMEMBER", "b", m) != ":0\r\n" {
				t.Fatalf("%s logged, still a member", m)
			}
		}
	}
	e.expect("SCARD b", ":900")
}

// setDataset renders every set of db 0 as its sorted members.
func (e *testEnv) setDataset() map[string]string {
	m := map[string]string{}
	for _, sh := range e.shards {
		sh.ForEach(0, func(en *keyspace.Entry) bool {
			v := en.Kind.String()
			if en.Kind == keyspace.KindSet {
				var ms []string
				en.Obj.(*sets.Set).ForEach(func(b []byte) bool { ms = append(ms, string(b)); return true })
				slices.Sort(ms)
				v = fmt.Sprintf("set %q", ms)
			}
			m[string(en.Key)] = v
			return true
		})
	}
	return m
}

// TestSetsEffectReplay runs random set writes (random pops included),
// replays their effect log into a fresh env with another shard layout and
// compares the datasets.
func TestSetsEffectReplay(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		r := rand.New(rand.NewPCG(seed, 3))
		a := newTestEnv(t, 2)
		a.limits.SetMaxIntsetEntries = int64(r.IntN(20))
		key := func() string { return "k" + strconv.Itoa(r.IntN(5)) }
		member := func() string {
			if r.IntN(3) == 0 {
				return "m" + strconv.Itoa(r.IntN(30))
			}
			return strconv.Itoa(r.IntN(60) - 20)
		}
		for i := 0; i < 400; i++ {
			a.now++ // a fresh random seed per command, as the loop gives
			switch r.IntN(10) {
			case 0, 1, 2:
				args := []string{"SADD", key()}
				for j := r.IntN(8); j >= 0; j-- {
					args = append(args, member())
				}
				a.do(args...)
			case 3:
				a.do("SREM", key(), member(), member())
			case 4:
				a.do("SPOP", key())
			case 5:
				a.do("SPOP", key(), strconv.Itoa(r.IntN(12)))
			case 6:
				a.do("SMOVE", key(), key(), member())
			case 7:
				a.do([]string{"SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"}[r.IntN(3)], key(), key(), key())
			case 8:
				a.do("SRANDMEMBER", key(), strconv.Itoa(r.IntN(10)-5))
			case 9:
				if r.IntN(4) == 0 {
					a.do("SET", key(), "str")
				} else {
					a.do("DEL", key())
				}
			}
		}
		b := newTestEnv(t, 3)
		b.limits = a.limits
		b.replay(t, a.log.B)
		da, db := a.setDataset(), b.setDataset()
		if len(da) != len(db) {
			t.Fatalf("seed %d: %d keys, replayed %d\n%v\n%v", seed, len(da), len(db), da, db)
		}
		for k, v := range da {
			if db[k] != v {
				t.Fatalf("seed %d: key %q: %s, replayed %s", seed, k, v, db[k])
			}
		}
	}
}
