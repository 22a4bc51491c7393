package rdb

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/basaltdb/basalt/datatypes/listpack"
)

func TestCRC64Vector(t *testing.T) {
	if got := crc64sum(0, []byte("123456789")); got != 0xe9c6d914c4b8d9ca {
		t.Fatalf("crc64 = %#x", got)
	}
	// Incremental updates compose.
	if got := crc64sum(crc64sum(0, []byte("1234")), []byte("56789")); got != 0xe9c6d914c4b8d9ca {
		t.Fatalf("incremental crc64 = %#x", got)
	}
}

func TestLZFRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	lz := new(lzfState)
	for i := 0; i < 2000; i++ {
		n := r.IntN(3000) + 1
		in := make([]byte, n)
		alpha := r.IntN(250) + 1
		for j := range in {
			if j > 10 && r.IntN(4) == 0 {
				in[j] = in[j-r.IntN(10)-1]
			} else {
				in[j] = byte(r.IntN(alpha))
			}
		}
		out := make([]byte, n+n/16+64)
		c := lz.Compress(in, out)
		if c == 0 {
			t.Fatalf("compress failed for %d bytes", n)
		}
		back := make([]byte, n)
		if !lzfDecompress(out[:c], back) || !bytes.Equal(back, in) {
			t.Fatalf("round trip failed for %q", in)
		}
		// A too-small output fails cleanly.
		if c > 1 {
			if lz.Compress(in, out[:c-1]) != 0 {
				t.Fatalf("compress into a short buffer succeeded")
			}
		}
	}
}

func TestLZFKnown(t *testing.T) {
	// "aaaa..." (30 bytes) compresses to a literal then a back reference.
	in := bytes.Repeat([]byte("a"), 30)
	out := make([]byte, 26)
	n := new(lzfState).Compress(in, out)
	if n == 0 {
		t.Fatal("no compression")
	}
	back := make([]byte, 30)
	if !lzfDecompress(out[:n], back) || !bytes.Equal(back, in) {
		t.Fatalf("bad round trip: % x", out[:n])
	}
	// Corrupt input never panics and reports failure.
	for i := 0; i < n; i++ {
		c := append([]byte(nil), out[:n]...)
		c[i] ^= 0xff
		lzfDecompress(c, back)
	}
}

func TestLengths(t *testing.T) {
	for _, n := range []uint64{0, 1, 63, 64, 16383, 16384, math.MaxUint32, math.MaxUint32 + 1, math.MaxUint64} {
		b := appendLen(nil, n)
		want := map[bool]int{true: 1}[n < 64]
		switch {
		case n < 64:
			want = 1
		case n < 16384:
			want = 2
		case n <= math.MaxUint32:
			want = 5
		default:
			want = 9
		}
		if len(b) != want {
			t.Errorf("len(%d) encodes in %d bytes, want %d", n, len(b), want)
		}
		d := &dec{b: b}
		got, enc, err := d.length("x")
		if err != nil || enc || got != n || d.pos != len(b) {
			t.Errorf("length %d: got %d %v %v", n, got, enc, err)
		}
	}
}

func TestStrings(t *testing.T) {
	cases := []struct {
		s    string
		want []byte
	}{
		{"", []byte{0}},
		{"0", []byte{0xc0, 0}},
		{"-1", []byte{0xc0, 0xff}},
		{"127", []byte{0xc0, 127}},
		{"128", []byte{0xc1, 128, 0}},
		{"-32768", []byte{0xc1, 0x00, 0x80}},
		{"32768", []byte{0xc2, 0, 0x80, 0, 0}},
		{"2147483647", []byte{0xc2, 0xff, 0xff, 0xff, 0x7f}},
		{"2147483648", append([]byte{10}, "2147483648"...)},
		{"-0", append([]byte{2}, "-0"...)},
		{"01", append([]byte{2}, "01"...)},
		{"abc", append([]byte{3}, "abc"...)},
	}
	for _, c := range cases {
		b := appendString(nil, []byte(c.s), nil)
		if !bytes.Equal(b, c.want) {
			t.Errorf("%q: % x, want % x", c.s, b, c.want)
		}
		d := &dec{b: b}
		got, err := d.str("s")
		if err != nil || string(got) != c.s {
			t.Errorf("%q: read back %q %v", c.s, got, err)
		}
	}
	// LZF for long compressible strings, raw for incompressible ones.
	long := bytes.Repeat([]byte("abcdefgh"), 40)
	b := appendString(nil, long, nil)
	if b[0] != 0xc3 || len(b) >= len(long) {
		t.Fatalf("long string not compressed: % x", b[:8])
	}
	d := &dec{b: b}
	if got, err := d.str("s"); err != nil || !bytes.Equal(got, long) {
		t.Fatalf("LZF read back: %v", err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	noise := make([]byte, 100)
	for i := range noise {
		noise[i] = byte(r.Uint32())
	}
	if b := appendString(nil, noise, nil); b[0] != 64|0 || b[1] != 100 {
		t.Fatalf("noise compressed? % x", b[:4])
	}
	// 20 bytes are never compressed.
	if b := appendString(nil, bytes.Repeat([]byte("x"), 20), nil); b[0] != 20 {
		t.Fatalf("20-byte string compressed")
	}
}

func TestIntString(t *testing.T) {
	for _, v := range []int64{0, -5, 1000, 1 << 40, math.MinInt64, math.MaxInt64} {
		b := appendIntString(nil, v)
		d := &dec{b: b}
		got, err := d.str("i")
		if err != nil || string(got) != strconv.FormatInt(v, 10) {
			t.Errorf("%d: %q %v", v, got, err)
		}
	}
}

func TestListpack(t *testing.T) {
	elems := []string{"", "0", "127", "128", "-1", "-4096", "4095", "4096", "-4097", "32767", "32768",
		"-8388608", "8388608", "2147483647", "2147483648", "-9223372036854775808", "9223372036854775807",
		"9223372036854775808", "a", string(bytes.Repeat([]byte("x"), 63)), string(bytes.Repeat([]byte("y"), 64)),
		string(bytes.Repeat([]byte("z"), 4095)), string(bytes.Repeat([]byte("w"), 4096)),
		string(bytes.Repeat([]byte("v"), 200000)), "-0", "007", " 1"}
	lp, start := lpStart(nil)
	for _, e := range elems {
		lp = listpack.Append(lp, []byte(e))
	}
	lp = lpFinish(lp, start, len(elems))
	var got []string
	err := lpEach(lp, func(s []byte, v int64, isInt bool) error {
		if isInt {
			got = append(got, strconv.FormatInt(v, 10))
		} else {
			got = append(got, string(s))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(elems) {
		t.Fatalf("got %d entries", len(got))
	}
	for i := range elems {
		if got[i] != elems[i] {
			t.Errorf("entry %d: %.20q want %.20q", i, got[i], elems[i])
		}
	}
	// Known bytes: the listpack of HSET h a 1.
	small, s0 := lpStart(nil)
	small = listpack.Append(small, []byte("a"))
	small = listpack.Append(small, []byte("1"))
	small = lpFinish(small, s0, 2)
	want := []byte{0x0c, 0, 0, 0, 2, 0, 0x81, 'a', 2, 0x01, 1, 0xff}
	if !bytes.Equal(small, want) {
		t.Fatalf("listpack % x, want % x", small, want)
	}
	// Every truncation and byte flip fails cleanly.
	for i := range lp[:200] {
		if _, err := lpValidate(lp[:i]); err == nil {
			t.Fatalf("truncated at %d accepted", i)
		}
	}
}

func TestIntset(t *testing.T) {
	for _, vals := range [][]int64{{1, 2, 3}, {-40000, 5}, {-1, 1 << 40}} {
		w := intsetWidth(vals[0], vals[len(vals)-1])
		b := intsetAppendHeader(nil, w, len(vals))
		for _, v := range vals {
			b = intsetAppendMember(b, w, v)
		}
		var got []int64
		if err := intsetEach(b, func(v int64) error { got = append(got, v); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(vals) {
			t.Fatalf("%v: got %v", vals, got)
		}
		for i := range got {
			if got[i] != vals[i] {
				t.Fatalf("%v: got %v", vals, got)
			}
		}
	}
	if intsetWidth(1, 2) != 2 || intsetWidth(-32769, 0) != 4 || intsetWidth(0, 1<<31) != 8 {
		t.Fatal("widths")
	}
	bad := intsetAppendHeader(nil, 2, 2)
	bad = intsetAppendMember(intsetAppendMember(bad, 2, 5), 2, 5)
	if intsetEach(bad, func(int64) error { return nil }) == nil {
		t.Fatal("duplicate members accepted")
	}
}

// zlBuild makes a ziplist as Redis < 7 would (for decoder tests).
func zlBuild(entries []any) []byte {
	zl := make([]byte, zlHdrSize)
	prev, last := 0, zlHdrSize
	for _, e := range entries {
		start := len(zl)
		if prev < 254 {
			zl = append(zl, byte(prev))
		} else {
			zl = append(zl, 254, byte(prev), byte(prev>>8), byte(prev>>16), byte(prev>>24))
		}
		switch v := e.(type) {
		case string:
			n := len(v)
			switch {
			case n < 64:
				zl = append(zl, byte(n))
			case n < 16384:
				zl = append(zl, 0x40|byte(n>>8), byte(n))
			default:
				zl = append(zl, 0x80, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
			}
			zl = append(zl, v...)
		case int64:
			switch {
			case v >= 0 && v <= 12:
				zl = append(zl, 0xf1+byte(v))
			case v >= -128 && v <= 127:
				zl = append(zl, 0xfe, byte(v))
			case v >= -32768 && v <= 32767:
				zl = append(zl, 0xc0, byte(v), byte(v>>8))
			case v >= -(1<<23) && v < 1<<23:
				zl = append(zl, 0xf0, byte(v), byte(v>>8), byte(v>>16))
			case v >= math.MinInt32 && v <= math.MaxInt32:
				zl = append(zl, 0xd0, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
			default:
				zl = append(zl, 0xe0)
				for k := 0; k < 8; k++ {
					zl = append(zl, byte(v>>(8*k)))
				}
			}
		}
		prev, last = len(zl)-start, start
	}
	zl = append(zl, 0xff)
	putU32 := func(b []byte, v int) { b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24) }
	putU32(zl, len(zl))
	putU32(zl[4:], last)
	zl[8], zl[9] = byte(len(entries)), byte(len(entries)>>8)
	return zl
}

func TestZiplist(t *testing.T) {
	entries := []any{"a", int64(0), int64(12), int64(13), int64(-100), int64(1000), int64(-70000), int64(1 << 30),
		int64(1 << 40), string(bytes.Repeat([]byte("q"), 300)), "b", string(bytes.Repeat([]byte("r"), 20000))}
	zl := zlBuild(entries)
	i := 0
	err := zlEach(zl, func(s []byte, v int64, isInt bool) error {
		switch want := entries[i].(type) {
		case string:
			if isInt || string(s) != want {
				t.Errorf("entry %d: %.20q", i, s)
			}
		case int64:
			if !isInt || v != want {
				t.Errorf("entry %d: %d want %d", i, v, want)
			}
		}
		i++
		return nil
	})
	if err != nil || i != len(entries) {
		t.Fatalf("%v after %d", err, i)
	}
	for k := 0; k < len(zl)-1; k++ {
		if zlEach(zl[:k], func([]byte, int64, bool) error { return nil }) == nil {
			t.Fatalf("truncated ziplist at %d accepted", k)
		}
	}
}

func zmBuild(pairs ...string) []byte {
	zm := []byte{byte(len(pairs) / 2)}
	for i, s := range pairs {
		zm = append(zm, byte(len(s)))
		if i%2 == 1 {
			zm = append(zm, 1) // free byte count
		}
		zm = append(zm, s...)
		if i%2 == 1 {
			zm = append(zm, 0) // one free byte
		}
	}
	return append(zm, 255)
}

func TestZipmap(t *testing.T) {
	zm := zmBuild("f1", "v1", "field2", "a longer value")
	var got []string
	if err := zmEach(zm, func(f, v []byte) error { got = append(got, string(f), string(v)); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[0] != "f1" || got[3] != "a longer value" {
		t.Fatalf("got %q", got)
	}
	for k := 0; k < len(zm)-1; k++ {
		if zmEach(zm[:k], func(f, v []byte) error { return nil }) == nil {
			t.Fatalf("truncated zipmap at %d accepted", k)
		}
	}
}

func TestScoreText(t *testing.T) {
	for f, want := range map[float64]string{1: "1", -2.5: "-2.5", 0.1: "0.10000000000000001",
		1e17: "1e+17", 4503599627370496: "4503599627370496", 1.5e-7: "1.4999999999999999e-07",
		math.Inf(1): "inf", math.Copysign(0, -1): "-0"} {
		if got := string(appendScoreText(nil, f)); got != want {
			t.Errorf("%v: %q want %q", f, got, want)
		}
	}
}
