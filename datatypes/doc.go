// Package datatypes holds the pure algorithms behind Redis's value types:
// number parsing and formatting with Redis's exact rules (string2ll,
// string2d, string2ld and the x87 long double arithmetic of INCRBYFLOAT),
// bitmap operations (BITCOUNT, BITPOS, BITOP, BITFIELD), LCS and glob
// matching. Functions work on byte slices owned by the caller, keep no
// state and are safe for any goroutine.
package datatypes
