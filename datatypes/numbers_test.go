package datatypes

import (
	"math"
	"strconv"
	"testing"
)

func TestParseInt(t *testing.T) {
	cases := []struct {
		in string
		v  int64
		ok bool
	}{
		{"0", 0, true}, {"1", 1, true}, {"-1", -1, true}, {"123", 123, true},
		{"9223372036854775807", math.MaxInt64, true},
		{"-9223372036854775808", math.MinInt64, true},
		{"9223372036854775808", 0, false}, {"-9223372036854775809", 0, false},
		{"18446744073709551616", 0, false}, {"99999999999999999999", 0, false},
		{"", 0, false}, {"-", 0, false}, {"-0", 0, false}, {"00", 0, false}, {"01", 0, false},
		{"+1", 0, false}, {" 1", 0, false}, {"1 ", 0, false}, {"1a", 0, false}, {"1.0", 0, false},
		{"0x10", 0, false}, {"-01", 0, false}, {"000000000000000000001", 0, false},
		{"1\x00", 0, false},
	}
	for _, c := range cases {
		v, ok := ParseInt([]byte(c.in))
		if ok != c.ok || v != c.v {
			t.Errorf("ParseInt(%q) = %d,%v want %d,%v", c.in, v, ok, c.v, c.ok)
		}
	}
	if !IsIntEncodable([]byte("-9223372036854775808")) || IsIntEncodable([]byte("012")) {
		t.Error("IsIntEncodable")
	}
}

func TestParseFloat(t *testing.T) {
	cases := []struct {
		in string
		v  float64
		ok bool
	}{
		{"1", 1, true}, {"-1.5", -1.5, true}, {"+2", 2, true}, {".5", 0.5, true}, {"5.", 5, true},
		{"1e3", 1000, true}, {"1E+3", 1000, true}, {"1e-3", 0.001, true}, {"0x10", 16, true},
		{"0x1p-2", 0.25, true}, {"0x1.8", 1.5, true}, {"inf", math.Inf(1), true},
		{"-Infinity", math.Inf(-1), true}, {"0", 0, true}, {"-0", 0, true}, {"1e-310", 1e-310, true},
		{"", 0, false}, {" 1", 0, false}, {"1 ", 0, false}, {"nan", 0, false}, {"NaN(123)", 0, false},
		{"1e", 0, false}, {"1e+", 0, false}, {".", 0, false}, {"e3", 0, false}, {"0x", 0, false},
		{"1e400", 0, false}, {"1e-400", 0, false}, {"1_000", 0, false}, {"0x_1p0", 0, false},
		{"1\x00", 0, false}, {"--1", 0, false}, {"infinit", 0, false},
	}
	for _, c := range cases {
		v, ok := ParseFloat([]byte(c.in))
		if ok != c.ok || (ok && v != c.v) {
			t.Errorf("ParseFloat(%q) = %v,%v want %v,%v", c.in, v, ok, c.v, c.ok)
		}
	}
}

// ldText parses a and b, adds them and formats the sum as INCRBYFLOAT.
func ldText(t *testing.T, a, b string) string {
	x, ok := ParseLongDouble([]byte(a))
	if !ok {
		t.Fatalf("parse %q", a)
	}
	y, ok := ParseLongDouble([]byte(b))
	if !ok {
		t.Fatalf("parse %q", b)
	}
	s, ok := AddLongDouble(x, y)
	if !ok {
		return "nan/inf"
	}
	return string(AppendLongDoubleHuman(nil, s))
}

func TestLongDouble(t *testing.T) {
	// Results of INCRBYFLOAT on redis-server 7.0.15 (x86-64).
	cases := []struct{ a, b, want string }{
		{"0", "1", "1"},
		{"1", "0.1", "1.1"},
		{"10.5", "0.1", "10.6"},
		{"1000", "3.0e3", "4000"},
		{"0", "-5", "-5"},
		{"0", "5.0e3", "5000"},
		{"0.1", "0.2", "0.3"},
		{"0", "1e-20", "0"},
		{"0", "-1e-20", "0"},
		{"0", "-0", "0"},
		{"0", "0x10", "16"},
		{"1.1", "-1.1", "0"},
		{"0", "1e18", "1000000000000000000"},
		{"0", "0.3333333333333333333333", "0.33333333333333333"},
		{"0", "123456789.123456789", "123456789.12345678899873747"},
		{"0", "1e300", "1000000000000000000008997324079559193870523944273290747938260082321265646596180935755849152083750497190350372508614274835903592556184672983913096260520748646287327135641843653294084255107606016789726652932370030551382947620994540294772781889620606179267611627097410650567187386105690089424915104006144"},
		{"1e4932", "1e4932", "nan/inf"},
	}
	for _, c := range cases {
		if got := ldText(t, c.a, c.b); got != c.want {
			t.Errorf("%s + %s = %s want %s", c.a, c.b, got, c.want)
		}
	}
	// 0.1 added ten times lands back on 1 in 80-bit precision.
	acc := LongDouble{}
	step, _ := ParseLongDouble([]byte("0.1"))
	for i := 0; i < 10; i++ {
		acc, _ = AddLongDouble(acc, step)
	}
	if got := string(AppendLongDoubleHuman(nil, acc)); got != "1" {
		t.Errorf("10 x 0.1 = %s", got)
	}
	for _, bad := range []string{"", " 1", "1 ", "abc", "nan", "1e-5000", "1e5000", "1\x00", "0x"} {
		if _, ok := ParseLongDouble([]byte(bad)); ok {
			t.Errorf("ParseLongDouble(%q) accepted", bad)
		}
	}
	if x, ok := ParseLongDouble([]byte("inf")); !ok || !x.IsInf() {
		t.Error("inf")
	}
	long := make([]byte, MaxLongDoubleChars)
	for i := range long {
		long[i] = '1'
	}
	if _, ok := ParseLongDouble(long); ok {
		t.Error("5 KiB input accepted")
	}
	// The largest finite long double parses; twice it overflows.
	if _, ok := ParseLongDouble([]byte("1.18973149535723176502e+4932")); !ok {
		t.Error("max long double refused")
	}
	if _, ok := ParseLongDouble([]byte("1.19e4932")); ok {
		t.Error("overflow accepted")
	}
	// Subnormals are accepted, values below half the smallest are not.
	if _, ok := ParseLongDouble([]byte("4e-4951")); !ok {
		t.Error("subnormal refused")
	}
	if _, ok := ParseLongDouble([]byte("1e-4952")); ok {
		t.Error("underflow accepted")
	}
}

// FuzzParseInt checks ParseInt against strconv on the inputs where their
// rules agree (canonical decimal text).
func FuzzParseInt(f *testing.F) {
	for _, s := range []string{"0", "-1", "123", "9223372036854775807", "-9223372036854775808", "01", "+1", "-0", " 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := ParseInt([]byte(s))
		sv, err := strconv.ParseInt(s, 10, 64)
		if ok {
			if err != nil || sv != v {
				t.Fatalf("ParseInt(%q) = %d, strconv %d %v", s, v, sv, err)
			}
			if strconv.FormatInt(v, 10) != s {
				t.Fatalf("ParseInt(%q) accepted non-canonical text", s)
			}
		} else if err == nil && strconv.FormatInt(sv, 10) == s {
			t.Fatalf("ParseInt(%q) refused canonical %d", s, sv)
		}
	})
}

// FuzzParseFloat checks ParseFloat against strconv.ParseFloat on plain
// decimal syntax, where C's strtod and Go agree.
func FuzzParseFloat(f *testing.F) {
	for _, s := range []string{"1", "-1.5", ".5", "5.", "1e3", "1e-400", "1e400", "0.1", "+3", "1e", "inf", "0x1p3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := ParseFloat([]byte(s))
		plain := len(s) > 0
		for i := 0; i < len(s); i++ {
			c := s[i]
			if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
				plain = false
			}
		}
		if !plain {
			return
		}
		sv, err := strconv.ParseFloat(s, 64)
		if ok {
			if err != nil || sv != v {
				t.Fatalf("ParseFloat(%q) = %v, strconv %v %v", s, v, sv, err)
			}
			return
		}
		if err == nil && !math.IsInf(sv, 0) && (sv != 0 || allZeroDigits(s)) {
			t.Fatalf("ParseFloat(%q) refused, strconv %v", s, sv)
		}
	})
}

func allZeroDigits(s string) bool {
	mant := s
	for i := 0; i < len(s); i++ {
		if s[i] == 'e' || s[i] == 'E' {
			mant = s[:i]
			break
		}
	}
	for i := 0; i < len(mant); i++ {
		if mant[i] >= '1' && mant[i] <= '9' {
			return false
		}
	}
	return true
}
