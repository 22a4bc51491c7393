// Package e2e holds cross-package end-to-end tests that drive real processes
// over real sockets: the differential suite starts a redis-server 7.0 (the
// oracle) and a Basalt binary, sends both the same commands and compares the
// raw reply bytes. The non-test files are small helpers for those tests: a
// raw RESP client, the script parser and the list of deliberate differences.
package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"
)

// Client is a raw RESP client: it writes commands as multibulk requests and
// reads replies back as the exact bytes the server sent, so two servers can
// be compared byte for byte. It is owned by one goroutine.
type Client struct {
	conn    net.Conn
	r       *bufio.Reader
	Timeout time.Duration // deadline for each whole reply; a hung server fails fast
}

// maxReplyDepth bounds nesting so a garbage stream cannot recurse forever.
const maxReplyDepth = 64

// Dial connects to addr and returns a client whose reads time out after
// timeout.
func Dial(addr string, timeout time.Duration) (*Client, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	return &Client{conn: conn, r: bufio.NewReaderSize(conn, 64<<10), Timeout: timeout}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// AppendCommand appends args encoded as a RESP multibulk request to dst.
func AppendCommand(dst []byte, args [][]byte) []byte {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(len(args)), 10)
	dst = append(dst, '\r', '\n')
	for _, a := range args {
		dst = append(dst, '$')
		dst = strconv.AppendInt(dst, int64(len(a)), 10)
		dst = append(dst, '\r', '\n')
		dst = append(dst, a...)
		dst = append(dst, '\r', '\n')
	}
	return dst
}

// Send writes one command without reading its reply (CLIENT REPLY OFF/SKIP
// produce none).
func (c *Client) Send(args [][]byte) error {
	return c.WriteRaw(AppendCommand(nil, args))
}

// Do sends one command and returns its complete raw reply.
func (c *Client) Do(args [][]byte) ([]byte, error) {
	if err := c.Send(args); err != nil {
		return nil, err
	}
	return c.ReadReply()
}

// DoStrings is Do for string arguments.
func (c *Client) DoStrings(args ...string) ([]byte, error) {
	b := make([][]byte, len(args))
	for i, a := range args {
		b[i] = []byte(a)
	}
	return c.Do(b)
}

// WriteRaw writes b as is (malformed requests, inline commands).
func (c *Client) WriteRaw(b []byte) error {
	if err := c.conn.SetWriteDeadline(time.Now().Add(c.Timeout)); err != nil {
		return err
	}
	_, err := c.conn.Write(b)
	return err
}

// ReadReply reads exactly one RESP2/RESP3 reply (an attribute and the reply
// it annotates count as one) and returns its raw bytes. io.EOF means the
// server closed the connection before the reply started.
func (c *Client) ReadReply() ([]byte, error) {
	if err := c.conn.SetReadDeadline(time.Now().Add(c.Timeout)); err != nil {
		return nil, err
	}
	return readReply(c.r, nil, 0)
}

// ReadUntilClose reads everything the server sends until it closes the
// connection or stays silent for idle. closed reports whether the server
// closed (EOF or reset); false means it was still open after idle.
func (c *Client) ReadUntilClose(idle time.Duration) (data []byte, closed bool, err error) {
	buf := make([]byte, 32<<10)
	overall := time.Now().Add(c.Timeout)
	for {
		dl := time.Now().Add(idle)
		if dl.After(overall) {
			dl = overall
		}
		if err := c.conn.SetReadDeadline(dl); err != nil {
			return data, false, err
		}
		n, rerr := c.r.Read(buf)
		data = append(data, buf[:n]...)
		switch {
		case rerr == nil:
			continue
		case errors.Is(rerr, io.EOF), errors.Is(rerr, syscall.ECONNRESET):
			return data, true, nil
		case errors.Is(rerr, os.ErrDeadlineExceeded):
			if time.Now().Before(overall) {
				return data, false, nil
			}
			return data, false, fmt.Errorf("server kept sending for %v", c.Timeout)
		default:
			return data, false, rerr
		}
	}
}

// readReply appends one reply read from r to dst.
func readReply(r *bufio.Reader, dst []byte, depth int) ([]byte, error) {
	if depth > maxReplyDepth {
		return dst, errors.New("reply nested too deeply")
	}
	start := len(dst)
	dst, err := readLine(r, dst)
	if err != nil {
		if len(dst) == start && errors.Is(err, io.EOF) {
			return dst, io.EOF
		}
		return dst, err
	}
	line := dst[start : len(dst)-2]
	if len(line) == 0 {
		return dst, fmt.Errorf("empty reply line")
	}
	switch line[0] {
	case '+', '-', ':', '_', ',', '#', '(':
		return dst, nil
	case '$', '!', '=':
		n, err := strconv.ParseInt(string(line[1:]), 10, 64)
		if err != nil || n < -1 {
			return dst, fmt.Errorf("bad bulk length %q", line)
		}
		if n == -1 {
			return dst, nil
		}
		old := len(dst)
		dst = append(dst, make([]byte, n+2)...)
		if _, err := io.ReadFull(r, dst[old:]); err != nil {
			return dst, fmt.Errorf("short bulk: %w", err)
		}
		if dst[len(dst)-2] != '\r' || dst[len(dst)-1] != '\n' {
			return dst, fmt.Errorf("bulk not terminated by CRLF")
		}
		return dst, nil
	case '*', '~', '>', '%', '|':
		n, err := strconv.ParseInt(string(line[1:]), 10, 64)
		if err != nil || n < -1 {
			return dst, fmt.Errorf("bad aggregate length %q", line)
		}
		kind := line[0]
		if kind == '%' || kind == '|' {
			n *= 2
		}
		for i := int64(0); i < n; i++ {
			if dst, err = readReply(r, dst, depth+1); err != nil {
				return dst, err
			}
		}
		if kind == '|' {
			// An attribute annotates the reply that follows it.
			return readReply(r, dst, depth+1)
		}
		return dst, nil
	}
	return dst, fmt.Errorf("unknown reply type %q", line)
}

// readLine appends one CRLF-terminated line (CRLF included) to dst.
func readLine(r *bufio.Reader, dst []byte) ([]byte, error) {
	for {
		chunk, err := r.ReadSlice('\n')
		dst = append(dst, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return dst, err
		}
		if len(dst) < 2 || dst[len(dst)-2] != '\r' {
			return dst, fmt.Errorf("line not terminated by CRLF: %q", dst)
		}
		return dst, nil
	}
}
