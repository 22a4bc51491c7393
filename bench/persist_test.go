package bench

import (
	"bufio"
	"context"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestPersistDataset(t *testing.T) {
	ds := PersistDataset(2500)
	var w CommandWriter
	for i := range ds.Commands {
		ds.Write(&w, i)
	}
	r := bufio.NewReader(strings.NewReader(string(w.Bytes())))
	keys := map[string]bool{}
	kinds := map[string]int{}
	for range ds.Commands {
		args := parseCommand(t, r)
		kinds[args[0]]++
		if keys[args[1]] {
			t.Fatalf("key %q written twice", args[1])
		}
		keys[args[1]] = true
		switch want := map[string]int{"SET": 3, "HSET": 22, "RPUSH": 102, "ZADD": 402}[args[0]]; {
		case want == 0:
			t.Fatalf("unexpected %q", args[:2])
		case len(args) != want:
			t.Fatalf("%s with %d arguments, want %d", args[0], len(args), want)
		}
		if args[0] == "ZADD" {
			members := map[string]bool{}
			for j := 2; j < len(args); j += 2 {
				if _, err := strconv.Atoi(args[j]); err != nil {
					t.Fatalf("score %q", args[j])
				}
				members[args[j+1]] = true
			}
			if len(members) != 200 {
				t.Fatalf("%d distinct members", len(members))
			}
		}
	}
	if _, err := r.ReadByte(); err == nil {
		t.Error("bytes left over")
	}
	// Keys 1, 101, ..., 2401 are hashes; 2, 1002, 2002 lists; 3, 1003, 2003 sorted sets.
	if want := map[string]int{"SET": 2469, "HSET": 25, "RPUSH": 3, "ZADD": 3}; !mapsEqual(kinds, want) {
		t.Errorf("kinds %v, want %v", kinds, want)
	}
	if len(keys) != ds.Elements || ds.Count[0] != "DBSIZE" {
		t.Errorf("%d keys, Elements %d", len(keys), ds.Elements)
	}

	// The write load only overwrites string keys of the dataset.
	write := PersistWrite(2500)
	rnd := rand.New(rand.NewPCG(1, 2))
	w.Reset()
	for range 5000 {
		write(&w, rnd)
	}
	r = bufio.NewReader(strings.NewReader(string(w.Bytes())))
	for range 5000 {
		args := parseCommand(t, r)
		if args[0] != "SET" || !keys[args[1]] || !strings.HasPrefix(args[1], "key:") || len(args[2]) != 10 {
			t.Fatalf("write %q", args)
		}
	}
	w.Reset()
	PersistWrite(1)(&w, rnd)
	if got := string(w.Bytes()); !strings.HasPrefix(got, "*3\r\n$3\r\nSET\r\n$5\r\nkey:0\r\n") {
		t.Errorf("one key: %q", got)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestParseSnapState(t *testing.T) {
	info := "# Persistence\r\nloading:0\r\nrdb_bgsave_in_progress:1\r\nrdb_last_bgsave_status:ok\r\nrdb_saves:3\r\n" +
		"aof_rewrite_in_progress:0\r\naof_rewrite_scheduled:1\r\naof_last_bgrewrite_status:err\r\naof_rewrites:0\r\n"
	if st, err := parseSnapState(info, "BGSAVE"); err != nil || st != (snapState{running: true, scheduled: true, count: 3, status: "ok"}) {
		t.Errorf("BGSAVE: %+v %v", st, err)
	}
	if st, err := parseSnapState(info, "BGREWRITEAOF"); err != nil || st != (snapState{scheduled: true, status: "err"}) {
		t.Errorf("BGREWRITEAOF: %+v %v", st, err)
	}
	for _, bad := range []string{"", "rdb_bgsave_in_progress:1\r\n", "rdb_bgsave_in_progress:2\r\nrdb_saves:1\r\n", "rdb_bgsave_in_progress:0\r\nrdb_saves:x\r\n"} {
		if _, err := parseSnapState(bad, "BGSAVE"); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestWriteLoadTable(t *testing.T) {
	rows := []LoadRow{
		{Kind: "RDB", Keys: 1000000,
			Redis:  &LoadResult{FileBytes: 30 << 20, Time: 800 * time.Millisecond},
			Basalt: &LoadResult{FileBytes: 31 << 20, Time: 1200 * time.Millisecond}},
		{Kind: "AOF", Keys: 1000000,
			Redis:     &LoadResult{FileBytes: 50 << 20, Time: 2 * time.Second},
			BasaltErr: "bench: basalt exited during start-up (exit status 1); log x:\nBad file format"},
	}
	var b strings.Builder
	if err := WriteLoadTable(&b, rows); err != nil {
		t.Fatal(err)
	}
	want := "| start-up on | keys | Redis files MiB | Redis start s | Basalt files MiB | Basalt start s | Basalt/Redis time |\n" +
		"| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n" +
		"| RDB (`dump.rdb`, appendonly no) | 1000000 | 30.0 | 0.800 | 31.0 | 1.200 | 1.50 |\n" +
		"| AOF (`appendonlydir`, the load's commands) | 1000000 | 50.0 | 2.000 | error | error | n/a |\n" +
		"\nFailed cells:\n\n" +
		"- Basalt, AOF: bench: basalt exited during start-up (exit status 1); log x:\n"
	if got := b.String(); got != want {
		t.Fatalf("table:\n%s\nwant:\n%s", got, want)
	}
	checkCells(t, want, 8)
}

func TestWriteSnapTable(t *testing.T) {
	rows := []SnapRow{
		{Op: "BGSAVE", Keys: 100000,
			Redis:  &SnapResult{Before: 100 << 20, Peak: 190 << 20, PeakPSS: 120 << 20, Procs: 2, Time: 500 * time.Millisecond, Writes: 400000.4, Steady: 500000},
			Basalt: &SnapResult{Before: 120 << 20, Peak: 150 << 20, PeakPSS: -1, Procs: 1, Time: 250 * time.Millisecond, Writes: 300000, Steady: 350000}},
		{Op: "BGREWRITEAOF", Keys: 100000, RedisErr: "still running after 5m0s",
			Basalt: &SnapResult{Before: 10 << 20, Peak: 15 << 20, PeakPSS: 14 << 20, Time: time.Second, Writes: 1, Steady: 2}},
	}
	var b strings.Builder
	if err := WriteSnapTable(&b, rows); err != nil {
		t.Fatal(err)
	}
	want := "| operation | keys | Redis RSS before MiB | Redis peak RSS MiB | Redis peak/before | Redis peak PSS MiB | Redis time s | Redis SETs/s steady | Redis SETs/s during | " +
		"Basalt RSS before MiB | Basalt peak RSS MiB | Basalt peak/before | Basalt peak PSS MiB | Basalt time s | Basalt SETs/s steady | Basalt SETs/s during | Basalt/Redis peak RSS | Basalt/Redis time |\n" +
		"| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n" +
		"| BGSAVE | 100000 | 100.0 | 190.0 | 1.90 | 120.0 | 0.500 | 500000 | 400000 | 120.0 | 150.0 | 1.25 | n/a | 0.250 | 350000 | 300000 | 0.79 | 0.50 |\n" +
		"| BGREWRITEAOF | 100000 | error | error | error | error | error | error | error | 10.0 | 15.0 | 1.50 | 14.0 | 1.000 | 2 | 1 | n/a | n/a |\n" +
		"\nFailed cells:\n\n" +
		"- Redis, BGREWRITEAOF: still running after 5m0s\n"
	if got := b.String(); got != want {
		t.Fatalf("table:\n%s\nwant:\n%s", got, want)
	}
	checkCells(t, want, 19)
}

// checkCells checks every table line of out has the same number of cell
// separators, so Markdown renders it.
func checkCells(t *testing.T, out string, want int) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		if n := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|"); n != want {
			t.Errorf("line %q has %d separators, want %d", line, n, want)
		}
	}
}

func TestMedianSnap(t *testing.T) {
	rs := []SnapResult{
		{Before: 1, Peak: 10, PeakPSS: 5, Time: 3, Writes: 100},
		{Before: 3, Peak: 30, PeakPSS: -1, Time: 1, Writes: 300},
		{Before: 2, Peak: 20, PeakPSS: 7, Time: 2, Writes: 200},
	}
	m := medianSnap(rs)
	if m.Before != 2 || m.Peak != 20 || m.PeakPSS != -1 || m.Time != 2 || m.Writes != 200 {
		t.Errorf("%+v", *m)
	}
	if medianSnap(nil) != nil || medianLoad(nil) != nil {
		t.Error("median of nothing")
	}
}

func TestWriteLoad(t *testing.T) {
	ctx := context.Background()
	l, err := StartWriteLoad(ctx, fakeServer(t, "+OK\r\n", 0), 3, 10, PersistWrite(1000))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for l.Ops() < 300 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if err := l.Stop(); err != nil || l.Ops() < 300 || l.Ops()%10 != 0 {
		t.Errorf("Stop: %v after %d ops", err, l.Ops())
	}

	l, err = StartWriteLoad(ctx, fakeServer(t, "-OOM command not allowed\r\n", 0), 1, 5, PersistWrite(10))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if err := l.Stop(); err == nil || !strings.Contains(err.Error(), "OOM command not allowed") || l.Ops() != 0 {
		t.Errorf("error reply: %v, %d ops", err, l.Ops())
	}
	if _, err := StartWriteLoad(ctx, "127.0.0.1:1", 1, 1, PersistWrite(1)); err == nil {
		t.Error("connected to port 1")
	}
}

// TestRunPersistWithRedisStandIn runs the whole persistence measurement
// with redis-server standing in for Basalt, at a tiny size: Redis's fork
// must be found as a second process.
func TestRunPersistWithRedisStandIn(t *testing.T) {
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
	cfg := DefaultPersistConfig()
	cfg.RedisBin, cfg.BasaltBin = redis, redis
	cfg.Dir, cfg.DataDir = t.TempDir(), t.TempDir()
	cfg.Keys = 20000
	cfg.Warmup, cfg.Steady = 50*time.Millisecond, 50*time.Millisecond
	cfg.Interval = 2 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	loads, snaps, err := RunPersist(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(loads) != 2 || len(snaps) != 2 || snaps[0].Op != "BGSAVE" || snaps[1].Op != "BGREWRITEAOF" {
		t.Fatalf("rows %+v %+v", loads, snaps)
	}
	forks := 0
	for i := range loads {
		l, s := loads[i], snaps[i]
		if l.Redis == nil || l.Basalt == nil || s.Redis == nil || s.Basalt == nil {
			t.Fatalf("%s: %q %q", l.Kind, l.RedisErr, l.BasaltErr)
		}
		for _, r := range []*SnapResult{s.Redis, s.Basalt} {
			if r.Procs < 1 || r.Procs > 2 || r.Peak < r.Before || r.Time <= 0 || r.Writes <= 0 || r.PeakPSS <= 0 {
				t.Errorf("%s: %+v", s.Op, *r)
			}
			if r.Procs == 2 {
				forks++
			}
		}
		if l.Redis.FileBytes <= 0 || l.Redis.Time <= 0 {
			t.Errorf("%s: %+v", l.Kind, *l.Redis)
		}
	}
	// The fork of a 20k-key server holds memory for some 10 ms (then it is
	// a zombie until Redis reaps it), so a sample every 2 ms can miss it on
	// a loaded machine, but not in all four snapshots.
	if forks == 0 {
		t.Error("no snapshot saw Redis's fork")
	}
	if entries, _ := dirBytes(cfg.DataDir); entries != 0 {
		t.Errorf("%d bytes of data files left behind", entries)
	}
}
