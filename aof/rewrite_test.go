package aof

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// waitDurable waits until the log is durable up to seq.
func waitDurable(t *testing.T, l *Log, seq uint64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); l.Durable() < seq; {
		if time.Now().After(deadline) {
			t.Fatalf("durable %d, want %d", l.Durable(), seq)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestRotateAndInstallBase: after Rotate, new appends go to a new incr
// file listed in the manifest (the directory loads everything); after
// InstallBase, the manifest holds the new base and that incr file only,
// and the old files are gone.
func TestRotateAndInstallBase(t *testing.T) {
	for _, p := range []Policy{Always, EverySec, No} {
		t.Run(p.String(), func(t *testing.T) {
			opts := testOpts(t)
			opts.Fsync = p
			l, err := Open(opts)
			if err != nil {
				t.Fatal(err)
			}
			l.Append(resp("SET", "a", "1"))
			if err := l.Rotate(); err != nil {
				t.Fatal(err)
			}
			seq := l.Append(resp("SET", "b", "2"))
			waitDurable(t, l, seq)
			var c collect
			if _, err := Load(opts, c.apply); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(c.got, "|"); got != "SET a 1|SET b 2" {
				t.Fatalf("after Rotate the directory replays %q", got)
			}
			tmp := filepath.Join(opts.Dir, "temp-rewrite.rdb")
			if err := os.WriteFile(tmp, emptyRDB(time.Now().Unix()), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := l.InstallBase(tmp, BaseRDB); err != nil {
				t.Fatal(err)
			}
			seq = l.Append(resp("SET", "c", "3"))
			waitDurable(t, l, seq)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			m, err := readManifest(opts.Dir, opts.FileName)
			if err != nil {
				t.Fatal(err)
			}
			if m.Base == nil || m.Base.Name != "appendonly.aof.2.base.rdb" || len(m.Incr) != 1 || m.Incr[0].Name != "appendonly.aof.2.incr.aof" {
				t.Fatalf("manifest after InstallBase:\n%s", m)
			}
			entries, _ := os.ReadDir(opts.Dir)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if strings.Join(names, " ") != "appendonly.aof.2.base.rdb appendonly.aof.2.incr.aof appendonly.aof.manifest" {
				t.Fatalf("files after InstallBase: %v", names)
			}
			c = collect{}
			if _, err := Load(opts, c.apply); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(c.got, "|"); got != "SET b 2|SET c 3" {
				t.Fatalf("after InstallBase the directory replays %q", got)
			}
		})
	}
}
