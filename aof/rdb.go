package aof

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc64"
	"strconv"
)

// RDB opcodes of Redis 7.0 (rdb.h) that a base file may hold without keys.
const (
	rdbOpAux      = 250
	rdbOpResizeDB = 251
	rdbOpSelectDB = 254
	rdbOpEOF      = 255
	rdbVersion    = 10
)

// crcTable is Redis's CRC-64/Jones (reflected 0xad93d23594c935a9), which Go's
// crc64 computes with its reflected constant; it is read-only after init.
var crcTable = crc64.MakeTable(0x95AC9329AC4BC9B5)

// rdbCRC is Redis's crc64(0, p): Go's Update complements in and out, Redis
// does neither.
func rdbCRC(p []byte) uint64 { return ^crc64.Update(^uint64(0), crcTable, p) }

// errRDBNotSupported is returned for a base RDB that holds data.
var errRDBNotSupported = errors.New("RDB base files are not supported yet")

// emptyRDB returns an RDB with no keys, as redis-server 7.0 writes for the
// base of a new AOF directory: the same aux fields, EOF and CRC64.
func emptyRDB(ctime int64) []byte {
	b := []byte("REDIS0010")
	aux := func(k string, v []byte) {
		b = append(b, rdbOpAux, byte(len(k)))
		b = append(b, k...)
		b = append(b, v...)
	}
	str := func(s string) []byte { return append([]byte{byte(len(s))}, s...) }
	aux("redis-ver", str("7.0.15"))
	aux("redis-bits", []byte{0xc0, 64})
	aux("ctime", binary.LittleEndian.AppendUint32([]byte{0xc2}, uint32(ctime)))
	aux("used-mem", []byte{0xc0, 0})
	aux("aof-base", []byte{0xc0, 1})
	b = append(b, rdbOpEOF)
	return binary.LittleEndian.AppendUint64(b, rdbCRC(b))
}

// rdbError is a problem in an RDB base at a byte offset.
type rdbError struct {
	off int64
	msg string
}

func (e *rdbError) Error() string { return e.msg + " at offset " + strconv.FormatInt(e.off, 10) }

// checkEmptyRDB checks that b starts with an RDB holding no keys (only aux
// fields, SELECTDB and RESIZEDB) and returns its length, checksum included,
// so that an old-style AOF tail after it can be replayed. A truncated RDB
// is an error even with aof-load-truncated, as in Redis.
func checkEmptyRDB(b []byte) (int, error) {
	// A short read is reported at the end of b, which tells the caller to
	// read more of the file and try again.
	short := func(int) error { return &rdbError{int64(len(b)), "Short read loading the RDB base"} }
	if len(b) < 9 {
		return 0, short(len(b))
	}
	ver, err := strconv.Atoi(string(b[5:9]))
	if err != nil || ver < 1 || ver > rdbVersion {
		return 0, &rdbError{5, fmt.Sprintf("Can't handle RDB format version %q", b[5:9])}
	}
	p := 9
	// length reads an RDB length; enc reports the special encodings of 0b11.
	length := func() (n uint64, enc bool, ok bool) {
		if p >= len(b) {
			return 0, false, false
		}
		c := b[p]
		p++
		switch c >> 6 {
		case 0:
			return uint64(c & 0x3f), false, true
		case 1:
			if p >= len(b) {
				return 0, false, false
			}
			p++
			return uint64(c&0x3f)<<8 | uint64(b[p-1]), false, true
		case 2:
			switch c {
			case 0x80:
				if p+4 > len(b) {
					return 0, false, false
				}
				p += 4
				return uint64(binary.BigEndian.Uint32(b[p-4:])), false, true
			case 0x81:
				if p+8 > len(b) {
					return 0, false, false
				}
				p += 8
				return binary.BigEndian.Uint64(b[p-8:]), false, true
			}
			return 0, false, false
		}
		return uint64(c & 0x3f), true, true
	}
	// skipString skips one RDB string (raw, integer or LZF encoded).
	skipString := func() error {
		start := p
		n, enc, ok := length()
		if !ok {
			return short(p)
		}
		if enc {
			switch n {
			case 0:
				n = 1
			case 1:
				n = 2
			case 2:
				n = 4
			case 3: // LZF: compressed length, plain length, data
				clen, _, ok1 := length()
				_, _, ok2 := length()
				if !ok1 || !ok2 {
					return short(p)
				}
				n = clen
			default:
				return &rdbError{int64(start), "Unknown RDB string encoding type"}
			}
		}
		if n > uint64(len(b)-p) {
			return short(len(b))
		}
		p += int(n)
		return nil
	}
	for {
		if p >= len(b) {
			return 0, short(p)
		}
		op := b[p]
		p++
		switch op {
		case rdbOpAux:
			if err := skipString(); err != nil {
				return 0, err
			}
			if err := skipString(); err != nil {
				return 0, err
			}
		case rdbOpSelectDB:
			if _, _, ok := length(); !ok {
				return 0, short(p)
			}
		case rdbOpResizeDB:
			_, _, ok1 := length()
			_, _, ok2 := length()
			if !ok1 || !ok2 {
				return 0, short(p)
			}
		case rdbOpEOF:
			if ver >= 5 {
				if p+8 > len(b) {
					return 0, short(len(b))
				}
				want := binary.LittleEndian.Uint64(b[p:])
				if want != 0 && want != rdbCRC(b[:p]) {
					return 0, &rdbError{int64(p), "Wrong RDB checksum"}
				}
				p += 8
			}
			return p, nil
		default:
			// A key (type byte or expire/idle/freq prefix), a function library
			// or module aux data: Basalt cannot load those from a base yet.
			return 0, errRDBNotSupported
		}
	}
}
