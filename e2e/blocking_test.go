package e2e

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// blockStep is one step of a blocking scenario. Exactly one of these
// forms: send a command and read its reply at once (Cmd); send a command
// that blocks and read nothing (Cmd with Block: the step then waits until
// the server counts the client as blocked); read the reply a blocked
// client got (Read); sleep (Sleep).
type blockStep struct {
	C     int    // client index
	Cmd   string // space-separated command; "$ID0" is client 0's CLIENT ID
	Block bool
	Read  bool
	Sleep time.Duration
}

// TestDiffBlocking runs scripted multi-client scenarios of the blocking
// commands on redis-server and the server under test and compares every
// reply byte for byte, in the order the clients read them.
func TestDiffBlocking(t *testing.T) {
	S := func(c int, cmd string) blockStep { return blockStep{C: c, Cmd: cmd} }
	B := func(c int, cmd string) blockStep { return blockStep{C: c, Cmd: cmd, Block: true} }
	R := func(c int) blockStep { return blockStep{C: c, Read: true} }
	scenarios := map[string][]blockStep{
		"blpop-timeout":              {S(0, "BLPOP k 0.05"), S(0, "HELLO 3"), S(0, "BLPOP k 0.05"), S(0, "BZPOPMIN z 0.01"), S(0, "BLMOVE a b LEFT LEFT 0.02")},
		"blpop-served":               {B(0, "BLPOP k1 k2 0"), S(1, "RPUSH k2 x y"), R(0), S(1, "LRANGE k2 0 -1"), S(1, "EXISTS k1 k2")},
		"brpop-fifo":                 {B(0, "BRPOP k 0"), B(1, "BRPOP k 0"), B(2, "BRPOP k 0"), S(3, "RPUSH k a b c"), R(0), R(1), R(2), S(3, "EXISTS k")},
		"fifo-one-each":              {B(0, "BLPOP k 0"), B(1, "BLPOP k 0"), S(2, "RPUSH k a"), R(0), S(2, "RPUSH k b"), R(1)},
		"pipeline-waits":             {B(0, "BLPOP k 0"), blockStep{C: 0, Cmd: "GET x", Block: true}, S(1, "SET x 1"), S(1, "LPUSH k v"), R(0), R(0)},
		"blmove":                     {B(0, "BLMOVE src dst RIGHT LEFT 0"), S(1, "LPUSH src v w"), R(0), S(1, "LRANGE src 0 -1"), S(1, "LRANGE dst 0 -1")},
		"brpoplpush":                 {B(0, "BRPOPLPUSH src dst 0"), S(1, "RPUSH src a"), R(0), S(1, "LRANGE dst 0 -1"), S(1, "EXISTS src")},
		"blmove-rotate":              {B(0, "BLMOVE k k LEFT RIGHT 0"), S(1, "RPUSH k a b"), R(0), S(1, "LRANGE k 0 -1")},
		"blmpop":                     {B(0, "BLMPOP 0 2 a b RIGHT COUNT 2"), S(1, "RPUSH b 1 2 3"), R(0), S(1, "LRANGE b 0 -1")},
		"bzpopmin":                   {B(0, "BZPOPMIN z1 z2 0"), S(1, "ZADD z2 2 b 1 a"), R(0), S(1, "ZRANGE z2 0 -1 WITHSCORES")},
		"bzpopmax-resp3":             {S(0, "HELLO 3"), B(0, "BZPOPMAX z 0"), S(1, "ZADD z 1.5 a 2.5 b"), R(0)},
		"bzmpop":                     {B(0, "BZMPOP 0 1 z MIN COUNT 5"), S(1, "ZADD z 1 a 2 b"), R(0), S(1, "EXISTS z")},
		"moved-in-by-lmove":          {B(0, "BLPOP dst 0"), S(1, "RPUSH other v"), S(1, "LMOVE other dst LEFT RIGHT"), R(0), S(1, "EXISTS dst other")},
		"wrong-type-ignored":         {B(0, "BLPOP k 5"), S(1, "SET k str"), S(1, "DEL k"), S(1, "RPUSH k v"), R(0)},
		"unblock-timeout":            {S(0, "CLIENT ID"), B(0, "BLPOP k 0"), S(1, "CLIENT UNBLOCK $ID0"), R(0), S(1, "CLIENT UNBLOCK $ID0")},
		"unblock-error":              {S(0, "CLIENT ID"), B(0, "BZPOPMIN k 0"), S(1, "CLIENT UNBLOCK $ID0 ERROR"), R(0)},
		"blocked-count":              {B(0, "BLPOP k 0"), B(1, "BLPOP j 0"), S(2, "RPUSH k a"), R(0), S(2, "RPUSH j b"), R(1)},
		"served-after-whole-command": {B(0, "BLPOP k 0"), B(1, "BLPOP k 0"), B(2, "BLPOP k 0"), S(3, "RPUSH k a b"), R(0), R(1), S(3, "RPUSH k c"), R(2)},
	}
	// A few run again with appendfsync always: served replies then wait
	// for the log like any other write's.
	durable := []string{"blpop-served", "blmove", "bzmpop", "pipeline-waits", "served-after-whole-command"}
	for name, steps := range scenarios {
		for _, aof := range []bool{false, true} {
			if aof && !slices.Contains(durable, name) {
				continue
			}
			testBlockScenario(t, name, steps, aof)
		}
	}
}

func testBlockScenario(t *testing.T, name string, steps []blockStep, aof bool) {
	var extra []string
	if aof {
		name += "/appendfsync-always"
		extra = []string{"--appendonly", "yes", "--appendfsync", "always"}
	}
	t.Run(name, func(t *testing.T) {
		t.Parallel()
		p := startPairArgs(t, extra...)
		ref := runBlockScenario(t, p.ref, steps, false)
		tgt := runBlockScenario(t, p.tgt, steps, false)
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

// runBlockScenario plays steps against one server and returns the replies
// read, each tagged with the step that read it. A Block step sends its
// command and, when it is a blocking command (B..., or XREAD/XREADGROUP
// with BLOCK), waits until the server counts it blocked. "$IDn" in a
// command is client n's CLIENT ID and "@dump:KEY" the DUMP payload of KEY.
// With countLeft, the last line is how many clients are still blocked.
func runBlockScenario(t *testing.T, srv *server, steps []blockStep, countLeft bool) []string {
	t.Helper()
	clients := map[int]*Client{}
	get := func(i int) *Client {
		if c, ok := clients[i]; ok {
			return c
		}
		c, err := Dial(srv.addr, 5*time.Second)
		if err != nil {
			t.Fatalf("%s: dial: %v", srv.name, err)
		}
		t.Cleanup(func() { c.Close() })
		clients[i] = c
		return c
	}
	admin := get(99)
	blockedNow := func() int {
		r, err := admin.DoStrings("INFO", "clients")
		if err != nil {
			t.Fatalf("%s: INFO: %v", srv.name, err)
		}
		i := bytes.Index(r, []byte("blocked_clients:"))
		n := 0
		if i >= 0 {
			fmt.Sscanf(string(r[i+len("blocked_clients:"):]), "%d", &n)
		}
		return n
	}
	var out []string
	ids := map[string]string{}
	blocked := 0
	for k, st := range steps {
		switch {
		case st.Sleep > 0:
			time.Sleep(st.Sleep)
		case st.Read:
			r, err := get(st.C).ReadReply()
			if err != nil {
				t.Fatalf("%s: step %d read: %v", srv.name, k, err)
			}
			out = append(out, fmt.Sprintf("c%d %q", st.C, r))
			blocked = blockedNow()
		default:
			cmd := st.Cmd
			for id, v := range ids {
				cmd = strings.ReplaceAll(cmd, id, v)
			}
			args := bs(strings.Fields(cmd)...)
			for i, a := range args {
				if key, ok := strings.CutPrefix(string(a), "@dump:"); ok {
					args[i] = mustCall(t, admin, "DUMP", key).Str
				}
			}
			c := get(st.C)
			if st.Block {
				if err := c.Send(args); err != nil {
					t.Fatalf("%s: step %d send: %v", srv.name, k, err)
				}
				if blocksOn(cmd) {
					blocked++
					deadline := time.Now().Add(5 * time.Second)
					for blockedNow() < blocked {
						if time.Now().After(deadline) {
							t.Fatalf("%s: step %d: client not blocked", srv.name, k)
						}
						time.Sleep(2 * time.Millisecond)
					}
				}
				continue
			}
			r, err := c.Do(args)
			if err != nil {
				t.Fatalf("%s: step %d %s: %v", srv.name, k, cmd, err)
			}
			if strings.EqualFold(cmd, "CLIENT ID") {
				ids[fmt.Sprintf("$ID%d", st.C)] = strings.Trim(string(r), ":\r\n")
				continue // ids differ between servers
			}
			if strings.HasPrefix(strings.ToUpper(cmd), "HELLO") {
				continue // holds the client id
			}
			out = append(out, fmt.Sprintf("c%d %s -> %q", st.C, st.Cmd, r))
		}
	}
	if countLeft {
		// Served clients leave the count once their reply is out.
		time.Sleep(20 * time.Millisecond)
		out = append(out, fmt.Sprintf("still blocked: %d", blockedNow()))
	}
	return out
}

// blocksOn reports whether cmd is a command that blocks when it finds
// nothing: BLPOP, BZPOPMIN, BLMOVE..., or XREAD/XREADGROUP with BLOCK.
func blocksOn(cmd string) bool {
	up := strings.ToUpper(cmd)
	return strings.HasPrefix(up, "B") || strings.HasPrefix(up, "XREAD") && strings.Contains(up, " BLOCK ")
}
