package datatypes

import (
	"math"
	"strconv"

	"github.com/basaltdb/basalt/internal/numparse"
)

// MaxInt64Len is the longest text ParseInt accepts plus one: Redis's
// LONG_STR_SIZE (21), the buffer size of string2ll.
const MaxInt64Len = numparse.LongStrSize

// ParseInt parses s as Redis's string2ll (see internal/numparse): optional
// '-', then "0" or a digit 1-9 followed by digits, nothing else, fitting in
// int64, at most 20 bytes.
func ParseInt(s []byte) (int64, bool) { return numparse.String2ll(s) }

// IsIntEncodable reports whether Redis's tryObjectEncoding would store s
// with the "int" encoding: a string2ll-valid integer of at most 20 bytes.
func IsIntEncodable(s []byte) bool {
	if len(s) > 20 {
		return false
	}
	_, ok := ParseInt(s)
	return ok
}

// AppendInt appends the decimal text of v (Redis's ll2string).
func AppendInt(dst []byte, v int64) []byte { return strconv.AppendInt(dst, v, 10) }

// CString returns s up to its first NUL byte: C code that treats an
// argument as a NUL-terminated string (strcasecmp, strlen) sees only that.
func CString(s []byte) []byte {
	for i, c := range s {
		if c == 0 {
			return s[:i]
		}
	}
	return s
}

// EqualFoldC reports whether arg, read as a C string (up to its first NUL,
// as strcasecmp does), equals the lower-case ASCII word w ignoring case.
func EqualFoldC(arg []byte, w string) bool {
	arg = CString(arg)
	if len(arg) != len(w) {
		return false
	}
	for i := 0; i < len(w); i++ {
		c := arg[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[i] {
			return false
		}
	}
	return true
}

func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// floatSyntax describes a number scanned with C strtod/strtold syntax.
type floatSyntax struct {
	neg      bool
	kind     uint8  // fsNum, fsInf, fsNaN
	hex      bool   // hexadecimal mantissa (exponent is binary)
	digits   []byte // mantissa digits without the point, leading zeros kept
	pointPos int    // digits before the point
	exp      int64  // explicit exponent, clamped to ±1e9
	end      int    // bytes consumed
}

const (
	fsNum = iota
	fsInf
	fsNaN
)

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func hasPrefixFold(s []byte, p string) bool {
	if len(s) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		if lower(s[i]) != p[i] {
			return false
		}
	}
	return true
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= lower(c) && lower(c) <= 'f'
}

// scanFloat scans the longest prefix of s that C's strtod accepts (after
// the leading whitespace, which callers reject). ok is false when no
// number was found at all.
func scanFloat(s []byte) (f floatSyntax, ok bool) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		f.neg = s[i] == '-'
		i++
	}
	rest := s[i:]
	switch {
	case hasPrefixFold(rest, "infinity"):
		f.kind, f.end = fsInf, i+8
		return f, true
	case hasPrefixFold(rest, "inf"):
		f.kind, f.end = fsInf, i+3
		return f, true
	case hasPrefixFold(rest, "nan"):
		f.kind, f.end = fsNaN, i+3
		// nan(n-char-sequence)
		if j := i + 3; j < len(s) && s[j] == '(' {
			k := j + 1
			for k < len(s) && (s[k] == '_' || '0' <= s[k] && s[k] <= '9' || 'a' <= lower(s[k]) && lower(s[k]) <= 'z') {
				k++
			}
			if k < len(s) && s[k] == ')' {
				f.end = k + 1
			}
		}
		return f, true
	}
	isDigit := func(c byte) bool { return '0' <= c && c <= '9' }
	if len(rest) >= 2 && rest[0] == '0' && lower(rest[1]) == 'x' {
		// Hex needs at least one hex digit after "0x" (before or after
		// the point); otherwise strtod takes just the "0".
		j := i + 2
		start := j
		for j < len(s) && isHexDigit(s[j]) {
			j++
		}
		intDigits := j - start
		frac := 0
		if j < len(s) && s[j] == '.' {
			k := j + 1
			for k < len(s) && isHexDigit(s[k]) {
				k++
			}
			frac = k - j - 1
			if intDigits+frac > 0 {
				j = k
			}
		}
		if intDigits+frac > 0 {
			f.hex = true
			f.digits = make([]byte, 0, intDigits+frac)
			f.digits = append(f.digits, s[start:start+intDigits]...)
			if frac > 0 {
				f.digits = append(f.digits, s[start+intDigits+1:start+intDigits+1+frac]...)
			}
			f.pointPos = intDigits
			f.end = j
			if j < len(s) && lower(s[j]) == 'p' {
				if e, n := scanExp(s[j+1:]); n > 0 {
					f.exp = e
					f.end = j + 1 + n
				}
			}
			return f, true
		}
		// fall through: "0x" alone parses as 0
	}
	j := i
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	intDigits := j - i
	frac := 0
	if j < len(s) && s[j] == '.' {
		k := j + 1
		for k < len(s) && isDigit(s[k]) {
			k++
		}
		frac = k - j - 1
		if intDigits+frac > 0 {
			j = k
		}
	}
	if intDigits+frac == 0 {
		return f, false
	}
	f.digits = make([]byte, 0, intDigits+frac)
	f.digits = append(f.digits, s[i:i+intDigits]...)
	if frac > 0 {
		f.digits = append(f.digits, s[i+intDigits+1:i+intDigits+1+frac]...)
	}
	f.pointPos = intDigits
	f.end = j
	if j < len(s) && lower(s[j]) == 'e' {
		if e, n := scanExp(s[j+1:]); n > 0 {
			f.exp = e
			f.end = j + 1 + n
		}
	}
	return f, true
}

// scanExp scans [+-]digits; n is the bytes consumed (0: no exponent).
// The value is clamped to ±1e9, far past any representable magnitude.
func scanExp(s []byte) (e int64, n int) {
	i, neg := 0, false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		if e < 1e9 {
			e = e*10 + int64(s[i]-'0')
		}
		i++
	}
	if i == start {
		return 0, 0
	}
	if neg {
		e = -e
	}
	return e, i
}

// ParseFloat parses s as Redis's string2d (strtod over the whole slice):
// no leading space, every byte consumed, decimal or hexadecimal syntax,
// "inf"/"infinity" accepted, NaN and out-of-range values (overflow, or
// underflow to zero) rejected.
func ParseFloat(s []byte) (float64, bool) {
	if len(s) == 0 || isCSpace(s[0]) {
		return 0, false
	}
	f, ok := scanFloat(s)
	if !ok || f.end != len(s) {
		return 0, false
	}
	switch f.kind {
	case fsInf:
		if f.neg {
			return math.Inf(-1), true
		}
		return math.Inf(1), true
	case fsNaN:
		return 0, false
	}
	var v float64
	if f.hex {
		// Float64 rounds the exact value to nearest even, subnormals
		// included, as strtod does.
		v, _ = hexToFloat(f).Float64()
	} else {
		// The scanned text is valid Go float syntax too (digits, one
		// point, e[+-]digits); strconv rounds correctly like glibc.
		var err error
		v, err = strconv.ParseFloat(string(s), 64)
		if err != nil {
			return 0, false // overflow (ERANGE with ±HUGE_VAL)
		}
	}
	if math.IsInf(v, 0) {
		return 0, false
	}
	if v == 0 && !allZero(f.digits) {
		return 0, false // underflow to zero (ERANGE)
	}
	return v, true
}

func allZero(d []byte) bool {
	for _, c := range d {
		if c != '0' {
			return false
		}
	}
	return true
}
