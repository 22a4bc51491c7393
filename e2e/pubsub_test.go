package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Pub/sub: several clients per server, the byte streams each client
// receives compared between redis-server and the target.

// psStep is one command of a multi-client script: client runs args.
// sorted marks a reply whose element order is the server's hash-table
// order (PUBSUB CHANNELS): its elements are compared sorted.
type psStep struct {
	client int
	args   []string
	sorted bool
}

func step(client int, cmd string) psStep {
	return psStep{client: client, args: splitArgsOrDie(cmd)}
}

func splitArgsOrDie(s string) []string {
	f := strings.Fields(s)
	for i, a := range f {
		if a == `""` {
			f[i] = ""
		}
	}
	return f
}

// readAvailable reads what c receives until it stays silent for idle.
func readAvailable(c *Client, idle time.Duration) ([]byte, error) {
	var out []byte
	buf := make([]byte, 64<<10)
	for {
		if err := c.conn.SetReadDeadline(time.Now().Add(idle)); err != nil {
			return out, err
		}
		n, err := c.r.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return out, nil
			}
			return out, err
		}
	}
}

// readExactly reads n bytes from c, or fails after the client's timeout.
func readExactly(c *Client, n int) ([]byte, error) {
	if err := c.conn.SetReadDeadline(time.Now().Add(3 * time.Second)); err != nil {
		return nil, err
	}
	b := make([]byte, n)
	m, err := io.ReadFull(c.r, b)
	return b[:m], err
}

// sortedArray renders a RESP array reply with its elements sorted.
func sortedArray(b []byte) string {
	parts := strings.Split(string(b), "\r\n")
	if len(parts) < 1 || len(parts[0]) < 1 {
		return string(b)
	}
	var elems []string
	for i := 1; i+1 < len(parts); i += 2 {
		elems = append(elems, parts[i]+"\r\n"+parts[i+1])
	}
	slices.Sort(elems)
	return parts[0] + "|" + strings.Join(elems, "|")
}

// runPubsubScript runs steps on n clients of each server (resp3[i]: client
// i says HELLO 3 first) and compares what every client receives after
// each step. Redis writes a publisher's messages before the publisher's
// reply leaves, so after a short silence each redis client has received
// all of a step; the target then must deliver exactly the same bytes.
func runPubsubScript(t *testing.T, p pair, resp3 []bool, steps []psStep) {
	t.Helper()
	n := len(resp3)
	ref := make([]*Client, n)
	tgt := make([]*Client, n)
	for i := 0; i < n; i++ {
		var err error
		if ref[i], err = Dial(p.ref.addr, replyTimeout); err != nil {
			t.Fatal(err)
		}
		if tgt[i], err = Dial(p.tgt.addr, replyTimeout); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ref[i].Close(); tgt[i].Close() })
		if resp3[i] {
			for _, c := range []*Client{ref[i], tgt[i]} {
				if _, err := c.DoStrings("HELLO", "3"); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for si, st := range steps {
		args := make([][]byte, len(st.args))
		for i, a := range st.args {
			args[i] = []byte(a)
		}
		if err := ref[st.client].Send(args); err != nil {
			t.Fatal(err)
		}
		if err := tgt[st.client].Send(args); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			want, err := readAvailable(ref[i], 30*time.Millisecond)
			if err != nil && !errors.Is(err, io.EOF) {
				t.Fatalf("step %d %q: redis client %d: %v", si, st.args, i, err)
			}
			got, err := readExactly(tgt[i], len(want))
			if err != nil {
				t.Fatalf("step %d (client %d %q): client %d got %q before %v, redis sent %q", si, st.client, st.args, i, got, err, want)
			}
			same := bytes.Equal(got, want)
			if !same && st.sorted && i == st.client {
				same = sortedArray(got) == sortedArray(want)
			}
			if !same {
				t.Fatalf("step %d (client %d %q): client %d\n redis  %q\n target %q", si, st.client, st.args, i, want, got)
			}
		}
	}
	for i := 0; i < n; i++ {
		if extra, _ := readAvailable(tgt[i], 100*time.Millisecond); len(extra) > 0 {
			t.Errorf("client %d: target sent more than redis: %q", i, extra)
		}
	}
}

func TestPubsubDiff(t *testing.T) {
	p := startPair(t)
	// 0, 1: RESP2 subscribers; 2: RESP3 subscriber; 3: RESP2 publisher.
	// Basalt runs 2 loops, so the clients alternate between them.
	steps := []psStep{
		step(3, "UNSUBSCRIBE"),
		step(3, "PUNSUBSCRIBE"),
		step(3, "SUNSUBSCRIBE"),
		step(3, "UNSUBSCRIBE a b"),
		step(0, "SUBSCRIBE a b"),
		step(1, "SUBSCRIBE a"),
		step(1, "PSUBSCRIBE a* h?llo"),
		step(1, "PSUBSCRIBE a*"),
		step(2, "SUBSCRIBE b"),
		step(2, "PSUBSCRIBE *"),
		step(3, "PUBLISH a m1"),
		step(3, "PUBLISH b m2"),
		step(3, "PUBLISH hello m3"),
		step(3, "PUBLISH nobody m4"),
		step(3, `PUBLISH a ""`),
		step(0, "PING"),
		step(0, "PING x"),
		step(0, "PING x y"),
		step(0, "GET k"),
		step(0, "SET k v"),
		step(0, "CLIENT LIST"),
		step(0, "NOSUCH x"),
		step(0, "SUBSCRIBE"),
		step(0, "MULTI"),
		step(2, "SET k v"),
		step(2, "GET k"),
		step(2, "PUBLISH b self"),
		step(2, "PING"),
		step(3, "PUBSUB NUMSUB a b c"),
		step(3, "PUBSUB NUMSUB"),
		step(3, "PUBSUB NUMPAT"),
		{client: 3, args: []string{"PUBSUB", "CHANNELS"}, sorted: true},
		{client: 3, args: []string{"PUBSUB", "CHANNELS", "*"}, sorted: true},
		step(3, "PUBSUB CHANNELS a*"),
		step(3, "PUBSUB CHANNELS zz*"),
		step(3, "PUBSUB channels a b"),
		step(3, "PUBSUB NUMPAT x"),
		step(3, "PUBSUB HELP"),
		step(3, "PUBSUB FOO"),
		step(3, "PUBSUB"),
		step(3, "PUBLISH a"),
		step(0, "UNSUBSCRIBE a"),
		step(0, "UNSUBSCRIBE zzz"),
		step(3, "PUBLISH a m5"),
		step(1, "PUNSUBSCRIBE h?llo nope"),
		step(1, "UNSUBSCRIBE"),
		step(1, "PUNSUBSCRIBE"),
		step(1, "PUNSUBSCRIBE"),
		step(1, "GET k"),
		step(0, "SSUBSCRIBE s1"),
		step(0, "SSUBSCRIBE s1 s2"),
		step(3, "SPUBLISH s1 hi"),
		step(3, "PUBLISH s1 global"),
		{client: 3, args: []string{"PUBSUB", "SHARDCHANNELS", "s*"}, sorted: true},
		step(3, "PUBSUB SHARDNUMSUB s1 s2 s3"),
		step(3, "PUBSUB SHARDNUMSUB"),
		step(0, "SUNSUBSCRIBE s1 s3"),
		step(0, "UNSUBSCRIBE"),
		step(0, "PING"),
		step(0, "SUNSUBSCRIBE"),
		step(0, "PING"),
		step(0, "SUBSCRIBE a"),
		step(0, "RESET"),
		step(0, "PING"),
		step(3, "PUBLISH a after-reset"),
		step(3, "PUBLISH b after-reset"),
		step(2, "SSUBSCRIBE x"),
		step(2, "SUNSUBSCRIBE"),
		step(2, "PUNSUBSCRIBE"),
		step(2, "UNSUBSCRIBE"),
		step(2, "UNSUBSCRIBE"),
		step(3, "PUBLISH b gone"),
		step(3, "SUBSCRIBE q"),
		step(3, "QUIT"),
	}
	runPubsubScript(t, p, []bool{false, false, true, false}, steps)
}

// TestPubsubIntrospectionDiff: INFO stats and CLIENT LIST fields of
// subscribed clients agree with Redis.
func TestPubsubIntrospectionDiff(t *testing.T) {
	p := startPair(t)
	for _, srv := range []*server{p.ref, p.tgt} {
		a := mustDial(t, srv)
		b := mustDial(t, srv)
		admin := mustDial(t, srv)
		mustDo(t, a, "SUBSCRIBE", "x", "y")
		mustRead(t, a)
		mustDo(t, a, "PSUBSCRIBE", "p*")
		mustDo(t, b, "SSUBSCRIBE", "s")
		mustDo(t, b, "SUBSCRIBE", "x")
		info := string(mustDo(t, admin, "INFO", "stats"))
		var got []string
		for _, l := range strings.Split(info, "\r\n") {
			if strings.HasPrefix(l, "pubsub") {
				got = append(got, l)
			}
		}
		if want := []string{"pubsub_channels:2", "pubsub_patterns:1", "pubsubshard_channels:1"}; !slices.Equal(got, want) {
			t.Errorf("%s: INFO %q", srv.name, got)
		}
		var lines []string
		for _, l := range strings.Split(string(mustDo(t, admin, "CLIENT", "LIST")), "\n") {
			var fields []string
			for _, f := range strings.Fields(l) {
				for _, k := range []string{"flags=", "sub=", "psub=", "ssub="} {
					if strings.HasPrefix(f, k) {
						fields = append(fields, f)
					}
				}
			}
			if len(fields) > 0 {
				lines = append(lines, strings.Join(fields, " "))
			}
		}
		slices.Sort(lines)
		if want := []string{"flags=N sub=0 psub=0 ssub=0", "flags=P sub=1 psub=0 ssub=1", "flags=P sub=2 psub=1 ssub=0"}; !slices.Equal(lines, want) {
			t.Errorf("%s: CLIENT LIST %q", srv.name, lines)
		}
		typed := string(mustDo(t, admin, "CLIENT", "LIST", "TYPE", "pubsub"))
		if n := strings.Count(typed, "id="); n != 2 {
			t.Errorf("%s: CLIENT LIST TYPE pubsub has %d lines: %q", srv.name, n, typed)
		}
		if r := string(mustDo(t, admin, "CLIENT", "KILL", "TYPE", "pubsub")); r != ":2\r\n" {
			t.Errorf("%s: CLIENT KILL TYPE pubsub: %q", srv.name, r)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			info := string(mustDo(t, admin, "INFO", "stats"))
			if strings.Contains(info, "pubsub_channels:0\r\npubsub_patterns:0\r\npubsubshard_channels:0\r\n") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: subscriptions left after CLIENT KILL: %q", srv.name, info)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func mustDial(t *testing.T, srv *server) *Client {
	t.Helper()
	c, err := Dial(srv.addr, replyTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func mustDo(t *testing.T, c *Client, args ...string) []byte {
	t.Helper()
	r, err := c.DoStrings(args...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustRead(t *testing.T, c *Client) []byte {
	t.Helper()
	r, err := c.ReadReply()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestKeyspaceNotificationsDiff: with notify-keyspace-events set, the
// stream `PSUBSCRIBE __key*@*__:*` receives for a sequence of commands is
// the same; a RESP3 client subscribed to its own key gets the push before
// its reply. Which events each command reports is the command handlers'
// business (e2e/notify_test.go covers every family); this checks the
// delivery: channels, order, classes selected.
func TestKeyspaceNotificationsDiff(t *testing.T) {
	p := startPair(t)
	steps := []psStep{
		step(2, "CONFIG SET notify-keyspace-events KEA"),
		step(0, "PSUBSCRIBE __key*@*__:*"),
		step(1, "SUBSCRIBE __keyspace@0__:k"),
		step(2, "SET k v"),
		step(1, "SET k v2"),
		step(1, "GET k"),
		step(2, "SET other 1"),
		step(2, "INCR other"),
		step(2, "DEL k other nokey"),
		step(2, "SELECT 3"),
		step(2, "SET k v"),
		step(2, "CONFIG SET notify-keyspace-events E$"),
		step(2, "SET k w"),
		step(2, "CONFIG SET notify-keyspace-events K$"),
		step(2, "SET k x"),
		step(2, "CONFIG SET notify-keyspace-events Kg"),
		step(2, "SET k x"),
		step(2, "CONFIG SET notify-keyspace-events AKE"),
		step(2, "SELECT 0"),
		step(2, "MSET k 1 k2 2 k3 3"),
		step(2, "CONFIG SET notify-keyspace-events KE"),
		step(2, "SET k nothing"),
		step(2, "CONFIG SET notify-keyspace-events \"\""),
		step(2, "SET k none"),
		step(2, "CONFIG GET notify-keyspace-events"),
	}
	runPubsubScript(t, p, []bool{false, true, false}, steps)
}

// TestPubsubOrderAcrossLoops: publishers on both loops, subscribers on
// both loops; every subscriber receives each publisher's messages in
// order, and PUBLISH counts every subscriber.
func TestPubsubOrderAcrossLoops(t *testing.T) {
	srv := startServer(t, suite.target, "target")
	const subs, pubs, n = 4, 2, 3000
	var subc []*Client
	for i := 0; i < subs; i++ {
		c := mustDial(t, srv)
		if r := string(mustDo(t, c, "SUBSCRIBE", "seq")); !strings.HasPrefix(r, "*3\r\n$9\r\nsubscribe\r\n") {
			t.Fatal(r)
		}
		subc = append(subc, c)
	}
	var wg sync.WaitGroup
	for pi := 0; pi < pubs; pi++ {
		c := mustDial(t, srv)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var pipe []byte
			for i := 0; i < n; i++ {
				pipe = AppendCommand(pipe, [][]byte{[]byte("PUBLISH"), []byte("seq"), []byte(fmt.Sprintf("%d:%d", pi, i))})
			}
			if err := c.WriteRaw(pipe); err != nil {
				t.Error(err)
				return
			}
			for i := 0; i < n; i++ {
				r, err := c.ReadReply()
				if err != nil || string(r) != ":"+strconv.Itoa(subs)+"\r\n" {
					t.Errorf("publisher %d #%d: %q %v", pi, i, r, err)
					return
				}
			}
		}()
	}
	for si, c := range subc {
		next := make([]int, pubs)
		for i := 0; i < pubs*n; i++ {
			r, err := c.ReadReply()
			if err != nil {
				t.Fatalf("subscriber %d: %v", si, err)
			}
			parts := strings.Split(string(r), "\r\n")
			var pi, seq int
			if len(parts) < 7 {
				t.Fatalf("subscriber %d: %q", si, r)
			}
			if _, err := fmt.Sscanf(parts[6], "%d:%d", &pi, &seq); err != nil || seq != next[pi] {
				t.Fatalf("subscriber %d: got %q, want %d:%d", si, parts[6], pi, next[pi])
			}
			next[pi]++
		}
	}
	wg.Wait()
}

// TestPubsubSlowSubscriberDisconnected: with a small pubsub output buffer
// limit a subscriber that stops reading is disconnected; the others keep
// receiving every message.
func TestPubsubSlowSubscriberDisconnected(t *testing.T) {
	srv := startServer(t, suite.target, "target", "--client-output-buffer-limit", "pubsub 2mb 1mb 60")
	slow := mustDial(t, srv)
	fast := mustDial(t, srv)
	pub := mustDial(t, srv)
	for _, c := range []*Client{slow, fast} {
		mustDo(t, c, "SUBSCRIBE", "big")
	}
	payload := strings.Repeat("x", 64<<10)
	const n = 800 // 50 MiB
	var received atomic.Int64
	got := make(chan int, 1)
	go func() {
		for received.Load() < n {
			if _, err := fast.ReadReply(); err != nil {
				t.Logf("fast subscriber: %v", err)
				break
			}
			received.Add(1)
		}
		got <- int(received.Load())
	}()
	counts := map[string]int{}
	for i := 0; i < n; i++ {
		counts[string(mustDo(t, pub, "PUBLISH", "big", payload))]++
		// Keep the fast subscriber within a few messages (well under
		// the limit) even on a loaded machine.
		for deadline := time.Now().Add(replyTimeout); received.Load() < int64(i-8) && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	}
	if c := <-got; c != n {
		t.Fatalf("fast subscriber got %d of %d messages", c, n)
	}
	if counts[":1\r\n"] == 0 {
		t.Fatalf("slow subscriber never dropped: PUBLISH replies %v", counts)
	}
	if _, closed, err := slow.ReadUntilClose(2 * time.Second); !closed {
		t.Fatalf("slow subscriber still connected (%v)", err)
	}
	if r := string(mustDo(t, pub, "PUBSUB", "NUMSUB", "big")); r != "*2\r\n$3\r\nbig\r\n:1\r\n" {
		t.Fatalf("NUMSUB %q", r)
	}
}

// TestPubsubOwnPushesInReplyDiff: what EXEC and scripts publish, and the
// keyspace events of their commands, reach their own (RESP3) client
// where Redis writes them: inside the EXEC array, before the script's
// reply. Keys a and b live on different loops whenever there are two or
// more, so the cross-loop (executor) paths run as well as the inline ones.
func TestPubsubOwnPushesInReplyDiff(t *testing.T) {
	p := startPair(t)
	eval := func(client int, script string, keys ...string) psStep {
		args := append([]string{"EVAL", script, strconv.Itoa(len(keys))}, keys...)
		return psStep{client: client, args: args}
	}
	steps := []psStep{
		step(2, "CONFIG SET notify-keyspace-events KEA"),
		step(0, "SUBSCRIBE ch __keyevent@0__:set"),
		step(1, "PSUBSCRIBE __key*__:* c*"),
		// EXEC over both loops, over one, and over the whole keyspace.
		step(0, "MULTI"), step(0, "SET a 1"), step(0, "PUBLISH ch hi"), step(0, "SET b 2"), step(0, "EXEC"),
		step(0, "MULTI"), step(0, "SET a 3"), step(0, "PUBLISH ch one"), step(0, "EXEC"),
		step(0, "MULTI"), step(0, "PUBLISH ch x"), step(0, "DBSIZE"), step(0, "SET b 4"), step(0, "EXEC"),
		// Scripts: one key (inline on its loop, or sent to it), keys on
		// both loops, no key (every loop).
		eval(0, "redis.call('set', KEYS[1], 'v') redis.call('publish', 'ch', 'in') return 7", "a"),
		eval(0, "redis.call('publish', 'ch', 'in') redis.call('set', KEYS[1], 'v') return 7", "b"),
		eval(0, "redis.call('set', KEYS[1], 'v') redis.call('publish', 'ch', 'two') redis.call('set', KEYS[2], 'w') return 8", "a", "b"),
		eval(0, "redis.call('publish', 'ch', 'none') return 9"),
		// Another client's transaction: its subscribers get the same.
		step(2, "MULTI"), step(2, "SET a 5"), step(2, "PUBLISH ch other"), step(2, "SET b 6"), step(2, "EXEC"),
		eval(2, "redis.call('set', KEYS[1], 'v') redis.call('publish', 'ch', 'o') return 1", "a"),
		step(0, "PING"),
	}
	runPubsubScript(t, p, []bool{true, false, true}, steps)
}

// TestPubsubOwnPushesBusyScriptDiff: a script that passes
// busy-reply-threshold (so Basalt lends its loop back and finishes the
// script later) still delivers its own client's pushes ahead of its reply,
// byte for byte as redis-server.
func TestPubsubOwnPushesBusyScriptDiff(t *testing.T) {
	p := startPair(t)
	spin := "local i = 0 while i < 20000000 do i = i + 1 end "
	scripts := []struct {
		src, key, reply string
	}{
		{"redis.call('set', KEYS[1], 'v') redis.call('publish', 'ch', 'early') " + spin + "redis.call('publish', 'ch', 'late') return 7", "a", ":7\r\n"},
		{spin + "redis.call('publish', 'ch', 'after') redis.call('set', KEYS[1], 'w') return 8", "b", ":8\r\n"},
	}
	var got [2][]string
	for side, addr := range []string{p.ref.addr, p.tgt.addr} {
		admin, err := Dial(addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		c, err := Dial(addr, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for _, cmd := range [][]string{{"CONFIG", "SET", "notify-keyspace-events", "KEA"}, {"CONFIG", "SET", "busy-reply-threshold", "20"}} {
			if _, err := admin.DoStrings(cmd...); err != nil {
				t.Fatal(err)
			}
		}
		for _, cmd := range [][]string{{"HELLO", "3"}, {"SUBSCRIBE", "ch", "__keyevent@0__:set"}} {
			if _, err := c.DoStrings(cmd...); err != nil {
				t.Fatal(err)
			}
		}
		_, _ = readAvailable(c, 50*time.Millisecond) // the second subscribe confirmation
		for _, sc := range scripts {
			if err := c.Send([][]byte{[]byte("EVAL"), []byte(sc.src), []byte("1"), []byte(sc.key)}); err != nil {
				t.Fatal(err)
			}
			var out []byte
			for !bytes.HasSuffix(out, []byte(sc.reply)) {
				b, err := readAvailable(c, 100*time.Millisecond)
				if err != nil && !errors.Is(err, io.EOF) {
					t.Fatalf("side %d: %v (so far %q)", side, err, out)
				}
				out = append(out, b...)
				if len(b) == 0 && err != nil {
					t.Fatalf("side %d: connection ended (so far %q)", side, out)
				}
			}
			got[side] = append(got[side], string(out))
		}
		if _, err := admin.DoStrings("CONFIG", "SET", "busy-reply-threshold", "5000"); err != nil {
			t.Fatal(err)
		}
	}
	for i := range scripts {
		if got[0][i] != got[1][i] {
			t.Errorf("script %d:\n redis  %q\n target %q", i, got[0][i], got[1][i])
		}
	}
}
