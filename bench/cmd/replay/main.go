// Command replay measures start-up replay of an append-only log: it writes
// one AOF directory of N SET commands in the layout Basalt writes (which
// redis-server 7.0 loads too), then starts redis-server and Basalt on
// copies of it, alternately, and reports the time from process start until
// PING is answered, with the dataset checked by DBSIZE.
//
//	go run ./bench/cmd/replay [-n 1000000] [-rounds 3]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/basaltdb/basalt/aof"
	"github.com/basaltdb/basalt/bench"
)

func main() {
	n := flag.Int("n", 1000000, "SET commands in the log")
	rounds := flag.Int("rounds", 3, "alternating rounds; the median is reported")
	basaltBin := flag.String("basalt-bin", "", "Basalt executable; empty builds ./cmd/basalt")
	redisBin := flag.String("redis-bin", "/usr/bin/redis-server", "redis-server executable")
	flag.Parse()
	if err := run(*n, *rounds, *basaltBin, *redisBin); err != nil {
		fmt.Fprintln(os.Stderr, "replay:", err)
		os.Exit(1)
	}
}

func run(n, rounds int, basaltBin, redisBin string) error {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "basalt-replay-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if basaltBin == "" {
		root, err := bench.FindModuleRoot(".")
		if err != nil {
			return err
		}
		basaltBin = filepath.Join(tmp, "basalt")
		if err := bench.BuildBasalt(ctx, root, basaltBin); err != nil {
			return err
		}
	}
	src := filepath.Join(tmp, "src")
	size, err := writeLog(src, n)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "log: %d SETs, %d bytes\n", n, size)
	var redisT, basaltT []float64
	for r := 0; r < rounds; r++ {
		for _, isBasalt := range []bool{false, true} {
			d, err := startOnce(ctx, tmp, src, isBasalt, basaltBin, redisBin, n)
			if err != nil {
				return err
			}
			if isBasalt {
				basaltT = append(basaltT, d.Seconds())
			} else {
				redisT = append(redisT, d.Seconds())
			}
			fmt.Fprintf(os.Stderr, "round %d basalt=%v: %.3fs\n", r, isBasalt, d.Seconds())
		}
	}
	rm, bm := bench.Median(redisT), bench.Median(basaltT)
	fmt.Printf("| log | Redis start s | Basalt start s | Basalt/Redis time |\n| --- | ---: | ---: | ---: |\n")
	fmt.Printf("| %d SETs, %d MB | %.2f | %.2f | %.2f |\n", n, size>>20, rm, bm, bm/rm)
	return nil
}

// writeLog writes n SETs through the aof package, as Basalt would log them.
func writeLog(dir string, n int) (int64, error) {
	opts := aof.Options{Dir: filepath.Join(dir, "appendonlydir"), FileName: "appendonly.aof", Fsync: aof.No}
	l, err := aof.Open(opts)
	if err != nil {
		return 0, err
	}
	var b []byte
	b = append(b, "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"...)
	for i := 0; i < n; i++ {
		k := "key:" + strconv.Itoa(i)
		v := "value:" + strconv.Itoa(i)
		b = append(b, "*3\r\n$3\r\nSET\r\n$"...)
		b = strconv.AppendInt(b, int64(len(k)), 10)
		b = append(b, "\r\n"+k+"\r\n$"...)
		b = strconv.AppendInt(b, int64(len(v)), 10)
		b = append(b, "\r\n"+v+"\r\n"...)
		if len(b) > 1<<20 {
			l.Append(b)
			b = b[:0]
		}
	}
	l.Append(b)
	if err := l.Close(); err != nil {
		return 0, err
	}
	return l.Stats().CurrentSize, nil
}

// startOnce copies the log, starts one server on it and times it until it
// answers PING, then checks DBSIZE and stops it.
func startOnce(ctx context.Context, tmp, src string, isBasalt bool, basaltBin, redisBin string, n int) (time.Duration, error) {
	dir := filepath.Join(tmp, "run")
	os.RemoveAll(dir)
	if out, err := exec.Command("cp", "-r", src, dir).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("copying the log: %v %s", err, out)
	}
	port, err := bench.FreePort()
	if err != nil {
		return 0, err
	}
	name, bin := "redis", redisBin
	if isBasalt {
		name, bin = "basalt", basaltBin
	}
	args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--appendonly", "yes", "--appendfsync", "no", "--save", ""}
	start := time.Now()
	srv, err := bench.StartServer(ctx, name, bin, args, port, filepath.Join(tmp, name+".log"))
	if err != nil {
		return 0, err
	}
	d := time.Since(start)
	defer srv.Stop()
	got, err := srv.Do(ctx, "DBSIZE")
	if err != nil {
		return 0, err
	}
	if got != strconv.Itoa(n) && got != ":"+strconv.Itoa(n) {
		return 0, fmt.Errorf("%s loaded DBSIZE %s, want %d", name, got, n)
	}
	return d, nil
}
