package hll

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"strconv"
	"testing"
)

// addN adds "el:0" .. "el:n-1" to a new HyperLogLog, as PFADD would.
func addN(t testing.TB, n int, sparseMax int64) []byte {
	b := New()
	for i := 0; i < n; i++ {
		var r int
		b, r = Add(b, []byte("el:"+strconv.Itoa(i)), sparseMax)
		if r < 0 {
			t.Fatalf("Add returned -1 on a valid HLL")
		}
	}
	Invalidate(b)
	return b
}

// TestRedisFixtures compares estimates and exact bytes (after PFCOUNT
// cached the cardinality) with redis-server 7.0.15's for the same PFADDs.
func TestRedisFixtures(t *testing.T) {
	for _, f := range []struct {
		n      int
		card   uint64
		sparse bool
		size   int
		sha    string // first 16 hex digits of sha256(GET)
	}{
		{1, 1, true, 21, "d1544d4d61d4e610"},
		{10, 10, true, 48, "aec1d29682abfa65"},
		{100, 100, true, 289, "afa9e93d9f433717"},
		{200, 201, true, 505, "08f6e51c0209783f"},
		{500, 504, true, 1038, "9e3b36c34a11ad90"},
		{1000, 999, true, 1892, "b6b8b2bad8824cfb"},
		{2000, 1987, false, DenseSize, "a3f228ad812cbcba"},
		{3000, 2974, false, DenseSize, "9545ec3759e0d65b"},
		{5000, 4959, false, DenseSize, "672a5d106ac2908a"},
		{10000, 10019, false, DenseSize, "76f03421d238d8ec"},
		{100000, 98893, false, DenseSize, "7fbc065660fb4fe9"},
		{1000000, 995821, false, DenseSize, "259136d93007725a"},
	} {
		b := addN(t, f.n, 3000)
		card, computed, ok := Card(b)
		if !ok || !computed || card != f.card {
			t.Fatalf("n=%d: card %d computed %v ok %v, want %d", f.n, card, computed, ok, f.card)
		}
		if c2, computed, _ := Card(b); computed || c2 != card {
			t.Fatalf("n=%d: second Card recomputed or changed", f.n)
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:8]); got != f.sha || len(b) != f.size || IsSparse(b) != f.sparse {
			t.Fatalf("n=%d: len %d sparse %v sha %s, want %d %v %s", f.n, len(b), IsSparse(b), got, f.size, f.sparse, f.sha)
		}
	}
}

func TestRedisBytesShortElements(t *testing.T) {
	b := New()
	for _, s := range []string{"", "a", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefg", "abcdefgh",
		"abcdefghi", "abcdefghij", "abcdefghijklmnop", "abcdefghijklmnopq"} {
		b, _ = Add(b, []byte(s), 3000)
	}
	Invalidate(b)
	want := "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80B\xce\x80B\x96\x80I%\x8cB\x1f\x80EQ\x84A.\x84C\xc3\x80Iw\x80@\x90\x80F:\x9cD\x84\x80A\xe1\x84C\xa6\x84J\xaf"
	if string(b) != want {
		t.Fatalf("got %q\nwant %q", b, want)
	}
	if c, _, _ := Card(b); c != 13 {
		t.Fatalf("card %d want 13", c)
	}
	// PFADD a b c on an empty key, before and after PFCOUNT.
	b = New()
	for _, s := range []string{"a", "b", "c"} {
		b, _ = Add(b, []byte(s), 3000)
	}
	Invalidate(b)
	if want := "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80`\xf3\x80P\xb1\x84K\xfb\x80BZ"; string(b) != want {
		t.Fatalf("got %q want %q", b, want)
	}
	Card(b)
	if want := "HYLL\x01\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00`\xf3\x80P\xb1\x84K\xfb\x80BZ"; string(b) != want {
		t.Fatalf("got %q want %q", b, want)
	}
	if got := string(AppendDecode(nil, b)); got != "Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603" {
		t.Fatalf("decode %q", got)
	}
	if got := string(AppendDecode(nil, New())); got != "Z:16384" {
		t.Fatalf("decode empty %q", got)
	}
}

func TestMultiCount(t *testing.T) {
	var r Regs
	for _, n := range []int{1000, 10000, 100000} {
		if !r.Merge(addN(t, n, 3000)) {
			t.Fatal("merge failed")
		}
	}
	if c := r.Count(); c != 98893 {
		t.Fatalf("union count %d want 98893", c)
	}
	var r2 Regs
	for _, n := range []int{1, 10, 100, 200, 500} {
		r2.Merge(addN(t, n, 3000))
	}
	if c := r2.Count(); c != 504 {
		t.Fatalf("union count %d want 504", c)
	}
	var empty Regs
	if c := empty.Count(); c != 0 {
		t.Fatalf("empty count %d", c)
	}
}

// registersOf decodes any valid HLL to one byte per register.
func registersOf(t *testing.T, b []byte) *Regs {
	t.Helper()
	var r Regs
	if !r.Merge(b) {
		t.Fatalf("invalid HLL %q", b)
	}
	return &r
}

// TestModel adds random elements (and sets random registers, as PFMERGE
// does) to HLLs under several sparse limits and checks every step against
// a plain register array: same registers, a valid string, sparse while
// Redis keeps it sparse, a string within the limit, equal estimates.
func TestModel(t *testing.T) {
	for _, limit := range []int64{0, 1, 20, 25, 100, 300, 3000, 20000, 1 << 40} {
		rng := rand.New(rand.NewPCG(uint64(limit), 7))
		b := New()
		var want Regs
		for step := 0; step < 6000; step++ {
			var idx int
			var cnt uint8
			if rng.IntN(4) == 0 {
				// Clustered registers make VAL runs and merges.
				idx, cnt = 100+rng.IntN(40), uint8(1+rng.IntN(40))
			} else {
				var e [8]byte
				for i := range e {
					e[i] = byte(rng.Uint32())
				}
				idx, cnt = PatLen(e[:])
			}
			wasSparse, prevLen := IsSparse(b), len(b)
			var r int
			b, r = Set(b, idx, cnt, limit)
			changed := cnt > want[idx]
			if changed {
				want[idx] = cnt
			}
			if r != 0 && r != 1 || (r == 1) != changed {
				t.Fatalf("limit %d step %d: Set returned %d, changed %v", limit, step, r, changed)
			}
			if !Valid(b) {
				t.Fatalf("limit %d step %d: invalid result", limit, step)
			}
			switch {
			case IsSparse(b) && len(b) > prevLen && int64(len(b)) > limit:
				t.Fatalf("limit %d step %d: sparse grew to %d bytes", limit, step, len(b))
			case IsSparse(b) && changed && cnt > 32:
				t.Fatalf("limit %d step %d: count %d kept sparse", limit, step, cnt)
			case wasSparse && !IsSparse(b) && !changed:
				t.Fatalf("limit %d step %d: turned dense without a change", limit, step)
			}
			if got := registersOf(t, b); *got != want {
				t.Fatalf("limit %d step %d: registers differ", limit, step)
			}
			if step%500 == 0 {
				e1, ok := Estimate(b)
				if !ok || e1 != want.Count() {
					t.Fatalf("limit %d step %d: estimate %d want %d", limit, step, e1, want.Count())
				}
				if IsSparse(b) {
					d, ok := ToDense(b)
					if !ok || *registersOf(t, d) != want || !bytes.Equal(d[:4], b[:4]) || !bytes.Equal(d[5:HdrSize], b[5:HdrSize]) {
						t.Fatalf("limit %d step %d: ToDense differs", limit, step)
					}
				}
			}
		}
	}
}

// TestSparseLimit checks the promotion rules: a sparse HLL grows up to
// hll-sparse-max-bytes and turns dense on the update that would pass it,
// or on a register value above 32.
func TestSparseLimit(t *testing.T) {
	b := New()
	for i := 0; ; i++ {
		prev := len(b)
		b, _ = Add(b, []byte("el:"+strconv.Itoa(i)), 100)
		if !IsSparse(b) {
			if prev > 100 || len(b) != DenseSize {
				t.Fatalf("promoted from %d bytes to %d", prev, len(b))
			}
			break
		}
		if len(b) > 100 {
			t.Fatalf("sparse grew to %d bytes past the limit", len(b))
		}
	}
	b = New()
	b, r := Set(b, 5, 33, 3000)
	if r != 1 || IsSparse(b) || Register(b, 5) != 33 {
		t.Fatalf("count 33 did not promote: %d %v", r, IsSparse(b))
	}
	b = New()
	b, r = Set(b, 5, 32, 3000)
	if r != 1 || !IsSparse(b) || string(AppendDecode(nil, b)) != "z:5 v:32,1 Z:16378" {
		t.Fatalf("count 32: %d %q", r, AppendDecode(nil, b))
	}
}

// TestRegisterAccess checks the dense 6-bit packing against a byte array,
// the last register included (its high bits would sit past the end).
func TestRegisterAccess(t *testing.T) {
	d := make([]byte, DenseSize)
	regs := d[HdrSize:]
	rng := rand.New(rand.NewPCG(1, 2))
	var want [Registers]uint8
	for round := 0; round < 20; round++ {
		for i := range want {
			want[i] = uint8(rng.IntN(64))
			setReg(regs, i, want[i])
		}
		for i := range want {
			if got := getReg(regs, i); got != want[i] {
				t.Fatalf("register %d: %d want %d", i, got, want[i])
			}
		}
	}
}

func TestHashKnown(t *testing.T) {
	// Registers Redis set for "a", "b", "c" (see PFDEBUG DECODE above):
	// 8436 (1), 12711 (2), 15780 (1).
	want := map[int]uint8{8436: 1, 12711: 2, 15780: 1}
	for _, e := range []string{"a", "b", "c"} {
		idx, cnt := PatLen([]byte(e))
		if want[idx] != cnt {
			t.Fatalf("%q: register %d count %d", e, idx, cnt)
		}
		delete(want, idx)
	}
}

func TestCorrupt(t *testing.T) {
	hdr := "HYLL\x01\x00\x00\x00\x00\x00\x00\x80"[:HdrSize-4] + "\x00\x00\x00\x80"
	for _, body := range []string{
		"",                 // no opcodes
		"\x7f\xfe",         // 16383 registers
		"\x7f\xff\x00",     // 16385
		"\x7f",             // truncated XZERO: 16129 + 1 (zero terminator)
		"\x7f\xff\x80",     // VAL past the end
		"\xff\xff\xff\xff", // VALs only
		"\x40\x00\x7f\xfe", // 1 + 16383 = valid
	} {
		b := []byte(hdr + body)
		valid := body == "\x40\x00\x7f\xfe"
		mergeable := valid
		var r Regs
		if r.Merge(b) != mergeable {
			t.Fatalf("%q: Merge ok != %v", body, mergeable)
		}
		if _, ok := Estimate(b); ok != valid {
			t.Fatalf("%q: Estimate ok != %v", body, valid)
		}
		if _, _, ok := Card(append([]byte(nil), b...)); ok != valid {
			t.Fatalf("%q: Card ok != %v", body, valid)
		}
		if _, ok := ToDense(b); ok != mergeable {
			t.Fatalf("%q: ToDense ok != %v", body, mergeable)
		}
		if _, res := Set(append([]byte(nil), b...), 16383, 40, 3000); (res == -1) == mergeable {
			t.Fatalf("%q: promoting Set returned %d", body, res)
		}
	}
	for _, s := range []string{"", "HYLL", "HYLX\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff",
		"HYLL\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff",
		"HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff"} {
		if Valid([]byte(s)) {
			t.Fatalf("%q: Valid", s)
		}
	}
	if !Valid(New()) || !Valid(append([]byte("HYLL\x00"), make([]byte, DenseSize-5)...)) {
		t.Fatal("valid HLLs refused")
	}
}

func TestSelfTest(t *testing.T) {
	if testing.Short() {
		t.Skip("10M elements")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	if msg := SelfTest(func() uint32 { return rng.Uint32() >> 1 }, 3000); msg != "" {
		t.Fatal(msg)
	}
}

// FuzzSparse feeds arbitrary opcode bytes after a sparse header to every
// reader and to Set: nothing may panic, the readers must agree on
// validity, and Set on a valid string must keep it valid and raise just
// the one register.
func FuzzSparse(f *testing.F) {
	f.Add([]byte("\x7f\xff"), uint16(3), uint8(5), uint16(3000))
	f.Add([]byte("\x7f"), uint16(16383), uint8(2), uint16(20))
	f.Add([]byte("\x40\x00\x7f\xfe"), uint16(0), uint8(40), uint16(3000))
	f.Add([]byte("\x83\x83\x7f\xf7"), uint16(2), uint8(1), uint16(3000))
	f.Add([]byte("\x00\x80\x7f\xfd"), uint16(1), uint8(3), uint16(3000))
	f.Add(append(New()[HdrSize:], 0x80), uint16(9000), uint8(7), uint16(3000))
	f.Fuzz(func(t *testing.T, body []byte, idx uint16, cnt uint8, limit uint16) {
		b := append([]byte("HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80"), body...)
		index := int(idx) % Registers
		count := cnt%51 + 1
		var r Regs
		valid := r.Merge(b)
		_, ok1 := Estimate(b)
		d, ok2 := ToDense(b)
		if ok1 != valid || ok2 != valid {
			t.Fatalf("validity: merge %v estimate %v todense %v", valid, ok1, ok2)
		}
		_ = AppendDecode(nil, b)
		if valid && *registersOf(t, d) != r {
			t.Fatal("ToDense registers differ from Merge")
		}
		nb, res := Set(append([]byte(nil), b...), index, count, int64(limit))
		if !valid {
			return // Redis may still change a corrupt string; only no panic
		}
		want := r
		if count > want[index] {
			want[index] = count
		}
		if res < 0 || (res == 1) != (count > r[index]) {
			t.Fatalf("Set returned %d", res)
		}
		if !Valid(nb) || *registersOf(t, nb) != want {
			t.Fatalf("Set broke the HLL: %q -> %q", b, nb)
		}
		if _, _, ok := Card(nb); !ok {
			t.Fatal("Card refused the result")
		}
	})
}

func BenchmarkAddSparse(b *testing.B) {
	h := New()
	ele := []byte("element:000000")
	for i := 0; i < b.N; i++ {
		ele[8] = byte(i)
		ele[9] = byte(i >> 8)
		if i%1000 == 0 {
			h = New()
		}
		h, _ = Add(h, ele, 3000)
	}
}

func BenchmarkAddDense(b *testing.B) {
	h := addN(b, 5000, 3000)
	ele := []byte("element:000000")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ele[8], ele[9], ele[10] = byte(i), byte(i>>8), byte(i>>16)
		h, _ = Add(h, ele, 3000)
	}
}

func BenchmarkCountDense(b *testing.B) {
	h := addN(b, 5000, 3000)
	for i := 0; i < b.N; i++ {
		Estimate(h)
	}
}
