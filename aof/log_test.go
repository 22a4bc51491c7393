package aof

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestParsePolicy(t *testing.T) {
	for _, p := range []Policy{Always, EverySec, No} {
		got, ok := ParsePolicy(strings.ToUpper(p.String()))
		if !ok || got != p {
			t.Fatalf("%v: %v %v", p, got, ok)
		}
	}
	if _, ok := ParsePolicy("sometimes"); ok {
		t.Fatal("accepted")
	}
}

// waitFor polls cond for up to 5s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func incrPath(opts Options, seq int) string {
	return filepath.Join(opts.Dir, incrName(opts.FileName, int64(seq)))
}

// TestOpenLayout: a new directory gets Redis 7.0's layout; reopening appends
// to the last incr file; a manifest with only a base gets a new incr file.
func TestOpenLayout(t *testing.T) {
	opts := testOpts(t)
	opts.Dir = filepath.Join(opts.Dir, "appendonlydir")
	l, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	l.Append(resp("SET", "a", "1"))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	mf, _ := os.ReadFile(filepath.Join(opts.Dir, "appendonly.aof.manifest"))
	if string(mf) != "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n" {
		t.Fatalf("manifest %q", mf)
	}
	rdb, _ := os.ReadFile(filepath.Join(opts.Dir, "appendonly.aof.1.base.rdb"))
	if n, err := checkEmptyRDB(rdb); err != nil || n != len(rdb) {
		t.Fatal(n, err)
	}
	entries, _ := os.ReadDir(opts.Dir)
	if len(entries) != 3 {
		t.Fatalf("files %v", entries)
	}

	l, err = Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	st := l.Stats()
	if st.BaseSize != int64(len(rdb)) || st.CurrentSize != int64(len(rdb)+len(resp("SET", "a", "1"))) {
		t.Fatalf("stats %+v", st)
	}
	l.Append(resp("SET", "b", "2"))
	l.Close()
	var c collect
	if _, err := Load(opts, c.apply); err != nil || strings.Join(c.got, ",") != "SET a 1,SET b 2" {
		t.Fatal(c.got, err)
	}

	// Only a base listed: Open starts appendonly.aof.2.incr.aof, as Redis.
	os.WriteFile(filepath.Join(opts.Dir, "appendonly.aof.manifest"),
		[]byte("file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type h\n"), 0o644)
	l, err = Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	mf, _ = os.ReadFile(filepath.Join(opts.Dir, "appendonly.aof.manifest"))
	if !strings.HasSuffix(string(mf), "file appendonly.aof.2.incr.aof seq 2 type i\n") {
		t.Fatalf("manifest %q", mf)
	}
}

// TestGroupCommit: many goroutines append; Durable reaches the last seq, the
// file is the batches in seq order, and batches were grouped.
func TestGroupCommit(t *testing.T) {
	for _, p := range []Policy{Always, EverySec, No} {
		t.Run(p.String(), func(t *testing.T) {
			opts := testOpts(t)
			opts.Fsync = p
			var lastDurable atomic.Uint64
			opts.OnDurable = func(seq uint64) {
				if seq <= lastDurable.Load() {
					t.Errorf("OnDurable went from %d to %d", lastDurable.Load(), seq)
				}
				lastDurable.Store(seq)
			}
			l, err := Open(opts)
			if err != nil {
				t.Fatal(err)
			}
			const writers, each = 16, 300
			var mu sync.Mutex
			bySeq := map[uint64][]byte{}
			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						b := resp("SET", fmt.Sprintf("k%d:%d", w, i), "v")
						// Hold mu across Append so bySeq sees seqs as issued.
						mu.Lock()
						seq := l.Append(b)
						bySeq[seq] = b
						mu.Unlock()
						if p == Always && i%50 == 0 { // a writer waiting for its reply
							waitFor(t, "durable", func() bool { return l.Durable() >= seq })
						}
					}
				}()
			}
			wg.Wait()
			last := uint64(writers * each)
			waitFor(t, "last seq durable", func() bool { return l.Durable() == last })
			if lastDurable.Load() != last {
				t.Fatalf("OnDurable last %d", lastDurable.Load())
			}
			st := l.Stats()
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			var want []byte
			for s := uint64(1); s <= last; s++ {
				want = append(want, bySeq[s]...)
			}
			got, _ := os.ReadFile(incrPath(opts, 1))
			if !bytes.Equal(got, want) {
				t.Fatalf("file content differs from the batches in seq order (%d vs %d bytes)", len(got), len(want))
			}
			if st.Batches != int64(last) || st.BatchedBytes != int64(len(want)) || st.Writes > st.Batches || !st.LastWriteOK {
				t.Fatalf("stats %+v", st)
			}
			if p == Always && st.Fsyncs != st.Writes {
				t.Fatalf("always: %d fsyncs for %d writes", st.Fsyncs, st.Writes)
			}
			if p == No && st.Fsyncs != 0 {
				t.Fatalf("no: %d fsyncs", st.Fsyncs)
			}
			t.Logf("%s: %d batches in %d writes (%.1f per write), %d fsyncs", p, st.Batches, st.Writes,
				float64(st.Batches)/float64(st.Writes), st.Fsyncs)
		})
	}
}

// TestEverySec: data written under everysec is fsynced within about a
// second even when no further writes come.
func TestEverySec(t *testing.T) {
	opts := testOpts(t)
	opts.Fsync = No
	l, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	seq := l.Append(resp("SET", "a", "1"))
	waitFor(t, "durable", func() bool { return l.Durable() == seq })
	if l.Stats().Fsyncs != 0 {
		t.Fatal("fsync under no")
	}
	l.SetFsync(EverySec)
	l.Append(resp("SET", "b", "1"))
	waitFor(t, "everysec fsync", func() bool { return l.Stats().Fsyncs >= 1 && !l.Stats().PendingFsync })
	l.SetFsync(Always)
	before := l.Stats().Fsyncs
	seq = l.Append(resp("SET", "c", "1"))
	waitFor(t, "durable", func() bool { return l.Durable() == seq })
	if l.Stats().Fsyncs != before+1 {
		t.Fatalf("always after SetFsync: %d fsyncs, want %d", l.Stats().Fsyncs, before+1)
	}
}

// TestWriteFailure injects ENOSPC into writes (partial, then none) and
// EIO into fdatasync: WriteErr is set, nothing becomes durable, the file is
// cut back, Append keeps accepting, and everything lands in order once the
// disk works again.
func TestWriteFailure(t *testing.T) {
	opts := testOpts(t)
	var failWrite, failSync atomic.Bool
	var attempts atomic.Int64
	h := &hooks{
		write: func(f *os.File, b []byte) (int, error) {
			if failWrite.Load() {
				attempts.Add(1)
				n, _ := f.Write(b[:len(b)/2]) // a partial write, then the disk is full
				return n, &os.PathError{Op: "write", Path: f.Name(), Err: unix.ENOSPC}
			}
			return f.Write(b)
		},
		sync: func(fd int) error {
			if failSync.Load() {
				attempts.Add(1)
				return unix.EIO
			}
			return unix.Fdatasync(fd)
		},
	}
	l, err := open(opts, h)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ok1 := l.Append(resp("SET", "a", "1"))
	waitFor(t, "first durable", func() bool { return l.Durable() == ok1 })
	good, _ := os.ReadFile(incrPath(opts, 1))

	for _, c := range []struct {
		name  string
		fail  *atomic.Bool
		errno unix.Errno
		text  string
	}{
		{"write", &failWrite, unix.ENOSPC, "No space left on device"},
		{"fdatasync", &failSync, unix.EIO, "Input/output error"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.fail.Store(true)
			attempts.Store(0)
			base := l.Durable()
			s1 := l.Append(resp("SET", "b", c.name))
			waitFor(t, "WriteErr", func() bool { return l.WriteErr() != nil })
			s2 := l.Append(resp("SET", "c", c.name)) // accepted while failing
			waitFor(t, "retries", func() bool { return attempts.Load() >= 3 })
			err := l.WriteErr()
			var en unix.Errno
			if !errors.As(err, &en) || en != c.errno || err.Error() != c.text {
				t.Fatalf("WriteErr %v (%T)", err, err)
			}
			st := l.Stats()
			if l.Durable() != base || st.LastWriteOK || st.BufferLength == 0 {
				t.Fatalf("while failing: durable %d (base %d), stats %+v", l.Durable(), base, st)
			}
			// A retry may be between its write and the cut-back right now
			// (retries come 100 ms or more apart): wait for the cut.
			waitFor(t, "file cut back", func() bool {
				got, _ := os.ReadFile(incrPath(opts, 1))
				return bytes.Equal(got, good)
			})

			c.fail.Store(false) // space freed
			waitFor(t, "recovery", func() bool { return l.Durable() == s2 })
			if l.WriteErr() != nil || !l.Stats().LastWriteOK || l.Stats().BufferLength != 0 {
				t.Fatalf("after recovery: %v %+v", l.WriteErr(), l.Stats())
			}
			good = append(good, cat(resp("SET", "b", c.name), resp("SET", "c", c.name))...)
			if got, _ := os.ReadFile(incrPath(opts, 1)); !bytes.Equal(got, good) {
				t.Fatalf("after recovery the file is\n%q\nwant\n%q", got, good)
			}
			if s2 != s1+1 {
				t.Fatalf("seqs %d then %d", s1, s2)
			}
		})
	}
}

// TestDiskFull fills a real tiny tmpfs (root only).
func TestDiskFull(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs: %v %s", err, out)
	}
	defer exec.Command("umount", dir).Run()
	opts := Options{Dir: filepath.Join(dir, "appendonlydir"), FileName: "appendonly.aof", Fsync: Always, Logf: t.Logf}
	l, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	value := strings.Repeat("x", 1000)
	var acked uint64
	var sent [][]byte
	for i := 0; l.WriteErr() == nil; i++ {
		if i > 1000 {
			t.Fatal("the disk never filled")
		}
		b := resp("SET", fmt.Sprint("k", i), value)
		sent = append(sent, b)
		seq := l.Append(b)
		for l.Durable() < seq && l.WriteErr() == nil {
			time.Sleep(100 * time.Microsecond)
		}
		if l.Durable() >= seq {
			acked = seq
		}
	}
	if l.Durable() != acked {
		t.Fatalf("durable %d past the last acknowledged %d", l.Durable(), acked)
	}
	if !strings.Contains(l.WriteErr().Error(), "No space left on device") {
		t.Fatal(l.WriteErr())
	}
	// The file holds exactly the acknowledged batches.
	got, _ := os.ReadFile(incrPath(opts, 1))
	if !bytes.Equal(got, cat(sent[:acked]...)) {
		t.Fatalf("file %d bytes, want %d", len(got), len(cat(sent[:acked]...)))
	}
	// More appends while full, then free space: all of it lands in order.
	for i := range 3 {
		b := resp("SET", fmt.Sprint("late", i), "v")
		sent = append(sent, b)
		l.Append(b)
	}
	// Free space by growing the tmpfs.
	if out, err := exec.Command("mount", "-o", "remount,size=1m", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v %s", err, out)
	}
	waitFor(t, "recovery", func() bool { return l.Durable() == uint64(len(sent)) })
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(incrPath(opts, 1))
	if !bytes.Equal(got, cat(sent...)) {
		t.Fatalf("after recovery: file %d bytes, want %d", len(got), len(cat(sent...)))
	}
	var c collect
	if st, err := Load(opts, c.apply); err != nil || st.Commands != int64(len(sent)) {
		t.Fatal(st, err)
	}
}

func BenchmarkAppend(b *testing.B) {
	for _, p := range []Policy{No, Always} {
		b.Run(p.String(), func(b *testing.B) {
			opts := testOpts(b)
			opts.Logf = nil
			opts.Fsync = p
			l, err := Open(opts)
			if err != nil {
				b.Fatal(err)
			}
			cmd := resp("SET", "key:000000001", strings.Repeat("v", 32))
			b.SetBytes(int64(len(cmd)))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					l.Append(cmd)
				}
			})
			l.Close()
			st := l.Stats()
			b.ReportMetric(float64(st.Batches)/float64(max(st.Writes, 1)), "batches/write")
		})
	}
}

// BenchmarkDurableAlways is the reply gate's view: 50 clients each append a
// SET and wait until it is durable under appendfsync always.
func BenchmarkDurableAlways(b *testing.B) {
	opts := testOpts(b)
	opts.Logf = nil
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	opts.OnDurable = func(uint64) { mu.Lock(); cond.Broadcast(); mu.Unlock() }
	l, err := Open(opts)
	if err != nil {
		b.Fatal(err)
	}
	cmd := resp("SET", "key:000000001", strings.Repeat("v", 32))
	b.ReportAllocs()
	b.SetParallelism(max(1, 50/runtimeProcs()))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			seq := l.Append(cmd)
			mu.Lock()
			for l.Durable() < seq {
				cond.Wait()
			}
			mu.Unlock()
		}
	})
	b.StopTimer()
	st := l.Stats()
	l.Close()
	b.ReportMetric(float64(st.Batches)/float64(max(st.Writes, 1)), "batches/fsync")
}

// BenchmarkLoad replays 100k SETs per iteration.
func BenchmarkLoad(b *testing.B) {
	opts := testOpts(b)
	var content []byte
	const n = 100000
	for i := range n {
		content = append(content, resp("SET", fmt.Sprintf("key:%08d", i), strings.Repeat("v", 32))...)
	}
	writeDir(b, opts.Dir, false, content)
	b.SetBytes(int64(len(content)))
	b.ReportAllocs()
	for b.Loop() {
		st, err := Load(opts, func([][]byte) error { return nil })
		if err != nil || st.Commands != n {
			b.Fatal(st, err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "cmds/s")
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
