package aof

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUpgradeOldStyleAOF: a Redis 6 style appendonly.aof in the working
// directory becomes the base of the AOF directory and is replayed, as Redis
// 7.0 does; a second start finds nothing to upgrade.
func TestUpgradeOldStyleAOF(t *testing.T) {
	root := t.TempDir()
	old := filepath.Join(root, "appendonly.aof")
	content := "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"
	if err := os.WriteFile(old, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	var logged []string
	opts := Options{Dir: filepath.Join(root, "appendonlydir"), FileName: "appendonly.aof", Fsync: Always,
		Logf: func(f string, a ...any) { logged = append(logged, f) }}
	up, err := Upgrade(opts, old)
	if err != nil || !up {
		t.Fatalf("Upgrade = %v, %v", up, err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatalf("old file still there: %v", err)
	}
	var cmds []string
	if _, err := Load(opts, func(args [][]byte) error {
		cmds = append(cmds, string(args[0]))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(cmds, " ") != "SELECT SET" {
		t.Fatalf("replayed %q", cmds)
	}
	l, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	l.Append([]byte("*2\r\n$3\r\nDEL\r\n$1\r\na\r\n"))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	man, err := os.ReadFile(filepath.Join(opts.Dir, "appendonly.aof.manifest"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"; string(man) != want {
		t.Fatalf("manifest %q, want %q", man, want)
	}
	if up, err := Upgrade(opts, old); err != nil || up {
		t.Fatalf("second Upgrade = %v, %v", up, err)
	}
	if len(logged) == 0 || !strings.Contains(logged[0], "migrated an old-style AOF") {
		t.Fatalf("log %q", logged)
	}
}

// TestUpgradeLeavesNewStyleAlone: an AOF directory of its own wins over a
// stray old-style file, which is left where it is.
func TestUpgradeLeavesNewStyleAlone(t *testing.T) {
	root := t.TempDir()
	opts := Options{Dir: filepath.Join(root, "appendonlydir"), FileName: "appendonly.aof", Fsync: No}
	l, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	old := filepath.Join(root, "appendonly.aof")
	if err := os.WriteFile(old, []byte("*1\r\n$4\r\nPING\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if up, err := Upgrade(opts, old); err != nil || up {
		t.Fatalf("Upgrade = %v, %v", up, err)
	}
	if _, err := os.Stat(old); err != nil {
		t.Fatal("old file moved")
	}
}
