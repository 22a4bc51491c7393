package aof

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	redisServer   = "/usr/bin/redis-server"
	redisCheckAOF = "/usr/bin/redis-check-aof"
)

func needBinary(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s not installed", path)
	}
}

// freePort asks the kernel for a port that is free now.
func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// rawConn sends commands and reads single-line or bulk replies.
type rawConn struct {
	c net.Conn
	r *bufio.Reader
}

func (rc *rawConn) do(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := rc.c.Write(resp(args...)); err != nil {
		t.Fatal(err)
	}
	line, err := rc.r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line[0] == '$' && line != "$-1" {
		var n int
		fmt.Sscanf(line[1:], "%d", &n)
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(rc.r, buf); err != nil {
			t.Fatal(err)
		}
		return string(buf[:n])
	}
	return line
}

// startRedis runs redis-server 7.0 on the AOF directory dir/appendonlydir
// and returns a connection once it has loaded.
func startRedis(t *testing.T, dir string) (*rawConn, func()) {
	t.Helper()
	port := freePort(t)
	var logBuf bytes.Buffer
	cmd := exec.Command(redisServer, "--port", fmt.Sprint(port), "--bind", "127.0.0.1",
		"--dir", dir, "--appendonly", "yes", "--appenddirname", "appendonlydir",
		"--appendfilename", "appendonly.aof", "--save", "", "--daemonize", "no")
	cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() { // SIGTERM: Redis flushes its AOF and exits
		once.Do(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
			if t.Failed() {
				t.Logf("redis-server log:\n%s", logBuf.String())
			}
		})
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			rc := &rawConn{c, bufio.NewReader(c)}
			t.Cleanup(func() { c.Close() })
			if rc.do(t, "PING") == "+PONG" {
				return rc, stop
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not start: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestInteropRedis writes a log with Basalt, then has redis-check-aof accept
// it and redis-server 7.0 load the same dataset.
func TestInteropRedis(t *testing.T) {
	needBinary(t, redisServer)
	needBinary(t, redisCheckAOF)
	for _, noPreamble := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoRDBPreamble=%v", noPreamble), func(t *testing.T) {
			top := t.TempDir()
			opts := Options{Dir: filepath.Join(top, "appendonlydir"), FileName: "appendonly.aof",
				Fsync: Always, Logf: t.Logf, NoRDBPreamble: noPreamble}
			l, err := Open(opts)
			if err != nil {
				t.Fatal(err)
			}
			l.Append(cat(resp("SELECT", "0"), resp("SET", "a", "1")))
			l.Append(cat(resp("SELECT", "3"), resp("SET", "b", "hello world"), resp("RPUSH", "l", "x", "y")))
			l.Append(cat(resp("MULTI"), resp("SET", "c", "3"), resp("INCR", "c"), resp("EXEC")))
			l.Append(cat(resp("SELECT", "0"), resp("MULTI"), resp("SET", "d", "\r\n\x00bin"), resp("DEL", "a"), resp("EXEC")))
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}

			manifest := filepath.Join(opts.Dir, "appendonly.aof.manifest")
			out, err := exec.Command(redisCheckAOF, manifest).CombinedOutput()
			if err != nil {
				t.Fatalf("redis-check-aof: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "is valid") {
				t.Fatalf("redis-check-aof did not say valid:\n%s", out)
			}

			rc, stopRedis := startRedis(t, top)
			for _, c := range []struct {
				args []string
				want string
			}{
				{[]string{"DBSIZE"}, ":1"},
				{[]string{"GET", "d"}, "\r\n\x00bin"},
				{[]string{"EXISTS", "a"}, ":0"},
				{[]string{"SELECT", "3"}, "+OK"},
				{[]string{"DBSIZE"}, ":3"},
				{[]string{"GET", "b"}, "hello world"},
				{[]string{"GET", "c"}, "4"},
				{[]string{"LLEN", "l"}, ":2"},
			} {
				if got := rc.do(t, c.args...); got != c.want {
					t.Errorf("%v = %q, want %q", c.args, got, c.want)
				}
			}
			// Redis appends to the same incr file: Basalt must load that back.
			rc.do(t, "SET", "fromredis", "1")
			if got := rc.do(t, "SELECT", "0"); got != "+OK" {
				t.Fatal(got)
			}
			rc.do(t, "SET", "fromredis0", "2")
			// Under everysec Redis may postpone its write while a background
			// fsync runs; its shutdown writes and syncs everything.
			stopRedis()
			var c collect
			if _, err := Load(opts, c.apply); err != nil {
				t.Fatal(err)
			}
			last := c.got[len(c.got)-1]
			if last != "SET fromredis0 2" {
				t.Fatalf("last command loaded back = %q; all: %q", last, c.got)
			}
		})
	}
}

// TestInteropRedisWrittenDir: a directory redis-server 7.0 created and wrote
// (transactions included) loads in Basalt, which appends to it, and Redis
// then loads both parts.
func TestInteropRedisWrittenDir(t *testing.T) {
	needBinary(t, redisServer)
	top := t.TempDir()
	rc, stop := startRedis(t, top)
	rc.do(t, "SET", "a", "1")
	rc.do(t, "MULTI")
	rc.do(t, "INCR", "n")
	rc.do(t, "SET", "t", "x y")
	rc.do(t, "EXEC")
	rc.do(t, "SELECT", "5")
	rc.do(t, "SADD", "s", "m1", "m2")
	stop()

	opts := Options{Dir: filepath.Join(top, "appendonlydir"), FileName: "appendonly.aof", Fsync: Always, Logf: t.Logf}
	var c collect
	st, err := Load(opts, c.apply)
	if err != nil {
		t.Fatal(err)
	}
	want := "SELECT 0|SET a 1|INCR n|SET t x y|SELECT 5|SADD s m1 m2"
	if strings.Join(c.got, "|") != want || st.Truncated {
		t.Fatalf("loaded %q, want %q", strings.Join(c.got, "|"), want)
	}
	l, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	if st := l.Stats(); st.BaseSize == 0 || st.CurrentSize <= st.BaseSize {
		t.Fatalf("sizes of Redis's files: %+v", st)
	}
	l.Append(cat(resp("SELECT", "0"), resp("SET", "b", "2")))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(redisCheckAOF); err == nil {
		out, err := exec.Command(redisCheckAOF, filepath.Join(opts.Dir, "appendonly.aof.manifest")).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "is valid") {
			t.Fatalf("redis-check-aof: %v\n%s", err, out)
		}
	}
	rc, _ = startRedis(t, top)
	for _, q := range []struct {
		args []string
		want string
	}{
		{[]string{"GET", "a"}, "1"}, {[]string{"GET", "b"}, "2"}, {[]string{"GET", "n"}, "1"},
		{[]string{"SELECT", "5"}, "+OK"}, {[]string{"SCARD", "s"}, ":2"},
	} {
		if got := rc.do(t, q.args...); got != q.want {
			t.Errorf("%v = %q, want %q", q.args, got, q.want)
		}
	}
}
