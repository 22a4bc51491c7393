package resp

import (
	"bytes"
	"io"
	"math/rand"
	"net"
	"os"
	"strconv"
	"testing"
	"time"
)

// Differential tests against a real redis-server 7.0, run only when
// RESP_ORACLE_ADDR names one (host:port, no password), and for the
// unauthenticated limits RESP_ORACLE_AUTH_ADDR names one started with
// --requirepass. Example:
//
//	redis-server --port 23471 --save '' --appendonly no &
//	RESP_ORACLE_ADDR=127.0.0.1:23471 go test -run Oracle ./resp/

func oracleDial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	return c
}

// readAll reads until the server closes the connection or goes quiet.
func readAll(c net.Conn, quiet time.Duration) []byte {
	var out []byte
	buf := make([]byte, 4096)
	for {
		c.SetReadDeadline(time.Now().Add(quiet))
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out
		}
	}
}

func TestOracleErrors(t *testing.T) {
	addr := os.Getenv("RESP_ORACLE_ADDR")
	authAddr := os.Getenv("RESP_ORACLE_AUTH_ADDR")
	if addr == "" {
		t.Skip("RESP_ORACLE_ADDR not set")
	}
	for _, tc := range errorCases {
		a := addr
		switch {
		case tc.lim == auth:
			if authAddr == "" {
				continue
			}
			a = authAddr
		case tc.lim != nil:
			continue // custom limits: not the server's configuration
		}
		c := oracleDial(t, a)
		if _, err := c.Write([]byte(tc.in)); err != nil {
			t.Fatal(err)
		}
		got := readAll(c, 500*time.Millisecond)
		c.Close()
		want := "-ERR " + tc.err + "\r\n"
		if !bytes.HasSuffix(got, []byte(want)) {
			t.Errorf("%s: redis replied %q, want suffix %q", tc.name, got, want)
		}
	}
}

// TestOracleInline compares inline splitting with Redis's sdssplitargs on
// random lines: "RPUSH key <line>" then LRANGE shows the args Redis saw.
func TestOracleInline(t *testing.T) {
	addr := os.Getenv("RESP_ORACLE_ADDR")
	if addr == "" {
		t.Skip("RESP_ORACLE_ADDR not set")
	}
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	alpha := []string{"a", "b", " ", "\t", "\v", "\f", "\r", "\"", "'", "\\", "x", "4", "F", "g", "n", "\xff", "0", "\\x4", "\\'", "\\\""}
	prefix := "resp:oracle:" + strconv.FormatInt(rng.Int63(), 36) + ":"
	c := oracleDial(t, addr)
	defer func() { c.Close() }()
	var p Parser
	for i := 0; i < 3000; i++ {
		var line []byte
		for n := rng.Intn(10); n > 0; n-- {
			line = append(line, alpha[rng.Intn(len(alpha))]...)
		}
		key := prefix + strconv.Itoa(i)
		req := append([]byte("RPUSH "+key+" "), line...)
		req = append(req, "\r\n"...)
		p.Reset()
		args, _, err := p.Parse(req, nil)
		var want []byte
		switch {
		case err != nil:
			want = []byte("-ERR " + err.Error() + "\r\n")
		case len(args) < 3:
			want = []byte("-ERR wrong number of arguments for 'rpush' command\r\n")
		default:
			want = append(want, ':')
			want = strconv.AppendInt(want, int64(len(args)-2), 10)
			want = append(want, "\r\n"...)
			want = encodeMultibulk(want, toStrings(args[2:])) // same shape as an array of bulks
			want = append(want, ":1\r\n"...)
		}
		full := append(req, "*4\r\n$6\r\nLRANGE\r\n$"+strconv.Itoa(len(key))+"\r\n"+key+"\r\n$1\r\n0\r\n$2\r\n-1\r\n"...)
		full = append(full, "*2\r\n$3\r\nDEL\r\n$"+strconv.Itoa(len(key))+"\r\n"+key+"\r\n"...)
		if _, werr := c.Write(full); werr != nil {
			t.Fatal(werr)
		}
		var got []byte
		if err != nil || len(args) < 3 {
			// Only the first reply is certain; reconnect afterwards.
			got = readAll(c, 300*time.Millisecond)
			got = got[:min(len(got), len(want))]
			c.Close()
			c = oracleDial(t, addr)
		} else {
			got = make([]byte, len(want))
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, rerr := io.ReadFull(c, got); rerr != nil {
				t.Fatalf("line %q: read: %v (got %q)", line, rerr, got)
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("line %q: redis %q, parser %q", line, got, want)
		}
	}
}
