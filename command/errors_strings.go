package command

// Reply error strings of the string and bitmap commands, as redis-server
// 7.0 sends them.
const (
	ErrOffsetRange     = "ERR offset is out of range"
	ErrDecrOverflow    = "ERR decrement would overflow"
	ErrIncrFloatNaN    = "ERR increment would produce NaN or Infinity"
	ErrLCSNotString    = "ERR The specified keys must contain string values"
	ErrLCSIdxAndLen    = "ERR If you want both the length and indexes, please just use IDX."
	ErrLCSMemory       = "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
	ErrLCSTooLong      = "ERR String too long for LCS"
	ErrBitArg          = "ERR The bit argument must be 1 or 0."
	ErrBitopNot        = "ERR BITOP NOT must be called with a single source key."
	ErrBitfieldType    = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."
	ErrBitfieldOverflw = "ERR Invalid OVERFLOW type specified"
	ErrBitfieldRO      = "ERR BITFIELD_RO only supports the GET subcommand"
)
