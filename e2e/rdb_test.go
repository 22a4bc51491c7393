package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRDBSnapshots checks RDB files both ways and the ways they are made:
// SAVE and BGSAVE files of every data type that the server under test
// loads back and a real redis-server 7.0 loads with the same dataset; a
// redis-server dump that the server under test loads; save points and
// SHUTDOWN writing the file; a truncated file refused at start-up.
func TestRDBSnapshots(t *testing.T) {
	kind := requireDurableTarget(t)
	requireRedis(t)
	seq := typesWriteSequence(7, 1200)
	write := func(t *testing.T, c *Client) { writeSeq(t, c, seq) }
	for _, how := range []string{"SAVE", "BGSAVE"} {
		t.Run(strings.ToLower(how)+"-to-self-and-redis", func(t *testing.T) {
			dir := t.TempDir()
			srv := startDurable(t, kind, dir)
			c := srv.dial(t)
			write(t, c)
			want := dumpDataset(t, c)
			before := mustCall(t, c, "LASTSAVE")
			time.Sleep(1100 * time.Millisecond) // LASTSAVE has 1 s resolution
			mustCall(t, c, how)
			waitBgsave(t, c)
			after := mustCall(t, c, "LASTSAVE")
			if a, _ := after.Int(); func() bool { b, _ := before.Int(); return a <= b }() {
				t.Errorf("LASTSAVE did not advance: %s -> %s", before.Raw, after.Raw)
			}
			c.Close()
			srv.kill()

			again := startDurable(t, kind, dir)
			ac := again.dial(t)
			compareDatasets(t, kind, want, kind+" restarted", dumpDataset(t, ac), 10*time.Second)
			ac.Close()
			again.kill()

			red := startDurable(t, "redis", dir, "--dbfilename", "dump.rdb")
			rc := red.dial(t)
			compareDatasets(t, kind, want, "redis-server", dumpDataset(t, rc), 10*time.Second)
			if t.Failed() {
				t.Logf("redis-server's log:\n%s", red.out)
			}
		})
	}

	t.Run("from-redis", func(t *testing.T) {
		dir := t.TempDir()
		red := startDurable(t, "redis", dir)
		rc := red.dial(t)
		write(t, rc)
		want := dumpDataset(t, rc)
		mustCall(t, rc, "SAVE")
		rc.Close()
		red.kill()
		srv := startDurable(t, kind, dir)
		c := srv.dial(t)
		compareDatasets(t, "redis-server", want, kind, dumpDataset(t, c), 10*time.Second)
		if t.Failed() {
			t.Logf("%s's log:\n%s", kind, srv.out)
		}
	})

	t.Run("save-points-and-shutdown", func(t *testing.T) {
		dir := t.TempDir()
		srv := startDurable(t, kind, dir, "--save", "1 1")
		c := srv.dial(t)
		mustCall(t, c, "SET", "a", "1")
		path := filepath.Join(dir, "dump.rdb")
		deadline := time.Now().Add(10 * time.Second)
		for {
			if _, err := os.Stat(path); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no save after a change with save 1 1")
			}
			time.Sleep(50 * time.Millisecond)
		}
		waitBgsave(t, c)
		mustCall(t, c, "SET", "b", "2")
		_, _ = c.Do(bs("SHUTDOWN"))
		waitExit(t, srv)
		again := startDurable(t, kind, dir)
		ac := again.dial(t)
		if v := mustCall(t, ac, "MGET", "a", "b"); len(v.Elems) != 2 || string(v.Elems[1].Str) != "2" {
			t.Fatalf("after SHUTDOWN with save points: MGET a b = %s", v.Raw)
		}
	})

	// A failing BGSAVE (dump.rdb is a directory, so the rename fails)
	// refuses writes with Redis's MISCONF while reads continue; a later
	// good save lifts it. Run on both servers: the replies must agree.
	t.Run("failed-bgsave-stops-writes", func(t *testing.T) {
		var replies [2][]string
		for i, k := range []string{"redis", kind} {
			dir := t.TempDir()
			srv := startDurable(t, k, dir, "--save", "3600 1")
			c := srv.dial(t)
			mustCall(t, c, "SET", "a", "1")
			if err := os.Mkdir(filepath.Join(dir, "dump.rdb"), 0o755); err != nil {
				t.Fatal(err)
			}
			mustCall(t, c, "BGSAVE")
			waitBgsave(t, c)
			for _, args := range [][]string{{"SET", "a", "2"}, {"GET", "a"}} {
				r, _ := c.Do(bs(args...))
				replies[i] = append(replies[i], string(r))
			}
			if err := os.Remove(filepath.Join(dir, "dump.rdb")); err != nil {
				t.Fatal(err)
			}
			mustCall(t, c, "BGSAVE")
			waitBgsave(t, c)
			r, _ := c.Do(bs("SET", "a", "3"))
			replies[i] = append(replies[i], string(r))
			c.Close()
			srv.kill()
		}
		if strings.Join(replies[0], "|") != strings.Join(replies[1], "|") {
			t.Fatalf("redis: %q\n%s: %q", replies[0], kind, replies[1])
		}
		if !strings.HasPrefix(replies[1][0], "-MISCONF") {
			t.Fatalf("write after a failed BGSAVE: %q", replies[1][0])
		}
	})

	t.Run("truncated-file-refused", func(t *testing.T) {
		dir := t.TempDir()
		srv := startDurable(t, kind, dir)
		c := srv.dial(t)
		write(t, c)
		mustCall(t, c, "SAVE")
		c.Close()
		srv.kill()
		path := filepath.Join(dir, "dump.rdb")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data[:len(data)*2/3], 0o644); err != nil {
			t.Fatal(err)
		}
		out := expectNoStart(t, kind, dir)
		if !strings.Contains(out, "dump.rdb") || !strings.Contains(out, "offset") {
			t.Errorf("start-up on a truncated RDB should name the file and the offset:\n%s", out)
		}
	})
}

// waitBgsave waits until no background save runs.
func waitBgsave(t *testing.T, c *Client) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		info := mustCall(t, c, "INFO", "persistence")
		if strings.Contains(string(info.Str), "rdb_bgsave_in_progress:0") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("background save did not finish")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitExit waits for a server that was told to stop.
func waitExit(t *testing.T, p *durableProc) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !p.exited() {
		if time.Now().After(deadline) {
			t.Fatal("server did not exit")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestScheduledSnapshotsAndRestore: a snapshot window around now writes
// one snapshot into snapshot-dir, retention prunes, and --restore starts
// a fresh server (in-memory, and with an append-only log) from it; DEBUG
// RELOAD keeps the dataset.
func TestScheduledSnapshotsAndRestore(t *testing.T) {
	if suite.target != "basalt" {
		t.Skip("Basalt's own directives")
	}
	dir := t.TempDir()
	now := time.Now().UTC()
	window := now.Add(-time.Minute).Format("15:04") + "-" + now.Add(3*time.Minute).Format("15:04")
	srv := startDurable(t, "basalt", dir, "--enable-debug-command", "yes")
	c := srv.dial(t)
	writeSeq(t, c, typesWriteSequence(21, 800))
	if r := mustCall(t, c, "DEBUG", "RELOAD"); string(r.Line) != "OK" {
		t.Fatalf("DEBUG RELOAD: %s", r.Raw)
	}
	want := dumpDataset(t, c)
	mustCall(t, c, "CONFIG", "SET", "snapshot-retention", "1")
	mustCall(t, c, "CONFIG", "SET", "snapshot-schedule", window)
	snapDir := filepath.Join(dir, "snapshots")
	var snap string
	for deadline := time.Now().Add(20 * time.Second); snap == ""; {
		entries, _ := os.ReadDir(snapDir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "basalt-") && strings.HasSuffix(e.Name(), ".rdb") {
				snap = filepath.Join(snapDir, e.Name())
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no scheduled snapshot")
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.Close()
	srv.kill()
	for _, aof := range []bool{false, true} {
		fresh := t.TempDir()
		args := []string{"--restore", snap}
		if aof {
			args = append(args, "--appendonly", "yes")
		}
		r := startDurable(t, "basalt", fresh, args...)
		rc := r.dial(t)
		compareDatasets(t, "before the snapshot", want, "restored", dumpDataset(t, rc), 10*time.Second)
		rc.Close()
		r.kill()
		if aof { // the restored data lives in the new log
			again := startDurable(t, "basalt", fresh, "--appendonly", "yes")
			ac := again.dial(t)
			compareDatasets(t, "before the snapshot", want, "restarted after restore", dumpDataset(t, ac), 10*time.Second)
			ac.Close()
			again.kill()
		}
	}
}
