package e2e

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Streams end to end: blocking XREAD/XREADGROUP scenarios, a randomized
// differential run, DUMP/RESTORE against redis-server, the AOF rewrite
// forms and crash recovery of streams with consumer groups.

// TestDiffStreamBlocking runs multi-client XREAD/XREADGROUP BLOCK
// scenarios on redis-server and the server under test and compares every
// reply byte for byte, in the order the clients read them.
func TestDiffStreamBlocking(t *testing.T) {
	S := func(c int, cmd string) blockStep { return blockStep{C: c, Cmd: cmd} }
	B := func(c int, cmd string) blockStep { return blockStep{C: c, Cmd: cmd, Block: true} }
	R := func(c int) blockStep { return blockStep{C: c, Read: true} }
	scenarios := map[string][]blockStep{
		"xread-dollar": {S(1, "XADD s 1-1 a 1"), B(0, "XREAD BLOCK 0 STREAMS s $"), S(1, "XADD s 2-1 b 2"), R(0), S(1, "XLEN s")},
		"xread-absent": {B(0, "XREAD BLOCK 0 STREAMS s $"), S(1, "XADD s 5-5 f v"), R(0)},
		"xread-timeout": {S(1, "XADD s 1-1 a 1"), S(0, "XREAD BLOCK 30 STREAMS s $"), S(0, "HELLO 3"),
			S(0, "XREAD BLOCK 20 STREAMS s $"), S(0, "XREADGROUP GROUP g c BLOCK 10 STREAMS s >")},
		"xread-explicit-id": {S(1, "XADD s 1-1 a 1"), B(0, "XREAD BLOCK 0 STREAMS s 10-0"), S(1, "XADD s 5-0 b 2"),
			S(1, "XADD s 10-0 c 3"), S(1, "XADD s 11-0 d 4"), R(0)},
		"xread-several-streams": {S(2, "XADD a 1-0 x 1"), S(2, "XADD b 1-0 y 1"), B(0, "XREAD COUNT 5 BLOCK 0 STREAMS a b $ $"),
			S(2, "XADD b 2-0 y 2"), R(0), S(2, "XADD a 2-0 x 2")},
		"xread-two-readers": {S(2, "XADD s 1-0 a 1"), B(0, "XREAD BLOCK 0 STREAMS s 50-0"), B(1, "XREAD BLOCK 0 STREAMS s $"),
			S(2, "XADD s 2-0 b 2"), R(1), S(2, "XADD s 60-0 c 3"), R(0)},
		"xread-count-resp3": {S(0, "HELLO 3"), S(1, "XADD s 1-0 a 1"), B(0, "XREAD COUNT 1 BLOCK 0 STREAMS s $"),
			S(1, "MULTI"), S(1, "XADD s 2-0 b 2"), S(1, "XADD s 3-0 c 3"), S(1, "EXEC"), R(0)},
		"xreadgroup": {S(1, "XGROUP CREATE s g $ MKSTREAM"), B(0, "XREADGROUP GROUP g alice BLOCK 0 STREAMS s >"),
			S(1, "XADD s 1-0 a 1"), R(0), S(1, "XPENDING s g"), S(1, "XINFO GROUPS s")},
		"xreadgroup-fifo": {S(2, "XGROUP CREATE s g $ MKSTREAM"), B(0, "XREADGROUP GROUP g a COUNT 1 BLOCK 0 STREAMS s >"),
			B(1, "XREADGROUP GROUP g b COUNT 1 BLOCK 0 STREAMS s >"), S(2, "XADD s 1-0 k 1"), R(0), S(2, "XADD s 2-0 k 2"), R(1),
			S(2, "XPENDING s g"), S(2, "XINFO GROUPS s")},
		"xreadgroup-noack": {S(1, "XGROUP CREATE s g $ MKSTREAM"), B(0, "XREADGROUP GROUP g c NOACK BLOCK 0 STREAMS s >"),
			S(1, "XADD s 1-0 a 1"), R(0), S(1, "XPENDING s g"), S(1, "XINFO GROUPS s")},
		"xgroup-destroy": {S(1, "XGROUP CREATE s g $ MKSTREAM"), B(0, "XREADGROUP GROUP g c BLOCK 0 STREAMS s >"),
			S(1, "XGROUP DESTROY s g"), R(0)},
		"xreadgroup-del": {S(1, "XADD s 1-0 a 1"), S(1, "XGROUP CREATE s g $"), B(0, "XREADGROUP GROUP g c BLOCK 0 STREAMS s >"),
			S(1, "DEL s"), R(0)},
		"xread-del-stays": {S(1, "XADD s 1-0 a 1"), B(0, "XREAD BLOCK 0 STREAMS s $"), S(1, "DEL s"),
			S(1, "XADD s 1-0 again 1"), S(1, "XADD s 2-0 new 2"), R(0)},
		"xreadgroup-other-group": {S(2, "XGROUP CREATE s g1 $ MKSTREAM"), S(2, "XGROUP CREATE s g2 $"),
			B(0, "XREADGROUP GROUP g1 a BLOCK 0 STREAMS s >"), B(1, "XREADGROUP GROUP g2 b BLOCK 0 STREAMS s >"),
			S(2, "XADD s 1-0 f v"), R(0), R(1)},
		"xadd-maxlen-0": {S(1, "XADD s 1-0 a 1"), B(0, "XREAD BLOCK 0 STREAMS s $"), S(1, "XADD s MAXLEN 0 2-0 b 2"),
			S(1, "XADD s 3-0 c 3"), R(0)},
	}
	// A stream deleted or replaced under blocked readers (Redis 7.0's
	// signalDeletedKeyAsReady): XREADGROUP readers look again and get
	// UNBLOCKED when no stream is there, NOGROUP when a stream without
	// their group is, entries when one with new entries is; XREAD readers
	// keep waiting unless a stream with new entries arrives.
	group := []blockStep{S(1, "XADD s 1-0 a 1"), S(1, "XGROUP CREATE s g $"), B(0, "XREADGROUP GROUP g c BLOCK 0 STREAMS s >")}
	xread := []blockStep{S(1, "XADD s 1-0 a 1"), B(0, "XREAD BLOCK 0 STREAMS s $")}
	then := func(head []blockStep, tail ...blockStep) []blockStep {
		return append(append([]blockStep(nil), head...), tail...)
	}
	for name, tail := range map[string][]blockStep{
		"set":             {S(1, "SET s x"), R(0)},
		"unlink":          {S(1, "UNLINK s"), R(0)},
		"rename-away":     {S(1, "RENAME s t"), R(0)},
		"renamenx-away":   {S(1, "RENAMENX s t"), R(0)},
		"rename-string":   {S(1, "SET t x"), S(1, "RENAME t s"), R(0)},
		"rename-nogroup":  {S(1, "XADD t 5-0 b 2"), S(1, "RENAME t s"), R(0)},
		"rename-group":    {S(1, "XADD t 5-0 b 2"), S(1, "XGROUP CREATE t g 0"), S(1, "RENAME t s"), R(0)},
		"rename-no-news":  {S(1, "XADD t 1-0 b 2"), S(1, "XGROUP CREATE t g $"), S(1, "RENAME t s"), S(1, "XADD s 2-0 c 3"), R(0)},
		"copy-replace":    {S(1, "XADD t 5-0 b 2"), S(1, "COPY t s REPLACE"), R(0)},
		"restore-replace": {S(1, "SET t x"), S(1, "RESTORE s 0 @dump:t REPLACE"), R(0)},
		"restore-stream":  {S(1, "XADD t 5-0 b 2"), S(1, "XGROUP CREATE t g 0"), S(1, "RESTORE s 0 @dump:t REPLACE"), R(0)},
		"move":            {S(1, "MOVE s 1"), R(0)},
		"flushdb":         {S(1, "FLUSHDB"), R(0)},
		"flushdb-other":   {S(1, "SELECT 1"), S(1, "FLUSHDB"), S(1, "SELECT 0"), S(1, "XADD s 2-0 b 2"), R(0)},
		"flushall":        {S(1, "FLUSHALL"), R(0)},
		"swapdb":          {S(1, "SWAPDB 0 1"), R(0)},
		"swapdb-stream":   {S(1, "SELECT 1"), S(1, "XADD s 1-0 f v"), S(1, "XGROUP CREATE s g 0"), S(1, "SWAPDB 0 1"), R(0)},
		"expire":          {S(1, "PEXPIRE s 20"), {C: 1, Sleep: 200 * time.Millisecond}, R(0)},
		"expire-lazy":     {S(1, "PEXPIRE s 20"), S(1, "DEBUG SLEEP 0.1"), S(1, "EXISTS s"), R(0)},
		"multi-readd":     {S(1, "MULTI"), S(1, "DEL s"), S(1, "XADD s 9-0 a b"), S(1, "XGROUP CREATE s g 0"), S(1, "EXEC"), R(0)},
		"multi-set":       {S(1, "MULTI"), S(1, "DEL s"), S(1, "SADD s m"), S(1, "EXEC"), R(0)},
	} {
		scenarios["xreadgroup-"+name] = then(group, tail...)
	}
	for name, tail := range map[string][]blockStep{
		"set-stays":      {S(1, "SET s x"), S(1, "DEL s"), S(1, "XADD s 2-0 b 2"), R(0)},
		"flushall-stays": {S(1, "FLUSHALL"), S(1, "XADD s 5-0 b 2"), R(0)},
		"swapdb-stays":   {S(1, "SWAPDB 0 1")},
		"expire-stays":   {S(1, "PEXPIRE s 20"), {C: 1, Sleep: 200 * time.Millisecond}},
		"rename-onto":    {S(1, "XADD t 7-0 a b"), S(1, "RENAME t s"), R(0)},
		"copy-onto":      {S(1, "XADD t 7-0 a b"), S(1, "COPY t s REPLACE"), R(0)},
		"move-stays":     {S(1, "MOVE s 1")},
	} {
		scenarios["xread-"+name] = then(xread, tail...)
	}
	for name, steps := range scenarios {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := startPair(t)
			ref := runBlockScenario(t, p.ref, steps, true)
			tgt := runBlockScenario(t, p.tgt, steps, true)
			for i := range max(len(ref), len(tgt)) {
				var r, g string
				if i < len(ref) {
					r = ref[i]
				}
				if i < len(tgt) {
					g = tgt[i]
				}
				if r != g {
					t.Fatalf("reply %d differs:\n  %s: %s\n  %s: %s\n  all %s: %q\n  all %s: %q",
						i, p.ref.name, r, p.tgt.name, g, p.ref.name, ref, p.tgt.name, tgt)
				}
			}
		})
	}
}

// TestDiffRandomStream sends seeded random stream commands with explicit
// IDs (so both servers store the same entries) over a few keys, switching
// between RESP2 and RESP3, and compares every reply byte for byte. Replies
// holding times (XINFO STREAM FULL, XINFO CONSUMERS, XPENDING's extended
// form, DUMP of a stream with consumers) are left out; DEBUG DIGEST-VALUE
// and DUMP of consumer-less streams compare the stored form.
func TestDiffRandomStream(t *testing.T) {
	seeds, n := randomSeeds(t, []uint64{1, 2, 3, 4}, 3000)
	forEachSeed(t, seeds, 0x5354, func(rr *randomRun) {
		run := &streamRun{randomRun: rr, ms: map[string]int{}}
		for _, args := range [][]string{{"SET", "str", "v"}, {"CONFIG", "SET", "stream-node-max-entries", "7"}} {
			if _, _, ok, _ := run.cs.do(bs(args...), Compare{}, true); !ok {
				run.t.Fatalf("%q differs", args)
			}
		}
		kinds := map[byte]int{}
		for i := 0; i < n; i++ {
			args := run.next()
			cmp := Compare{}
			if args[0] == "HELLO" {
				cmp.Mode = CmpSkip // holds the client id
			}
			ref := run.compare(i, bs(args...), cmp, true)
			if len(ref.reply) > 0 {
				kinds[ref.reply[0]]++
			}
			if ref.err != nil {
				run.cs.reconnect(run.t)
			}
		}
		run.t.Logf("seed %d: %d commands, replies by type %s", run.seed, n, fmtKinds(kinds))
	})
}

// streamRun is one seed's run. It is owned by its test goroutine.
type streamRun struct {
	*randomRun
	ms map[string]int // per key: the ms part of the next explicit ID
}

func (r *streamRun) skey() string {
	g := r.g
	switch {
	case g.chance(4):
		return "str"
	case g.chance(2):
		return g.pick("", "\x00s")
	}
	return "s" + strconv.Itoa(g.r.IntN(4))
}

// id is an ID near the key's current ones: mostly ahead of the last,
// sometimes behind or odd, in every syntax XADD accepts but "*".
func (r *streamRun) id(k string, forAdd bool) string {
	g := r.g
	if forAdd {
		switch g.r.IntN(20) {
		case 0:
			return g.pick("0-0", "0", "abc", "1-", "-1", "18446744073709551615-18446744073709551615", "5-x")
		case 1:
			return strconv.Itoa(r.ms[k]) + "-*"
		case 2, 3:
			return strconv.Itoa(g.r.IntN(r.ms[k]+2)) + "-" + strconv.Itoa(g.r.IntN(3))
		}
		r.ms[k] += 1 + g.r.IntN(3)
		return strconv.Itoa(r.ms[k]) + "-" + strconv.Itoa(g.r.IntN(3))
	}
	switch g.r.IntN(12) {
	case 0:
		return g.pick("-", "+", "0", "0-0", "abc", "(1", "(0-0", "18446744073709551615")
	case 1:
		return "(" + strconv.Itoa(g.r.IntN(r.ms[k]+2))
	}
	return strconv.Itoa(g.r.IntN(r.ms[k]+2)) + "-" + strconv.Itoa(g.r.IntN(3))
}

func (r *streamRun) group() string    { return r.g.pick("g1", "g2", "g3", "") }
func (r *streamRun) consumer() string { return r.g.pick("alice", "bob", "carol", "123") }

func (r *streamRun) fields() []string {
	g := r.g
	var out []string
	for i := g.r.IntN(3); i >= 0; i-- {
		out = append(out, g.pick("f", "g", "h", "f"), g.value())
	}
	if g.chance(3) {
		out = out[:len(out)-1]
	}
	return out
}

func (r *streamRun) count() []string {
	if r.g.chance(50) {
		return []string{"COUNT", r.g.pick("1", "2", "5", "0", "-1", "x", "100")}
	}
	return nil
}

func (r *streamRun) next() []string {
	g := r.g
	k := r.skey()
	switch g.r.IntN(34) {
	case 0, 1, 2, 3, 4, 5, 6:
		args := []string{"XADD", k}
		if g.chance(10) {
			args = append(args, "NOMKSTREAM")
		}
		if g.chance(20) {
			args = append(args, g.pick("MAXLEN", "MINID", "maxlen"))
			if g.chance(50) {
				args = append(args, g.pick("~", "="))
			}
			if args[len(args)-1] == "MINID" || args[len(args)-2] == "MINID" {
				args = append(args, r.id(k, false))
			} else {
				args = append(args, g.pick("0", "1", "3", "10", "-1", "x"))
			}
			if g.chance(20) {
				args = append(args, "LIMIT", g.pick("1", "10", "0", "-1"))
			}
		}
		args = append(args, r.id(k, true))
		return append(args, r.fields()...)
	case 7, 8:
		args := []string{"XDEL", k}
		for i := g.r.IntN(3); i >= 0; i-- {
			args = append(args, r.id(k, false))
		}
		return args
	case 9:
		return []string{g.pick("XLEN", "TYPE", "EXISTS", "OBJECT"), k}
	case 10, 11:
		return append([]string{"XRANGE", k, r.id(k, false), r.id(k, false)}, r.count()...)
	case 12:
		return append([]string{"XREVRANGE", k, r.id(k, false), r.id(k, false)}, r.count()...)
	case 13:
		args := []string{"XTRIM", k, g.pick("MAXLEN", "MINID")}
		if g.chance(50) {
			args = append(args, g.pick("~", "="))
		}
		if args[2] == "MINID" {
			args = append(args, r.id(k, false))
		} else {
			args = append(args, g.pick("0", "2", "5", "20", "-1"))
		}
		if g.chance(20) {
			args = append(args, "LIMIT", g.pick("1", "10", "0"))
		}
		return args
	case 14:
		args := []string{"XSETID", k, r.id(k, false)}
		if g.chance(40) {
			args = append(args, "ENTRIESADDED", g.pick("0", "5", "100", "-1"))
		}
		if g.chance(40) {
			args = append(args, "MAXDELETEDID", r.id(k, false))
		}
		return args
	case 15, 16:
		args := []string{"XGROUP", "CREATE", k, r.group(), g.pick("$", "0", r.id(k, false))}
		if g.chance(30) {
			args = append(args, "MKSTREAM")
		}
		if g.chance(20) {
			args = append(args, "ENTRIESREAD", g.pick("0", "3", "-1", "x"))
		}
		return args
	case 17:
		switch g.r.IntN(4) {
		case 0:
			return []string{"XGROUP", "DESTROY", k, r.group()}
		case 1:
			return []string{"XGROUP", "CREATECONSUMER", k, r.group(), r.consumer()}
		case 2:
			return []string{"XGROUP", "DELCONSUMER", k, r.group(), r.consumer()}
		}
		args := []string{"XGROUP", "SETID", k, r.group(), g.pick("$", "0", r.id(k, false))}
		if g.chance(30) {
			args = append(args, "ENTRIESREAD", g.pick("0", "3", "-1"))
		}
		return args
	case 18, 19, 20:
		args := []string{"XREADGROUP", "GROUP", r.group(), r.consumer()}
		args = append(args, r.count()...)
		if g.chance(20) {
			args = append(args, "NOACK")
		}
		args = append(args, "STREAMS", k)
		if g.chance(20) {
			k2 := r.skey()
			return append(args, k2, ">", g.pick(">", "0", r.id(k2, false)))
		}
		return append(args, g.pick(">", ">", "0", r.id(k, false)))
	case 21:
		args := append([]string{"XREAD"}, r.count()...)
		return append(args, "STREAMS", k, g.pick("$", "0", r.id(k, false)))
	case 22, 23:
		args := []string{"XACK", k, r.group()}
		for i := g.r.IntN(3); i >= 0; i-- {
			args = append(args, r.id(k, false))
		}
		return args
	case 24:
		args := []string{"XPENDING", k, r.group()}
		if g.chance(30) {
			// The extended form holds idle times: only its errors and
			// empty answers are compared (IDLE filters out the rest).
			args = append(args, "IDLE", "100000000", "-", "+", "10")
		}
		return args
	case 25, 26:
		args := []string{"XCLAIM", k, r.group(), r.consumer(), g.pick("0", "0", "100000000", "-1"), r.id(k, false)}
		if g.chance(30) {
			args = append(args, r.id(k, false))
		}
		if g.chance(40) {
			args = append(args, "JUSTID")
		}
		if g.chance(20) {
			args = append(args, "FORCE")
		}
		if g.chance(20) {
			args = append(args, "RETRYCOUNT", g.pick("3", "0", "-1"))
		}
		if g.chance(10) {
			args = append(args, "TIME", "1700000000000")
		}
		return args
	case 27:
		args := []string{"XAUTOCLAIM", k, r.group(), r.consumer(), g.pick("0", "0", "100000000"), g.pick("0", "0-0", r.id(k, false))}
		if g.chance(40) {
			args = append(args, "COUNT", g.pick("1", "2", "100", "0"))
		}
		if g.chance(30) {
			args = append(args, "JUSTID")
		}
		return args
	case 28:
		return []string{"XINFO", "STREAM", k}
	case 29:
		return []string{"XINFO", "GROUPS", k}
	case 30:
		return []string{"DEBUG", "DIGEST-VALUE", k}
	case 31:
		if k == "str" {
			return []string{"GET", k}
		}
		if g.chance(30) {
			return []string{g.pick("DEL", "UNLINK"), k}
		}
		// DUMP is compared only for streams without consumers (their
		// seen and delivery times differ between the two servers): a
		// Lua guard returns nil otherwise, on both sides alike.
		return []string{"EVAL", "local t = redis.pcall('TYPE', KEYS[1]) if type(t) == 'table' and t.ok == 'stream' then " +
			"for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do if g[4] > 0 then return nil end end end " +
			"return redis.pcall('DUMP', KEYS[1])", "1", k}
	case 32:
		return []string{"HELLO", g.pick("2", "3")}
	}
	return []string{"RENAME", k, r.skey()}
}

// TestDiffStreamDumpRestore builds the same streams (explicit IDs, groups
// without consumers) in both servers and compares their DUMP payloads
// byte for byte; then restores each server's payload of streams with
// consumers and pending entries into the other and compares XINFO STREAM
// FULL (seen and delivery times included: a payload carries them).
func TestDiffStreamDumpRestore(t *testing.T) {
	p := startPair(t)
	cs := p.dial(t)
	cs.flushAll(t)
	build := [][]string{
		{"XADD", "a", "1-1", "f", "1", "g", "hello"}, {"XADD", "a", "1-2", "f", "2", "g", "-77"}, {"XADD", "a", "3-0", "other", "x"},
		{"XDEL", "a", "1-2"}, {"XGROUP", "CREATE", "a", "grp", "0"}, {"XGROUP", "CREATE", "a", "12", "1-1", "ENTRIESREAD", "1"},
		{"XADD", "empty", "MAXLEN", "0", "9-9", "k", "v"},
		{"XGROUP", "CREATE", "mk", "g", "$", "MKSTREAM"},
	}
	for i := 0; i < 500; i++ {
		build = append(build, []string{"XADD", "big", fmt.Sprintf("%d-%d", 100+i/4, i%4), "n", strconv.Itoa(i), "pad", strings.Repeat("p", i%90)})
	}
	build = append(build, []string{"XTRIM", "big", "MINID", "150-0"}, []string{"XDEL", "big", "160-1", "170-2"})
	withConsumers := [][]string{
		{"XADD", "c", "1-0", "a", "1"}, {"XADD", "c", "2-0", "b", "2"}, {"XADD", "c", "3-0", "c", "3"},
		{"XGROUP", "CREATE", "c", "g", "0"}, {"XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "c", ">"},
		{"XGROUP", "CREATECONSUMER", "c", "g", "bob"}, {"XCLAIM", "c", "g", "bob", "0", "2-0", "TIME", "1700000000000", "RETRYCOUNT", "5"},
	}
	for _, args := range append(build, withConsumers...) {
		if ref, tgt, ok, _ := cs.do(bs(args...), Compare{}, true); !ok {
			t.Fatalf("%q: %s: %s, %s: %s", args, p.ref.name, ref, p.tgt.name, tgt)
		}
	}
	for _, k := range []string{"a", "empty", "mk", "big"} {
		if ref, tgt, ok, _ := cs.do(bs("DUMP", k), Compare{}, true); !ok {
			t.Errorf("DUMP %s differs:\n  %s: %s\n  %s: %s", k, p.ref.name, ref, p.tgt.name, tgt)
		}
	}
	// Cross RESTORE: each side's payload into the other.
	for _, k := range []string{"a", "big", "c", "empty", "mk"} {
		rp, err := cs.ref.DoStrings("DUMP", k)
		if err != nil {
			t.Fatal(err)
		}
		tp, err := cs.tgt.DoStrings("DUMP", k)
		if err != nil {
			t.Fatal(err)
		}
		payload := func(raw []byte) string {
			v, err := parseReply(raw)
			if err != nil {
				t.Fatal(err)
			}
			return string(v.Str)
		}
		for _, step := range []struct {
			c   *Client
			raw []byte
		}{{cs.tgt, rp}, {cs.ref, tp}} {
			if r, err := step.c.DoStrings("RESTORE", k+":x", "0", payload(step.raw)); err != nil || string(r) != "+OK\r\n" {
				t.Fatalf("RESTORE %s: %q %v", k, r, err)
			}
		}
		// Now ref has tgt's payload under k:x and tgt has ref's: each k:x
		// must equal the other server's k.
		rOrig, _ := cs.ref.DoStrings("XINFO", "STREAM", k, "FULL")
		tOrig, _ := cs.tgt.DoStrings("XINFO", "STREAM", k, "FULL")
		rBack, _ := cs.ref.DoStrings("XINFO", "STREAM", k+":x", "FULL")
		tBack, _ := cs.tgt.DoStrings("XINFO", "STREAM", k+":x", "FULL")
		if !bytes.Equal(tBack, rOrig) {
			t.Errorf("%s: %s's payload restored in %s:\n  got  %q\n  want %q", k, p.ref.name, p.tgt.name, tBack, rOrig)
		}
		if !bytes.Equal(rBack, tOrig) {
			t.Errorf("%s: %s's payload restored in %s:\n  got  %q\n  want %q", k, p.tgt.name, p.ref.name, rBack, tOrig)
		}
	}
}

// streamFormsDataset builds streams whose rewrite is independent of the
// clock: explicit IDs, and pending entries made by XCLAIM with TIME.
func streamFormsDataset() [][]string {
	cmds := [][]string{
		{"XADD", "x", "1-1", "a", "1"}, {"XADD", "x", "1-2", "a", "2", "b", "3"}, {"XADD", "x", "2-0", "a", "4"},
		{"XDEL", "x", "1-1"}, {"XGROUP", "CREATE", "x", "g", "0"}, {"XGROUP", "CREATE", "x", "77", "1-2", "ENTRIESREAD", "2"},
		{"XGROUP", "CREATECONSUMER", "x", "g", "alice"},
		{"XCLAIM", "x", "g", "bob", "0", "1-2", "TIME", "1700000000000", "RETRYCOUNT", "3", "FORCE", "JUSTID"},
		{"XCLAIM", "x", "g", "bob", "0", "2-0", "TIME", "1700000000001", "FORCE", "JUSTID"},
		{"XADD", "e", "MAXLEN", "0", "5-5", "f", "v"}, {"XGROUP", "CREATE", "e", "g2", "$"},
		{"XGROUP", "CREATE", "m", "g", "0", "MKSTREAM"},
		{"XADD", "ttl", "1-0", "k", "v"}, {"PEXPIREAT", "ttl", "4102444800123"},
		{"SELECT", "4"}, {"XADD", "db4", "7-7", "f", "v"},
		{"SELECT", "0"},
	}
	for i := 0; i < 300; i++ {
		cmds = append(cmds, []string{"XADD", "big", fmt.Sprintf("%d-%d", 10+i/3, i%3), "n", strconv.Itoa(i)})
	}
	return cmds
}

// TestAOFRewriteStreamForms: with aof-use-rdb-preamble no, the rewritten
// base holds the same stream commands as redis-server's, byte for byte,
// and both servers load each other's directory to the same dataset.
func TestAOFRewriteStreamForms(t *testing.T) {
	kind := requireDurableTarget(t)
	requireRedis(t)
	cmds := streamFormsDataset()
	bases := map[string]map[string][]byte{}
	digests := map[string]string{}
	dirs := map[string]string{}
	for _, k := range []string{"redis", kind} {
		dir := t.TempDir()
		dirs[k] = dir
		srv := startDurable(t, k, dir, withArgs(debugArgs, []string{"--appendonly", "yes", "--aof-use-rdb-preamble", "no"})...)
		c := srv.dial(t)
		for _, args := range cmds {
			mustCall(t, c, args...)
		}
		rewriteAndWait(t, c)
		digests[k] = debugDigest(t, c)
		c.Close()
		srv.kill()
		_, data := aofBase(t, dir)
		bases[k] = streamKeyBlocks(t, data)
	}
	if digests["redis"] != digests[kind] {
		t.Errorf("DEBUG DIGEST: redis-server %s, %s %s", digests["redis"], kind, digests[kind])
	}
	want, got := bases["redis"], bases[kind]
	for key, w := range want {
		if g := got[key]; !bytes.Equal(w, g) {
			t.Errorf("%s:\nredis-server: %q\n%s: %q", key, w, kind, g)
		}
	}
	for key := range got {
		if _, ok := want[key]; !ok {
			t.Errorf("%s: in %s's base only", key, kind)
		}
	}
	// Each loads the other's directory.
	for _, pair := range [][2]string{{kind, "redis"}, {"redis", kind}} {
		srv := startDurable(t, pair[0], dirs[pair[1]], withArgs(debugArgs, []string{"--appendonly", "yes"})...)
		c := srv.dial(t)
		if d := debugDigest(t, c); d != digests["redis"] {
			t.Errorf("%s on %s's directory: DEBUG DIGEST %s, want %s", pair[0], pair[1], d, digests["redis"])
		}
		c.Close()
		srv.kill()
	}
}

// streamKeyBlocks is keyBlocks for bases holding streams: XGROUP names
// its key after the subcommand.
func streamKeyBlocks(t testing.TB, data []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	db := "0"
	for _, args := range parseAOF(t, data) {
		name := strings.ToUpper(string(args[0]))
		if name == "SELECT" {
			db = string(args[1])
			continue
		}
		key := args[1]
		if name == "XGROUP" {
			key = args[2]
		}
		k := db + "/" + string(key)
		out[k] = AppendCommand(out[k], args)
	}
	return out
}

// seenRe matches XINFO STREAM FULL's times that a restart may change:
// consumers' seen-time (RESP2: the bulk after "seen-time").
var seenRe = regexp.MustCompile(`seen-time\r\n:\d+`)

// radixRe matches XINFO STREAM's node counts.
var radixRe = regexp.MustCompile(`radix-tree-(keys|nodes)\r\n:\d+`)

// TestStreamAOFCrash: appendonly yes (appendfsync always), streams with
// groups, consumers and pending entries, SIGKILL, restart: XINFO STREAM
// FULL is what it was (consumers' seen times aside: a replayed XCLAIM
// refreshes them), and DEBUG DIGEST too; then again after a rewrite.
func TestStreamAOFCrash(t *testing.T) {
	kind := requireDurableTarget(t)
	for _, preamble := range []string{"yes", "no"} {
		t.Run("preamble="+preamble, func(t *testing.T) {
			dir := t.TempDir()
			args := withArgs(debugArgs, []string{"--appendonly", "yes", "--appendfsync", "always", "--aof-use-rdb-preamble", preamble})
			srv := startDurable(t, kind, dir, args...)
			c := srv.dial(t)
			for i := 0; i < 200; i++ {
				mustCall(t, c, "XADD", "s", "*", "n", strconv.Itoa(i), "v", strings.Repeat("x", i%50))
			}
			// g1 reads from entry 50 on: its pending entries outlive the
			// trim below (a rewrite's XCLAIM FORCE skips deleted entries,
			// in Redis too).
			start := string(mustCall(t, c, "XRANGE", "s", "-", "+", "COUNT", "50").Elems[49].Elems[0].Str)
			mustCall(t, c, "XGROUP", "CREATE", "s", "g1", start)
			mustCall(t, c, "XGROUP", "CREATE", "s", "g2", "$")
			mustCall(t, c, "XREADGROUP", "GROUP", "g1", "alice", "COUNT", "30", "STREAMS", "s", ">")
			mustCall(t, c, "XREADGROUP", "GROUP", "g1", "bob", "COUNT", "10", "STREAMS", "s", ">")
			mustCall(t, c, "XGROUP", "CREATECONSUMER", "s", "g2", "carol")
			mustCall(t, c, "XADD", "s", "*", "late", "1")
			mustCall(t, c, "XREADGROUP", "GROUP", "g2", "dave", "NOACK", "STREAMS", "s", ">")
			first := string(mustCall(t, c, "XRANGE", "s", "-", "+", "COUNT", "1").Elems[0].Elems[0].Str)
			mustCall(t, c, "XDEL", "s", first)
			mustCall(t, c, "XTRIM", "s", "MAXLEN", "170")
			mustCall(t, c, "XACK", "s", "g1", first)
			mustCall(t, c, "XADD", "empty", "MAXLEN", "0", "*", "a", "b")
			mustCall(t, c, "XGROUP", "CREATE", "empty", "g", "$")
			info := func(c *Client) string {
				var b []byte
				for _, k := range []string{"s", "empty"} {
					b = append(b, mustCall(t, c, "XINFO", "STREAM", k, "FULL").Raw...)
				}
				return seenRe.ReplaceAllString(string(b), "seen-time\r\n:T")
			}
			want, wantDigest := info(c), debugDigest(t, c)
			c.Close()
			srv.kill()
			for round := 0; round < 2; round++ {
				srv = startDurable(t, kind, dir, args...)
				c = srv.dial(t)
				got, w := info(c), want
				if round == 1 && preamble == "no" {
					// XADDs rebuild the nodes: their number may change.
					got, w = radixRe.ReplaceAllString(got, "radix"), radixRe.ReplaceAllString(w, "radix")
				}
				if got != w {
					t.Errorf("round %d: XINFO STREAM FULL after restart:\n got %q\nwant %q", round, got, want)
				}
				if d := debugDigest(t, c); d != wantDigest {
					t.Errorf("round %d: DEBUG DIGEST %s, want %s", round, d, wantDigest)
				}
				if round == 0 {
					rewriteAndWait(t, c)
				}
				c.Close()
				srv.kill()
			}
		})
	}
}

// TestStreamRDBInterop: a dump.rdb of redis-server 7.0 holding streams
// with groups, consumers and pending entries loads into the server under
// test with the same DEBUG DIGEST and XINFO STREAM FULL (times included),
// and the file it saves loads back into redis-server the same.
func TestStreamRDBInterop(t *testing.T) {
	kind := requireDurableTarget(t)
	requireRedis(t)
	dir := t.TempDir()
	red := startDurable(t, "redis", dir, debugArgs...)
	rc := red.dial(t)
	for i := 0; i < 400; i++ {
		mustCall(t, rc, "XADD", "s", "*", "i", strconv.Itoa(i), "pad", strings.Repeat("y", i%70))
	}
	mustCall(t, rc, "XGROUP", "CREATE", "s", "g", "0")
	mustCall(t, rc, "XGROUP", "CREATE", "s", "late", "$")
	mustCall(t, rc, "XREADGROUP", "GROUP", "g", "a", "COUNT", "25", "STREAMS", "s", ">")
	mustCall(t, rc, "XREADGROUP", "GROUP", "g", "b", "COUNT", "5", "STREAMS", "s", ">")
	mustCall(t, rc, "XGROUP", "CREATECONSUMER", "s", "late", "idle")
	mustCall(t, rc, "XTRIM", "s", "MAXLEN", "390")
	mustCall(t, rc, "XADD", "e", "MAXLEN", "0", "*", "k", "v")
	keys := []string{"s", "e"}
	full := func(c *Client) string {
		var b []byte
		for _, k := range keys {
			b = append(b, mustCall(t, c, "XINFO", "STREAM", k, "FULL").Raw...)
		}
		return string(b)
	}
	want, digest := full(rc), debugDigest(t, rc)
	mustCall(t, rc, "SAVE")
	rc.Close()
	red.kill()

	srv := startDurable(t, kind, dir, debugArgs...)
	c := srv.dial(t)
	if got := full(c); got != want {
		t.Errorf("%s loading redis's dump.rdb:\n got %q\nwant %q", kind, got, want)
	}
	if d := debugDigest(t, c); d != digest {
		t.Errorf("%s: DEBUG DIGEST %s, redis %s", kind, d, digest)
	}
	mustCall(t, c, "SAVE")
	c.Close()
	srv.kill()

	red = startDurable(t, "redis", dir, debugArgs...)
	rc = red.dial(t)
	if got := full(rc); got != want {
		t.Errorf("redis-server loading %s's dump.rdb:\n got %q\nwant %q", kind, got, want)
	}
	if d := debugDigest(t, rc); d != digest {
		t.Errorf("redis-server on %s's file: DEBUG DIGEST %s, want %s", kind, d, digest)
	}
}
