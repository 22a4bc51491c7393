package command

// Reply error strings, exactly as redis-server 7.0 sends them.
const (
	ErrWrongType     = "WRONGTYPE Operation against a key holding the wrong kind of value"
	ErrSyntax        = "ERR syntax error"
	ErrNotInt        = "ERR value is not an integer or out of range"
	ErrNotFloat      = "ERR value is not a valid float"
	ErrOverflow      = "ERR increment or decrement would overflow"
	ErrNoSuchKey     = "ERR no such key"
	ErrDBIndex       = "ERR DB index is out of range"
	ErrInvalidExpire = "ERR invalid expire time in '%s' command"
	ErrBitOffset     = "ERR bit offset is not an integer or out of range"
	ErrBitValue      = "ERR bit is not an integer or out of range"
	ErrStringTooLong = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
	ErrSameObject    = "ERR source and destination objects are the same"
)

// ArityError is the reply for a wrong number of arguments.
func ArityError(name string) string {
	return "ERR wrong number of arguments for '" + name + "' command"
}
