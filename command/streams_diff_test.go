package command

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A differential test against redis-server 7.0 (skipped without one):
// each line of streamScript runs on a fresh redis-server and on the
// handlers directly; raw replies must be equal. Lines starting with "~"
// compare the reply's shape only (idle times, seen times).

type oracle struct {
	cmd  *exec.Cmd
	conn net.Conn
	r    *bufio.Reader
}

func startOracle(t *testing.T) *oracle {
	bin := "/usr/bin/redis-server"
	if _, err := os.Stat(bin); err != nil {
		t.Skip("no redis-server")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var conn net.Conn
	for i := 0; i < 100; i++ {
		if conn, err = net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if conn == nil {
		t.Fatal(err)
	}
	return &oracle{cmd: cmd, conn: conn, r: bufio.NewReader(conn)}
}

func (o *oracle) do(t *testing.T, args [][]byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := o.conn.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := readReply(o.r, &out); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func readReply(r *bufio.Reader, out *strings.Builder) error {
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	out.WriteString(line)
	body := strings.TrimSuffix(line[1:], "\r\n")
	switch line[0] {
	case '$', '=', '!':
		n, _ := strconv.Atoi(body)
		if n < 0 {
			return nil
		}
		buf := make([]byte, n+2)
		if _, err := streamReadFull(r, buf); err != nil {
			return err
		}
		out.Write(buf)
	case '*', '~', '>', '%':
		n, _ := strconv.Atoi(body)
		if line[0] == '%' {
			n *= 2
		}
		for i := 0; i < n; i++ {
			if err := readReply(r, out); err != nil {
				return err
			}
		}
	}
	return nil
}

func streamReadFull(r *bufio.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// splitArgs splits a script line as redis-cli does (double quotes with
// \x escapes).
func splitArgs(s string) [][]byte {
	var out [][]byte
	for i := 0; i < len(s); {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i >= len(s) {
			break
		}
		var cur []byte
		if s[i] == '"' {
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' && i+1 < len(s) {
					switch s[i+1] {
					case 'x':
						v, _ := strconv.ParseUint(s[i+2:i+4], 16, 8)
						cur = append(cur, byte(v))
						i += 4
						continue
					case 'r':
						cur = append(cur, '\r')
					case 'n':
						cur = append(cur, '\n')
					default:
						cur = append(cur, s[i+1])
					}
					i += 2
					continue
				}
				cur = append(cur, s[i])
				i++
			}
			i++
		} else {
			for i < len(s) && s[i] != ' ' {
				cur = append(cur, s[i])
				i++
			}
		}
		if cur == nil {
			cur = []byte{}
		}
		out = append(out, cur)
	}
	return out
}

// shape blanks the integers of a reply.
func shape(r string) string {
	var b strings.Builder
	for _, l := range strings.Split(r, "\r\n") {
		if strings.HasPrefix(l, ":") {
			l = ":N"
		}
		b.WriteString(l)
		b.WriteString("|")
	}
	return b.String()
}

func runStreamScript(t *testing.T, script string) {
	o := startOracle(t)
	e := newTestEnv(t, 1)
	for n, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		loose := strings.HasPrefix(line, "~")
		line = strings.TrimPrefix(line, "~")
		args := splitArgs(line)
		if strings.EqualFold(string(args[0]), "hello") {
			p, _ := strconv.Atoi(string(args[1]))
			e.proto = p
		}
		e.now = time.Now().UnixMilli()
		want := o.do(t, args)
		var got string
		if strings.EqualFold(string(args[0]), "hello") || strings.EqualFold(string(args[0]), "flushall") ||
			strings.EqualFold(string(args[0]), "config") {
			if strings.EqualFold(string(args[0]), "flushall") {
				e2 := newTestEnv(t, 1)
				e2.proto, e2.limits = e.proto, e.limits
				e = e2
			}
			if strings.EqualFold(string(args[0]), "config") && len(args) == 4 {
				v, _ := strconv.ParseInt(string(args[3]), 10, 64)
				switch strings.ToLower(string(args[2])) {
				case "stream-node-max-entries":
					e.limits.StreamNodeMaxEntries = v
				case "stream-node-max-bytes":
					e.limits.StreamNodeMaxBytes = v
				}
			}
			continue
		} else {
			got = e.doBytes(args)
		}
		if loose {
			want, got = shape(want), shape(got)
		}
		if want != got {
			t.Fatalf("line %d: %s\n redis:  %q\n basalt: %q", n+1, line, want, got)
		}
	}
}

func TestStreamDiffScript(t *testing.T) {
	runStreamScript(t, streamScript)
}
