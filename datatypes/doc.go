// Package datatypes holds the pure algorithms behind Redis's value types:
// number parsing and formatting with Redis's exact rules (string2ll,
// string2d, string2ld and the x87 long double arithmetic of INCRBYFLOAT),
// bitmap operations (BITCOUNT, BITPOS, BITOP, BITFIELD) and LCS (glob
// matching lives in internal/glob). Functions work on byte slices owned by the caller, keep no
// state and are safe for any goroutine.
package datatypes
