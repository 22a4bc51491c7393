package resp

import (
	"math"
	"strconv"
)

// Writer appends RESP replies to B in the encoding of protocol version
// Proto (2 or 3). It is owned by one goroutine at a time: the loop that is
// producing a reply. Methods never fail; the caller sends B when ready.
//
// RESP3-only types degrade to their RESP2 equivalents as redis-server 7.0
// does: maps become flat arrays, sets become arrays, doubles become bulk
// strings, booleans become integers, null becomes $-1 (or *-1 for arrays).
type Writer struct {
	B     []byte
	Proto int
}

// Reset empties the buffer and keeps its capacity.
func (w *Writer) Reset() { w.B = w.B[:0] }

// Len is the number of bytes written so far.
func (w *Writer) Len() int { return len(w.B) }

// SimpleString writes +s\r\n. s must not contain \r or \n.
func (w *Writer) SimpleString(s string) {
	w.B = append(w.B, '+')
	w.B = append(w.B, s...)
	w.B = append(w.B, '\r', '\n')
}

// OK writes +OK\r\n.
func (w *Writer) OK() { w.B = append(w.B, "+OK\r\n"...) }

// Error writes -s\r\n; s carries its own prefix ("ERR ...", "WRONGTYPE ...").
// Newlines inside s are replaced by spaces, as Redis does, so the reply
// stays one line.
func (w *Writer) Error(s string) {
	w.B = append(w.B, '-')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		w.B = append(w.B, c)
	}
	w.B = append(w.B, '\r', '\n')
}

// Int writes :n\r\n.
func (w *Writer) Int(n int64) {
	w.B = append(w.B, ':')
	w.B = strconv.AppendInt(w.B, n, 10)
	w.B = append(w.B, '\r', '\n')
}

// Bulk writes a bulk string.
func (w *Writer) Bulk(b []byte) {
	w.B = append(w.B, '$')
	w.B = strconv.AppendInt(w.B, int64(len(b)), 10)
	w.B = append(w.B, '\r', '\n')
	w.B = append(w.B, b...)
	w.B = append(w.B, '\r', '\n')
}

// BulkString writes a bulk string from a Go string.
func (w *Writer) BulkString(s string) {
	w.B = append(w.B, '$')
	w.B = strconv.AppendInt(w.B, int64(len(s)), 10)
	w.B = append(w.B, '\r', '\n')
	w.B = append(w.B, s...)
	w.B = append(w.B, '\r', '\n')
}

// BulkInt writes n as a bulk string (e.g. CONFIG GET values).
func (w *Writer) BulkInt(n int64) {
	var tmp [20]byte
	w.Bulk(strconv.AppendInt(tmp[:0], n, 10))
}

// Null writes the null bulk string: $-1 in RESP2, _ in RESP3.
func (w *Writer) Null() {
	if w.Proto >= 3 {
		w.B = append(w.B, "_\r\n"...)
		return
	}
	w.B = append(w.B, "$-1\r\n"...)
}

// NullArray writes the null array: *-1 in RESP2, _ in RESP3.
func (w *Writer) NullArray() {
	if w.Proto >= 3 {
		w.B = append(w.B, "_\r\n"...)
		return
	}
	w.B = append(w.B, "*-1\r\n"...)
}

func (w *Writer) header(c byte, n int) {
	w.B = append(w.B, c)
	w.B = strconv.AppendInt(w.B, int64(n), 10)
	w.B = append(w.B, '\r', '\n')
}

// ArrayLen starts an array of n elements.
func (w *Writer) ArrayLen(n int) { w.header('*', n) }

// MapLen starts a map of n key/value pairs (RESP2: an array of 2n).
func (w *Writer) MapLen(n int) {
	if w.Proto >= 3 {
		w.header('%', n)
		return
	}
	w.header('*', 2*n)
}

// SetLen starts a set of n elements (RESP2: an array).
func (w *Writer) SetLen(n int) {
	if w.Proto >= 3 {
		w.header('~', n)
		return
	}
	w.header('*', n)
}

// PushLen starts an out-of-band push of n elements (RESP2: an array).
func (w *Writer) PushLen(n int) {
	if w.Proto >= 3 {
		w.header('>', n)
		return
	}
	w.header('*', n)
}

// Bool writes #t/#f in RESP3 and :1/:0 in RESP2.
func (w *Writer) Bool(b bool) {
	if w.Proto >= 3 {
		if b {
			w.B = append(w.B, "#t\r\n"...)
		} else {
			w.B = append(w.B, "#f\r\n"...)
		}
		return
	}
	if b {
		w.B = append(w.B, ":1\r\n"...)
	} else {
		w.B = append(w.B, ":0\r\n"...)
	}
}

// Double writes f as Redis 7.0's addReplyDouble does: RESP3 ",<%.17g>",
// RESP2 a bulk string of the same text; infinities are "inf"/"-inf".
func (w *Writer) Double(f float64) {
	var tmp [32]byte
	s := AppendDouble(tmp[:0], f)
	if w.Proto >= 3 {
		w.B = append(w.B, ',')
		w.B = append(w.B, s...)
		w.B = append(w.B, '\r', '\n')
		return
	}
	w.Bulk(s)
}

// AppendDouble formats f like C's "%.17g" as used by Redis 7.0 replies.
func AppendDouble(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	case math.IsNaN(f):
		return append(dst, "nan"...)
	}
	return appendG17(dst, f)
}

// appendG17 emulates printf("%.17g"): 17 significant digits, exponent form
// when exp < -4 or exp >= 17, trailing zeros removed.
func appendG17(dst []byte, f float64) []byte {
	if f == 0 {
		if math.Signbit(f) {
			return append(dst, "-0"...)
		}
		return append(dst, '0')
	}
	var digits [32]byte
	e := strconv.AppendFloat(digits[:0], f, 'e', 16, 64) // d.dddddddddddddddde±XX
	neg := e[0] == '-'
	if neg {
		e = e[1:]
	}
	mant := make([]byte, 0, 17)
	i := 0
	for ; i < len(e) && e[i] != 'e'; i++ {
		if e[i] != '.' {
			mant = append(mant, e[i])
		}
	}
	exp, _ := strconv.Atoi(string(e[i+1:]))
	for len(mant) > 1 && mant[len(mant)-1] == '0' {
		mant = mant[:len(mant)-1]
	}
	if neg {
		dst = append(dst, '-')
	}
	if exp < -4 || exp >= 17 {
		dst = append(dst, mant[0])
		if len(mant) > 1 {
			dst = append(dst, '.')
			dst = append(dst, mant[1:]...)
		}
		dst = append(dst, 'e')
		if exp < 0 {
			dst = append(dst, '-')
			exp = -exp
		} else {
			dst = append(dst, '+')
		}
		if exp < 10 {
			dst = append(dst, '0')
		}
		return strconv.AppendInt(dst, int64(exp), 10)
	}
	if exp < 0 {
		dst = append(dst, '0', '.')
		for j := -1; j > exp; j-- {
			dst = append(dst, '0')
		}
		return append(dst, mant...)
	}
	if len(mant) <= exp+1 {
		dst = append(dst, mant...)
		for j := len(mant); j <= exp; j++ {
			dst = append(dst, '0')
		}
		return dst
	}
	dst = append(dst, mant[:exp+1]...)
	dst = append(dst, '.')
	return append(dst, mant[exp+1:]...)
}

// Verbatim writes a RESP3 verbatim string ("=len\r\ntxt:...") or a RESP2
// bulk string, as Redis does for INFO and CLIENT LIST.
func (w *Writer) Verbatim(format string, s []byte) {
	if w.Proto < 3 {
		w.Bulk(s)
		return
	}
	w.B = append(w.B, '=')
	w.B = strconv.AppendInt(w.B, int64(len(s)+4), 10)
	w.B = append(w.B, '\r', '\n')
	w.B = append(w.B, format...)
	w.B = append(w.B, ':')
	w.B = append(w.B, s...)
	w.B = append(w.B, '\r', '\n')
}

// Raw appends already-encoded RESP bytes.
func (w *Writer) Raw(b []byte) { w.B = append(w.B, b...) }
