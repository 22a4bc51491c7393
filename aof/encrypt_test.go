package aof

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEncryptedLog: with a key, incr files are encrypted append-only
// files that Load reads back (also across a rotation); without the key
// they are refused; a torn last chunk is cut off like a torn command.
func TestEncryptedLog(t *testing.T) {
	opts := testOpts(t)
	opts.Key = bytes.Repeat([]byte{3}, 32)
	opts.LoadTruncated = true
	l, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	l.Append(resp("SET", "secret-key", "secret-value"))
	if err := l.Rotate(); err != nil {
		t.Fatal(err)
	}
	seq := l.Append(resp("SET", "b", "2"))
	waitDurable(t, l, seq)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"appendonly.aof.1.incr.aof", "appendonly.aof.2.incr.aof"} {
		data, err := os.ReadFile(filepath.Join(opts.Dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte("secret")) || bytes.Contains(data, []byte("SET")) {
			t.Fatalf("%s holds plaintext", name)
		}
	}
	var c collect
	if _, err := Load(opts, c.apply); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.got, "|"); got != "SET secret-key secret-value|SET b 2" {
		t.Fatalf("replayed %q", got)
	}
	plain := opts
	plain.Key = nil
	if _, err := Load(plain, (&collect{}).apply); err == nil || !strings.Contains(err.Error(), "encrypted") {
		t.Fatalf("load without the key: %v", err)
	}
	if _, err := Open(plain); err == nil {
		t.Fatal("open without the key succeeded")
	}

	// A torn chunk at the end of the last file.
	last := filepath.Join(opts.Dir, "appendonly.aof.2.incr.aof")
	size := fileSize(t, last)
	f, err := os.OpenFile(last, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0, 0, 0, 40, 1, 2, 3})
	f.Close()
	c = collect{}
	st, err := Load(opts, c.apply)
	if err != nil || !st.Truncated || fileSize(t, last) != size {
		t.Fatalf("torn chunk: %+v %v, size %d want %d", st, err, fileSize(t, last), size)
	}
	// Appends continue after the kept chunks.
	l, err = Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	seq = l.Append(resp("SET", "c", "3"))
	waitDurable(t, l, seq)
	l.Close()
	c = collect{}
	if _, err := Load(opts, c.apply); err != nil || strings.Join(c.got, "|") != "SET secret-key secret-value|SET b 2|SET c 3" {
		t.Fatalf("after reopening: %q %v", c.got, err)
	}
	// A flipped byte in a middle chunk is damage, not a torn tail.
	data, _ := os.ReadFile(last)
	data[len(data)-5] ^= 1
	os.WriteFile(last, data, 0o644)
	if _, err := Load(opts, (&collect{}).apply); err == nil {
		t.Fatal("a damaged chunk loaded")
	}
}
