package aof

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// writeBase writes cmds as a command base at a temp path of opts.Dir.
func writeBase(t *testing.T, opts Options, cmds ...[]byte) string {
	t.Helper()
	tmp := filepath.Join(opts.Dir, "temp-rewriteaof-bg-1.aof")
	w, err := CreateBase(tmp, opts.Key)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cmds {
		if err := w.Write(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	return tmp
}

func dirNames(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}

// TestInstallBaseOnly: a rewrite with the log off (appendonly no) leaves
// the base and a manifest listing only it, as redis-server 7.0; the next
// one takes the next seq and removes every file of the old manifest; Open
// (appendonly yes later) starts an incr file after it.
func TestInstallBaseOnly(t *testing.T) {
	opts := testOpts(t)
	opts.Dir = filepath.Join(opts.Dir, "appendonlydir") // created by the caller
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := writeBase(t, opts, AppendSelect(nil, 0), resp("SET", "a", "1"))
	if err := InstallBaseOnly(opts, tmp, BaseAOF); err != nil {
		t.Fatal(err)
	}
	man, _ := os.ReadFile(filepath.Join(opts.Dir, "appendonly.aof.manifest"))
	if string(man) != "file appendonly.aof.1.base.aof seq 1 type b\n" {
		t.Fatalf("manifest:\n%s", man)
	}
	if got := dirNames(t, opts.Dir); got != "appendonly.aof.1.base.aof appendonly.aof.manifest" {
		t.Fatalf("files: %s", got)
	}
	// appendonly yes: the base loads and an incr file follows it.
	var c collect
	if _, err := Load(opts, c.apply); err != nil || strings.Join(c.got, "|") != "SELECT 0|SET a 1" {
		t.Fatalf("load: %q %v", c.got, err)
	}
	l, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	waitDurable(t, l, l.Append(resp("SET", "b", "2")))
	l.Close()
	// appendonly no again: an RDB base replaces base and incr.
	tmp = filepath.Join(opts.Dir, "temp-rewriteaof-bg-2.aof")
	if err := os.WriteFile(tmp, emptyRDB(0), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := InstallBaseOnly(opts, tmp, BaseRDB); err != nil {
		t.Fatal(err)
	}
	man, _ = os.ReadFile(filepath.Join(opts.Dir, "appendonly.aof.manifest"))
	if string(man) != "file appendonly.aof.2.base.rdb seq 2 type b\n" {
		t.Fatalf("manifest:\n%s", man)
	}
	if got := dirNames(t, opts.Dir); got != "appendonly.aof.2.base.rdb appendonly.aof.manifest" {
		t.Fatalf("files: %s", got)
	}
}

// TestInstallBaseAOF: with the log on, a command base replaces the old
// base and incr files; the directory replays the base, then what was
// appended after the rotation.
func TestInstallBaseAOF(t *testing.T) {
	opts := testOpts(t)
	l, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	l.Append(cat(AppendSelect(nil, 0), resp("SET", "a", "old")))
	if err := l.Rotate(); err != nil {
		t.Fatal(err)
	}
	waitDurable(t, l, l.Append(cat(AppendSelect(nil, 0), resp("SET", "b", "2"))))
	tmp := writeBase(t, opts, AppendSelect(nil, 0), resp("SET", "a", "1"), AppendSelect(nil, 3), resp("RPUSH", "l", "x"))
	if err := l.InstallBase(tmp, BaseAOF); err != nil {
		t.Fatal(err)
	}
	waitDurable(t, l, l.Append(cat(AppendSelect(nil, 0), resp("SET", "c", "3"))))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	man, _ := os.ReadFile(filepath.Join(opts.Dir, "appendonly.aof.manifest"))
	if string(man) != "file appendonly.aof.2.base.aof seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n" {
		t.Fatalf("manifest:\n%s", man)
	}
	if got := dirNames(t, opts.Dir); got != "appendonly.aof.2.base.aof appendonly.aof.2.incr.aof appendonly.aof.manifest" {
		t.Fatalf("files: %s", got)
	}
	var c collect
	if _, err := Load(opts, c.apply); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.got, "|"); got != "SELECT 0|SET a 1|SELECT 3|RPUSH l x|SELECT 0|SET b 2|SELECT 0|SET c 3" {
		t.Fatalf("replayed %q", got)
	}
}

// TestEncryptedBaseAOF: with a key the command base is an encrypted
// append-only file (several chunks here) without plaintext; Load reads it
// with the key and refuses it without; a damaged chunk is an error.
func TestEncryptedBaseAOF(t *testing.T) {
	opts := testOpts(t)
	opts.Key = bytes.Repeat([]byte{9}, 32)
	var cmds [][]byte
	var want []string
	big := strings.Repeat("secret", 1000)
	for i := range 600 { // about 3.6 MB: several 1 MiB chunks
		k := "key" + strconv.Itoa(i)
		cmds = append(cmds, resp("SET", k, big))
		want = append(want, "SET "+k+" "+big)
	}
	tmp := writeBase(t, opts, cmds...)
	if err := InstallBaseOnly(opts, tmp, BaseAOF); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(opts.Dir, "appendonly.aof.1.base.aof")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Markers long enough that random ciphertext never holds them by
	// chance (3 bytes like "SET" would, in ~20% of 3.6 MB files).
	if bytes.Contains(data, []byte("secretsecret")) || bytes.Contains(data, []byte("\r\n$3\r\nSET\r\n")) {
		t.Fatal("the encrypted base holds plaintext")
	}
	l, err := Open(opts) // appendonly yes on it: an encrypted incr follows
	if err != nil {
		t.Fatal(err)
	}
	waitDurable(t, l, l.Append(resp("SET", "after", "1")))
	l.Close()
	var c collect
	if _, err := Load(opts, c.apply); err != nil {
		t.Fatal(err)
	}
	if len(c.got) != len(want)+1 || strings.Join(c.got[:len(want)], "|") != strings.Join(want, "|") || c.got[len(want)] != "SET after 1" {
		t.Fatalf("replayed %d commands, want %d", len(c.got), len(want)+1)
	}
	plain := opts
	plain.Key = nil
	if _, err := Load(plain, (&collect{}).apply); err == nil || !strings.Contains(err.Error(), "encrypted") {
		t.Fatalf("load without the key: %v", err)
	}
	data[len(data)/2] ^= 1
	os.WriteFile(path, data, 0o644)
	if _, err := Load(opts, (&collect{}).apply); err == nil {
		t.Fatal("a damaged base loaded")
	}
}
