package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The features table (issue 6): EVALSHA of a small script and XADD, each a
// redis-benchmark run of a custom command, and pub/sub fan-out, measured by
// this package's own clients: one publisher, many subscribers of one
// channel, messages delivered per second.

// FeatureScript is the small script of the EVALSHA row: one read-modify-
// write of the key it is given.
const FeatureScript = "return redis.call('INCR', KEYS[1])"

// FeatureConfig says what the features table measures.
type FeatureConfig struct {
	RedisBin, BasaltBin, BenchmarkBin string
	Loops                             int // Basalt --loops; 0 leaves Basalt's default
	Rounds                            int // fresh server pairs; cells are medians
	Requests                          int // redis-benchmark -n for the EVALSHA and XADD rows
	Clients                           int // redis-benchmark -c
	Keyspace                          int // redis-benchmark -r
	Pipelines                         []int
	Subscribers                       int // pub/sub: subscriber connections
	Messages                          int // pub/sub: messages published
	PublishBatch                      int // pub/sub: PUBLISHes pipelined before reading their replies
	MessageSize                       int // pub/sub: payload bytes
	RunTimeout                        time.Duration
	Dir                               string // server logs; must exist
	Progress                          io.Writer
}

// DefaultFeatureConfig is the full-size run.
func DefaultFeatureConfig() FeatureConfig {
	return FeatureConfig{
		RedisBin: "redis-server", BenchmarkBin: "redis-benchmark",
		Rounds: 3, Requests: 200000, Clients: 50, Keyspace: 100000, Pipelines: []int{1, 16},
		Subscribers: 100, Messages: 20000, PublishBatch: 50, MessageSize: 16,
		RunTimeout: 2 * time.Minute,
	}
}

func (c FeatureConfig) progressf(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, format, args...)
	}
}

// featureCommands are the redis-benchmark custom commands of the table,
// by row name; {sha} is replaced by the loaded script's SHA1.
var featureCommands = []struct{ name, command string }{
	{"EVALSHA", "EVALSHA {sha} 1 key:__rand_int__"},
	{"XADD", "XADD stream:__rand_int__ * field value"},
}

// RunFeatures measures every row on both servers, Rounds times with fresh
// servers, and returns one Row per (test, pipeline) with medians. The
// pub/sub row's "ops/s" are messages delivered per second (publishes ×
// subscribers), at the pipeline depth PublishBatch.
func RunFeatures(ctx context.Context, cfg FeatureConfig) ([]Row, error) {
	if cfg.Rounds < 1 || cfg.Requests < 1 || cfg.Clients < 1 || cfg.Subscribers < 1 || cfg.Messages < 1 || cfg.PublishBatch < 1 {
		return nil, errors.New("bench: features: rounds, requests, clients, subscribers, messages and publish batch must be at least 1")
	}
	col := NewCollector()
	for round := 1; round <= cfg.Rounds; round++ {
		for _, name := range []string{"redis", "basalt"} {
			if err := featureRound(ctx, cfg, col, name, round); err != nil {
				return nil, err
			}
		}
	}
	return col.Rows(), nil
}

func featureRound(ctx context.Context, cfg FeatureConfig, col *Collector, name string, round int) error {
	port, err := FreePort()
	if err != nil {
		return err
	}
	bin := cfg.RedisBin
	var extra []string
	if name == "basalt" {
		bin = cfg.BasaltBin
		if cfg.Loops > 0 {
			extra = []string{"--loops", strconv.Itoa(cfg.Loops)}
		}
	}
	srv, err := StartServer(ctx, name, bin, ServerArgs(port, extra...), port, filepath.Join(cfg.Dir, fmt.Sprintf("%s-features-%d.log", name, round)))
	if err != nil {
		return err
	}
	defer srv.Stop()
	sha, err := srv.Do(ctx, "SCRIPT", "LOAD", FeatureScript)
	if err != nil {
		return fmt.Errorf("bench: %s: SCRIPT LOAD: %w", name, err)
	}
	bcfg := Config{BenchmarkBin: cfg.BenchmarkBin, RunTimeout: cfg.RunTimeout}
	isBasalt := name == "basalt"
	for _, p := range cfg.Pipelines {
		for _, fc := range featureCommands {
			args := []string{"-h", "127.0.0.1", "-p", strconv.Itoa(port), "-c", strconv.Itoa(cfg.Clients),
				"-r", strconv.Itoa(cfg.Keyspace), "-n", strconv.Itoa(cfg.Requests), "-P", strconv.Itoa(p), "-q", "--csv"}
			args = append(args, strings.Fields(strings.ReplaceAll(fc.command, "{sha}", sha))...)
			res, err := runBenchmark(ctx, bcfg, srv, args, cfg.progressf)
			if err != nil {
				return err
			}
			for i := range res {
				res[i].Test = fc.name
			}
			cfg.progressf("  %-6s P=%-3d %-8s %12.0f ops/s\n", name, p, fc.name, firstRPS(res))
			col.Add(isBasalt, p, 0, res)
		}
	}
	rate, err := PubSubFanout(ctx, srv.Addr(), cfg.Subscribers, cfg.Messages, cfg.PublishBatch, cfg.MessageSize)
	if err != nil {
		return fmt.Errorf("bench: %s: pub/sub fan-out: %w", name, err)
	}
	cfg.progressf("  %-6s pub/sub fan-out to %d subscribers: %.0f messages delivered/s\n", name, cfg.Subscribers, rate)
	col.Add(isBasalt, cfg.PublishBatch, cfg.MessageSize, []Result{{Test: fmt.Sprintf("PUBLISH fan-out x%d", cfg.Subscribers), RPS: rate}})
	return nil
}

func firstRPS(res []Result) float64 {
	if len(res) == 0 {
		return 0
	}
	return res[0].RPS
}

// PubSubFanout connects subs subscribers to one channel and one publisher
// that sends msgs PUBLISHes of size-byte payloads, batch at a time
// (reading each batch's replies before the next). It returns messages
// delivered per second: msgs × subs over the time from the first publish
// until every subscriber has received every message.
func PubSubFanout(ctx context.Context, addr string, subs, msgs, batch, size int) (float64, error) {
	const channel = "fanout"
	payload := strings.Repeat("x", size)
	// Every delivery is the same push: count bytes instead of parsing.
	push := fmt.Sprintf("*3\r\n$7\r\nmessage\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(channel), channel, size, payload)
	want := int64(len(push)) * int64(msgs)
	var d net.Dialer
	conns := make([]net.Conn, 0, subs)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	confirm := fmt.Sprintf("*3\r\n$9\r\nsubscribe\r\n$%d\r\n%s\r\n:1\r\n", len(channel), channel)
	for range subs {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return 0, err
		}
		conns = append(conns, c)
		if _, err := io.WriteString(c, "SUBSCRIBE "+channel+"\r\n"); err != nil {
			return 0, err
		}
		buf := make([]byte, len(confirm))
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != confirm {
			return 0, fmt.Errorf("SUBSCRIBE: got %q (%v)", buf, err)
		}
		_ = c.SetReadDeadline(time.Time{})
	}
	deadline := time.Now().Add(5 * time.Minute)
	var wg sync.WaitGroup
	errs := make(chan error, subs+1)
	for _, c := range conns {
		wg.Add(1)
		go func(c net.Conn) {
			defer wg.Done()
			_ = c.SetReadDeadline(deadline)
			n, err := io.CopyN(io.Discard, c, want)
			if err != nil {
				errs <- fmt.Errorf("subscriber got %d of %d bytes: %w", n, want, err)
			}
		}(c)
	}
	pub, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, err
	}
	defer pub.Close()
	cmd := fmt.Sprintf("*3\r\n$7\r\nPUBLISH\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(channel), channel, size, payload)
	block := []byte(strings.Repeat(cmd, batch))
	reply := fmt.Sprintf(":%d\r\n", subs)
	rd := bufio.NewReaderSize(pub, 64<<10)
	replies := make([]byte, len(reply)*batch)
	start := time.Now()
	for sent := 0; sent < msgs; {
		n := min(batch, msgs-sent)
		if _, err := pub.Write(block[:n*len(cmd)]); err != nil {
			return 0, err
		}
		if _, err := io.ReadFull(rd, replies[:n*len(reply)]); err != nil {
			return 0, err
		}
		if got := string(replies[:len(reply)]); got != reply {
			return 0, fmt.Errorf("PUBLISH replied %q, want %q", got, reply)
		}
		sent += n
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return float64(msgs) * float64(subs) / elapsed.Seconds(), nil
}
