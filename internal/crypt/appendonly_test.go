package crypt

import (
	"bytes"
	"errors"
	"testing"
)

func TestAppendOnly(t *testing.T) {
	key := bytes.Repeat([]byte{7}, KeySize)
	h, err := NewAppendHeader(key)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSealer(key, h, 0)
	if err != nil {
		t.Fatal(err)
	}
	file := append([]byte(nil), h...)
	var want []byte
	var bounds []int
	for i, p := range []string{"*1\r\n$4\r\nPING\r\n", "", "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n"} {
		file = s.Seal(file, []byte(p))
		want = append(want, p...)
		bounds = append(bounds, len(file))
		_ = i
	}
	plain, n, torn, err := OpenAppend(key, file, "f")
	if err != nil || n != 3 || torn != int64(len(file)) || !bytes.Equal(plain, want) {
		t.Fatalf("open: %q %d %d %v", plain, n, torn, err)
	}
	// Every cut inside a chunk is a torn tail at that chunk's start.
	for cut := len(h); cut < len(file); cut++ {
		_, _, torn, err := OpenAppend(key, file[:cut], "f")
		start := len(h)
		for _, b := range bounds {
			if b <= cut {
				start = b
			}
		}
		if err != nil || torn != int64(start) {
			t.Fatalf("cut %d: torn %d (want %d) %v", cut, torn, start, err)
		}
	}
	// Every flipped byte is detected (or, in a length, seen as torn).
	for i := len(h); i < len(file); i++ {
		bad := append([]byte(nil), file...)
		bad[i] ^= 0x40
		plain, _, torn, err := OpenAppend(key, bad, "f")
		if err == nil && torn == int64(len(bad)) && bytes.Equal(plain, want) {
			t.Fatalf("flip at %d undetected", i)
		}
	}
	if _, _, _, err := OpenAppend(bytes.Repeat([]byte{8}, KeySize), file, "f"); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("wrong key: %v", err)
	}
	// Continuing a file: chunk numbers go on.
	s2, err := NewSealer(key, h, n)
	if err != nil {
		t.Fatal(err)
	}
	file = s2.Seal(file, []byte("more"))
	if plain, n, _, err := OpenAppend(key, file, "f"); err != nil || n != 4 || !bytes.HasSuffix(plain, []byte("more")) {
		t.Fatalf("continued: %q %d %v", plain, n, err)
	}
}
