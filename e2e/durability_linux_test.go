//go:build linux

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// misconfENOSPC is the error Redis 7.0 (and so Basalt) refuses writes with
// while the log cannot be written because the disk is full.
const misconfENOSPC = "MISCONF Errors writing to the AOF file: No space left on device"

// TestAOFDiskFull fills a small tmpfs under the server's log: writes must
// then be refused with MISCONF while reads keep working, nothing
// acknowledged may be lost, and writes must resume by themselves once space
// is freed. Needs root (to mount the tmpfs); CI runs as root.
//
// Basalt runs with appendfsync always. redis-server (the self-test) runs
// with everysec, since with always it exits on a failed write.
func TestAOFDiskFull(t *testing.T) {
	kind := requireDurableTarget(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	dir := t.TempDir()
	// 2 MiB, half taken by a filler file that is deleted later to make room.
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=2m,mode=0755"); err != nil {
		t.Skipf("cannot mount a tmpfs on %s (a container without CAP_SYS_ADMIN?): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	fsync := "always"
	if kind == "redis" {
		fsync = "everysec"
	}
	flags := []string{"--appendonly", "yes", "--appendfsync", fsync}
	srv := startDurable(t, kind, dir, flags...)

	// The writer SETs 1 KiB values, retrying refused writes, until told to
	// stop. It owns writerCli; the fields under mu are shared with the test.
	// The write whose log write failed may be answered with MISCONF or held
	// until the log is writable again (never acknowledged before): the test
	// watches the disk through its own probe connection too.
	var (
		mu        sync.Mutex
		acked     []string // keys whose SET was acknowledged, in order
		failure   string
		nRefused  int
		stop      = make(chan struct{})
		wg        sync.WaitGroup
		value     = strings.Repeat("v", 1000)
		writerCli = srv.dial(t)
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			key := fmt.Sprintf("fill:%d", i)
			_, err := call(writerCli, "SET", key, value)
			mu.Lock()
			refused := false
			switch {
			case err == nil:
				acked = append(acked, key)
			case isReplyError(err, "MISCONF"):
				if err.Error() != misconfENOSPC {
					failure = fmt.Sprintf("SET refused with %q, want %q", err, misconfENOSPC)
				}
				nRefused++
				refused = true
			default:
				failure = fmt.Sprintf("SET %s: %v", key, err)
			}
			done := failure != ""
			mu.Unlock()
			if done {
				return
			}
			if refused {
				time.Sleep(20 * time.Millisecond) // do not spin while refused
			}
		}
	}()
	stopWriter := func() {
		close(stop)
		wg.Wait()
		if failure != "" {
			t.Fatalf("writer: %s\n%s", failure, srv.out)
		}
	}
	// abort fails the test without waiting for a writer stuck on a held
	// reply: closing its connection unblocks it.
	abort := func(format string, args ...any) {
		t.Helper()
		writerCli.Close()
		close(stop)
		wg.Wait()
		t.Fatalf(format, args...)
	}
	progress := func() (nAcked, nRef int, fail string) {
		mu.Lock()
		defer mu.Unlock()
		return len(acked), nRefused, failure
	}
	checkAcked := func(c *Client, when string) {
		t.Helper()
		mu.Lock()
		keys := append([]string(nil), acked...)
		mu.Unlock()
		for i, v := range mgetChunked(t, c, keys) {
			if string(v) != value {
				t.Fatalf("%s: acknowledged SET %s reads back as %s", when, keys[i], describe(v))
			}
		}
	}

	// Wait for the disk to fill: the writer is refused, or stalls (its write
	// held) and a probe write is refused.
	c := srv.dial(t)
	probes := 0
	lastN, lastChange := -1, time.Now()
	for deadline := time.Now().Add(60 * time.Second); ; {
		n, ref, fail := progress()
		if fail != "" {
			stopWriter()
		}
		if ref > 0 {
			break
		}
		if n != lastN {
			lastN, lastChange = n, time.Now()
		} else if time.Since(lastChange) > 300*time.Millisecond {
			probes++
			key := fmt.Sprintf("probe:%d", probes)
			_, err := call(c, "SET", key, value)
			if err == nil {
				mu.Lock()
				acked = append(acked, key)
				mu.Unlock()
			} else if isReplyError(err, "MISCONF") {
				break
			} else {
				abort("SET while the writer is stalled: %v (a write neither acknowledged nor refused?)\n%s", err, srv.out)
			}
		}
		if time.Now().After(deadline) {
			abort("no MISCONF after %d acknowledged 1 KiB writes on a 2 MiB tmpfs\n%s", n, srv.out)
		}
		time.Sleep(5 * time.Millisecond)
	}
	nBefore, _, _ := progress()
	if nBefore == 0 {
		abort("writes were refused before any was acknowledged (does the log preallocate more than 1 MiB?)\n%s", srv.out)
	}

	// Disk full: writes refused, reads served, status reported.
	if _, err := call(c, "SET", "probe", "x"); err == nil || err.Error() != misconfENOSPC {
		t.Errorf("SET while the disk is full: %v, want %q", err, misconfENOSPC)
	}
	if _, err := call(c, "INCR", "probe-counter"); err == nil || err.Error() != misconfENOSPC {
		t.Errorf("INCR while the disk is full: %v, want %q", err, misconfENOSPC)
	}
	// Reads of durable data must not wait for the disk. A short timeout
	// tells "reads blocked" apart from a slow machine.
	c.Timeout = 5 * time.Second
	if v, err := call(c, "GET", "fill:0"); err != nil || string(v.Str) != value {
		abort("GET of an acknowledged key while the disk is full: %v %s (reads must keep working); on a new connection: %s\n%s",
			err, quoteReply(v.Raw), diagnoseStall(srv.addr), srv.out)
	}
	// Not DBSIZE: its count includes the write that hit the full disk,
	// which is not durable, so by the reply gate it waits (on Basalt) until
	// that write is on disk. It is checked after recovery below.
	checkAcked(c, "while the disk is full")
	c.Timeout = durableTimeout
	info := string(mustCall(t, c, "INFO", "persistence").Str)
	if !strings.Contains(info, "aof_last_write_status:err\r\n") {
		t.Errorf("INFO persistence while the disk is full lacks aof_last_write_status:err:\n%s", info)
	}

	// Free space: writes resume by themselves, the writer's included.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	for {
		_, err := call(c, "SET", "probe", "after")
		if err == nil {
			break
		}
		if !isReplyError(err, "MISCONF") {
			abort("SET after freeing space: %v\n%s", err, srv.out)
		}
		if time.Since(freed) > 15*time.Second {
			abort("writes did not resume within 15s of freeing 1 MiB\n%s", srv.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	resumedAfter := time.Since(freed)
	for deadline := time.Now().Add(15 * time.Second); ; {
		if n, _, fail := progress(); n >= nBefore+100 || fail != "" {
			break
		}
		if time.Now().After(deadline) {
			abort("the writer did not get 100 more writes through within 15s of writes resuming\n%s", srv.out)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopWriter()
	t.Logf("%d writes acknowledged before the disk filled, %d refused; writes resumed %v after space was freed",
		nBefore, nRefused, resumedAfter.Round(time.Millisecond))
	info = string(mustCall(t, c, "INFO", "persistence").Str)
	if !strings.Contains(info, "aof_last_write_status:ok\r\n") {
		t.Errorf("INFO persistence after recovery lacks aof_last_write_status:ok:\n%s", info)
	}
	checkAcked(c, "after space was freed")
	if v := mustCall(t, c, "DBSIZE"); v.Kind != ':' {
		t.Errorf("DBSIZE after recovery: %s", quoteReply(v.Raw))
	}
	c.Close()
	writerCli.Close()

	// Everything acknowledged survives a restart. Basalt is killed (with
	// always nothing acknowledged may be lost); redis-server with everysec
	// is stopped cleanly.
	if kind == "redis" {
		srv.term(t)
	} else {
		srv.kill()
	}
	srv = startDurable(t, kind, dir, flags...)
	c = srv.dial(t)
	checkAcked(c, "after a restart")
	if v := mustCall(t, c, "GET", "probe"); string(v.Str) != "after" {
		t.Errorf("GET probe after a restart: %s, want \"after\"", quoteReply(v.Raw))
	}
	t.Logf("%d acknowledged writes survived the restart", len(acked))
}

// diagnoseStall says which simple commands a stalled server still answers
// on a fresh connection, to tell a blocked loop from a too-wide read gate.
func diagnoseStall(addr string) string {
	var parts []string
	for _, args := range [][]string{{"PING"}, {"GET", "fill:0"}, {"GET", "fill:1"}, {"GET", "no-such-key"}, {"DBSIZE"}} {
		c, err := Dial(addr, 2*time.Second)
		if err != nil {
			return "dial: " + err.Error()
		}
		raw, err := c.DoStrings(args...)
		c.Close()
		res := quoteReply(raw)
		if err != nil {
			res = err.Error()
			if len(raw) == 0 {
				res = "no reply in 2s"
			}
		} else if len(res) > 30 {
			res = res[:30] + "..."
		}
		parts = append(parts, strings.Join(args, " ")+" -> "+res)
	}
	return strings.Join(parts, "; ")
}
