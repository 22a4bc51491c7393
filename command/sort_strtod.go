package command

import (
	"math"
	"strconv"

	"github.com/basaltdb/basalt/datatypes"
)

// sortStrtod converts a SORT weight as Redis's sortCommandGeneric does
// with strtod: the text up to its first NUL (the C string), leading
// white space skipped, decimal or hexadecimal syntax, "inf"/"infinity";
// the weight is valid when strtod consumed everything, did not set ERANGE
// (overflow, or an underflow to zero or to a subnormal, as glibc does)
// and did not yield NaN. An empty string is 0, and valid.
func sortStrtod(s []byte) (float64, bool) {
	s = datatypes.CString(s)
	if len(s) == 0 {
		return 0, true
	}
	i := 0
	for i < len(s) && sortIsSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	rest := s[i:]
	switch {
	case sortHasPrefixFold(rest, "inf"):
		n := 3
		if sortHasPrefixFold(rest, "infinity") {
			n = 8
		}
		if i+n != len(s) {
			return 0, false
		}
		if neg {
			return math.Inf(-1), true
		}
		return math.Inf(1), true
	case sortHasPrefixFold(rest, "nan"):
		return 0, false // NaN is refused whatever follows
	}
	// Hexadecimal: "0x" then at least one hex digit (around a point).
	if len(rest) >= 2 && rest[0] == '0' && (rest[1] == 'x' || rest[1] == 'X') {
		j := 2
		digits := 0
		for j < len(rest) && isHex(rest[j]) {
			j++
			digits++
		}
		if j < len(rest) && rest[j] == '.' {
			j++
			for j < len(rest) && isHex(rest[j]) {
				j++
				digits++
			}
		}
		if digits > 0 {
			mant := rest[2:j]
			exp := []byte("p0")
			if e, n := sortExponent(rest[j:], 'p', 'P'); n > 0 {
				exp = append([]byte{'p'}, e...)
				j += n
			}
			if i+j != len(s) {
				return 0, false
			}
			text := append(append([]byte("0x"), mant...), exp...)
			v, err := strconv.ParseFloat(string(text), 64)
			return sortRangeCheck(v, err, neg, !allZeroHex(mant))
		}
		// Only the "0" parses; the 'x' is left over.
		return 0, false
	}
	j := 0
	digits := 0
	nonzero := false
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		nonzero = nonzero || rest[j] != '0'
		j++
		digits++
	}
	if j < len(rest) && rest[j] == '.' {
		j++
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			nonzero = nonzero || rest[j] != '0'
			j++
			digits++
		}
	}
	if digits == 0 {
		// No conversion: strtod's end pointer is the start of the string.
		return 0, false
	}
	if _, n := sortExponent(rest[j:], 'e', 'E'); n > 0 {
		j += n
	}
	if i+j != len(s) {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(rest[:j]), 64)
	return sortRangeCheck(v, err, neg, nonzero)
}

// sortRangeCheck applies the sign and glibc's ERANGE rules.
func sortRangeCheck(v float64, err error, neg, nonzero bool) (float64, bool) {
	if err != nil || math.IsInf(v, 0) {
		return 0, false // overflow
	}
	if nonzero && (v == 0 || math.Abs(v) < 0x1p-1022) {
		return 0, false // underflow: zero or subnormal
	}
	if neg {
		v = -v
	}
	return v, true
}

// sortExponent reads an exponent part ("e-12") at the start of s: the
// digits with their sign, and the bytes consumed (0 when there is no
// complete exponent, which strtod then leaves unconsumed).
func sortExponent(s []byte, lo, up byte) ([]byte, int) {
	if len(s) == 0 || (s[0] != lo && s[0] != up) {
		return nil, 0
	}
	j := 1
	if j < len(s) && (s[j] == '+' || s[j] == '-') {
		j++
	}
	d := j
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == d {
		return nil, 0
	}
	return s[1:j], j
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func allZeroHex(m []byte) bool {
	for _, c := range m {
		if c != '0' && c != '.' {
			return false
		}
	}
	return true
}

// sortIsSpace is C's isspace in the "C" locale.
func sortIsSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }

func sortHasPrefixFold(s []byte, p string) bool {
	if len(s) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != p[i] {
			return false
		}
	}
	return true
}
