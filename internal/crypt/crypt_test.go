package crypt

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func seal(t testing.TB, key, plain []byte, chunk int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := newWriter(&buf, key, chunk)
	if err != nil {
		t.Fatal(err)
	}
	// Odd write sizes cross chunk boundaries at different places.
	for p := plain; len(p) > 0; {
		n := min(len(p), 1+len(p)%7)
		if _, err := w.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func open(data, key []byte) ([]byte, error) {
	return io.ReadAll(NewReader(bytes.NewReader(data), key, "f.rdb"))
}

func TestRoundTrip(t *testing.T) {
	key := testKey(1)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, chunk := range []int{1, 7, 16, 64} {
		for _, n := range []int{0, 1, chunk - 1, chunk, chunk + 1, 2 * chunk, 3*chunk + 5, 1000} {
			if n < 0 {
				continue
			}
			plain := make([]byte, n)
			for i := range plain {
				plain[i] = byte(rng.IntN(256))
			}
			enc := seal(t, key, plain, chunk)
			if !IsEncrypted(enc) {
				t.Fatal("no magic")
			}
			got, err := open(enc, key)
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("chunk %d n %d: err %v, equal %v", chunk, n, err, bytes.Equal(got, plain))
			}
		}
	}
	// The public writer, a large stream.
	plain := bytes.Repeat([]byte("basalt"), 50000)
	var buf bytes.Buffer
	w, err := NewWriter(&buf, key)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	w.Close()
	if bytes.Contains(buf.Bytes(), []byte("basaltbasalt")) {
		t.Fatal("plaintext visible")
	}
	got, err := open(buf.Bytes(), key)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatal("large round trip", err)
	}
	// Two files with one key differ (random file id).
	if bytes.Equal(seal(t, key, plain[:10], 16), seal(t, key, plain[:10], 16)) {
		t.Fatal("same ciphertext twice")
	}
}

func TestWrongKey(t *testing.T) {
	enc := seal(t, testKey(1), []byte("secret"), 16)
	_, err := open(enc, testKey(2))
	if !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), "wrong key") ||
		!strings.Contains(err.Error(), "f.rdb") || !strings.Contains(err.Error(), "offset 21") {
		t.Fatalf("got %v", err)
	}
	if _, err := open(enc, testKey(1)[:16]); err == nil {
		t.Fatal("short key accepted")
	}
}

func TestEveryByteFlipDetected(t *testing.T) {
	key := testKey(3)
	plain := []byte("the quick brown fox jumps over the lazy dog, twice over")
	enc := seal(t, key, plain, 16)
	for i := range enc {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			bad := bytes.Clone(enc)
			bad[i] ^= mask
			got, err := open(bad, key)
			if err == nil {
				t.Fatalf("flip at %d (mask %x) undetected: %q", i, mask, got)
			}
			var e *Error
			if !errors.As(err, &e) || e.File != "f.rdb" {
				t.Fatalf("flip at %d: %v", i, err)
			}
			if i >= headerLen && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("flip at %d: %v", i, err)
			}
		}
	}
	// The reported offset is the start of the damaged chunk.
	bad := bytes.Clone(enc)
	second := headerLen + 4 + 16 + tagLen
	bad[second+10] ^= 1
	_, err := open(bad, key)
	var e *Error
	if !errors.As(err, &e) || e.Offset != int64(second) || !strings.Contains(err.Error(), "tampered or corrupted") {
		t.Fatalf("got %v, want offset %d", err, second)
	}
}

func TestEveryTruncationDetected(t *testing.T) {
	key := testKey(4)
	enc := seal(t, key, bytes.Repeat([]byte("x"), 50), 16)
	for n := 0; n < len(enc); n++ {
		_, err := open(enc[:n], key)
		if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("cut at %d: %v", n, err)
		}
		// A cut at a chunk boundary is a truncation, not a complete file.
		if !errors.Is(err, ErrTruncated) {
			t.Fatalf("cut at %d: %v", n, err)
		}
		if !strings.Contains(err.Error(), "f.rdb") {
			t.Fatal(err)
		}
	}
	// Appended bytes are refused too.
	if _, err := open(append(bytes.Clone(enc), 0), key); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("trailing byte: %v", err)
	}
	// Dropping a whole middle chunk breaks the nonce sequence.
	c := 4 + 16 + tagLen
	drop := append(bytes.Clone(enc[:headerLen]), enc[headerLen+c:]...)
	if _, err := open(drop, key); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("dropped chunk: %v", err)
	}
}

func TestIsEncrypted(t *testing.T) {
	if IsEncrypted([]byte("REDIS0010")) || IsEncrypted([]byte("BSLT")) || !IsEncrypted([]byte(Magic)) {
		t.Fatal("IsEncrypted")
	}
	_, err := open([]byte("REDIS0010xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"), testKey(1))
	if !errors.Is(err, ErrFormat) {
		t.Fatal(err)
	}
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	raw := testKey(0x0a) // ends in a newline byte: still 32 raw bytes
	hexKey := strings.Repeat("0a", 32)
	cases := []struct {
		data string
		ok   bool
	}{
		{string(raw), true},
		{hexKey, true},
		{hexKey + "\n", true},
		{hexKey + "\r\n", true},
		{strings.ToUpper(hexKey), true},
		{"", false},
		{"short", false},
		{hexKey[:62] + "zz", false},
		{hexKey + "\n\n", false},
		{string(raw) + "\n", false},
	}
	for i, c := range cases {
		p := filepath.Join(dir, "k")
		os.WriteFile(p, []byte(c.data), 0o600)
		k, err := LoadKey(p)
		if c.ok != (err == nil) || c.ok && !bytes.Equal(k, raw) {
			t.Fatalf("case %d: %v %x", i, err, k)
		}
		if err != nil && !strings.Contains(err.Error(), p) {
			t.Fatalf("case %d: error does not name the file: %v", i, err)
		}
	}
	if _, err := LoadKey(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatal(err)
	}
}

// FuzzReader feeds arbitrary bytes (seeded with valid files and their
// mutations) to the reader: it must never panic, and anything it accepts
// completely must have been a file sealed with the key.
func FuzzReader(f *testing.F) {
	key := testKey(5)
	for _, n := range []int{0, 1, 16, 40} {
		f.Add(seal(f, key, bytes.Repeat([]byte("y"), n), 16))
	}
	f.Add([]byte(Magic))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := open(data, key)
		if err == nil && len(got) > 0 && !bytes.Equal(got, bytes.Repeat([]byte("y"), len(got))) {
			t.Fatalf("forged plaintext accepted: %q", got)
		}
	})
}
