package hash

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cespare/xxhash/v2"
)

var crcImpls = []struct {
	name string
	f    func([]byte) uint16
}{
	{"bitwise", crc16Bitwise},
	{"table", crc16Table},
	{"slice8", crc16Slice8},
	{"chosen", CRC16},
}

var sumImpls = []struct {
	name string
	f    func(uint64, []byte) uint64
}{
	{"go", sum64Go},
	{"digest", sum64Digest},
	{"blocks", sum64Blocks},
	{"chosen", Sum64},
}

func TestCRC16Vectors(t *testing.T) {
	for _, im := range crcImpls {
		if got := im.f([]byte("123456789")); got != 0x31C3 {
			t.Errorf("%s: CRC16(123456789) = %#x, want 0x31c3", im.name, got)
		}
		if got := im.f(nil); got != 0 {
			t.Errorf("%s: CRC16(empty) = %#x", im.name, got)
		}
	}
}

func TestCRC16AllImplementationsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 301)
	for round := 0; round < 20; round++ {
		for i := range buf {
			buf[i] = byte(r.Uint32())
		}
		for n := 0; n <= 300; n++ {
			// Vary the start so unaligned loads are exercised.
			off := round % 2
			if n+off > len(buf) {
				off = 0
			}
			b := buf[off : off+n]
			want := crc16Bitwise(b)
			for _, im := range crcImpls[1:] {
				if got := im.f(b); got != want {
					t.Fatalf("%s: len %d: got %#x want %#x", im.name, n, got, want)
				}
			}
		}
	}
}

func TestSlot(t *testing.T) {
	cases := []struct {
		key  string
		want uint16
	}{
		{"foo", 12182},
		{"bar", 5061},
		{"", 0},
		{"123456789", 0x31C3 & 16383},
	}
	for _, c := range cases {
		if got := Slot([]byte(c.key)); got != c.want {
			t.Errorf("Slot(%q) = %d, want %d", c.key, got, c.want)
		}
	}
	if Slot([]byte("{user1000}.following")) != Slot([]byte("{user1000}.followers")) {
		t.Error("hash tags differ")
	}
	if Slot([]byte("{user1000}.following")) != Slot([]byte("user1000")) {
		t.Error("hash tag not used")
	}
	// An empty tag hashes the whole key.
	if got, want := Slot([]byte("foo{}{bar}")), crc16Bitwise([]byte("foo{}{bar}"))&16383; got != want {
		t.Errorf("Slot(foo{}{bar}) = %d, want %d", got, want)
	}
	// The tag runs from the first '{' to the first '}' after it.
	if got, want := Slot([]byte("foo{{bar}}zap")), crc16Bitwise([]byte("{bar"))&16383; got != want {
		t.Errorf("Slot(foo{{bar}}zap) = %d, want %d", got, want)
	}
	if got, want := Slot([]byte("foo{bar}{zap}")), Slot([]byte("bar")); got != want {
		t.Errorf("Slot(foo{bar}{zap}) = %d, want %d", got, want)
	}
	// An unterminated tag hashes the whole key.
	if got, want := Slot([]byte("foo{bar")), crc16Bitwise([]byte("foo{bar"))&16383; got != want {
		t.Errorf("Slot(foo{bar) = %d, want %d", got, want)
	}
}

func TestSum64Vectors(t *testing.T) {
	// Seed 0 must match the reference xxHash64 (cespare's Sum64, checked
	// against the C implementation's vectors).
	known := map[string]uint64{
		"":    0xef46db3751d8e999,
		"a":   0xd24ec4f1a98c6e5b,
		"abc": 0x44bc2cf5ad770999,
	}
	for s, want := range known {
		for _, im := range sumImpls {
			if got := im.f(0, []byte(s)); got != want {
				t.Errorf("%s: Sum64(0, %q) = %#x, want %#x", im.name, s, got, want)
			}
		}
	}
}

func TestSum64AllImplementationsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	buf := make([]byte, 300)
	for round := 0; round < 20; round++ {
		for i := range buf {
			buf[i] = byte(r.Uint32())
		}
		seed := r.Uint64()
		for n := 0; n <= 300; n++ {
			b := buf[:n]
			want := sum64Go(seed, b)
			if round == 0 && xxhash.Sum64(b) != sum64Go(0, b) {
				t.Fatalf("len %d: seed 0 differs from xxhash.Sum64", n)
			}
			for _, im := range sumImpls[1:] {
				if got := im.f(seed, b); got != want {
					t.Fatalf("%s: len %d seed %#x: got %#x want %#x", im.name, n, seed, got, want)
				}
			}
		}
	}
}

func TestSum64SeedMatters(t *testing.T) {
	b := []byte("key:1")
	if Sum64(1, b) == Sum64(2, b) {
		t.Error("seed ignored")
	}
}

func TestChoose(t *testing.T) {
	for _, f := range []FeatureSet{
		{Arch: "amd64", SSE42: true, PCLMULQDQ: true},
		{Arch: "arm64", ASIMD: true, PMULL: true},
		{Arch: "386"},
	} {
		c := choose(f)
		if c.crc16 == nil || c.sum64 == nil || c.crc16Name == "" || c.sum64Name == "" {
			t.Fatalf("%+v: incomplete choice %+v", f, c)
		}
		if c.crc16([]byte("123456789")) != 0x31C3 {
			t.Errorf("%+v: %s wrong", f, c.crc16Name)
		}
	}
	crc, dict := Implementations()
	t.Logf("arch features %v, crc16 %s, dict %s", CPUFeatures(), crc, dict)
}

func TestNoAllocs(t *testing.T) {
	key := bytes.Repeat([]byte("k"), 100)
	if n := testing.AllocsPerRun(100, func() { Sum64(7, key); Slot(key) }); n != 0 {
		t.Errorf("%v allocs", n)
	}
}

func BenchmarkCRC16(b *testing.B) {
	for _, n := range []int{8, 16, 32, 64, 256} {
		key := bytes.Repeat([]byte("x"), n)
		for _, im := range crcImpls {
			b.Run(fmt.Sprintf("%s/%d", im.name, n), func(b *testing.B) {
				b.SetBytes(int64(n))
				for i := 0; i < b.N; i++ {
					im.f(key)
				}
			})
		}
	}
}

func BenchmarkSum64(b *testing.B) {
	for _, n := range []int{8, 16, 32, 48, 64, 128, 256, 1024, 4096} {
		key := bytes.Repeat([]byte("x"), n)
		for _, im := range sumImpls {
			b.Run(fmt.Sprintf("%s/%d", im.name, n), func(b *testing.B) {
				b.SetBytes(int64(n))
				for i := 0; i < b.N; i++ {
					im.f(uint64(i), key)
				}
			})
		}
	}
}

// fingerprint folds every implementation's output over a fixed input set.
// The constant below was computed on amd64; the same test run as an arm64
// binary (qemu) proves the architectures agree bit for bit.
func fingerprint() uint64 {
	r := rand.New(rand.NewPCG(11, 12))
	buf := make([]byte, 300)
	var fp uint64
	for round := 0; round < 4; round++ {
		for i := range buf {
			buf[i] = byte(r.Uint32())
		}
		seed := r.Uint64()
		for n := 0; n <= 300; n++ {
			b := buf[:n]
			fp = fp*31 + uint64(CRC16(b)) + uint64(Slot(b))<<16
			fp = fp*31 ^ Sum64(seed, b)
		}
	}
	return fp
}

const wantFingerprint = 0xa8a305a69f0d53d1

func TestCrossArchFingerprint(t *testing.T) {
	if got := fingerprint(); got != wantFingerprint {
		t.Fatalf("fingerprint %#x, want %#x", got, uint64(wantFingerprint))
	}
}
