// Package rdb is Redis 7.0's RDB format (version 10): the DUMP/RESTORE
// payload and the snapshot file (SAVE, BGSAVE, the AOF base).
//
// Writing follows rdb.c's rdbSaveObject byte for byte where the value's
// layout is deterministic (strings, listpacks, intsets, quicklist nodes);
// hashtable-encoded values are written in Basalt's iteration order.
//
// Streams are written as RDB_TYPE_STREAM_LISTPACKS_2 (Redis 7.0's nodes,
// metadata and consumer groups, byte for byte); types 15 and 19 load.
//
// Loading accepts RDB versions 6 to 10 and every value type Redis 7.0 can
// load except modules (types 6, 7, and the MODULE_AUX opcode): Basalt has
// none, so the loader refuses them with an error naming the key, the file
// and the byte offset.
//
// Function libraries are RDB_OPCODE_FUNCTION2 records before the first
// database (functions.go): Writer.Function writes one, and
// LoadWithFunctions hands each library's code to the caller's script
// engine (Load, which has none, refuses non-empty ones). The 7.0-rc
// FUNCTION record is refused, as Redis 7.0 refuses it.
//
// Ownership: nothing here keeps state between calls except a Writer, which
// belongs to the goroutine writing its file.
package rdb

import (
	"errors"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/keyspace"
)

// rdbVersion is the RDB version this package writes (Redis 7.0).
const rdbVersion = 10

// Value is a decoded value: Kind and either Str (strings) or Obj
// (aggregates, in the encoding Redis would give it under the Limits it was
// read with: e.g. a hash with <= hash-max-listpack-entries small fields is
// a listpack hash). Str and Obj are owned by the caller (nothing aliases
// the input buffer).
type Value struct {
	Kind keyspace.Kind
	Str  []byte
	Obj  keyspace.Aggregate
}

// ErrBadPayload is RESTORE's error for a payload whose version or CRC64
// footer is wrong (verifyDumpPayload).
var ErrBadPayload = errors.New("DUMP payload version or checksum are wrong")

// ErrBadData is RESTORE's error for a payload whose footer is right but
// whose value does not decode ("Bad data format" in restoreCommand).
// ParseDump returns one of ErrBadPayload and ErrBadData.
var ErrBadData = errors.New("Bad data format")

// AppendValue appends the RDB type byte and the encoded value of e,
// choosing the RDB type Redis 7.0 writes for that value (string, integer or
// LZF-compressed string; LIST_QUICKLIST_2; SET_INTSET or SET; ZSET_LISTPACK
// or ZSET_2; HASH_LISTPACK or HASH; STREAM_LISTPACKS_2). The caller owns e; it is only read.
func AppendValue(dst []byte, e *keyspace.Entry) []byte {
	return appendValue(dst, e)
}

// ReadValue decodes one <type><value> from the start of b and returns the
// bytes consumed. Aggregates are rebuilt with the encoding Redis's loader
// would choose under lim (nil: Redis's defaults).
func ReadValue(b []byte, lim *datatypes.Limits) (v Value, n int, err error) {
	return readValue(b, lim)
}

// AppendDump is DUMP's payload: AppendValue, then the RDB version (2 bytes
// little-endian) and the CRC64 of all that (8 bytes little-endian).
func AppendDump(dst []byte, e *keyspace.Entry) []byte {
	start := len(dst)
	dst = AppendValue(dst, e)
	dst = append(dst, rdbVersion, 0)
	c := crc64sum(0, dst[start:])
	return appendU64LE(dst, c)
}

// ParseDump checks the version (<= 10) and CRC64 of a RESTORE payload and
// decodes it. A wrong footer is ErrBadPayload; a value that does not decode
// (an empty aggregate included) is ErrBadData, as Redis replies. As in
// Redis, bytes between the value and the footer are ignored.
func ParseDump(p []byte, lim *datatypes.Limits) (Value, error) {
	if len(p) < 10 {
		return Value{}, ErrBadPayload
	}
	footer := p[len(p)-10:]
	ver := uint16(footer[0]) | uint16(footer[1])<<8
	if ver > rdbVersion {
		return Value{}, ErrBadPayload
	}
	if crc64sum(0, p[:len(p)-8]) != leU64(footer[2:]) {
		return Value{}, ErrBadPayload
	}
	body := p[:len(p)-10]
	v, _, err := ReadValue(body, lim)
	if err != nil {
		return Value{}, ErrBadData
	}
	return v, nil
}

func appendU64LE(dst []byte, v uint64) []byte {
	return append(dst, byte(v), byte(v>>8), byte(v>>16), byte(v>>24),
		byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56))
}

func leU64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}
