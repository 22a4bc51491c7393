package e2e

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Client-side caching (CLIENT TRACKING): several clients per server, the
// bytes each client receives after each step compared between
// redis-server and the target, invalidation pushes and messages included.

// trkStep is one step: client sends cmds (one command, or a pipeline).
// In arguments, {idN} stands for client N's ID on that server; in what
// clients receive, each client's ID is replaced by {idN} before comparing.
type trkStep struct {
	client int
	cmds   []string
}

func ts(client int, cmds ...string) trkStep { return trkStep{client: client, cmds: cmds} }

func runTrackingScript(t *testing.T, resp3 []bool, steps []trkStep) {
	t.Helper()
	p := startPair(t)
	n := len(resp3)
	sides := [2][]*Client{make([]*Client, n), make([]*Client, n)}
	ids := [2][]string{make([]string, n), make([]string, n)}
	for s, srv := range []*server{p.ref, p.tgt} {
		for i := 0; i < n; i++ {
			c, err := Dial(srv.addr, replyTimeout)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			sides[s][i] = c
			id, err := c.DoStrings("CLIENT", "ID")
			if err != nil {
				t.Fatal(err)
			}
			ids[s][i] = strings.TrimSuffix(strings.TrimPrefix(string(id), ":"), "\r\n")
			if resp3[i] {
				if _, err := c.DoStrings("HELLO", "3"); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	subst := func(s int, a string) string {
		for i := n - 1; i >= 0; i-- {
			a = strings.ReplaceAll(a, "{id"+strconv.Itoa(i)+"}", ids[s][i])
		}
		return a
	}
	// norm replaces the client IDs in what a client receives (a
	// redirection in TRACKINGINFO and tracking-redir-broken, a GETREDIR
	// reply) by their placeholders.
	norm := func(s int, b []byte, getredir bool) string {
		out := string(b)
		for i := n - 1; i >= 0; i-- {
			ph := "{id" + strconv.Itoa(i) + "}"
			for _, pre := range []string{"redirect\r\n:", "redir-broken\r\n:"} {
				out = strings.ReplaceAll(out, pre+ids[s][i]+"\r\n", pre+ph+"\r\n")
			}
			if getredir && out == ":"+ids[s][i]+"\r\n" {
				out = ":" + ph + "\r\n"
			}
		}
		return out
	}
	for si, st := range steps {
		for s := 0; s < 2; s++ {
			var raw []byte
			for _, cmd := range st.cmds {
				f := splitArgsOrDie(cmd)
				args := make([][]byte, len(f))
				for i, a := range f {
					args[i] = []byte(subst(s, a))
				}
				raw = AppendCommand(raw, args)
			}
			if err := sides[s][st.client].WriteRaw(raw); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < n; i++ {
			want, err := readAvailable(sides[0][i], 40*time.Millisecond)
			if err != nil && !errors.Is(err, io.EOF) {
				t.Fatalf("step %d %q: redis client %d: %v", si, st.cmds, i, err)
			}
			got, err := readExactly(sides[1][i], len(want))
			if err != nil && len(want) > 0 {
				t.Fatalf("step %d (client %d %q): client %d got %q before %v, redis sent %q", si, st.client, st.cmds, i, got, err, want)
			}
			gr := i == st.client && len(st.cmds) == 1 && strings.HasPrefix(strings.ToUpper(st.cmds[0]), "CLIENT GETREDIR")
			if w, g := norm(0, want, gr), norm(1, got, gr); w != g {
				t.Fatalf("step %d (client %d %q): client %d\n redis  %q\n target %q", si, st.client, st.cmds, i, w, g)
			}
		}
	}
	for i := 0; i < n; i++ {
		if extra, _ := readAvailable(sides[1][i], 100*time.Millisecond); len(extra) > 0 {
			t.Errorf("client %d: target sent more than redis: %q", i, extra)
		}
	}
}

// TestTrackingErrorsDiff: CLIENT TRACKING/CACHING/GETREDIR/TRACKINGINFO
// replies and errors.
func TestTrackingErrorsDiff(t *testing.T) {
	steps := []trkStep{
		ts(0, "CLIENT TRACKING"),
		ts(0, "CLIENT TRACKING maybe"),
		ts(0, "CLIENT TRACKING on foo"),
		ts(0, "CLIENT TRACKING on REDIRECT"),
		ts(0, "CLIENT TRACKING on REDIRECT abc"),
		ts(0, "CLIENT TRACKING on REDIRECT 999999"),
		ts(0, "CLIENT TRACKING on REDIRECT 0"),
		ts(0, "CLIENT TRACKING on REDIRECT -5"),
		ts(0, "CLIENT TRACKING on REDIRECT {id1} REDIRECT {id1}"),
		ts(0, "CLIENT TRACKING on PREFIX a"),
		ts(0, "CLIENT TRACKING on BCAST OPTIN"),
		ts(0, "CLIENT TRACKING on OPTIN OPTOUT"),
		ts(0, "CLIENT TRACKING on BCAST OPTIN OPTOUT"),
		ts(0, "CLIENT TRACKING maybe BCAST"),
		ts(0, "CLIENT TRACKING off PREFIX x"),
		ts(0, "CLIENT TRACKING off REDIRECT 999999"),
		ts(0, "CLIENT CACHING yes"),
		ts(0, "CLIENT CACHING"),
		ts(0, "CLIENT CACHING yes no"),
		ts(0, "CLIENT GETREDIR"),
		ts(0, "CLIENT GETREDIR x"),
		ts(0, "CLIENT TRACKINGINFO"),
		ts(0, "CLIENT TRACKINGINFO x"),
		ts(0, "CLIENT TRACKING on OPTIN"),
		ts(0, "CLIENT TRACKING on OPTOUT"),
		ts(0, "CLIENT TRACKING on BCAST"),
		ts(0, "CLIENT CACHING no"),
		ts(0, "CLIENT CACHING maybe"),
		ts(0, "CLIENT CACHING YES"),
		ts(0, "CLIENT TRACKINGINFO"),
		ts(0, "CLIENT GETNAME"),
		ts(0, "CLIENT TRACKINGINFO"), // CLIENT commands keep CACHING
		ts(0, "GET x"),
		ts(0, "CLIENT TRACKINGINFO"),
		ts(0, "CLIENT TRACKING off"),
		ts(0, "CLIENT TRACKINGINFO"),
		ts(0, "CLIENT GETREDIR"),
		ts(0, "CLIENT TRACKING on BCAST PREFIX ab PREFIX a"),
		ts(0, "CLIENT TRACKING on BCAST PREFIX z PREFIX z"),
		// Redis 7.0 writes this error and still enables tracking (+OK).
		ts(0, "CLIENT TRACKING on BCAST PREFIX a PREFIX b PREFIX bc"),
		ts(0, "CLIENT TRACKINGINFO"),
		ts(0, "CLIENT TRACKING on BCAST PREFIX bcd"),
		ts(0, "CLIENT TRACKING on BCAST PREFIX c NOLOOP"),
		ts(0, "CLIENT TRACKING on BCAST"),
		ts(0, "CLIENT TRACKINGINFO"),
		ts(0, "CLIENT TRACKING on"),
		ts(0, "CLIENT TRACKING off"),
		ts(0, "CLIENT TRACKING on BCAST"),
		ts(0, "CLIENT TRACKING on BCAST PREFIX q"),
		ts(0, "CLIENT TRACKINGINFO"),
		ts(0, "CLIENT TRACKING off"),
		ts(0, "CLIENT TRACKING ON OPTIN NOLOOP REDIRECT {id1}"),
		ts(0, "CLIENT TRACKINGINFO"),
		ts(0, "CLIENT GETREDIR"),
		ts(0, "CLIENT TRACKING on OPTOUT"),
		ts(0, "CLIENT TRACKING on NOLOOP"),
		ts(0, "CLIENT TRACKINGINFO"),
		ts(0, "RESET"),
		ts(0, "CLIENT TRACKINGINFO"),
		ts(0, "CLIENT GETREDIR"),
	}
	runTrackingScript(t, []bool{false, false}, steps)
}

// TestTrackingDiff: invalidations in the default mode (RESP3 pushes, RESP2
// REDIRECT to a subscriber), the invalidations of the writing client
// after its replies, MULTI, FLUSHDB, BCAST with prefixes, OPTIN/OPTOUT,
// NOLOOP, and a redirection client that goes away.
func TestTrackingDiff(t *testing.T) {
	// 0: RESP3 tracker; 1: RESP2 writer; 2: RESP2 subscriber the
	// invalidations of 3 (RESP2 tracker) are redirected to; 4: RESP3
	// BCAST; 5: RESP3 OPTIN; 6: RESP3 OPTOUT; 7: RESP3 NOLOOP; 8: RESP2
	// redirect target that quits; 9: RESP3 tracker redirecting to 8.
	steps := []trkStep{
		ts(0, "CLIENT TRACKING on"),
		ts(0, "GET a"),
		ts(0, "MGET b c"),
		ts(0, "EXISTS d"),
		ts(1, "SET a 1"),
		ts(1, "SET a 2"), // forgotten after the first invalidation
		ts(1, "DEL b c"),
		ts(1, "SET d 1"),
		ts(0, "GET a"),
		ts(1, "APPEND a x"),
		ts(0, "SET e 1"), // a write does not remember its key
		ts(1, "SET e 2"),
		// The writer's own invalidations follow each reply.
		ts(0, "GET x", "GET y"),
		ts(0, "SET x 1", "GET y", "SET y 2", "PING"),
		ts(0, "GET x", "GET y"),
		ts(0, "MULTI", "SET x 2", "GET y", "SET y 3", "EXEC"),
		ts(0, "GET x"),
		ts(0, "SET x 3", "SET x 4", "GET x"),
		// RESP2 with REDIRECT to a subscriber of __redis__:invalidate.
		ts(2, "SUBSCRIBE __redis__:invalidate"),
		ts(3, "CLIENT TRACKING on REDIRECT {id2}"),
		ts(3, "CLIENT GETREDIR"),
		ts(3, "MGET r1 r2"),
		ts(1, "MSET r1 a r2 b"),
		ts(3, "GET r1"),
		ts(0, "GET r1"),
		ts(1, "SET r1 c"),
		ts(3, "GET r3"),
		ts(1, "FLUSHDB"),
		ts(3, "GET r4"),
		ts(3, "FLUSHALL"),
		// BCAST with prefixes: one message per prefix per turn.
		ts(4, "CLIENT TRACKING on BCAST PREFIX {p}a PREFIX {p}b"),
		ts(1, "SET {p}a1 v"),
		ts(1, "MSET {p}a2 v {p}b1 v {p}a3 v {p}c v"),
		ts(1, "SET other v"),
		ts(1, "DEL {p}a1 {p}a2"),
		ts(4, "SET {p}a9 v"),
		ts(4, "CLIENT TRACKING on BCAST PREFIX {p}c"),
		ts(1, "SET {p}c v"),
		// OPTIN: only after CLIENT CACHING yes, for one command.
		ts(5, "CLIENT TRACKING on OPTIN"),
		ts(5, "GET o1"),
		ts(5, "CLIENT CACHING yes"),
		ts(5, "GET o2"),
		ts(5, "GET o3"),
		ts(5, "CLIENT CACHING yes", "MULTI", "GET o4", "GET o5", "EXEC", "GET o6"),
		ts(1, "SET o1 x"),
		ts(1, "SET o2 x"),
		ts(1, "SET o3 x"),
		ts(1, "SET o4 x"),
		ts(1, "SET o5 x"),
		ts(1, "SET o6 x"),
		// OPTOUT: always, except after CLIENT CACHING no.
		ts(6, "CLIENT TRACKING on OPTOUT"),
		ts(6, "GET q1"),
		ts(6, "CLIENT CACHING no"),
		ts(6, "GET q2"),
		ts(6, "GET q3"),
		ts(1, "SET q1 x"),
		ts(1, "SET q2 x"),
		ts(1, "SET q3 x"),
		// NOLOOP: no invalidation for the client's own writes.
		ts(7, "CLIENT TRACKING on NOLOOP"),
		ts(7, "GET n"),
		ts(7, "SET n 1"),
		ts(1, "SET n 2"),
		ts(7, "GET n"),
		ts(1, "SET n 3"),
		ts(7, "CLIENT TRACKING on BCAST NOLOOP"),
		ts(7, "CLIENT TRACKING off"),
		ts(7, "CLIENT TRACKING on BCAST NOLOOP PREFIX {n}"),
		ts(7, "SET {n}1 a"),
		ts(1, "SET {n}2 b"),
		// A redirection client that is gone.
		ts(9, "CLIENT TRACKING on REDIRECT {id8}"),
		ts(9, "GET z"),
		ts(8, "QUIT"),
		ts(1, "SET z 1"),
		ts(9, "CLIENT TRACKINGINFO"),
		ts(9, "GET z"),
		ts(1, "SET z 2"),
		ts(9, "CLIENT TRACKING on"),
		ts(9, "CLIENT TRACKINGINFO"),
		// Tracking off, then RESET.
		ts(0, "GET off1"),
		ts(0, "CLIENT TRACKING off"),
		ts(1, "SET off1 x"),
		ts(5, "RESET"),
		ts(1, "SET o1 y"),
	}
	runTrackingScript(t, []bool{true, false, false, false, true, true, true, true, false, true}, steps)
}

// TestTrackingIntrospectionDiff: CLIENT LIST flags (t, R, B) and INFO's
// tracking fields agree with Redis.
func TestTrackingIntrospectionDiff(t *testing.T) {
	p := startPair(t)
	for _, srv := range []*server{p.ref, p.tgt} {
		a := mustDial(t, srv)
		b := mustDial(t, srv)
		gone := mustDial(t, srv)
		admin := mustDial(t, srv)
		goneID := strings.TrimSpace(strings.TrimPrefix(string(mustDo(t, gone, "CLIENT", "ID")), ":"))
		mustDo(t, a, "HELLO", "3")
		mustDo(t, a, "CLIENT", "TRACKING", "on", "REDIRECT", goneID)
		mustDo(t, a, "MGET", "k1", "k2", "k3")
		mustDo(t, b, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "x", "PREFIX", "y")
		mustDo(t, admin, "GET", "k1")
		gone.Close()
		time.Sleep(50 * time.Millisecond)
		info := string(mustDo(t, admin, "INFO", "everything"))
		var got []string
		for _, l := range strings.Split(info, "\r\n") {
			if strings.HasPrefix(l, "tracking") {
				got = append(got, l)
			}
		}
		want := []string{"tracking_clients:2", "tracking_total_keys:3", "tracking_total_items:3", "tracking_total_prefixes:2"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: INFO %q, want %q", srv.name, got, want)
		}
		mustDo(t, admin, "SET", "k1", "v") // the redirection is found broken
		mustRead(t, a)
		var flags []string
		for _, l := range strings.Split(string(mustDo(t, admin, "CLIENT", "LIST")), "\n") {
			var fl, redir string
			for _, f := range strings.Fields(l) {
				if strings.HasPrefix(f, "flags=") {
					fl = f
				}
				if strings.HasPrefix(f, "redir=") {
					redir = f
					if redir == "redir="+goneID {
						redir = "redir=gone"
					}
				}
			}
			if fl != "" {
				flags = append(flags, fl+" "+redir)
			}
		}
		joined := strings.Join(flags, ",")
		for _, w := range []string{"flags=tR redir=gone", "flags=tB redir=0", "flags=N redir=-1"} {
			if !strings.Contains(joined, w) {
				t.Errorf("%s: CLIENT LIST %q lacks %q", srv.name, joined, w)
			}
		}
		if bytes.Contains(mustDo(t, admin, "INFO", "stats"), []byte("tracking_total_keys:3")) {
			t.Errorf("%s: k1 still counted after its invalidation", srv.name)
		}
	}
}

// TestTrackingTableMaxKeys: past tracking-table-max-keys, keys are
// forgotten and their clients told, as Redis does (which keys is random).
func TestTrackingTableMaxKeys(t *testing.T) {
	p := startPair(t)
	for _, srv := range []*server{p.ref, p.tgt} {
		a := mustDial(t, srv)
		admin := mustDial(t, srv)
		mustDo(t, admin, "CONFIG", "SET", "tracking-table-max-keys", "5")
		mustDo(t, a, "HELLO", "3")
		mustDo(t, a, "CLIENT", "TRACKING", "on")
		var raw []byte
		for i := 0; i < 10; i++ {
			raw = AppendCommand(raw, [][]byte{[]byte("GET"), []byte("mk" + strconv.Itoa(i))})
		}
		if err := a.WriteRaw(raw); err != nil {
			t.Fatal(err)
		}
		pushes, _ := readAvailable(a, 200*time.Millisecond)
		info := string(mustDo(t, admin, "INFO", "stats"))
		if !strings.Contains(info, "tracking_total_keys:5\r\n") {
			t.Errorf("%s: INFO stats after 10 reads with max 5: %q", srv.name, info)
		}
		more, _ := readAvailable(a, 100*time.Millisecond)
		pushes = append(pushes, more...)
		if n := bytes.Count(pushes, []byte(">2\r\n$10\r\ninvalidate\r\n")); n < 4 {
			t.Errorf("%s: %d invalidations, want at least 4: %q", srv.name, n, pushes)
		}
	}
}
