package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Helpers for the durability tests: a server process the test may kill and
// restart on the same data directory, and small typed wrappers over the raw
// client. Everything here is used by one test goroutine unless it says so.

const (
	exitTimeout    = 20 * time.Second // a server told to stop (or refusing to start) must be gone by then
	durableTimeout = 30 * time.Second // reply deadline: an fsync on a slow CI disk can take a while
)

// durableProc is one server process on a data directory that outlives it:
// the test kills it (SIGKILL, by the PID it started) or stops it (SIGTERM)
// and starts another on the same directory. t.Cleanup kills whatever is
// still running.
type durableProc struct {
	name string
	addr string
	cmd  *exec.Cmd
	out  *tailBuffer
	done chan struct{} // closed once the process has been reaped
}

// requireDurableTarget returns the kind of server under test ("basalt", or
// "redis" in the harness's self-test mode, where these tests check
// themselves against redis-server) and fails when Basalt did not build.
func requireDurableTarget(t testing.TB) string {
	t.Helper()
	switch suite.target {
	case "basalt":
		if suite.buildErr != nil {
			t.Fatalf("cannot test Basalt: %v", suite.buildErr)
		}
	case "redis":
		requireRedis(t)
	default:
		t.Fatalf("BASALT_E2E_TARGET=%q: want basalt or redis", suite.target)
	}
	return suite.target
}

// durableArgs are the command-line flags of a server of kind on dir at
// port, before the test's extra flags (which come last and so win).
func durableArgs(kind, dir string, port int) (bin string, args []string) {
	p := strconv.Itoa(port)
	if kind == "redis" {
		return suite.redis, []string{"--port", p, "--bind", "127.0.0.1", "--dir", dir,
			"--save", "", "--daemonize", "no"}
	}
	return suite.basaltBin, []string{"--port", p, "--bind", "127.0.0.1", "--dir", dir, "--loops", "2"}
}

// startDurable starts a server of kind on dir and waits until it answers
// PING, which for a server with an AOF means the log has been replayed. It
// retries on a free port taken by someone else and fails the test if the
// server will not start.
func startDurable(t testing.TB, kind, dir string, extra ...string) *durableProc {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 4; attempt++ {
		p, err := tryStartDurable(t, kind, dir, extra...)
		if err == nil {
			return p
		}
		lastErr = err
		if !strings.Contains(strings.ToLower(err.Error()), "address already in use") {
			break
		}
	}
	t.Fatalf("starting %s on %s: %v", kind, dir, lastErr)
	return nil
}

func tryStartDurable(t testing.TB, kind, dir string, extra ...string) (*durableProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	bin, args := durableArgs(kind, dir, port)
	cmd := exec.Command(bin, append(args, extra...)...)
	p := &durableProc{name: kind, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd,
		out: &tailBuffer{}, done: make(chan struct{})}
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(p.kill)
	// Replaying a large log takes a while on a slow machine: allow more
	// than the harness's start-up timeout.
	deadline := time.Now().Add(2 * startTimeout)
	for {
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s exited during start-up: %v\n%s", kind, cmd.ProcessState, p.out)
		default:
		}
		if c, err := Dial(p.addr, time.Second); err == nil {
			reply, err := c.DoStrings("PING")
			c.Close()
			if err == nil && string(reply) == "+PONG\r\n" {
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			p.kill()
			return nil, fmt.Errorf("%s did not answer PING within %v\n%s", kind, 2*startTimeout, p.out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// exited reports whether the process is gone.
func (p *durableProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL to the process this durableProc started and waits for
// it to be reaped. Safe to call more than once.
func (p *durableProc) kill() {
	if p.exited() {
		return
	}
	p.cmd.Process.Kill()
	select {
	case <-p.done:
	case <-time.After(exitTimeout):
	}
}

// term sends SIGTERM (a graceful shutdown) and waits for the process to
// exit; it fails the test if the process does not exit in time or exits
// with an error.
func (p *durableProc) term(t testing.TB) {
	t.Helper()
	if p.exited() {
		t.Fatalf("%s had already exited: %v\n%s", p.name, p.cmd.ProcessState, p.out)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(exitTimeout):
		p.kill()
		t.Fatalf("%s did not exit within %v of SIGTERM\n%s", p.name, exitTimeout, p.out)
	}
	if !p.cmd.ProcessState.Success() {
		t.Fatalf("%s exited with %v after SIGTERM\n%s", p.name, p.cmd.ProcessState, p.out)
	}
}

// dial connects to the process or fails the test.
func (p *durableProc) dial(t testing.TB) *Client {
	t.Helper()
	c, err := Dial(p.addr, durableTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v\n%s", p.name, err, p.out)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// expectNoStart runs a server of kind on dir that is expected to refuse to
// start: it must exit by itself with a failure status. It returns what the
// server printed. A server that answers PING instead fails the test.
func expectNoStart(t testing.TB, kind, dir string, extra ...string) string {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	bin, args := durableArgs(kind, dir, port)
	cmd := exec.Command(bin, append(args, extra...)...)
	out := &tailBuffer{}
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	defer func() {
		cmd.Process.Kill()
		<-done
	}()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(exitTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			if cmd.ProcessState.Success() {
				t.Fatalf("%s exited with status 0; want a failure\n%s", kind, out)
			}
			return out.String()
		case <-time.After(50 * time.Millisecond):
		}
		if c, err := Dial(addr, time.Second); err == nil {
			reply, err := c.DoStrings("PING")
			c.Close()
			if err == nil && string(reply) == "+PONG\r\n" {
				t.Fatalf("%s started and answers PING; want it to refuse to start\n%s", kind, out)
			}
		}
	}
	t.Fatalf("%s neither started nor exited within %v\n%s", kind, exitTimeout, out)
	return ""
}

// replyError is an error reply (-ERR ..., -MISCONF ...) as opposed to a
// broken connection.
type replyError string

func (e replyError) Error() string { return string(e) }

// isReplyError reports whether err is an error reply starting with prefix.
func isReplyError(err error, prefix string) bool {
	var re replyError
	return errors.As(err, &re) && strings.HasPrefix(string(re), prefix)
}

// parseReply parses raw; an error reply becomes a replyError.
func parseReply(raw []byte) (Value, error) {
	v, err := ParseValue(raw)
	if err != nil {
		return v, err
	}
	if v.Kind == '-' || v.Kind == '!' {
		msg := string(v.Line)
		if v.Kind == '!' {
			msg = string(v.Str)
		}
		return v, replyError(msg)
	}
	return v, nil
}

// call sends one command and parses its reply.
func call(c *Client, args ...string) (Value, error) {
	raw, err := c.DoStrings(args...)
	if err != nil {
		return Value{}, err
	}
	return parseReply(raw)
}

// mustCall is call that fails the test on any error, error replies included.
func mustCall(t testing.TB, c *Client, args ...string) Value {
	t.Helper()
	v, err := call(c, args...)
	if err != nil {
		shown := args
		if len(shown) > 6 {
			shown = append(shown[:5:5], fmt.Sprintf("...(%d arguments in all)", len(args)))
		}
		t.Fatalf("%s: %v", argsText(bs(shown...)), err)
	}
	return v
}

// mgetChunked returns the values of keys (nil for a missing key), asking
// with MGET in chunks so that a large key set costs few round trips.
func mgetChunked(t testing.TB, c *Client, keys []string) [][]byte {
	t.Helper()
	const chunk = 500
	out := make([][]byte, 0, len(keys))
	for i := 0; i < len(keys); i += chunk {
		part := keys[i:min(i+chunk, len(keys))]
		v := mustCall(t, c, append([]string{"MGET"}, part...)...)
		if v.Kind != '*' || len(v.Elems) != len(part) {
			t.Fatalf("MGET of %d keys: %s", len(part), quoteReply(v.Raw))
		}
		for _, e := range v.Elems {
			if e.Kind == '$' && string(e.Line) != "-1" {
				out = append(out, append([]byte(nil), e.Str...))
			} else {
				out = append(out, nil)
			}
		}
	}
	return out
}

// manifestEntry is one "file NAME seq N type T" line of a Redis 7 AOF
// manifest.
type manifestEntry struct {
	name string
	seq  int
	typ  string // "b" base, "h" history, "i" incr
}

// readManifest parses dir/appendonlydir/appendonly.aof.manifest (or the
// given manifest path).
func readManifest(t testing.TB, path string) []manifestEntry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	defer f.Close()
	var out []manifestEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		var e manifestEntry
		for i := 0; i+1 < len(fields); i += 2 {
			switch fields[i] {
			case "file":
				e.name = fields[i+1]
			case "seq":
				e.seq, _ = strconv.Atoi(fields[i+1])
			case "type":
				e.typ = fields[i+1]
			}
		}
		if e.name == "" || e.typ == "" {
			t.Fatalf("manifest %s: bad line %q", path, sc.Text())
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// lastIncrFile returns the path of the incr file with the highest sequence
// number named in the manifest of the AOF directory aofDir.
func lastIncrFile(t testing.TB, aofDir string) string {
	t.Helper()
	entries := readManifest(t, filepath.Join(aofDir, "appendonly.aof.manifest"))
	var incr []manifestEntry
	for _, e := range entries {
		if e.typ == "i" {
			incr = append(incr, e)
		}
	}
	if len(incr) == 0 {
		t.Fatalf("manifest in %s names no incr file: %+v", aofDir, entries)
	}
	sort.Slice(incr, func(a, b int) bool { return incr[a].seq < incr[b].seq })
	return filepath.Join(aofDir, incr[len(incr)-1].name)
}

// keyInfo is what a dataset dump holds for one key.
type keyInfo struct {
	typ  string
	val  string // strings only
	pttl int64
}

// dumpDataset reads every key of databases 0-15 with KEYS, TYPE, GET and
// PTTL: small datasets only. Databases that do not exist (a cluster-mode
// server) end the walk.
func dumpDataset(t testing.TB, c *Client) map[int]map[string]keyInfo {
	t.Helper()
	out := map[int]map[string]keyInfo{}
	for db := 0; db < 16; db++ {
		if _, err := call(c, "SELECT", strconv.Itoa(db)); err != nil {
			break
		}
		keys := mustCall(t, c, "KEYS", "*")
		for _, k := range keys.Elems {
			key := string(k.Str)
			typ := mustCall(t, c, "TYPE", key)
			ki := keyInfo{typ: string(typ.Line)}
			if ki.typ == "none" {
				continue // expired between KEYS and TYPE
			}
			ki.val = valueText(t, c, ki.typ, key)
			ki.pttl, _ = mustCall(t, c, "PTTL", key).Int()
			if out[db] == nil {
				out[db] = map[string]keyInfo{}
			}
			out[db][key] = ki
		}
	}
	mustCall(t, c, "SELECT", "0")
	return out
}

// valueText renders a key's value so that equal values render alike:
// strings as they are, lists in order, sets and hashes sorted, sorted sets
// in rank order with scores.
func valueText(t testing.TB, c *Client, typ, key string) string {
	t.Helper()
	var v Value
	switch typ {
	case "string":
		return string(mustCall(t, c, "GET", key).Str)
	case "list":
		v = mustCall(t, c, "LRANGE", key, "0", "-1")
	case "set":
		v = mustCall(t, c, "SMEMBERS", key)
	case "hash":
		v = mustCall(t, c, "HGETALL", key)
	case "zset":
		v = mustCall(t, c, "ZRANGE", key, "0", "-1", "WITHSCORES")
	default:
		return "?" + typ
	}
	var parts []string
	if typ == "hash" {
		for i := 0; i+1 < len(v.Elems); i += 2 {
			parts = append(parts, strconv.Quote(string(v.Elems[i].Str))+"="+strconv.Quote(string(v.Elems[i+1].Str)))
		}
	} else {
		for _, e := range v.Elems {
			parts = append(parts, strconv.Quote(string(e.Str)))
		}
	}
	if typ == "set" || typ == "hash" {
		slices.Sort(parts)
	}
	return typ + "[" + strings.Join(parts, " ") + "]"
}

// compareDatasets reports every difference between two dumps. TTLs are
// compared within tol, since time passes between the dumps; "no TTL" (-1)
// must match exactly.
func compareDatasets(t testing.TB, wantName string, want map[int]map[string]keyInfo, gotName string, got map[int]map[string]keyInfo, tol time.Duration) {
	t.Helper()
	n := 0
	report := func(format string, args ...any) {
		t.Helper()
		if n++; n <= 30 {
			t.Errorf(format, args...)
		}
	}
	for db := 0; db < 16; db++ {
		for k, w := range want[db] {
			g, ok := got[db][k]
			switch {
			case !ok:
				report("db %d key %q: %s has it (%s %q), %s does not", db, k, wantName, w.typ, w.val, gotName)
			case g.typ != w.typ || g.val != w.val:
				report("db %d key %q: %s has %s %q, %s has %s %q", db, k, wantName, w.typ, w.val, gotName, g.typ, g.val)
			case (w.pttl < 0) != (g.pttl < 0) || w.pttl >= 0 && absDuration(time.Duration(w.pttl-g.pttl)*time.Millisecond) > tol:
				report("db %d key %q: PTTL %d on %s, %d on %s", db, k, w.pttl, wantName, g.pttl, gotName)
			}
		}
		for k, g := range got[db] {
			if _, ok := want[db][k]; !ok {
				report("db %d key %q: %s has it (%s %q), %s does not", db, k, gotName, g.typ, g.val, wantName)
			}
		}
	}
	if n > 30 {
		t.Errorf("... and %d more differences", n-30)
	}
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// datasetSummary says how many keys each database of a dump holds.
func datasetSummary(d map[int]map[string]keyInfo) string {
	var parts []string
	for db := 0; db < 16; db++ {
		if len(d[db]) > 0 {
			parts = append(parts, fmt.Sprintf("db%d: %d keys", db, len(d[db])))
		}
	}
	if len(parts) == 0 {
		return "no keys"
	}
	return strings.Join(parts, ", ")
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
