// Package numparse is Redis's string2ll (util.c), the strict integer
// parser behind RESP lengths, command arguments, key-spec counts and
// configuration values. It keeps no state and is safe for any goroutine.
package numparse

import "math"

// LongStrSize is Redis's LONG_STR_SIZE (21): String2ll accepts fewer bytes.
const LongStrSize = 21

// String2ll parses s as Redis's string2ll: an optional '-', then "0" alone
// or a digit 1-9 followed by digits, nothing else (no '+', no spaces, no
// leading zeros, no "-0"), fewer than LongStrSize bytes, fitting in int64.
func String2ll[T ~string | ~[]byte](s T) (int64, bool) {
	n := len(s)
	if n == 0 || n >= LongStrSize {
		return 0, false
	}
	if n == 1 && s[0] == '0' {
		return 0, true
	}
	i, neg := 0, false
	if s[0] == '-' {
		neg = true
		i++
		if i == n {
			return 0, false
		}
	}
	if s[i] < '1' || s[i] > '9' {
		return 0, false
	}
	v := uint64(s[i] - '0')
	for i++; i < n; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if v > math.MaxUint64/10 {
			return 0, false
		}
		v *= 10
		d := uint64(c - '0')
		if v > math.MaxUint64-d {
			return 0, false
		}
		v += d
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return int64(-v), true
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}
