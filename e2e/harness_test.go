package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	defaultRedisServer = "/usr/bin/redis-server"
	replyTimeout       = 10 * time.Second // a hung server fails the test after this
	startTimeout       = 15 * time.Second
	rawIdle            = 500 * time.Millisecond // "server keeps the connection open" after this much silence
)

// suite is what TestMain prepares once for all tests: written before m.Run
// and only read afterwards.
var suite struct {
	target    string // "basalt" (default) or "redis" (self-test: both sides are redis-server)
	redis     string // the oracle binary: BASALT_E2E_REDIS or /usr/bin/redis-server
	basaltBin string
	buildErr  error
}

func TestMain(m *testing.M) {
	suite.target = os.Getenv("BASALT_E2E_TARGET")
	if suite.target == "" {
		suite.target = "basalt"
	}
	suite.redis = os.Getenv("BASALT_E2E_REDIS")
	if suite.redis == "" {
		suite.redis = defaultRedisServer
	}
	var tmp string
	if suite.target == "basalt" {
		if bin := os.Getenv("BASALT_E2E_BIN"); bin != "" {
			suite.basaltBin = bin
		} else {
			var err error
			tmp, err = os.MkdirTemp("", "basalt-e2e-bin")
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			suite.basaltBin, suite.buildErr = buildBasalt(tmp)
		}
	}
	code := m.Run()
	if tmp != "" {
		os.RemoveAll(tmp)
	}
	os.Exit(code)
}

// buildBasalt builds ./cmd/basalt from the module root into dir.
func buildBasalt(dir string) (string, error) {
	bin := filepath.Join(dir, "basalt")
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("go tool not found: %w", err)
	}
	cmd := exec.Command(goBin, "build", "-o", bin, "./cmd/basalt")
	cmd.Dir = ".." // tests run in e2e/; the module root is its parent
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/basalt: %v\n%s", err, out)
	}
	return bin, nil
}

// requireRedis skips when redis-server is missing on a developer machine and
// fails in CI, where it is always installed.
func requireRedis(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(suite.redis); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s missing in CI: %v", suite.redis, err)
		}
		t.Skipf("%s not installed (with CI set this is a failure)", suite.redis)
	}
}

// server is one child process the test started; t.Cleanup kills it.
type server struct {
	name string
	addr string
	cmd  *exec.Cmd
	out  *tailBuffer
	done chan struct{} // closed when the process has exited
}

// tailBuffer keeps the last bytes a server wrote, for failure messages.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - 8192; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// freePort asks the kernel for a free port. Another process may take it
// before the server binds; startServer retries on that.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startServer starts a redis-server ("redis") or Basalt ("basalt") on a free
// port and waits until it answers PING. extra are more command-line flags
// ("--maxclients", "5"), appended after the harness's own so they win.
func startServer(t testing.TB, kind, name string, extra ...string) *server {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		s, err := tryStart(t, kind, name, extra...)
		if err == nil {
			return s
		}
		lastErr = err
	}
	t.Fatalf("starting %s: %v", name, lastErr)
	return nil
}

func tryStart(t testing.TB, kind, name string, extra ...string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := t.TempDir()
	p := strconv.Itoa(port)
	var cmd *exec.Cmd
	switch kind {
	case "redis":
		cmd = exec.Command(suite.redis, "--port", p, "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--enable-debug-command", "yes",
			"--dir", dir, "--daemonize", "no")
	case "basalt":
		cmd = exec.Command(suite.basaltBin, "--port", p, "--bind", "127.0.0.1",
			"--loops", "2", "--enable-debug-command", "yes", "--dir", dir)
	default:
		return nil, fmt.Errorf("unknown server kind %q", kind)
	}
	cmd.Args = append(cmd.Args, extra...)
	s := &server{name: name, addr: net.JoinHostPort("127.0.0.1", p), cmd: cmd,
		out: &tailBuffer{}, done: make(chan struct{})}
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = s.out, s.out
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { cmd.Wait(); close(s.done) }()
	stop := func() {
		cmd.Process.Kill() // by the PID we started, nothing else
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
		}
	}
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-s.done:
			return nil, fmt.Errorf("%s exited during start-up: %v\n%s", name, cmd.ProcessState, s.out)
		default:
		}
		if c, err := Dial(s.addr, time.Second); err == nil {
			reply, err := c.DoStrings("PING")
			c.Close()
			// A server started with requirepass answers NOAUTH: it is up.
			if err == nil && (string(reply) == "+PONG\r\n" || strings.HasPrefix(string(reply), "-NOAUTH ")) {
				break
			}
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("%s did not answer PING within %v\n%s", name, startTimeout, s.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() {
		select {
		case <-s.done:
			// It died under the test: its last words explain the failure.
			t.Errorf("%s (%s) exited during the test: %v\n%s", name, s.addr, cmd.ProcessState, s.out)
		default:
		}
		stop()
	})
	return s, nil
}

// pair is the oracle and the server under test.
type pair struct {
	ref, tgt *server
}

// startPair starts redis-server as the reference and the target (Basalt, or
// a second redis-server in self-test mode).
func startPair(t testing.TB) pair {
	t.Helper()
	return startPairArgs(t)
}

// startPairArgs is startPair with extra command-line flags given to both
// servers alike ("--requirepass", "pw"): the flags must mean the same to
// redis-server and Basalt.
func startPairArgs(t testing.TB, extra ...string) pair {
	t.Helper()
	requireRedis(t)
	if suite.target == "basalt" && suite.buildErr != nil {
		t.Fatalf("cannot test Basalt: %v", suite.buildErr)
	}
	if suite.target != "basalt" && suite.target != "redis" {
		t.Fatalf("BASALT_E2E_TARGET=%q: want basalt or redis", suite.target)
	}
	ref := startServer(t, "redis", "redis", extra...)
	tgt := startServer(t, suite.target, suite.target, extra...)
	if suite.target == "redis" {
		tgt.name = "redis2"
	}
	return pair{ref: ref, tgt: tgt}
}

// conns is one connection to each side of a pair.
type conns struct {
	p        pair
	ref, tgt *Client
}

func (p pair) dial(t testing.TB) *conns {
	t.Helper()
	c := &conns{p: p}
	c.reconnect(t)
	t.Cleanup(c.close)
	return c
}

func (c *conns) close() {
	if c.ref != nil {
		c.ref.Close()
	}
	if c.tgt != nil {
		c.tgt.Close()
	}
}

func (c *conns) reconnect(t testing.TB) {
	t.Helper()
	c.close()
	var err error
	if c.ref, err = Dial(c.p.ref.addr, replyTimeout); err != nil {
		t.Fatalf("dial %s: %v", c.p.ref.name, err)
	}
	if c.tgt, err = Dial(c.p.tgt.addr, replyTimeout); err != nil {
		t.Fatalf("dial %s: %v", c.p.tgt.name, err)
	}
}

// flushAll empties both servers; every case starts from here.
func (c *conns) flushAll(t testing.TB) {
	t.Helper()
	for _, cl := range []*Client{c.ref, c.tgt} {
		r, err := cl.DoStrings("FLUSHALL")
		if err != nil || string(r) != "+OK\r\n" {
			t.Fatalf("FLUSHALL: %q %v", r, err)
		}
	}
}

// outcome is what one server did with one command.
type outcome struct {
	reply []byte
	err   error
}

func (o outcome) String() string {
	if o.err != nil {
		if errors.Is(o.err, io.EOF) {
			return "<connection closed>"
		}
		return "<" + o.err.Error() + ">"
	}
	return quoteReply(o.reply)
}

// quoteReply renders a reply readably, shortened when large.
func quoteReply(b []byte) string {
	const max = 400
	if len(b) <= max {
		return strconv.Quote(string(b))
	}
	return fmt.Sprintf("%s...(%d bytes in all)", strconv.Quote(string(b[:max])), len(b))
}

// do runs one command on both servers and says whether they agree under
// cmp. explicit says cmp came from a script directive; otherwise the list
// of deliberate differences decides.
func (c *conns) do(args [][]byte, cmp Compare, explicit bool) (ref, tgt outcome, ok bool, note string) {
	if !explicit {
		if d, found := lookupDifference(args); found {
			cmp = d.Cmp
			note = "deliberate difference: " + d.Reason
		}
	}
	switch cmp.Mode {
	case CmpNoReply:
		ref.err = c.ref.Send(args)
		tgt.err = c.tgt.Send(args)
		return ref, tgt, ref.err == nil && tgt.err == nil, note
	case CmpScan:
		ref.reply, ref.err = scanAll(c.ref, args)
		tgt.reply, tgt.err = scanAll(c.tgt, args)
	default:
		ref.reply, ref.err = c.ref.Do(args)
		tgt.reply, tgt.err = c.tgt.Do(args)
	}
	if ref.err != nil || tgt.err != nil {
		// Both closing the connection is agreement (QUIT, fatal errors);
		// a timeout or framing error is always a failure.
		bothEOF := errors.Is(ref.err, io.EOF) && errors.Is(tgt.err, io.EOF)
		return ref, tgt, bothEOF, note
	}
	return ref, tgt, sameReply(cmp, ref.reply, tgt.reply), note
}

// sameReply compares two raw replies under cmp.
func sameReply(cmp Compare, a, b []byte) bool {
	if bytes.Equal(a, b) || cmp.Mode == CmpUnsupported {
		return true
	}
	// Error replies are deterministic text: always compared exactly.
	if len(a) == 0 || len(b) == 0 || a[0] == '-' || b[0] == '-' || a[0] == '!' || b[0] == '!' {
		return false
	}
	switch cmp.Mode {
	case CmpSkip:
		return true
	case CmpTypeOnly:
		return a[0] == b[0]
	}
	va, errA := ParseValue(a)
	vb, errB := ParseValue(b)
	if errA != nil || errB != nil {
		return false
	}
	switch cmp.Mode {
	case CmpUnordered, CmpScan:
		return bytes.Equal(va.Canonical(false), vb.Canonical(false))
	case CmpApprox:
		x, okA := va.Int()
		y, okB := vb.Int()
		if !okA || !okB || x < 0 || y < 0 {
			return false // -1/-2 (no ttl / no key) must match exactly
		}
		d := x - y
		if d < 0 {
			d = -d
		}
		return d <= cmp.Tolerance
	case CmpCommandMeta:
		return bytes.Equal(va.NormalizeCommandMeta(), vb.NormalizeCommandMeta())
	case CmpZeroFields:
		return bytes.Equal(va.ZeroFields(cmp.Fields...), vb.ZeroFields(cmp.Fields...))
	}
	return false
}

// scanAll runs a SCAN-family command from cursor 0 to the end and returns
// one array reply holding every element seen (deduplicated, since SCAN may
// return an element twice). A first reply that is not a scan page (an
// error) is returned as is.
func scanAll(c *Client, args [][]byte) ([]byte, error) {
	cur := 1
	if !bytes.EqualFold(args[0], []byte("SCAN")) {
		cur = 2 // SSCAN/HSCAN/ZSCAN key cursor
	}
	if len(args) <= cur {
		return c.Do(args)
	}
	a := append([][]byte(nil), args...)
	seen := map[string]bool{}
	var elems [][]byte
	for i := 0; ; i++ {
		raw, err := c.Do(a)
		if err != nil {
			return raw, err
		}
		v, err := ParseValue(raw)
		if err != nil {
			return raw, err
		}
		if (v.Kind != '*') || len(v.Elems) != 2 || v.Elems[1].Kind != '*' {
			if i == 0 {
				return raw, nil
			}
			return raw, fmt.Errorf("bad scan page %q", raw)
		}
		for _, e := range v.Elems[1].Elems {
			if !seen[string(e.Raw)] {
				seen[string(e.Raw)] = true
				elems = append(elems, e.Raw)
			}
		}
		next := v.Elems[0].Str
		if string(next) == "0" {
			break
		}
		if i > 100000 {
			return nil, errors.New("scan did not finish in 100000 calls")
		}
		a[cur] = append([]byte(nil), next...)
	}
	out := []byte("*" + strconv.Itoa(len(elems)) + "\r\n")
	for _, e := range elems {
		out = append(out, e...)
	}
	return out, nil
}

// rawExchange sends raw bytes and collects what comes back until the server
// closes or goes quiet.
func rawExchange(c *Client, raw []byte) string {
	if err := c.WriteRaw(raw); err != nil {
		return "<write: " + err.Error() + ">"
	}
	data, closed, err := c.ReadUntilClose(rawIdle)
	s := strconv.Quote(string(data))
	if closed {
		s += " then closed"
	} else {
		s += " and still open"
	}
	if err != nil {
		s += " <" + err.Error() + ">"
	}
	return s
}

// argsText renders a command for messages.
func argsText(args [][]byte) string {
	var sb strings.Builder
	for i, a := range args {
		if i > 0 {
			sb.WriteByte(' ')
		}
		if len(a) > 64 {
			fmt.Fprintf(&sb, "%s...(%d bytes)", strconv.Quote(string(a[:64])), len(a))
		} else {
			sb.WriteString(strconv.Quote(string(a)))
		}
	}
	return sb.String()
}

// firstDifference locates where two large replies start to differ, since
// the quoted replies are cut short.
func firstDifference(a, b outcome) string {
	if a.err != nil || b.err != nil || len(a.reply) <= 400 && len(b.reply) <= 400 {
		return ""
	}
	i := 0
	for i < len(a.reply) && i < len(b.reply) && a.reply[i] == b.reply[i] {
		i++
	}
	from := max(i-40, 0)
	return fmt.Sprintf("\n  first difference at byte %d:\n    %s\n    %s", i,
		strconv.Quote(string(a.reply[from:min(i+80, len(a.reply))])),
		strconv.Quote(string(b.reply[from:min(i+80, len(b.reply))])))
}
