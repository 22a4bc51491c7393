package command

import (
	"math"
	"strconv"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/resp"
)

// Private helpers of the generic keyspace commands.

// keyParseDBIndex is Redis's getIntFromObjectOrReply: an int64 that must
// fit in a C int. It replies with msg (or Redis's default errors when msg
// is empty) and returns false on failure.
func keyParseDBIndex(c *Ctx, arg []byte, msg string) (int, bool) {
	v, ok := datatypes.ParseInt(arg)
	if !ok {
		if msg == "" {
			msg = ErrNotInt
		}
		c.Out.Error(msg)
		return 0, false
	}
	if v < math.MinInt32 || v > math.MaxInt32 {
		if msg == "" {
			msg = ErrIntOutOfRange
		}
		c.Out.Error(msg)
		return 0, false
	}
	return int(v), true
}

// keyParseCursor parses a SCAN cursor as Redis's parseScanCursorOrReply,
// which uses strtoul(): leading '+' or '-' accepted (a negative cursor
// wraps modulo 2^64), an empty string is 0, overflow and leading spaces
// or trailing garbage are errors. The argument ends at its first NUL, as
// the C string does.
func keyParseCursor(s []byte) (uint64, bool) {
	for i, ch := range s {
		if ch == 0 {
			s = s[:i]
			break
		}
	}
	if len(s) == 0 {
		return 0, true
	}
	if keyIsSpace(s[0]) {
		return 0, false
	}
	i := 0
	neg := false
	switch s[0] {
	case '-':
		neg = true
		i++
	case '+':
		i++
	}
	if i == len(s) {
		// A lone sign: strtoul parses nothing and leaves the pointer at
		// the sign, which is then trailing garbage.
		return 0, false
	}
	var v uint64
	overflow := false
	for ; i < len(s); i++ {
		ch := s[i]
		if ch < '0' || ch > '9' {
			return 0, false
		}
		d := uint64(ch - '0')
		if v > (math.MaxUint64-d)/10 {
			overflow = true
		}
		v = v*10 + d
	}
	if overflow {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}

// keyIsSpace is C's isspace in the "C" locale.
func keyIsSpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r')
}

// keyArrayHeaderAt inserts an array header for n elements at offset mark
// of w's buffer: Redis's deferred length, for replies whose element count
// is known only after writing them (KEYS).
func keyArrayHeaderAt(w *resp.Writer, mark, n int) {
	var hdr [24]byte
	h := append(hdr[:0], '*')
	h = strconv.AppendInt(h, int64(n), 10)
	h = append(h, '\r', '\n')
	w.B = append(w.B, h...)
	copy(w.B[mark+len(h):], w.B[mark:len(w.B)-len(h)])
	copy(w.B[mark:], h)
}
