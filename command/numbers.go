package command

import (
	"math"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/keyspace"
)

// Shared argument parsing and string-value helpers for the string and
// bitmap commands (and any handler that takes integer arguments).

// embstrLimit is OBJ_ENCODING_EMBSTR_SIZE_LIMIT: strings up to this length
// are reported as "embstr".
const embstrLimit = 44

// intArg parses an integer argument with Redis's string2ll rules; on
// failure it replies "value is not an integer or out of range".
func intArg(c *Ctx, arg []byte) (int64, bool) {
	v, ok := datatypes.ParseInt(arg)
	if !ok {
		c.Out.Error(ErrNotInt)
	}
	return v, ok
}

// StringEncoding is the encoding Redis gives a string it stores (int,
// embstr or raw): for values made outside a command (RDB loading).
func StringEncoding(v []byte) keyspace.Enc { return strEnc(v) }

// strEnc is the encoding tryObjectEncoding picks for a stored string.
func strEnc(v []byte) keyspace.Enc {
	if datatypes.IsIntEncodable(v) {
		return keyspace.EncInt
	}
	return plainEnc(v)
}

// plainEnc is the encoding of a string object created from a buffer
// without trying the integer form (createStringObject): INCRBYFLOAT
// results.
func plainEnc(v []byte) keyspace.Enc {
	if len(v) <= embstrLimit {
		return keyspace.EncEmbstr
	}
	return keyspace.EncRaw
}

// setStr makes e a string holding a private copy of v, encoded as SET
// would store it. The old buffer is not reused: a whole-value overwrite
// allocates, as Redis does.
func setStr(e *keyspace.Entry, v []byte) {
	e.Kind, e.Obj = keyspace.KindString, nil
	e.Str = append(make([]byte, 0, len(v)), v...)
	e.Enc = strEnc(v)
}

// isString reports whether e holds a string; otherwise it replies
// WRONGTYPE. A nil e passes.
func isString(c *Ctx, e *keyspace.Entry) bool {
	if e != nil && e.Kind != keyspace.KindString {
		c.Out.Error(ErrWrongType)
		return false
	}
	return true
}

// checkStringLength refuses a string of size+add bytes past
// proto-max-bulk-len.
func checkStringLength(c *Ctx, size, add int64) bool {
	if size > math.MaxInt64-add || size+add > c.MaxBulkLen {
		c.Out.Error(ErrStringTooLong)
		return false
	}
	return true
}

// appendInt appends v in decimal to a small stack buffer's slice.
func appendInt(dst []byte, v int64) []byte { return datatypes.AppendInt(dst, v) }
