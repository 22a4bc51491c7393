package e2e

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The durability tests run the server under test (Basalt, or redis-server
// with BASALT_E2E_TARGET=redis to check the tests themselves) with an
// append-only log, kill or stop it, and check what a restart on the same
// directory serves. Environment:
//
//	BASALT_CRASH_ROUNDS=N   rounds of TestCrashAlwaysKeepsAcknowledgedWrites (default 20)
//	BASALT_CRASH_SEED=S     replay one random schedule (the seed is logged on failure)
//	BASALT_SOAK=1           TestSoakCrashAlways: 200 longer rounds in epochs of 20 (make soak)
//
// A SIGKILL loses what the process had not yet handed to the kernel, not
// what the kernel had not yet written to the disk: these tests check that
// no reply leaves before its write reached the log file, and (through
// Basalt's aof_fsyncs counter) that fdatasync is called, but they cannot
// simulate a power loss.

// The crash test's shape: a few writers, and few shared counters so that
// every counter sees concurrent increments from several connections.
const (
	crashWriters  = 4
	crashCounters = 6
	crashGroupLen = 4 // keys per MSET, spread over slots (and so over loops)
)

// TestCrashAlwaysKeepsAcknowledgedWrites kills the server with SIGKILL at
// random moments under a mixed write load with appendfsync always, restarts
// it on the same directory, and checks that every acknowledged write is
// there, that counters hold exactly the acknowledged increments (plus at
// most the unacknowledged ones), that no MSET is half applied, and that
// nothing a read returned was lost (the reply gate).
func TestCrashAlwaysKeepsAcknowledgedWrites(t *testing.T) {
	rounds := 20
	if v := os.Getenv("BASALT_CRASH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("BASALT_CRASH_ROUNDS=%q", v)
		}
		rounds = n
	}
	runCrashRounds(t, rounds, 20, 350*time.Millisecond)
}

// TestSoakCrashAlways is the long form of the crash test, for make soak.
func TestSoakCrashAlways(t *testing.T) {
	if os.Getenv("BASALT_SOAK") != "1" {
		t.Skip("set BASALT_SOAK=1 for the long crash test")
	}
	runCrashRounds(t, 200, 20, 1500*time.Millisecond)
}

// crashModel is what the test knows the server must hold, carried across
// rounds. Only the test goroutine touches it, between rounds.
type crashModel struct {
	sets       map[string]string // acknowledged SETs of unique keys
	freshAcked []freshGroup      // acknowledged MSETs of fresh keys
	counters   [crashCounters]int64
	groups     [crashWriters]groupBounds
	groupKeys  [crashWriters][crashGroupLen]string
	seqs       [crashWriters]int64 // next sequence number per writer
}

// freshGroup is one MSET of keys never written before, all to val.
type freshGroup struct {
	keys []string
	val  string
}

// groupBounds bounds the value of a writer's overwritten MSET group: every
// MSET sets all its keys to the writer's next sequence number, so after a
// crash all keys must be equal (no half-applied MSET) and lie within
// [lower, upper]. lower < 0 means nothing was ever durable.
type groupBounds struct{ lower, upper int64 }

// roundOutcome is one writer's (or the reader's) account of one round.
type roundOutcome struct {
	sets                   [][2]string
	freshAcked, freshMaybe []freshGroup
	ctrAcked, ctrMaybe     [crashCounters]int64 // sums of acknowledged / unacknowledged increments
	ctrSeen                [crashCounters]int64 // highest value a reply showed (INCRBY result or GET)
	groupAcked, groupSent  int64                // highest acknowledged / sent sequence (-1 none)
	groupSeen              [crashWriters]int64  // reader: highest group value an MGET showed
	ops                    int
	failure                string // an unexpected reply: the test fails
}

func newOutcome() *roundOutcome {
	o := &roundOutcome{groupAcked: -1, groupSent: -1}
	for i := range o.ctrSeen {
		o.ctrSeen[i] = -1
	}
	for i := range o.groupSeen {
		o.groupSeen[i] = -1
	}
	return o
}

// runCrashRounds runs rounds crash rounds in epochs of at most epoch
// rounds: each epoch starts from an empty data directory, so that the log
// (Basalt has no rewrite yet) and the model stay small in long runs.
func runCrashRounds(t *testing.T, rounds, epoch int, maxTraffic time.Duration) {
	kind := requireDurableTarget(t)
	seed := time.Now().UnixNano()
	if v := os.Getenv("BASALT_CRASH_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseInt(v, 10, 64); err != nil {
			t.Fatalf("BASALT_CRASH_SEED=%q", v)
		}
	}
	rng := rand.New(rand.NewSource(seed))
	flags := []string{"--appendonly", "yes", "--appendfsync", "always"}
	start := time.Now()
	var (
		dir string
		m   *crashModel
		srv *durableProc
	)
	for round := 1; round <= rounds; round++ {
		if (round-1)%epoch == 0 {
			if srv != nil {
				srv.kill()
				os.RemoveAll(dir)
			}
			dir = t.TempDir()
			m = newCrashModel()
			srv = startDurable(t, kind, dir, flags...)
		}
		traffic := time.Duration(rng.Int63n(int64(maxTraffic)))
		if rng.Intn(10) == 0 {
			traffic = 0 // kill while the writers are still connecting
		}
		outs := crashRound(srv.addr, m, round, rng.Int63(), traffic, srv.kill)
		var nops int
		for _, o := range outs {
			nops += o.ops
			if o.failure != "" {
				t.Fatalf("round %d (seed %d): %s\nserver output:\n%s", round, seed, o.failure, srv.out)
			}
		}
		srv = startDurable(t, kind, dir, flags...)
		c := srv.dial(t)
		if !verifyCrashRound(t, c, m, outs) {
			t.Fatalf("round %d (seed %d, %v of traffic, %d operations): acknowledged writes lost or half applied "+
				"(BASALT_CRASH_SEED=%d replays the same random choices, not the same timing)\nserver output after restart:\n%s",
				round, seed, traffic, nops, seed, srv.out)
		}
		c.Close()
		t.Logf("round %d: %v of traffic, %d operations, %d unique keys in this epoch", round, traffic.Round(time.Millisecond), nops, len(m.sets))
	}
	srv.kill()
	t.Logf("%d rounds in %v (seed %d)", rounds, time.Since(start).Round(time.Millisecond), seed)
}

func newCrashModel() *crashModel {
	m := &crashModel{sets: map[string]string{}}
	for w := range m.groups {
		m.groups[w] = groupBounds{lower: -1, upper: -1}
		m.groupKeys[w] = spreadKeys(fmt.Sprintf("grp%d", w))
	}
	return m
}

// crashRound runs the writers and a reader against addr for traffic, then
// calls kill and waits for them to notice. The outcomes are the writers'
// (index w) followed by the reader's.
func crashRound(addr string, m *crashModel, round int, seed int64, traffic time.Duration, kill func()) []*roundOutcome {
	stop := make(chan struct{})
	outs := make([]*roundOutcome, crashWriters+1)
	var wg sync.WaitGroup
	for w := 0; w < crashWriters; w++ {
		outs[w] = newOutcome()
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			crashWriter(addr, w, round, rand.New(rand.NewSource(seed+int64(w))), &m.seqs[w], m.groupKeys[w], stop, outs[w])
		}(w)
	}
	outs[crashWriters] = newOutcome()
	wg.Add(1)
	go func() {
		defer wg.Done()
		crashReader(addr, rand.New(rand.NewSource(seed-1)), &m.groupKeys, stop, outs[crashWriters])
	}()
	time.Sleep(traffic)
	kill()
	close(stop)
	wg.Wait() // the kill closed every connection; replies time out after durableTimeout at worst
	return outs
}

// crashOp is one command a writer sends and what its acknowledgement means.
type crashOp struct {
	kind byte // 's' SET of a unique key, 'i' INCRBY, 'g' MSET of the writer's group, 'f' MSET of fresh keys
	args []string
	key  string
	val  string
	ctr  int
	by   int64
	seq  int64
	keys []string
}

// crashWriter sends batches of 1-16 commands (a batch is written at once:
// pipelined) until stop or until the connection breaks, and records which
// commands were acknowledged. It owns out; *seq is its own sequence.
func crashWriter(addr string, w, round int, rng *rand.Rand, seq *int64, group [crashGroupLen]string, stop <-chan struct{}, out *roundOutcome) {
	c, err := Dial(addr, durableTimeout)
	if err != nil {
		return // killed before we connected
	}
	defer c.Close()
	var buf []byte
	for {
		select {
		case <-stop:
			return
		default:
		}
		n := 1
		if rng.Intn(2) == 0 {
			n = 2 + rng.Intn(15)
		}
		ops := make([]crashOp, n)
		buf = buf[:0]
		for i := range ops {
			*seq++
			s := *seq
			op := crashOp{seq: s}
			switch r := rng.Intn(100); {
			case r < 40:
				op.kind = 's'
				op.key = fmt.Sprintf("u:%d:%d", w, s)
				op.val = crashValue(rng, round, s)
				op.args = []string{"SET", op.key, op.val}
			case r < 65:
				op.kind = 'i'
				op.ctr = rng.Intn(crashCounters)
				op.by = 1 + rng.Int63n(5)
				op.args = []string{"INCRBY", fmt.Sprintf("ctr:%d", op.ctr), strconv.FormatInt(op.by, 10)}
			case r < 80:
				op.kind = 'g'
				op.args = []string{"MSET"}
				for _, k := range group {
					op.args = append(op.args, k, strconv.FormatInt(s, 10))
				}
				out.groupSent = s
			default:
				op.kind = 'f'
				op.val = crashValue(rng, round, s)
				op.args = []string{"MSET"}
				for j, k := range spreadKeys(fmt.Sprintf("f:%d:%d", w, s)) {
					if j == 0 || rng.Intn(2) == 0 || j == crashGroupLen-1 {
						op.keys = append(op.keys, k)
						op.args = append(op.args, k, op.val)
					}
				}
			}
			ops[i] = op
			buf = AppendCommand(buf, bs(op.args...))
		}
		werr := c.WriteRaw(buf)
		acked := 0
		if werr == nil {
			for ; acked < n; acked++ {
				raw, err := c.ReadReply()
				if err != nil {
					break
				}
				v, err := parseReply(raw)
				if err != nil {
					out.failure = fmt.Sprintf("writer %d: %s: unexpected reply %v", w, argsText(bs(ops[acked].args...)), err)
					return
				}
				if !ackOp(ops[acked], v, out) {
					out.failure = fmt.Sprintf("writer %d: %s: unexpected reply %s", w, argsText(bs(ops[acked].args...)), quoteReply(raw))
					return
				}
				out.ops++
			}
		}
		for _, op := range ops[acked:] {
			// Sent (or maybe sent) but not acknowledged: may or may not
			// have been applied and logged.
			switch op.kind {
			case 'i':
				out.ctrMaybe[op.ctr] += op.by
			case 'f':
				out.freshMaybe = append(out.freshMaybe, freshGroup{op.keys, op.val})
			}
		}
		if acked < n {
			return // the connection broke: the server was killed
		}
	}
}

// ackOp records an acknowledged command; false means the reply was not the
// one the command must get.
func ackOp(op crashOp, v Value, out *roundOutcome) bool {
	switch op.kind {
	case 's':
		if v.Kind != '+' || string(v.Line) != "OK" {
			return false
		}
		out.sets = append(out.sets, [2]string{op.key, op.val})
	case 'i':
		n, ok := v.Int()
		if !ok {
			return false
		}
		out.ctrAcked[op.ctr] += op.by
		out.ctrSeen[op.ctr] = max(out.ctrSeen[op.ctr], n)
	case 'g':
		if v.Kind != '+' || string(v.Line) != "OK" {
			return false
		}
		out.groupAcked = op.seq
	case 'f':
		if v.Kind != '+' || string(v.Line) != "OK" {
			return false
		}
		out.freshAcked = append(out.freshAcked, freshGroup{op.keys, op.val})
	}
	return true
}

// crashValue is a value unique to (round, seq), usually short, sometimes a
// few KiB so that batches span more than a page.
func crashValue(rng *rand.Rand, round int, seq int64) string {
	pad := rng.Intn(24)
	if rng.Intn(20) == 0 {
		pad = 1000 + rng.Intn(4000)
	}
	return fmt.Sprintf("r%d-s%d-%s", round, seq, strings.Repeat("x", pad))
}

// crashReader reads counters and groups while the writers write. A value a
// read returned must survive the crash: the server may not answer a read
// that saw a write before that write is durable. An MGET of a group must
// also never see it half written.
func crashReader(addr string, rng *rand.Rand, groups *[crashWriters][crashGroupLen]string, stop <-chan struct{}, out *roundOutcome) {
	c, err := Dial(addr, durableTimeout)
	if err != nil {
		return
	}
	defer c.Close()
	for {
		select {
		case <-stop:
			return
		default:
		}
		i := rng.Intn(crashCounters)
		raw, err := c.DoStrings("GET", fmt.Sprintf("ctr:%d", i))
		if err != nil {
			return
		}
		v, err := parseReply(raw)
		if err != nil || v.Kind != '$' {
			out.failure = fmt.Sprintf("reader: GET ctr:%d: %s", i, quoteReply(raw))
			return
		}
		if v.Line[0] != '-' {
			n, err := strconv.ParseInt(string(v.Str), 10, 64)
			if err != nil {
				out.failure = fmt.Sprintf("reader: GET ctr:%d: %s", i, quoteReply(raw))
				return
			}
			out.ctrSeen[i] = max(out.ctrSeen[i], n)
		}
		w := rng.Intn(crashWriters)
		args := append([]string{"MGET"}, groups[w][:]...)
		raw, err = c.DoStrings(args...)
		if err != nil {
			return
		}
		v, err = parseReply(raw)
		if err != nil || v.Kind != '*' || len(v.Elems) != crashGroupLen {
			out.failure = fmt.Sprintf("reader: %s: %s", argsText(bs(args...)), quoteReply(raw))
			return
		}
		val, ok := groupValue(v.Elems)
		if !ok {
			out.failure = fmt.Sprintf("reader: %s saw a half-applied MSET (in memory, no crash involved): %s", argsText(bs(args...)), quoteReply(raw))
			return
		}
		out.groupSeen[w] = max(out.groupSeen[w], val)
		out.ops += 2
	}
}

// groupValue returns the common value of a group's MGET elements: -1 when
// all are missing, ok false when they differ or are not numbers.
func groupValue(elems []Value) (int64, bool) {
	first := string(elems[0].Raw)
	for _, e := range elems[1:] {
		if string(e.Raw) != first {
			return 0, false
		}
	}
	if elems[0].Kind != '$' || string(elems[0].Line) == "-1" {
		return -1, true
	}
	n, err := strconv.ParseInt(string(elems[0].Str), 10, 64)
	return n, err == nil
}

// verifyCrashRound checks the restarted server against the model and this
// round's outcomes, reports every violation with t.Errorf, and folds the
// round into the model. It returns false if anything was wrong.
func verifyCrashRound(t *testing.T, c *Client, m *crashModel, outs []*roundOutcome) bool {
	t.Helper()
	bad := 0
	errorf := func(format string, args ...any) {
		t.Helper()
		if bad++; bad <= 20 {
			t.Errorf(format, args...)
		}
	}
	var maybe []freshGroup
	for _, o := range outs {
		for _, kv := range o.sets {
			m.sets[kv[0]] = kv[1]
		}
		m.freshAcked = append(m.freshAcked, o.freshAcked...)
		maybe = append(maybe, o.freshMaybe...)
	}

	// Every acknowledged SET, from this round and all before it.
	keys := make([]string, 0, len(m.sets))
	for k := range m.sets {
		keys = append(keys, k)
	}
	for i, got := range mgetChunked(t, c, keys) {
		if want := m.sets[keys[i]]; string(got) != want {
			errorf("acknowledged SET %s lost: got %s, want %q", keys[i], describe(got), shorten(want))
		}
	}

	// MSETs of fresh keys: acknowledged ones whole, the others all or
	// nothing. One chunked MGET for all of them keeps this to few round
	// trips.
	groups := append(append([]freshGroup(nil), m.freshAcked...), maybe...)
	var gkeys []string
	for _, g := range groups {
		gkeys = append(gkeys, g.keys...)
	}
	gvals := mgetChunked(t, c, gkeys)
	for gi, g := range groups {
		acked := gi < len(m.freshAcked)
		vals := gvals[:len(g.keys)]
		gvals = gvals[len(g.keys):]
		present := 0
		for _, v := range vals {
			if v != nil {
				present++
				if string(v) != g.val {
					errorf("MSET %v: key holds %s, want %q", g.keys, describe(v), shorten(g.val))
				}
			}
		}
		switch {
		case acked && present != len(g.keys):
			errorf("acknowledged MSET %v: only %d of %d keys survived", g.keys, present, len(g.keys))
		case !acked && present != 0 && present != len(g.keys):
			errorf("unacknowledged MSET %v half applied after the crash: %d of %d keys present", g.keys, present, len(g.keys))
		case !acked && present == len(g.keys):
			// Replayed, so durable from now on.
			m.freshAcked = append(m.freshAcked, g)
		}
	}

	// Counters: base + acknowledged <= value <= base + acknowledged + in flight,
	// and never below a value a reply showed.
	ctrKeys := make([]string, crashCounters)
	for i := range ctrKeys {
		ctrKeys[i] = fmt.Sprintf("ctr:%d", i)
	}
	for i, raw := range mgetChunked(t, c, ctrKeys) {
		var got int64
		if raw != nil {
			var err error
			if got, err = strconv.ParseInt(string(raw), 10, 64); err != nil {
				errorf("counter %s holds %q", ctrKeys[i], raw)
				continue
			}
		}
		lower, upper, seen := m.counters[i], m.counters[i], int64(-1)
		for _, o := range outs {
			lower += o.ctrAcked[i]
			upper += o.ctrAcked[i] + o.ctrMaybe[i]
			seen = max(seen, o.ctrSeen[i])
		}
		switch {
		case got < lower:
			errorf("counter %s = %d after the crash, but %d was acknowledged", ctrKeys[i], got, lower)
		case got > upper:
			errorf("counter %s = %d after the crash, more than the %d ever sent", ctrKeys[i], got, upper)
		case got < seen:
			errorf("counter %s = %d after the crash, but a reply before it showed %d (a reply left before its write was durable)", ctrKeys[i], got, seen)
		}
		m.counters[i] = got
	}

	// Each writer's overwritten group: all keys equal, within bounds.
	reader := outs[len(outs)-1]
	for w := 0; w < crashWriters; w++ {
		o := outs[w]
		b := m.groups[w]
		lower := max(b.lower, o.groupAcked, reader.groupSeen[w])
		upper := max(b.upper, o.groupSent)
		args := append([]string{"MGET"}, m.groupKeys[w][:]...)
		v := mustCall(t, c, args...)
		got, ok := groupValue(v.Elems)
		switch {
		case !ok:
			errorf("MSET group of writer %d half applied after the crash: %s", w, quoteReply(v.Raw))
			continue
		case got < lower:
			errorf("MSET group of writer %d holds %d after the crash, but %d was acknowledged or read", w, got, lower)
		case got > upper:
			errorf("MSET group of writer %d holds %d, beyond the last one sent (%d)", w, got, upper)
		}
		m.groups[w] = groupBounds{lower: got, upper: got}
	}
	if bad > 20 {
		t.Errorf("... and %d more", bad-20)
	}
	return bad == 0
}

func describe(v []byte) string {
	if v == nil {
		return "nothing"
	}
	return strconv.Quote(shorten(string(v)))
}

func shorten(s string) string {
	if len(s) > 60 {
		return fmt.Sprintf("%s...(%d bytes)", s[:60], len(s))
	}
	return s
}

// spreadKeys returns crashGroupLen keys with the given prefix whose hash
// slots lie in different quarters of the slot space and alternate in
// parity, so that an MSET of them spans loops however slots are assigned
// (ranges or modulo).
func spreadKeys(prefix string) [crashGroupLen]string {
	var out [crashGroupLen]string
	for j := 0; j < crashGroupLen; j++ {
		for n := 0; ; n++ {
			k := fmt.Sprintf("%s:%d:%d", prefix, j, n)
			s := keySlot(k)
			if int(s)*crashGroupLen/16384 == j && int(s)%2 == j%2 {
				out[j] = k
				break
			}
		}
	}
	return out
}

// keySlot is Redis Cluster's HASH_SLOT (CRC16/XMODEM of the key, or of its
// {hash tag}, mod 16384).
func keySlot(key string) uint16 {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc ^= uint16(key[i]) << 8
		for b := 0; b < 8; b++ {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc & 16383
}

// TestAOFTornTail checks recovery from a log whose last command was cut
// short (a crash in the middle of a write): with aof-load-truncated yes the
// server truncates the tear with a warning naming the file and offset and
// serves everything before it, and later writes survive another restart;
// with aof-load-truncated no it refuses to start and names the file and
// offset. Damage before the tail refuses to start either way.
func TestAOFTornTail(t *testing.T) {
	kind := requireDurableTarget(t)
	dir := t.TempDir()
	aofDir := filepath.Join(dir, "appendonlydir")
	flags := []string{"--appendonly", "yes", "--appendfsync", "always"}
	srv := startDurable(t, kind, dir, flags...)
	c := srv.dial(t)
	for i := 0; i < 300; i++ {
		mustCall(t, c, "SET", fmt.Sprintf("k:%d", i), fmt.Sprintf("v:%d", i))
		mustCall(t, c, "INCR", fmt.Sprintf("ctr:%d", i%7))
		if i%10 == 0 {
			mustCall(t, c, "MSET", fmt.Sprintf("m:%d:a", i), "x", fmt.Sprintf("m:%d:b", i), "y")
		}
	}
	want := dumpDataset(t, c)
	srv.kill()

	// 1. A torn last command is truncated with aof-load-truncated yes.
	last := lastIncrFile(t, aofDir)
	tear := appendToFile(t, last, "*3\r\n$3\r\nSET\r\n$4\r\ntorn\r\n$10\r\nhalf")
	srv = startDurable(t, kind, dir, append(flags, "--aof-load-truncated", "yes")...)
	c = srv.dial(t)
	compareDatasets(t, "before the tear", want, "after truncation", dumpDataset(t, c), time.Second)
	checkNamesFileAndOffset(t, kind, "truncation warning", srv.out.String(), last, tear)
	// Writes after the truncation must land after the last whole command,
	// not after the garbage: they survive another restart.
	mustCall(t, c, "SET", "after-tear", "yes")
	want = dumpDataset(t, c)
	srv.kill()
	srv = startDurable(t, kind, dir, flags...)
	c = srv.dial(t)
	compareDatasets(t, "before the restart", want, "after the restart", dumpDataset(t, c), time.Second)
	srv.kill()

	// 2. With aof-load-truncated no the same tear refuses to start.
	last = lastIncrFile(t, aofDir)
	tear = appendToFile(t, last, "*2\r\n$3\r\nDEL\r\n$3\r\nk:1")
	out := expectNoStart(t, kind, dir, append(flags, "--aof-load-truncated", "no")...)
	checkNamesFileAndOffset(t, kind, "refusal", out, last, tear)
	if err := os.Truncate(last, tear); err != nil {
		t.Fatal(err)
	}
	srv = startDurable(t, kind, dir, flags...)
	c = srv.dial(t)
	compareDatasets(t, "before the tear", want, "after repair", dumpDataset(t, c), time.Second)
	srv.kill()

	// 3. Damage in the middle of the log is not a torn tail: no start, even
	// with aof-load-truncated yes.
	data, err := os.ReadFile(last)
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(data[len(data)/2:], []byte("\r\n*"))
	if at < 0 {
		t.Fatalf("no command start in the second half of %s", last)
	}
	at += len(data)/2 + 2
	data[at] = '?'
	if err := os.WriteFile(last, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out = expectNoStart(t, kind, dir, append(flags, "--aof-load-truncated", "yes")...)
	checkNamesFileAndOffset(t, kind, "refusal", out, last, int64(at))
}

// appendToFile appends s to path and returns the file's size before.
func appendToFile(t testing.TB, path, s string) int64 {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// checkNamesFileAndOffset checks that a server's message names the log file
// and (for Basalt; redis-server 7.0 names the offset only when it
// truncates) the byte offset of the damage.
func checkNamesFileAndOffset(t testing.TB, kind, what, out, file string, offset int64) {
	t.Helper()
	t.Logf("%s:\n%s", what, lastLines(out, 6))
	if !strings.Contains(out, filepath.Base(file)) {
		t.Errorf("%s does not name the file %s:\n%s", what, filepath.Base(file), out)
	}
	if kind == "redis" && what == "refusal" {
		return
	}
	if !regexp.MustCompile(`\b` + strconv.FormatInt(offset, 10) + `\b`).MatchString(out) {
		t.Errorf("%s does not name the offset %d:\n%s", what, offset, out)
	}
}

// TestAOFInteropWithRedis checks that the log is Redis's format both ways:
// redis-check-aof accepts what the server under test wrote and a real
// redis-server 7.0 loads the same dataset from it; and the server under
// test loads what redis-server wrote (commands only, no RDB preamble).
func TestAOFInteropWithRedis(t *testing.T) {
	kind := requireDurableTarget(t)
	requireRedis(t)
	checkAOF := filepath.Join(filepath.Dir(suite.redis), "redis-check-aof")
	if _, err := os.Stat(checkAOF); err != nil {
		if checkAOF, err = exec.LookPath("redis-check-aof"); err != nil {
			t.Fatalf("redis-check-aof not found next to %s or on PATH", suite.redis)
		}
	}

	t.Run("to-redis", func(t *testing.T) {
		dir := t.TempDir()
		srv := startDurable(t, kind, dir, "--appendonly", "yes", "--appendfsync", "always")
		writeInteropDataset(t, srv, true)
		c := srv.dial(t)
		want := dumpDataset(t, c)
		c.Close()
		srv.term(t)

		manifest := filepath.Join(dir, "appendonlydir", "appendonly.aof.manifest")
		out, err := exec.Command(checkAOF, manifest).CombinedOutput()
		if err != nil {
			t.Errorf("redis-check-aof %s: %v\n%s", manifest, err, out)
		}
		red := startDurable(t, "redis", dir, "--appendonly", "yes")
		rc := red.dial(t)
		t.Logf("%s served %s before stopping", kind, datasetSummary(want))
		compareDatasets(t, kind, want, "redis-server", dumpDataset(t, rc), 10*time.Second)
		if t.Failed() {
			t.Logf("redis-server's log:\n%s", red.out)
		}
	})

	// FLUSHDB gets a case of its own: the main case should not fail just
	// because replay lacks it.
	for _, flushes := range []bool{false, true} {
		name := "from-redis"
		if flushes {
			name += "-flushdb"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			red := startDurable(t, "redis", dir, "--appendonly", "yes", "--appendfsync", "always",
				"--aof-use-rdb-preamble", "no")
			writeInteropDataset(t, red, flushes)
			rc := red.dial(t)
			want := dumpDataset(t, rc)
			rc.Close()
			red.term(t)
			srv := startDurable(t, kind, dir, "--appendonly", "yes")
			c := srv.dial(t)
			t.Logf("redis-server served %s before stopping", datasetSummary(want))
			compareDatasets(t, "redis-server", want, kind, dumpDataset(t, c), 10*time.Second)
			if t.Failed() {
				t.Logf("%s's log:\n%s", kind, srv.out)
			}
		})
	}
}

// writeInteropDataset writes strings and keys with expiry, in several
// databases from two interleaved connections (so the log must switch
// databases back and forth); flushes adds FLUSHDB. A command the server does not know is
// skipped with a note: this test is about the log, not command coverage.
func writeInteropDataset(t *testing.T, srv *durableProc, flushes bool) {
	t.Helper()
	a, b := srv.dial(t), srv.dial(t)
	run := func(c *Client, args ...string) {
		t.Helper()
		if _, err := call(c, args...); err != nil {
			if isReplyError(err, "ERR unknown command") {
				t.Logf("skipped (%s does not know it): %s", srv.name, argsText(bs(args...)))
				return
			}
			t.Fatalf("%s: %v", argsText(bs(args...)), err)
		}
	}
	big := strings.Repeat("0123456789abcdef", 8<<10) // 128 KiB
	script := [][]string{
		{"SET", "s1", "hello"},
		{"SET", "s2", "world", "PX", "100000000"},
		{"SET", "bin", "a\r\nb\x00c*3\r\n$"},
		{"SET", "big", big},
		{"SET", "empty", ""},
		{"INCR", "c1"}, {"INCR", "c1"}, {"INCR", "c1"},
		{"INCRBY", "c2", "-7"},
		{"DECR", "c3"},
		{"INCRBYFLOAT", "f", "1.5"}, {"INCRBYFLOAT", "f", "2.25"},
		{"MSET", "m1", "a", "m2", "b", "m3", "c", "m4", "d"},
		{"EXPIRE", "m1", "5000"},
		{"PEXPIRE", "m2", "9000000"},
		{"EXPIREAT", "m4", strconv.FormatInt(time.Now().Add(48*time.Hour).Unix(), 10)},
		{"APPEND", "s1", " there"},
		{"DEL", "m3"},
		{"SETEX", "se", "1000", "v"},
		{"PSETEX", "pse", "2000000", "v"},
		{"SET", "gone", "v", "PX", "1"},
		{"SET", "p", "v", "EX", "100"}, {"PERSIST", "p"},
		{"SET", "kt", "v", "EX", "3000"}, {"SET", "kt", "w", "KEEPTTL"},
		{"SETRANGE", "sr", "5", "abc"},
		{"SET", "gd", "v"}, {"GETDEL", "gd"},
		{"SET", "ge", "v"}, {"GETEX", "ge", "PX", "7000000"},
		{"SET", "r1", "renamed"}, {"RENAME", "r1", "r2"},
		{"SETNX", "nx", "first"}, {"SETNX", "nx", "second"},
		{"MSETNX", "mnx1", "1", "mnx2", "2"},
	}
	if flushes {
		script = append(script, [][]string{
			{"SELECT", "5"}, {"SET", "z", "1"}, {"FLUSHDB"}, {"SET", "z2", "2"},
			{"SELECT", "6"}, {"SET", "z", "1"}, {"FLUSHDB", "ASYNC"},
			{"SELECT", "0"},
		}...)
	}
	for _, cmd := range script {
		run(a, cmd...)
	}
	run(b, "SELECT", "3")
	for i := 0; i < 40; i++ {
		run(a, "SET", fmt.Sprintf("a:%d", i), strconv.Itoa(i))
		run(b, "SET", fmt.Sprintf("b:%d", i), strconv.Itoa(i))
		if i%5 == 0 {
			run(b, "INCR", "db3counter")
			run(a, "MSET", fmt.Sprintf("x:%d", i), "1", fmt.Sprintf("y:%d", i), "2")
			run(b, "DEL", fmt.Sprintf("b:%d", i-1))
		}
	}
	run(b, "INCRBYFLOAT", "db3float", "0.1")
	run(b, "SET", "db3ttl", "v", "PX", "60000000")
	time.Sleep(20 * time.Millisecond) // "gone" has expired
	a.Close()
	b.Close()
}

// TestAOFFsyncCounters checks through INFO persistence that appendfsync
// always really calls fdatasync for every acknowledged write of a lone
// client (a SIGKILL cannot tell a written page from a synced one), that
// everysec does not, and that CONFIG SET appendfsync switches between
// them. aof_fsyncs and aof_batches are Basalt's own fields, so this test
// does not run against redis-server.
func TestAOFFsyncCounters(t *testing.T) {
	if kind := requireDurableTarget(t); kind != "basalt" {
		t.Skip("aof_fsyncs and aof_batches are Basalt's fields")
	}
	srv := startDurable(t, "basalt", t.TempDir(), "--appendonly", "yes", "--appendfsync", "always")
	c := srv.dial(t)
	info := func() map[string]string {
		t.Helper()
		fields := map[string]string{}
		for _, line := range strings.Split(string(mustCall(t, c, "INFO", "persistence").Str), "\r\n") {
			if k, v, ok := strings.Cut(line, ":"); ok {
				fields[k] = v
			}
		}
		return fields
	}
	counter := func(f map[string]string, name string) int64 {
		t.Helper()
		n, err := strconv.ParseInt(f[name], 10, 64)
		if err != nil {
			t.Fatalf("INFO persistence %s = %q", name, f[name])
		}
		return n
	}
	f0 := info()
	for name, want := range map[string]string{"aof_enabled": "1", "aof_last_write_status": "ok", "aof_rewrite_in_progress": "0"} {
		if f0[name] != want {
			t.Errorf("INFO persistence %s = %q, want %q", name, f0[name], want)
		}
	}
	for _, name := range []string{"aof_current_size", "aof_base_size", "aof_delayed_fsync", "aof_pending_bio_fsync", "aof_buffer_length", "aof_fsyncs", "aof_batches"} {
		if _, ok := f0[name]; !ok {
			t.Errorf("INFO persistence lacks %s", name)
		}
	}

	const n = 200
	for i := 0; i < n; i++ {
		mustCall(t, c, "SET", fmt.Sprintf("k:%d", i), "v")
	}
	f1 := info()
	fsyncs, batches := counter(f1, "aof_fsyncs")-counter(f0, "aof_fsyncs"), counter(f1, "aof_batches")-counter(f0, "aof_batches")
	if fsyncs < n || batches < n {
		t.Errorf("always: %d sequential acknowledged SETs took %d fdatasyncs in %d batches; want one each at least", n, fsyncs, batches)
	}
	if grow := counter(f1, "aof_current_size") - counter(f0, "aof_current_size"); grow < n*20 {
		t.Errorf("aof_current_size grew by %d bytes for %d SETs", grow, n)
	}

	// One client's pipeline shares batches (group commit).
	var buf []byte
	for i := 0; i < 1000; i++ {
		buf = AppendCommand(buf, bs("SET", fmt.Sprintf("p:%d", i), "v"))
	}
	if err := c.WriteRaw(buf); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		if raw, err := c.ReadReply(); err != nil || string(raw) != "+OK\r\n" {
			t.Fatalf("pipelined SET %d: %q %v", i, raw, err)
		}
	}
	f2 := info()
	t.Logf("always: a pipeline of 1000 SETs took %d fdatasyncs in %d batches",
		counter(f2, "aof_fsyncs")-counter(f1, "aof_fsyncs"), counter(f2, "aof_batches")-counter(f1, "aof_batches"))

	// everysec, switched at run time: at most about one fdatasync a second.
	mustCall(t, c, "CONFIG", "SET", "appendfsync", "everysec")
	if v := mustCall(t, c, "CONFIG", "GET", "appendfsync"); len(v.Elems) != 2 || string(v.Elems[1].Str) != "everysec" {
		t.Errorf("CONFIG GET appendfsync after CONFIG SET everysec: %s", quoteReply(v.Raw))
	}
	f2 = info()
	start := time.Now()
	for i := 0; i < n; i++ {
		mustCall(t, c, "SET", fmt.Sprintf("e:%d", i), "v")
	}
	f3 := info()
	elapsed := time.Since(start)
	if fsyncs := counter(f3, "aof_fsyncs") - counter(f2, "aof_fsyncs"); fsyncs > int64(elapsed/time.Second)+3 {
		t.Errorf("everysec: %d fdatasyncs during %v of sequential SETs", fsyncs, elapsed)
	}
	mustCall(t, c, "CONFIG", "SET", "appendfsync", "always")
	for i := 0; i < 20; i++ {
		mustCall(t, c, "SET", fmt.Sprintf("a:%d", i), "v")
	}
	if fsyncs := counter(info(), "aof_fsyncs") - counter(f3, "aof_fsyncs"); fsyncs < 20 {
		t.Errorf("always again: 20 sequential SETs took %d fdatasyncs", fsyncs)
	}
}

// TestAOFUpgradeFromOldStyle: a Redis 6 style appendonly.aof (commands
// only) in dir is taken over as the AOF directory's base and replayed, as
// Redis 7.0 does; redis-server 7.0 then loads the directory Basalt left.
func TestAOFUpgradeFromOldStyle(t *testing.T) {
	kind := requireDurableTarget(t)
	requireRedis(t)
	dir := t.TempDir()
	old := "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$3\r\nold\r\n$5\r\nvalue\r\n"
	if err := os.WriteFile(filepath.Join(dir, "appendonly.aof"), []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := startDurable(t, kind, dir, "--appendonly", "yes", "--appendfsync", "always")
	c := srv.dial(t)
	if v := mustCall(t, c, "GET", "old"); string(v.Str) != "value" {
		t.Fatalf("GET old after the upgrade: %s", quoteReply(v.Raw))
	}
	mustCall(t, c, "SET", "new", "1")
	c.Close()
	srv.term(t)
	if _, err := os.Stat(filepath.Join(dir, "appendonlydir", "appendonly.aof")); err != nil {
		t.Fatalf("the old file is not the base of the AOF directory: %v", err)
	}
	red := startDurable(t, "redis", dir, "--appendonly", "yes")
	rc := red.dial(t)
	if v := mustCall(t, rc, "MGET", "old", "new"); !strings.Contains(string(v.Raw), "value") || !strings.Contains(string(v.Raw), "$1\r\n1\r\n") {
		t.Fatalf("redis-server on the upgraded directory: MGET old new = %s", quoteReply(v.Raw))
	}
}
