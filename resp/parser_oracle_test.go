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
			want = []byte("-ERR wrong number of arguments for 'rpush' command\r\n*0\r\n:0\r\n")
		default:
			want = append(want, ':')
			want = strconv.AppendInt(want, int64(len(args)-2), 10)
			want = append(want, "\r\n"...)
			want = encodeMultibulk(want, toStrings(args[2:])) // same shape as an array of bulks
			want = append(want, ":1\r\n"...)
		}
		full := append(req, "*4\r\n$6\r\nLRANGE\r\n$"+strconv.Itoa(len(key))+"\r\n"+key+"\r\n$1\r\n0\r\n$2\r\n-1\r\n"...)
		full = append(full, "*2\r\n$3\r\nDEL\r\n$"+strconv.Itoa(len(key))+"\r\n"+key+"\r\n"...)
		if err != nil {
			// Send only the bad request: unread bytes at close would make
			// the kernel reset the connection and drop the error reply.
			full = req
		}
		if _, werr := c.Write(full); werr != nil {
			t.Fatal(werr)
		}
		var got []byte
		if err != nil {
			got = readAll(c, 2*time.Second) // Redis closes after the reply
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

// TestOracleMultibulk sends ECHO requests whose *N / $N lines are replaced
// by tricky tokens and checks that Redis fails with the same error, or
// keeps the connection usable when the parser sees no error.
func TestOracleMultibulk(t *testing.T) {
	addr := os.Getenv("RESP_ORACLE_ADDR")
	if addr == "" {
		t.Skip("RESP_ORACLE_ADDR not set")
	}
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	toks := []string{"*", "$", "2", "1", "4", "0", "-", "+", " ", "\r", "\n", "\x00", "x", "01", "-1", "99999999999999999999"}
	compared, failed := 0, 0
	defer func() { t.Logf("compared %d inputs (%d protocol errors)", compared, failed) }()
	for i := 0; i < 300; i++ {
		parts := []string{"*2", "\r\n", "$4", "\r\n", "ECHO", "\r\n", "$2", "\r\n", "hi", "\r\n"}
		for k := rng.Intn(3) + 1; k > 0; k-- {
			j := rng.Intn(len(parts))
			var s string
			for n := rng.Intn(3) + 1; n > 0; n-- {
				s += toks[rng.Intn(len(toks))]
			}
			parts[j] = s
		}
		var in []byte
		for _, s := range parts {
			in = append(in, s...)
		}
		r := parseWhole(t, in, nil)
		if r.err == "" && r.rest != 0 {
			continue // Redis is waiting for more: nothing to compare cheaply
		}
		compared++
		if r.err != "" {
			failed++
		}
		c := oracleDial(t, addr)
		if r.err == "" {
			in = append(in, "*1\r\n$4\r\nPING\r\n"...)
		}
		c.Write(in)
		var got []byte
		if r.err != "" {
			got = readAll(c, 2*time.Second)
		} else {
			got = readAll(c, 100*time.Millisecond)
		}
		c.Close()
		want := "-ERR " + r.err + "\r\n"
		if r.err == "" {
			want = "+PONG\r\n"
		}
		if !bytes.HasSuffix(got, []byte(want)) {
			t.Fatalf("input %q: redis %q, parser %v", in, got, r)
		}
	}
}
