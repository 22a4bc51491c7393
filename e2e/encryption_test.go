package e2e

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// encMagic opens every file encrypted by encryption-key-file (package
// internal/crypt).
const encMagic = "BSLTENC1"

// writeKeyFile writes a 256-bit key, as 64 hex characters and a newline.
func writeKeyFile(t *testing.T, dir, name string, b byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(hex.EncodeToString(bytes.Repeat([]byte{b}, 32))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// requireBasalt skips tests of Basalt's own features against redis-server.
func requireBasalt(t *testing.T) string {
	t.Helper()
	kind := requireDurableTarget(t)
	if kind != "basalt" {
		t.Skip("encryption-key-file is Basalt's own")
	}
	return kind
}

// TestEncryptionRDB: with encryption-key-file, SAVE writes an encrypted
// dump that holds no plaintext, a restart with the key loads the same
// dataset, and a wrong key or a flipped byte stops start-up with a message
// that says so (file and offset).
func TestEncryptionRDB(t *testing.T) {
	kind := requireBasalt(t)
	dir := t.TempDir()
	keys := t.TempDir()
	key := writeKeyFile(t, keys, "good.key", 0x42)
	wrong := writeKeyFile(t, keys, "wrong.key", 0x43)

	srv := startDurable(t, kind, dir, "--encryption-key-file", key)
	c := srv.dial(t)
	writeSeq(t, c, typesWriteSequence(21, 800))
	// Short values, which a plain RDB stores verbatim (no LZF under 20 bytes).
	secrets := []string{"s3cr3t-val-one", "s3cr3t-field", "s3cr3t-member"}
	mustCall(t, c, "SET", "enc:str", secrets[0])
	mustCall(t, c, "HSET", "enc:hash", secrets[1], "v")
	mustCall(t, c, "SADD", "enc:set", secrets[2])
	if r := mustCall(t, c, "SAVE"); string(r.Line) != "OK" {
		t.Fatalf("SAVE: %s", r.Raw)
	}
	want := dumpDataset(t, c)
	c.Close()
	srv.kill()

	dump := filepath.Join(dir, "dump.rdb")
	data, err := os.ReadFile(dump)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte(encMagic)) {
		t.Fatalf("dump does not start with %q: %q", encMagic, data[:min(16, len(data))])
	}
	for _, s := range append(secrets, "enc:str", "REDIS", "redis-ver") {
		if bytes.Contains(data, []byte(s)) {
			t.Fatalf("encrypted dump contains the plaintext %q", s)
		}
	}

	srv = startDurable(t, kind, dir, "--encryption-key-file", key, "--enable-debug-command", "yes")
	c = srv.dial(t)
	compareDatasets(t, "before restart", want, "after restart", dumpDataset(t, c), 5*time.Second)
	// DEBUG RELOAD goes through the same encrypted save and load.
	if r := mustCall(t, c, "DEBUG", "RELOAD"); string(r.Line) != "OK" {
		t.Fatalf("DEBUG RELOAD: %s", r.Raw)
	}
	compareDatasets(t, "before reload", want, "after reload", dumpDataset(t, c), 5*time.Second)
	c.Close()
	srv.kill()

	out := expectNoStart(t, kind, dir, "--encryption-key-file", wrong)
	if !strings.Contains(out, "wrong key") || !strings.Contains(out, "dump.rdb") {
		t.Fatalf("wrong key: want a wrong key message naming the file, got:\n%s", out)
	}
	out = expectNoStart(t, kind, dir)
	if !strings.Contains(out, "is encrypted: set encryption-key-file") {
		t.Fatalf("no key: got:\n%s", out)
	}
	out = expectNoStart(t, kind, dir, "--encryption-key-file", filepath.Join(keys, "missing.key"))
	if !strings.Contains(out, "missing.key") {
		t.Fatalf("missing key file: got:\n%s", out)
	}

	// A flipped byte in the middle of the data.
	bad := bytes.Clone(data)
	bad[len(bad)/2] ^= 0x10
	if err := os.WriteFile(dump, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	out = expectNoStart(t, kind, dir, "--encryption-key-file", key)
	if !strings.Contains(out, "tampered or corrupted") || !strings.Contains(out, "dump.rdb") ||
		!regexp.MustCompile(`byte offset \d+`).MatchString(out) {
		t.Fatalf("flipped byte: want a tampering message naming the file and offset, got:\n%s", out)
	}
	// A truncated file.
	if err := os.WriteFile(dump, data[:len(data)-5], 0o644); err != nil {
		t.Fatal(err)
	}
	out = expectNoStart(t, kind, dir, "--encryption-key-file", key)
	if !strings.Contains(out, "truncated") || !strings.Contains(out, "dump.rdb") {
		t.Fatalf("truncated: got:\n%s", out)
	}
}

// TestEncryptionPlainDumpStillLoads: turning encryption on keeps an
// existing plain dump loadable, and the next SAVE encrypts it.
func TestEncryptionPlainDumpStillLoads(t *testing.T) {
	kind := requireBasalt(t)
	dir := t.TempDir()
	key := writeKeyFile(t, t.TempDir(), "k", 0x11)
	srv := startDurable(t, kind, dir)
	c := srv.dial(t)
	writeSeq(t, c, typesWriteSequence(22, 300))
	mustCall(t, c, "SAVE")
	want := dumpDataset(t, c)
	c.Close()
	srv.kill()
	if data, _ := os.ReadFile(filepath.Join(dir, "dump.rdb")); !bytes.HasPrefix(data, []byte("REDIS")) {
		t.Fatal("plain dump expected")
	}
	srv = startDurable(t, kind, dir, "--encryption-key-file", key)
	c = srv.dial(t)
	compareDatasets(t, "plain", want, "loaded with a key", dumpDataset(t, c), 5*time.Second)
	mustCall(t, c, "SAVE")
	c.Close()
	srv.kill()
	if data, _ := os.ReadFile(filepath.Join(dir, "dump.rdb")); !bytes.HasPrefix(data, []byte(encMagic)) {
		t.Fatal("SAVE with a key did not encrypt")
	}
}

// TestEncryptionAOFBase: with appendonly yes, the RDB base BGREWRITEAOF
// writes is encrypted and a restart loads it (with the incr file after it).
func TestEncryptionAOFBase(t *testing.T) {
	kind := requireBasalt(t)
	dir := t.TempDir()
	key := writeKeyFile(t, t.TempDir(), "k", 0x77)
	args := []string{"--appendonly", "yes", "--encryption-key-file", key}
	srv := startDurable(t, kind, dir, args...)
	c := srv.dial(t)
	writeSeq(t, c, typesWriteSequence(23, 600))
	mustCall(t, c, "SET", "enc:base", "s3cr3t-base-v")
	mustCall(t, c, "BGREWRITEAOF")
	waitRewrite(t, c)
	writeSeq(t, c, typesWriteSequence(24, 200))
	want := dumpDataset(t, c)
	c.Close()
	srv.kill()

	aofDir := filepath.Join(dir, "appendonlydir")
	m := readManifest(t, filepath.Join(aofDir, "appendonly.aof.manifest"))
	if len(m) == 0 || m[0].typ != "b" || !strings.HasSuffix(m[0].name, ".base.rdb") {
		t.Fatalf("manifest: %+v", m)
	}
	base, err := os.ReadFile(filepath.Join(aofDir, m[0].name))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(base, []byte(encMagic)) || bytes.Contains(base, []byte("s3cr3t-base-v")) {
		t.Fatalf("AOF base is not encrypted: %q", base[:min(16, len(base))])
	}

	srv = startDurable(t, kind, dir, args...)
	c = srv.dial(t)
	compareDatasets(t, "before restart", want, "after restart", dumpDataset(t, c), 5*time.Second)
	c.Close()
	srv.kill()

	out := expectNoStart(t, kind, dir, "--appendonly", "yes")
	if !strings.Contains(out, "is encrypted: set encryption-key-file") {
		t.Fatalf("AOF base without a key: got:\n%s", out)
	}
}

// TestEncryptionAOFIncr: with a key, the incr files hold no plaintext; a
// kill -9 and restart keeps every acknowledged write; without the key the
// log is refused.
func TestEncryptionAOFIncr(t *testing.T) {
	kind := requireBasalt(t)
	key := writeKeyFile(t, t.TempDir(), "k", 0x5a)
	dir := t.TempDir()
	srv := startDurable(t, kind, dir, "--appendonly", "yes", "--appendfsync", "always", "--encryption-key-file", key)
	c := srv.dial(t)
	writeSeq(t, c, typesWriteSequence(31, 600))
	mustCall(t, c, "SET", "secret-incr-key", "secret-incr-value")
	want := dumpDataset(t, c)
	c.Close()
	srv.kill()
	entries, _ := os.ReadDir(filepath.Join(dir, "appendonlydir"))
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, "appendonlydir", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(e.Name(), ".incr.aof") && (bytes.Contains(data, []byte("secret-incr")) || bytes.Contains(data, []byte("SELECT"))) {
			t.Fatalf("%s holds plaintext", e.Name())
		}
	}
	again := startDurable(t, kind, dir, "--appendonly", "yes", "--encryption-key-file", key)
	ac := again.dial(t)
	compareDatasets(t, "before the kill", want, "restarted", dumpDataset(t, ac), 10*time.Second)
	ac.Close()
	again.kill()
	if out := expectNoStart(t, kind, dir, "--appendonly", "yes"); !strings.Contains(out, "encrypted") {
		t.Errorf("start without the key should name the encrypted file:\n%s", out)
	}
}
