package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Server is one redis-server or Basalt process started by this package. Only
// the goroutine that started it may call its methods. Stop kills exactly the
// process this Server started (by its PID), never anything found by name.
type Server struct {
	Name string   // "redis" or "basalt", for messages
	Bin  string   // executable
	Args []string // arguments after Bin
	Port int
	Log  string // file holding the server's stdout and stderr

	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has been reaped
	waitErr error         // valid once exited is closed
}

// FreePort asks the kernel for a free TCP port on 127.0.0.1. The port is
// released before returning, so another process could take it first; the
// server start then fails loudly rather than benchmarking the wrong thing.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// StartServer runs bin with args (which must make it listen on
// 127.0.0.1:port) and waits until it answers PING. Output goes to logPath.
// On any error the process, if started, is stopped again.
func StartServer(ctx context.Context, name, bin string, args []string, port int, logPath string) (*Server, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = serverProcAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("bench: starting %s: %w", name, err)
	}
	s := &Server{Name: name, Bin: bin, Args: args, Port: port, Log: logPath, cmd: cmd, exited: make(chan struct{})}
	go func() {
		// This goroutine only reaps the process; the log file is closed
		// once the child can no longer write to it.
		s.waitErr = cmd.Wait()
		logf.Close()
		close(s.exited)
	}()
	if err := s.waitReady(ctx, 15*time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// PID is the process id this Server started.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// waitReady polls PING until +PONG, the process exits, or the deadline passes.
func (s *Server) waitReady(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	var last error
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("bench: %s exited during start-up (%v); log %s:\n%s", s.Name, s.waitErr, s.Log, tailFile(s.Log, 2000))
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		reply, err := s.Do(ctx, "PING")
		if err == nil && reply == "PONG" {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("PING answered %q", reply)
		}
		last = err
		// A server still loading its data set (Redis answers -LOADING)
		// is alive and making progress: a big data set may take minutes.
		loading := err != nil && strings.Contains(err.Error(), "LOADING")
		if loading && time.Now().After(deadline) && time.Since(deadline) < 20*time.Minute {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: %s on port %d not ready after %v: %v; log %s:\n%s", s.Name, s.Port, within, last, s.Log, tailFile(s.Log, 2000))
		}
		// Polled often: the time until the first PONG is the start-up
		// time the persistence table reports.
		time.Sleep(5 * time.Millisecond)
	}
}

// Alive reports whether the process is still running.
func (s *Server) Alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// Stop sends SIGTERM to the process this Server started, waits up to five
// seconds, then SIGKILLs it. Safe to call more than once.
func (s *Server) Stop() {
	if !s.Alive() {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return
	case <-time.After(5 * time.Second):
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// Do sends one command and returns its reply as text: the status, the
// integer, or the bulk string. An error reply is returned as an error. This
// tiny client serves set-up commands only (PING, FLUSHALL, INFO); the
// measuring is redis-benchmark's. It dials a connection per call; Dial keeps
// one open for polling.
func (s *Server) Do(ctx context.Context, args ...string) (string, error) {
	c, err := s.Dial(ctx)
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.Do(args...)
}

// Conn is one open connection to a Server for set-up and polling commands
// (INFO every few milliseconds). Owned by the goroutine that dialled it.
type Conn struct {
	conn net.Conn
	r    *bufio.Reader
	w    CommandWriter
}

// Dial opens a connection to the server.
func (s *Server) Dial(ctx context.Context) (*Conn, error) {
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := d.DialContext(dctx, "tcp", s.Addr())
	if err != nil {
		return nil, err
	}
	return &Conn{conn: conn, r: bufio.NewReader(conn)}, nil
}

// Do sends one command and reads its reply as Server.Do does, within 30
// seconds.
func (c *Conn) Do(args ...string) (string, error) {
	return c.DoWithin(30*time.Second, args...)
}

// DoWithin is Do with a limit of its own (SAVE of a big data set).
func (c *Conn) DoWithin(limit time.Duration, args ...string) (string, error) {
	_ = c.conn.SetDeadline(time.Now().Add(limit))
	c.w.Reset()
	c.w.Array(len(args))
	for _, a := range args {
		c.w.Bulk(a)
	}
	if _, err := c.conn.Write(c.w.Bytes()); err != nil {
		return "", err
	}
	return readReply(c.r)
}

// Close closes the connection.
func (c *Conn) Close() error { return c.conn.Close() }

// readReply reads one RESP2 reply that is not an array.
func readReply(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("bench: empty reply line")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", errors.New(line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			return "", fmt.Errorf("bench: bad bulk length %q", line)
		}
		if n < 0 {
			return "", nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	default:
		return "", fmt.Errorf("bench: unexpected reply %q", line)
	}
}

// InfoField returns one field of INFO <section>, or "" if absent.
func (s *Server) InfoField(ctx context.Context, section, field string) string {
	info, err := s.Do(ctx, "INFO", section)
	if err != nil {
		return ""
	}
	return infoField(info, field)
}

func infoField(info, field string) string {
	for _, line := range strings.Split(info, "\n") {
		line = strings.TrimRight(line, "\r")
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v
		}
	}
	return ""
}

// tailFile returns at most the last n bytes of a file, for error messages.
func tailFile(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	if len(data) > n {
		data = data[len(data)-n:]
	}
	return string(data)
}
