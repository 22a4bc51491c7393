package datatypes

import (
	"math/rand/v2"
	"testing"
)

// naiveBitPos scans bit by bit over [sbit, ebit].
func naiveFind(b []byte, bit int, sbit, ebit int64) int64 {
	for p := sbit; p <= ebit; p++ {
		if GetBit(b, uint64(p)) == bit {
			return p
		}
	}
	return -1
}

func TestBitCountAndPos(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		b := make([]byte, r.IntN(40))
		for j := range b {
			switch r.IntN(3) {
			case 0:
				b[j] = 0
			case 1:
				b[j] = 0xFF
			default:
				b[j] = byte(r.Uint32())
			}
		}
		var naive int64
		for p := int64(0); p < int64(len(b))*8; p++ {
			naive += int64(GetBit(b, uint64(p)))
		}
		if got := PopCount(b); got != naive {
			t.Fatalf("PopCount(%x) = %d want %d", b, got, naive)
		}
		if got := BitCount(b, 0, -1, true); got != naive {
			t.Fatalf("BitCount bits (%x) = %d want %d", b, got, naive)
		}
		if len(b) == 0 {
			continue
		}
		s := r.Int64N(int64(len(b)) * 8)
		e := s + r.Int64N(int64(len(b))*8-s)
		var cnt int64
		for p := s; p <= e; p++ {
			cnt += int64(GetBit(b, uint64(p)))
		}
		if got := BitCount(b, s, e, true); got != cnt {
			t.Fatalf("BitCount(%x, %d, %d, bit) = %d want %d", b, s, e, got, cnt)
		}
		bit := r.IntN(2)
		if got, want := findBit(b, bit, s, e), naiveFind(b, bit, s, e); got != want {
			t.Fatalf("findBit(%x, %d, %d, %d) = %d want %d", b, bit, s, e, got, want)
		}
	}
	// BITPOS edge rules.
	b := []byte{0xFF, 0xF0, 0x00}
	if got := BitPos(b, 0, false, 0, false, 0, false); got != 12 {
		t.Error(got)
	}
	if got := BitPos([]byte{0xFF}, 0, false, 0, false, 0, false); got != 8 {
		t.Error(got) // no explicit end: the string continues with zeros
	}
	if got := BitPos([]byte{0xFF}, 0, true, 0, true, -1, false); got != -1 {
		t.Error(got) // explicit end: not found
	}
	if got := BitPos(nil, 0, false, 0, false, 0, false); got != -1 {
		t.Error(got)
	}
}

func TestBitOp(t *testing.T) {
	a, b := []byte("abc"), []byte{0x0F, 0xF0}
	if got := BitOpApply(BitAnd, [][]byte{a, b}); string(got) != string([]byte{'a' & 0x0F, 'b' & 0xF0, 0}) {
		t.Errorf("AND %x", got)
	}
	if got := BitOpApply(BitOr, [][]byte{b, a}); string(got) != string([]byte{'a' | 0x0F, 'b' | 0xF0, 'c'}) {
		t.Errorf("OR %x", got)
	}
	if got := BitOpApply(BitXor, [][]byte{a, b, nil}); string(got) != string([]byte{'a' ^ 0x0F, 'b' ^ 0xF0, 'c'}) {
		t.Errorf("XOR %x", got)
	}
	if got := BitOpApply(BitNot, [][]byte{b}); string(got) != string([]byte{0xF0, 0x0F}) {
		t.Errorf("NOT %x", got)
	}
	if got := BitOpApply(BitAnd, [][]byte{nil, nil}); got != nil {
		t.Errorf("empty %x", got)
	}
}

func TestBitfield(t *testing.T) {
	p := make([]byte, 16)
	SetField(p, 3, 13, 0x1ABC)
	if got := GetUnsignedField(p, 3, 13); got != 0x1ABC {
		t.Fatalf("%x", got)
	}
	if got := GetSignedField(p, 3, 13); got != int64(0x1ABC)-(1<<13) {
		t.Fatalf("%d", got)
	}
	SetField(p, 64, 64, 0x8000000000000001)
	if got := GetSignedField(p, 64, 64); got != -0x7FFFFFFFFFFFFFFF {
		t.Fatalf("%d", got)
	}
	if got := ReadField([]byte{0xFF}, 4, 8, false); got != 0xF0 {
		t.Fatalf("%x", got)
	}
	// Overflow policies, as Redis.
	if v, of := CheckSignedOverflow(100, 100, 8, OverflowWrap); of != 1 || v != -56 {
		t.Error(v, of)
	}
	if v, of := CheckSignedOverflow(-100, -100, 8, OverflowSat); of != -1 || v != -128 {
		t.Error(v, of)
	}
	if _, of := CheckSignedOverflow(1, 1, 8, OverflowFail); of != 0 {
		t.Error(of)
	}
	if v, of := CheckSignedOverflow(9223372036854775807, 1, 64, OverflowWrap); of != 1 || v != -9223372036854775808 {
		t.Error(v, of)
	}
	if v, of := CheckUnsignedOverflow(250, 10, 8, OverflowWrap); of != 1 || v != 4 {
		t.Error(v, of)
	}
	if v, of := CheckUnsignedOverflow(5, -10, 8, OverflowSat); of != -1 || v != 0 {
		t.Error(v, of)
	}
	if v, of := CheckUnsignedOverflow(^uint64(0), 0, 8, OverflowSat); of != 1 || v != 255 {
		t.Error(v, of) // SET u8 -1 with SAT
	}
}

func TestLCS(t *testing.T) {
	n, s, m := LCS([]byte("ohmytext"), []byte("mynewtext"), true, true, 0)
	if n != 6 || string(s) != "mytext" {
		t.Fatalf("%d %q", n, s)
	}
	want := []LCSMatch{{4, 7, 5, 8}, {2, 3, 0, 1}}
	if len(m) != len(want) || m[0] != want[0] || m[1] != want[1] {
		t.Fatalf("%v", m)
	}
	if _, _, m := LCS([]byte("ohmytext"), []byte("mynewtext"), false, true, 3); len(m) != 1 {
		t.Fatalf("%v", m)
	}
	if n, s, _ := LCS(nil, []byte("abc"), true, false, 0); n != 0 || len(s) != 0 {
		t.Fatal(n, s)
	}
	if LCSTableBytes(1, 2) != 24 {
		t.Fatal("table size")
	}
}
