package bench

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseVmRSS(t *testing.T) {
	status := "Name:\tredis-server\nVmPeak:\t  100 kB\nVmRSS:\t   10864 kB\nRssAnon:\t 1 kB\n"
	if got, err := ParseVmRSS([]byte(status)); err != nil || got != 10864*1024 {
		t.Errorf("ParseVmRSS = %d, %v", got, err)
	}
	for _, bad := range []string{"Name:\tx\n", "VmRSS:\t12 MB\n", "VmRSS:\tx kB\n", "VmRSS:\n"} {
		if _, err := ParseVmRSS([]byte(bad)); err == nil {
			t.Errorf("ParseVmRSS(%q) accepted", bad)
		}
	}
}

func TestProcessRSSSelf(t *testing.T) {
	if _, err := ProcessRSS(1 << 30); err == nil {
		t.Error("RSS of a PID that cannot exist")
	}
	rss, err := ProcessRSS(selfPID())
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	if rss < 1<<20 {
		t.Errorf("own RSS %d bytes, implausibly small", rss)
	}
}

func TestCommandWriter(t *testing.T) {
	var w CommandWriter
	w.Array(3)
	w.Bulk("SET")
	w.BulkInt("key:", 42)
	w.Value(1234567891) // modulo 10^9
	want := "*3\r\n$3\r\nSET\r\n$6\r\nkey:42\r\n$10\r\nv234567891\r\n"
	if got := string(w.Bytes()); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	w.Reset()
	w.Value(7)
	if got := string(w.Bytes()); got != "$10\r\nv000000007\r\n" {
		t.Errorf("Value(7) = %q", got)
	}
}

// parseCommand reads one RESP command the way a server would.
func parseCommand(t *testing.T, r *bufio.Reader) []string {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil || line[0] != '*' {
		t.Fatalf("command header %q: %v", line, err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
	args := make([]string, n)
	for i := range args {
		l, _ := r.ReadString('\n')
		size, err := strconv.Atoi(strings.TrimSpace(l[1:]))
		if err != nil || l[0] != '$' {
			t.Fatalf("bulk header %q", l)
		}
		buf := make([]byte, size+2)
		if _, err := readFull(r, buf); err != nil {
			t.Fatal(err)
		}
		if string(buf[size:]) != "\r\n" {
			t.Fatalf("bulk not terminated: %q", buf)
		}
		args[i] = string(buf[:size])
	}
	return args
}

// TestDatasets checks every dataset's commands are well-formed RESP and
// together write exactly Elements elements, at a scale where the last HSET
// or ZADD of a big key is short.
func TestDatasets(t *testing.T) {
	sets := MemoryDatasets(0.000015) // 15 elements, 2 hashes
	if len(sets) != 4 {
		t.Fatalf("%d datasets", len(sets))
	}
	for _, ds := range sets {
		var w CommandWriter
		for i := 0; i < ds.Commands; i++ {
			ds.Write(&w, i)
		}
		r := bufio.NewReader(strings.NewReader(string(w.Bytes())))
		elems := map[string]bool{}
		for i := 0; i < ds.Commands; i++ {
			args := parseCommand(t, r)
			switch args[0] {
			case "SET":
				if len(args) != 3 || len(args[2]) != 10 {
					t.Fatalf("%s: %q", ds.Name, args)
				}
				elems[args[1]] = true
			case "HSET", "ZADD":
				if len(args) < 4 || len(args)%2 != 0 {
					t.Fatalf("%s: %q", ds.Name, args)
				}
				if ds.Name == "hashes" {
					if len(args) != 22 {
						t.Fatalf("hashes: %d args", len(args))
					}
					elems[args[1]] = true
					continue
				}
				for j := 2; j < len(args); j += 2 {
					member := args[j]
					if args[0] == "ZADD" {
						member = args[j+1]
						if _, err := strconv.Atoi(args[j]); err != nil {
							t.Fatalf("score %q", args[j])
						}
					} else if len(args[j+1]) != 10 {
						t.Fatalf("value %q", args[j+1])
					}
					elems[member] = true
				}
			default:
				t.Fatalf("%s: unexpected %q", ds.Name, args)
			}
		}
		if _, err := r.ReadByte(); err == nil {
			t.Errorf("%s: bytes left after %d commands", ds.Name, ds.Commands)
		}
		if len(elems) != ds.Elements {
			t.Errorf("%s: %d distinct elements written, want %d", ds.Name, len(elems), ds.Elements)
		}
	}
	if got := MemoryDatasets(1); got[0].Elements != 1000000 || got[1].Commands != 100000 || got[3].Elements != 100000 {
		t.Errorf("full size: %d strings, %d HSETs, %d hashes", got[0].Elements, got[1].Commands, got[3].Elements)
	}
}

func TestSkipReply(t *testing.T) {
	in := "+OK\r\n:5\r\n$3\r\nabc\r\n$-1\r\n*2\r\n$1\r\na\r\n*1\r\n:1\r\n*-1\r\n-ERR x\r\n*2\r\n-ERR in array\r\n:1\r\n%1\r\n+k\r\n+v\r\n_\r\n+END\r\n"
	r := bufio.NewReader(strings.NewReader(in))
	var errs []string
	for i := 0; i < 10; i++ {
		err := skipReply(r)
		var re ReplyError
		if err != nil && !errors.As(err, &re) {
			t.Fatalf("reply %d: %v", i, err)
		}
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	if strings.Join(errs, "|") != "ERR x|ERR in array" {
		t.Errorf("errors %q", errs)
	}
	if line, _ := r.ReadString('\n'); line != "+END\r\n" {
		t.Errorf("out of step: %q", line)
	}
}

// fakeServer answers every command on every connection with reply, except a
// count command (DBSIZE, HLEN, ZCARD), answered with count. It returns the
// address.
func fakeServer(t *testing.T, reply string, count int) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go serveFake(c, reply, count)
		}
	}()
	return l.Addr().String()
}

// serveFake is one connection of fakeServer.
func serveFake(c net.Conn, reply string, count int) {
	defer c.Close()
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
		var name string
		for i := 0; i < n; i++ {
			l, _ := r.ReadString('\n')
			size, _ := strconv.Atoi(strings.TrimSpace(l[1:]))
			buf := make([]byte, size+2)
			if _, err := readFull(r, buf); err != nil {
				return
			}
			if i == 0 {
				name = string(buf[:size])
			}
		}
		if name == "DBSIZE" || name == "HLEN" || name == "ZCARD" {
			w.WriteString(":" + strconv.Itoa(count) + "\r\n")
		} else {
			w.WriteString(reply)
		}
		if r.Buffered() == 0 {
			w.Flush()
		}
	}
}

func readFull(r *bufio.Reader, buf []byte) (int, error) {
	got := 0
	for got < len(buf) {
		k, err := r.Read(buf[got:])
		if err != nil {
			return got, err
		}
		got += k
	}
	return got, nil
}

func TestLoad(t *testing.T) {
	ds := MemoryDatasets(0.0025)[1] // 2500 fields in 250 HSETs
	ctx := context.Background()
	if err := Load(ctx, fakeServer(t, ":10\r\n", ds.Elements), ds, 7); err != nil {
		t.Fatalf("Load: %v", err)
	}
	err := Load(ctx, fakeServer(t, ":10\r\n", ds.Elements-1), ds, 100)
	if err == nil || !strings.Contains(err.Error(), "HLEN h answered \"2499\"") {
		t.Errorf("short count: %v", err)
	}
	err = Load(ctx, fakeServer(t, "-ERR unknown command 'HSET', with args beginning with: 'h'\r\n", 0), ds, 100)
	var re ReplyError
	if !errors.As(err, &re) || !strings.HasPrefix(err.Error(), "HSET: ERR unknown command 'HSET'") {
		t.Errorf("error reply: %v", err)
	}
}

func TestWriteMemTable(t *testing.T) {
	ds := MemoryDatasets(0.001)
	rows := []MemRow{
		{Dataset: ds[0],
			Redis:  &MemResult{RSSBefore: 10 << 20, RSSAfter: 10<<20 + 100000},
			Basalt: &MemResult{RSSBefore: 8 << 20, RSSAfter: 8<<20 + 150000}},
		{Dataset: ds[1],
			Redis:     &MemResult{RSSBefore: 10 << 20, RSSAfter: 11 << 20},
			BasaltErr: "HSET: ERR unknown command 'HSET', with args beginning with: 'h' 'field:0'\nlog tail"},
		{Dataset: ds[2], RedisErr: "boom",
			Basalt: &MemResult{RSSBefore: 1 << 20, RSSAfter: 2 << 20}},
	}
	var b strings.Builder
	if err := WriteMemTable(&b, rows); err != nil {
		t.Fatal(err)
	}
	want := "| dataset | elements | Redis RSS before MiB | Redis RSS after MiB | Redis bytes/element | Basalt RSS before MiB | Basalt RSS after MiB | Basalt bytes/element | Basalt/Redis bytes |\n" +
		"| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n" +
		"| strings: `SET key:<i> <10-byte value>` | 1000 keys | 10.0 | 10.1 | 100.0 | 8.0 | 8.1 | 150.0 | 1.50 |\n" +
		"| one hash: `HSET h field:<i> <10-byte value>`, 10 fields a command | 1000 fields | 10.0 | 11.0 | 1048.6 | error | error | error | n/a |\n" +
		"| one sorted set: `ZADD z <score> member:<i>`, 10 members a command, scores scattered | 1000 members | error | error | error | 1.0 | 2.0 | 1048.6 | n/a |\n" +
		"\nFailed cells:\n\n" +
		"- Basalt, hash: HSET: ERR unknown command 'HSET'\n" +
		"- Redis, zset: boom\n"
	if got := b.String(); got != want {
		t.Fatalf("table:\n%s\nwant:\n%s", got, want)
	}
	if r, ok := rows[0].Ratio(); !ok || r != 1.5 {
		t.Errorf("ratio %v %v", r, ok)
	}
	shrunk := MemRow{Redis: &MemResult{RSSBefore: 5, RSSAfter: 5}, Basalt: &MemResult{RSSAfter: 1}}
	if _, ok := shrunk.Ratio(); ok {
		t.Error("ratio over a Redis growth of zero")
	}
}

// TestRunMemoryWithRedisStandIn runs the whole memory measurement with
// redis-server standing in for Basalt, at a tiny scale.
func TestRunMemoryWithRedisStandIn(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	redis, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed")
	}
	if _, err := ProcessRSS(selfPID()); err != nil {
		t.Skipf("no /proc: %v", err)
	}
	cfg := DefaultMemoryConfig()
	cfg.RedisBin, cfg.BasaltBin, cfg.Dir = redis, redis, t.TempDir()
	cfg.Datasets = MemoryDatasets(0.01)
	cfg.Settle = 10 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rows, err := RunMemory(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows", len(rows))
	}
	for _, r := range rows {
		if r.Redis == nil || r.Basalt == nil {
			t.Fatalf("%s: %q %q", r.Dataset.Name, r.RedisErr, r.BasaltErr)
		}
		if r.Redis.RSSBefore <= 0 || r.Redis.UsedAfter <= r.Redis.UsedBefore {
			t.Errorf("%s: %+v", r.Dataset.Name, *r.Redis)
		}
	}
}

func selfPID() int { return os.Getpid() }
