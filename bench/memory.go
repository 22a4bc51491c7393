package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Dataset is one workload of the memory table: Elements things (keys,
// fields, members, hashes) written by Commands pipelined commands.
type Dataset struct {
	Name     string // short name for -datasets: strings, hash, zset, hashes
	Desc     string // what the table says it is, e.g. "SET key:<i> <10-byte value>"
	Unit     string // what one element is: key, field, member, hash
	Units    string // the plural, for the table
	Elements int
	Commands int
	// Write appends command i (0 <= i < Commands) to w.
	Write func(w *CommandWriter, i int)
	// Count is the command whose integer reply must equal Elements once
	// loaded (DBSIZE, HLEN h, ZCARD z), so that a server that dropped
	// writes cannot look small.
	Count []string
}

// perCommand is how many fields or members one HSET or ZADD of a big hash
// or sorted set carries: enough to cut round trips and parsing, small
// enough to stay a plain command.
const perCommand = 10

// MemoryDatasets are the four workloads at full size times scale (at least
// one element each): 1M small strings, one hash of 1M fields, one sorted set
// of 1M members, 100k hashes of 10 fields. Values are 10 bytes
// ("v" and 9 digits), distinct and not integers, so no server can share or
// integer-encode them.
func MemoryDatasets(scale float64) []Dataset {
	n := scaled(1000000, scale)
	nh := scaled(100000, scale)
	chunks := (n + perCommand - 1) / perCommand
	return []Dataset{
		{
			Name: "strings", Desc: "strings: `SET key:<i> <10-byte value>`", Unit: "key", Units: "keys",
			Elements: n, Commands: n, Count: []string{"DBSIZE"},
			Write: func(w *CommandWriter, i int) {
				w.Array(3)
				w.Bulk("SET")
				w.BulkInt("key:", i)
				w.Value(i)
			},
		},
		{
			Name: "hash", Desc: fmt.Sprintf("one hash: `HSET h field:<i> <10-byte value>`, %d fields a command", perCommand), Unit: "field", Units: "fields",
			Elements: n, Commands: chunks, Count: []string{"HLEN", "h"},
			Write: func(w *CommandWriter, c int) {
				from, to := c*perCommand, min((c+1)*perCommand, n)
				w.Array(2 + 2*(to-from))
				w.Bulk("HSET")
				w.Bulk("h")
				for i := from; i < to; i++ {
					w.BulkInt("field:", i)
					w.Value(i)
				}
			},
		},
		{
			Name: "zset", Desc: fmt.Sprintf("one sorted set: `ZADD z <score> member:<i>`, %d members a command, scores scattered", perCommand), Unit: "member", Units: "members",
			Elements: n, Commands: chunks, Count: []string{"ZCARD", "z"},
			Write: func(w *CommandWriter, c int) {
				from, to := c*perCommand, min((c+1)*perCommand, n)
				w.Array(2 + 2*(to-from))
				w.Bulk("ZADD")
				w.Bulk("z")
				for i := from; i < to; i++ {
					w.BulkInt("", Score(i))
					w.BulkInt("member:", i)
				}
			},
		},
		{
			Name: "hashes", Desc: "small hashes: `HSET hash:<i> f0 <10-byte value> ... f9 <10-byte value>`", Unit: "hash", Units: "hashes",
			Elements: nh, Commands: nh, Count: []string{"DBSIZE"},
			Write: func(w *CommandWriter, i int) {
				w.Array(2 + 2*10)
				w.Bulk("HSET")
				w.BulkInt("hash:", i)
				for f := 0; f < 10; f++ {
					w.BulkInt("f", f)
					w.Value(i*10 + f)
				}
			},
		},
	}
}

// Score is member i's score in the sorted-set dataset: a fixed scramble of
// i (a multiplicative hash modulo a prime), so that members arrive in no
// particular score order, as they would in use, rather than always at the
// tail.
func Score(i int) int { return int(uint64(i) * 2654435761 % 1000003) }

func scaled(n int, scale float64) int {
	return max(int(math.Round(float64(n)*scale)), 1)
}

// CommandWriter appends RESP commands to a buffer. Owned by one goroutine.
type CommandWriter struct {
	buf []byte
}

// Bytes is what was written since the last Reset. It aliases the buffer.
func (w *CommandWriter) Bytes() []byte { return w.buf }

// Reset empties the buffer, keeping its memory.
func (w *CommandWriter) Reset() { w.buf = w.buf[:0] }

// Array starts a command of n arguments.
func (w *CommandWriter) Array(n int) {
	w.buf = append(w.buf, '*')
	w.buf = strconv.AppendInt(w.buf, int64(n), 10)
	w.buf = append(w.buf, '\r', '\n')
}

// Bulk appends one argument.
func (w *CommandWriter) Bulk(s string) {
	w.buf = append(w.buf, '$')
	w.buf = strconv.AppendInt(w.buf, int64(len(s)), 10)
	w.buf = append(w.buf, '\r', '\n')
	w.buf = append(w.buf, s...)
	w.buf = append(w.buf, '\r', '\n')
}

// BulkInt appends the argument prefix followed by i in decimal, without
// building a string.
func (w *CommandWriter) BulkInt(prefix string, i int) {
	var num [20]byte
	digits := strconv.AppendInt(num[:0], int64(i), 10)
	w.buf = append(w.buf, '$')
	w.buf = strconv.AppendInt(w.buf, int64(len(prefix)+len(digits)), 10)
	w.buf = append(w.buf, '\r', '\n')
	w.buf = append(w.buf, prefix...)
	w.buf = append(w.buf, digits...)
	w.buf = append(w.buf, '\r', '\n')
}

// Value appends the 10-byte value of element i: "v" and i modulo 10^9 in
// nine zero-padded digits.
func (w *CommandWriter) Value(i int) {
	w.buf = append(w.buf, "$10\r\nv"...)
	i %= 1000000000
	var d [9]byte
	for k := 8; k >= 0; k-- {
		d[k] = byte('0' + i%10)
		i /= 10
	}
	w.buf = append(w.buf, d[:]...)
	w.buf = append(w.buf, '\r', '\n')
}

// ReplyError is an error reply from the server.
type ReplyError string

func (e ReplyError) Error() string { return string(e) }

// skipReply reads one complete reply, nested aggregates included. An error
// reply is returned as a ReplyError, after it has been consumed, so the
// connection stays in step.
func skipReply(r *bufio.Reader) error {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return err
	}
	line = bytes.TrimRight(line, "\r\n")
	if len(line) == 0 {
		return errors.New("bench: empty reply line")
	}
	switch line[0] {
	case '+', ':', '_', ',', '#', '(':
		return nil
	case '-':
		return ReplyError(line[1:])
	case '$', '=', '!':
		n, err := strconv.Atoi(string(line[1:]))
		if err != nil {
			return fmt.Errorf("bench: bad length in %q", line)
		}
		if n < 0 {
			return nil
		}
		_, err = r.Discard(n + 2)
		return err
	case '*', '~', '>', '%', '|':
		n, err := strconv.Atoi(string(line[1:]))
		if err != nil {
			return fmt.Errorf("bench: bad length in %q", line)
		}
		if line[0] == '%' || line[0] == '|' {
			n *= 2
		}
		var first error
		for ; n > 0; n-- {
			if err := skipReply(r); err != nil {
				var re ReplyError
				if !errors.As(err, &re) {
					return err
				}
				if first == nil {
					first = err
				}
			}
		}
		return first
	default:
		return fmt.Errorf("bench: unexpected reply %q", line)
	}
}

// Load writes every command of ds to addr over one connection, batch
// commands at a time (write the batch, then read its replies), and checks
// the count afterwards. It stops at the first batch with an error reply and
// returns that reply, naming the command.
func Load(ctx context.Context, addr string, ds Dataset, batch int) error {
	if batch < 1 {
		return errors.New("bench: batch must be at least 1")
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	r := bufio.NewReaderSize(conn, 64<<10)
	var w CommandWriter
	for from := 0; from < ds.Commands; from += batch {
		to := min(from+batch, ds.Commands)
		w.Reset()
		for i := from; i < to; i++ {
			ds.Write(&w, i)
		}
		// A generous deadline per batch: a server that stops reading fails
		// this dataset instead of hanging the program.
		_ = conn.SetDeadline(time.Now().Add(time.Minute))
		if _, err := conn.Write(w.Bytes()); err != nil {
			return ctxErr(ctx, err)
		}
		var first error
		for i := from; i < to; i++ {
			if err := skipReply(r); err != nil {
				var re ReplyError
				if !errors.As(err, &re) {
					return ctxErr(ctx, err)
				}
				if first == nil {
					first = fmt.Errorf("%s: %w", commandName(ds, i), err)
				}
			}
		}
		if first != nil {
			return first
		}
	}
	_ = conn.SetDeadline(time.Now().Add(time.Minute))
	w.Reset()
	w.Array(len(ds.Count))
	for _, a := range ds.Count {
		w.Bulk(a)
	}
	if _, err := conn.Write(w.Bytes()); err != nil {
		return ctxErr(ctx, err)
	}
	reply, err := readReply(r)
	if err != nil {
		return ctxErr(ctx, fmt.Errorf("%s: %w", strings.Join(ds.Count, " "), err))
	}
	if got, err := strconv.Atoi(reply); err != nil || got != ds.Elements {
		return fmt.Errorf("%s answered %q after loading, want %d", strings.Join(ds.Count, " "), reply, ds.Elements)
	}
	return nil
}

// ctxErr prefers the context's error to the I/O error it caused.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// commandName is the name of command i of ds, for error messages.
func commandName(ds Dataset, i int) string {
	var w CommandWriter
	ds.Write(&w, i)
	// *N\r\n$L\r\nNAME\r\n...
	parts := bytes.SplitN(w.Bytes(), []byte("\r\n"), 4)
	if len(parts) < 3 {
		return "command"
	}
	return string(parts[2])
}

// ParseVmRSS returns the VmRSS line of a /proc/PID/status file in bytes.
func ParseVmRSS(status []byte) (int64, error) {
	for _, line := range strings.Split(string(status), "\n") {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("bench: unexpected VmRSS line %q", line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 {
			return 0, fmt.Errorf("bench: unexpected VmRSS line %q", line)
		}
		return kb * 1024, nil
	}
	return 0, errors.New("bench: no VmRSS line (not Linux, or the process has exited)")
}

// ProcessRSS is the resident set size of process pid, from /proc.
func ProcessRSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return ParseVmRSS(data)
}

// MemoryConfig says what the memory table measures.
type MemoryConfig struct {
	RedisBin  string
	BasaltBin string
	Loops     int // Basalt --loops; 0 leaves Basalt's default
	Datasets  []Dataset
	Batch     int // commands per pipelined batch
	Rounds    int // fresh server pairs per dataset; cells are medians
	// Settle is the pause after MEMORY PURGE before RSS is read, so the
	// allocator's (or Go runtime's) release has reached the kernel.
	Settle time.Duration
	Dir    string // server logs; must exist
	// Progress, if not nil, gets one line per measurement and warnings.
	Progress io.Writer
}

// DefaultMemoryConfig is the full-size table; executables and Dir are left
// for the caller.
func DefaultMemoryConfig() MemoryConfig {
	return MemoryConfig{
		RedisBin: "redis-server",
		Datasets: MemoryDatasets(1),
		Batch:    1000,
		Rounds:   1,
		Settle:   time.Second,
	}
}

// MemResult is one server's measurement of one dataset.
type MemResult struct {
	RSSBefore, RSSAfter int64 // bytes, after MEMORY PURGE and Settle
	// UsedBefore and UsedAfter are INFO memory's used_memory, -1 where the
	// server did not report it.
	UsedBefore, UsedAfter int64
	Load                  time.Duration
}

// PerElement is the RSS growth per element, in bytes.
func (m MemResult) PerElement(elements int) float64 {
	return float64(m.RSSAfter-m.RSSBefore) / float64(elements)
}

// MemRow is one line of the memory table. Redis or Basalt is nil when
// every measurement of that side failed, with the last reason in RedisErr
// or BasaltErr. With several rounds every field is the median.
type MemRow struct {
	Dataset             Dataset
	Redis, Basalt       *MemResult
	RedisErr, BasaltErr string
}

// Ratio is Basalt's bytes per element over Redis's; ok is false when a side
// is missing or Redis's growth is not positive.
func (r MemRow) Ratio() (float64, bool) {
	if r.Redis == nil || r.Basalt == nil || r.Redis.RSSAfter <= r.Redis.RSSBefore {
		return 0, false
	}
	return float64(r.Basalt.RSSAfter-r.Basalt.RSSBefore) / float64(r.Redis.RSSAfter-r.Redis.RSSBefore), true
}

// RunMemory measures every dataset: per round, a fresh redis-server, then a
// fresh Basalt, each started, measured (RSS after MEMORY PURGE), loaded,
// measured again and stopped before the next starts. A failure fails that
// cell only; the error returned is the context's.
func RunMemory(ctx context.Context, cfg MemoryConfig) ([]MemRow, error) {
	if cfg.Batch < 1 || cfg.Rounds < 1 || cfg.Dir == "" || cfg.RedisBin == "" || cfg.BasaltBin == "" {
		return nil, errors.New("bench: memory config needs executables, Dir, Batch and Rounds")
	}
	rows := make([]MemRow, len(cfg.Datasets))
	for i, ds := range cfg.Datasets {
		var runs [2][]MemResult
		var errs [2]string
		for round := 1; round <= cfg.Rounds; round++ {
			for s, name := range [2]string{"redis", "basalt"} {
				progressf(cfg.Progress, "round %d/%d: %s, %d %s, %s\n", round, cfg.Rounds, ds.Name, ds.Elements, ds.Units, name)
				res, err := measureMemory(ctx, cfg, ds, name)
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				if err != nil {
					progressf(cfg.Progress, "warning: %s, %s: %v\n", ds.Name, name, err)
					errs[s] = err.Error()
					continue
				}
				progressf(cfg.Progress, "  %-6s RSS %s -> %s MiB (%.1f B/%s), used_memory %s -> %s, load %.1fs\n",
					name, mib(res.RSSBefore), mib(res.RSSAfter), res.PerElement(ds.Elements), ds.Unit,
					usedText(res.UsedBefore), usedText(res.UsedAfter), res.Load.Seconds())
				runs[s] = append(runs[s], res)
			}
		}
		rows[i] = MemRow{Dataset: ds}
		if len(runs[0]) > 0 {
			m := medianMem(runs[0])
			rows[i].Redis = &m
		} else {
			rows[i].RedisErr = errs[0]
		}
		if len(runs[1]) > 0 {
			m := medianMem(runs[1])
			rows[i].Basalt = &m
		} else {
			rows[i].BasaltErr = errs[1]
		}
	}
	return rows, nil
}

func progressf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format, args...)
	}
}

func usedText(n int64) string {
	if n < 0 {
		return "n/a"
	}
	return mib(n) + " MiB"
}

func mib(n int64) string { return fmt.Sprintf("%.1f", float64(n)/(1<<20)) }

// medianMem takes the median of each field over the rounds.
func medianMem(rs []MemResult) MemResult {
	pick := func(f func(MemResult) int64) int64 {
		xs := make([]float64, len(rs))
		for i, r := range rs {
			xs[i] = float64(f(r))
		}
		return int64(Median(xs))
	}
	return MemResult{
		RSSBefore:  pick(func(r MemResult) int64 { return r.RSSBefore }),
		RSSAfter:   pick(func(r MemResult) int64 { return r.RSSAfter }),
		UsedBefore: pick(func(r MemResult) int64 { return r.UsedBefore }),
		UsedAfter:  pick(func(r MemResult) int64 { return r.UsedAfter }),
		Load:       time.Duration(pick(func(r MemResult) int64 { return int64(r.Load) })),
	}
}

// measureMemory starts a fresh server (name "redis" or "basalt"), loads ds
// into it between two RSS readings, and stops it.
func measureMemory(ctx context.Context, cfg MemoryConfig, ds Dataset, name string) (MemResult, error) {
	port, err := FreePort()
	if err != nil {
		return MemResult{}, err
	}
	bin, args := cfg.RedisBin, ServerArgs(port)
	if name == "basalt" {
		bin = cfg.BasaltBin
		if cfg.Loops > 0 {
			args = ServerArgs(port, "--loops", strconv.Itoa(cfg.Loops))
		}
	}
	srv, err := StartServer(ctx, name, bin, args, port, filepath.Join(cfg.Dir, name+"-"+ds.Name+".log"))
	if err != nil {
		return MemResult{}, err
	}
	defer srv.Stop()
	var res MemResult
	if res.RSSBefore, res.UsedBefore, err = settledRSS(ctx, cfg, srv); err != nil {
		return MemResult{}, err
	}
	start := time.Now()
	if err := Load(ctx, srv.Addr(), ds, cfg.Batch); err != nil {
		return MemResult{}, err
	}
	res.Load = time.Since(start)
	if res.RSSAfter, res.UsedAfter, err = settledRSS(ctx, cfg, srv); err != nil {
		return MemResult{}, err
	}
	return res, nil
}

// settledRSS sends MEMORY PURGE (Redis purges jemalloc's dirty pages,
// Basalt collects garbage and returns freed memory to the OS; an error
// reply is ignored), waits cfg.Settle, and reads the process's RSS and
// INFO's used_memory (-1 when absent).
func settledRSS(ctx context.Context, cfg MemoryConfig, srv *Server) (rss, used int64, err error) {
	_, _ = srv.Do(ctx, "MEMORY", "PURGE")
	select {
	case <-ctx.Done():
		return 0, 0, ctx.Err()
	case <-time.After(cfg.Settle):
	}
	if !srv.Alive() {
		return 0, 0, fmt.Errorf("bench: %s exited; log %s:\n%s", srv.Name, srv.Log, tailFile(srv.Log, 2000))
	}
	rss, err = ProcessRSS(srv.PID())
	if err != nil {
		return 0, 0, err
	}
	used = -1
	if v, err := strconv.ParseInt(srv.InfoField(ctx, "memory", "used_memory"), 10, 64); err == nil {
		used = v
	}
	return rss, used, nil
}

// WriteMemTable writes rows as one Markdown table: RSS before and after
// loading in MiB, the growth per element in bytes for each server, and
// Basalt's growth over Redis's. Failed cells read "error", with the reasons
// listed after the table.
func WriteMemTable(w io.Writer, rows []MemRow) error {
	var b strings.Builder
	b.WriteString("| dataset | elements | Redis RSS before MiB | Redis RSS after MiB | Redis bytes/element | Basalt RSS before MiB | Basalt RSS after MiB | Basalt bytes/element | Basalt/Redis bytes |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	memCells := func(m *MemResult, n int) string {
		if m == nil {
			return "error | error | error"
		}
		return fmt.Sprintf("%s | %s | %.1f", mib(m.RSSBefore), mib(m.RSSAfter), m.PerElement(n))
	}
	var failures []string
	for _, r := range rows {
		ratio := "n/a"
		if x, ok := r.Ratio(); ok {
			ratio = fmt.Sprintf("%.2f", x)
		}
		ds := r.Dataset
		fmt.Fprintf(&b, "| %s | %d %s | %s | %s | %s |\n", strings.ReplaceAll(ds.Desc, "|", `\|`), ds.Elements, ds.Units,
			memCells(r.Redis, ds.Elements), memCells(r.Basalt, ds.Elements), ratio)
		if r.Redis == nil && r.RedisErr != "" {
			failures = append(failures, fmt.Sprintf("- Redis, %s: %s", ds.Name, oneLine(r.RedisErr)))
		}
		if r.Basalt == nil && r.BasaltErr != "" {
			failures = append(failures, fmt.Sprintf("- Basalt, %s: %s", ds.Name, oneLine(r.BasaltErr)))
		}
	}
	if len(failures) > 0 {
		b.WriteString("\nFailed cells:\n\n")
		b.WriteString(strings.Join(failures, "\n"))
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// oneLine keeps an error's first line (a server's log tail stays in the
// progress output, not in the table) without the arguments Redis quotes
// after an unknown command.
func oneLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(trimArgs(first))
}
