package numparse

import (
	"math"
	"testing"
)

func TestString2ll(t *testing.T) {
	cases := []struct {
		in string
		v  int64
		ok bool
	}{
		{"0", 0, true}, {"1", 1, true}, {"-1", -1, true}, {"10", 10, true}, {"123", 123, true},
		{"9223372036854775807", math.MaxInt64, true},
		{"-9223372036854775808", math.MinInt64, true},
		{"9223372036854775808", 0, false}, {"-9223372036854775809", 0, false},
		{"18446744073709551615", 0, false}, {"18446744073709551616", 0, false}, {"99999999999999999999", 0, false},
		{"", 0, false}, {"-", 0, false}, {"-0", 0, false}, {"00", 0, false}, {"01", 0, false},
		{"+1", 0, false}, {" 1", 0, false}, {"1 ", 0, false}, {"1a", 0, false}, {"1.0", 0, false},
		{"0x10", 0, false}, {"-01", 0, false}, {"000000000000000000001", 0, false},
		{"1\x00", 0, false},
	}
	for _, c := range cases {
		v, ok := String2ll([]byte(c.in))
		if ok != c.ok || v != c.v {
			t.Errorf("String2ll([]byte %q) = %d,%v want %d,%v", c.in, v, ok, c.v, c.ok)
		}
		if v2, ok2 := String2ll(c.in); v2 != v || ok2 != ok {
			t.Errorf("String2ll(string %q) = %d,%v, []byte gives %d,%v", c.in, v2, ok2, v, ok)
		}
	}
}
