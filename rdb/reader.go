package rdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// formatError is a decoding failure: where (input name, byte offset) and
// what was expected.
type formatError struct {
	name string
	off  int64
	msg  string
	err  error // wrapped cause (errEmptyKey), may be nil
}

func (e *formatError) Error() string {
	if e.name != "" {
		return fmt.Sprintf("%s: offset %d: %s", e.name, e.off, e.msg)
	}
	return fmt.Sprintf("offset %d: %s", e.off, e.msg)
}

func (e *formatError) Unwrap() error { return e.err }

// errEmptyKey marks an aggregate stored with no elements: RESTORE rejects
// it, file loading skips the key (as Redis does since 6.2, see #8453).
var errEmptyKey = errors.New("empty key")

// dec reads RDB data from a buffer, refilled from r when r is set. Views it
// returns (bytes, str) are valid until its next read. For files it keeps
// the running CRC64 of what it consumed.
type dec struct {
	b      []byte
	pos    int
	base   int64     // input offset of b[0]
	r      io.Reader // nil: b is the whole input
	name   string
	crc    uint64 // crc64 of the input before b[crcPos]
	crcPos int
	rerr   error // the reader's error once it failed
	ibuf   [24]byte
	resize ResizeFunc // receives RESIZEDB hints; may be nil
}

func (d *dec) off() int64 { return d.base + int64(d.pos) }

// fail returns a formatError at offset off.
func (d *dec) fail(off int64, format string, args ...any) error {
	return &formatError{name: d.name, off: off, msg: fmt.Sprintf(format, args...)}
}

// need makes n bytes available at b[pos:].
func (d *dec) need(n int, what string) error {
	if len(d.b)-d.pos >= n {
		return nil
	}
	if d.r == nil || d.rerr != nil || n < 0 {
		return d.truncated(what)
	}
	// Fold the consumed bytes into the CRC and drop them.
	d.crc = crc64sum(d.crc, d.b[d.crcPos:d.pos])
	m := copy(d.b, d.b[d.pos:])
	d.b = d.b[:m]
	d.base += int64(d.pos)
	d.pos, d.crcPos = 0, 0
	for len(d.b) < n {
		if len(d.b) == cap(d.b) {
			// Grow by at most doubling, so a corrupt length cannot
			// allocate much more than the input really holds.
			c := 2 * cap(d.b)
			if c < 64<<10 {
				c = 64 << 10
			}
			if c > n && n > cap(d.b) {
				c = n
			}
			nb := make([]byte, len(d.b), c)
			copy(nb, d.b)
			d.b = nb
		}
		k, err := d.r.Read(d.b[len(d.b):cap(d.b)])
		d.b = d.b[:len(d.b)+k]
		if err != nil && len(d.b) < n {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			d.rerr = err
			return d.truncated(what)
		}
	}
	return nil
}

func (d *dec) truncated(what string) error {
	if d.rerr != nil && d.rerr != io.ErrUnexpectedEOF {
		return &formatError{name: d.name, off: d.base + int64(len(d.b)),
			msg: fmt.Sprintf("reading %s: %v", what, d.rerr), err: d.rerr}
	}
	return d.fail(d.base+int64(len(d.b)), "unexpected end of data: expected %s", what)
}

// remaining is an upper bound of the bytes left to read (in-memory input),
// or -1 when unknown.
func (d *dec) remaining() int64 {
	if d.r != nil {
		return -1
	}
	return int64(len(d.b) - d.pos)
}

func (d *dec) u8(what string) (byte, error) {
	if err := d.need(1, what); err != nil {
		return 0, err
	}
	c := d.b[d.pos]
	d.pos++
	return c, nil
}

// bytes returns a view of the next n bytes.
func (d *dec) bytes(n int, what string) ([]byte, error) {
	if err := d.need(n, what); err != nil {
		return nil, err
	}
	s := d.b[d.pos : d.pos+n : d.pos+n]
	d.pos += n
	return s, nil
}

// length is rdbLoadLenByRef: a length, or (encoded) a string encoding.
func (d *dec) length(what string) (n uint64, encoded bool, err error) {
	off := d.off()
	c, err := d.u8(what)
	if err != nil {
		return 0, false, err
	}
	switch c >> 6 {
	case encVal:
		return uint64(c & 0x3f), true, nil
	case len6:
		return uint64(c & 0x3f), false, nil
	case len14:
		c2, err := d.u8(what)
		if err != nil {
			return 0, false, err
		}
		return uint64(c&0x3f)<<8 | uint64(c2), false, nil
	}
	switch c {
	case len32:
		b, err := d.bytes(4, what)
		if err != nil {
			return 0, false, err
		}
		return uint64(binary.BigEndian.Uint32(b)), false, nil
	case len64:
		b, err := d.bytes(8, what)
		if err != nil {
			return 0, false, err
		}
		return binary.BigEndian.Uint64(b), false, nil
	}
	return 0, false, d.fail(off, "expected %s, got unknown length encoding 0x%02x", what, c)
}

// count reads a plain length (no string encoding allowed).
func (d *dec) count(what string) (uint64, error) {
	off := d.off()
	n, enc, err := d.length(what)
	if err != nil {
		return 0, err
	}
	if enc {
		return 0, d.fail(off, "expected %s, got a string encoding (0x%02x)", what, 0xc0|n)
	}
	return n, nil
}

// elems reads an element count and rejects one that the remaining input
// cannot hold (each element takes at least min bytes).
func (d *dec) elems(what string, min int64) (uint64, error) {
	off := d.off()
	n, err := d.count(what)
	if err != nil {
		return 0, err
	}
	if r := d.remaining(); r >= 0 && n > uint64(r/min) {
		return 0, d.fail(off, "%s %d exceeds what the remaining %d bytes can hold", what, n, r)
	}
	return n, nil
}

// str is rdbGenericLoadStringObject: a view of the string (raw, integer or
// LZF encoded) valid until the next read.
func (d *dec) str(what string) ([]byte, error) {
	off := d.off()
	n, enc, err := d.length(what)
	if err != nil {
		return nil, err
	}
	if !enc {
		if n > math.MaxInt32*4 || (d.r == nil && n > uint64(len(d.b)-d.pos)) {
			return nil, d.fail(d.off(), "unexpected end of data: expected %s of %d bytes", what, n)
		}
		return d.bytes(int(n), what)
	}
	switch n {
	case encInt8:
		b, err := d.bytes(1, what)
		if err != nil {
			return nil, err
		}
		return appendInt(d.ibuf[:0], int64(int8(b[0]))), nil
	case encInt16:
		b, err := d.bytes(2, what)
		if err != nil {
			return nil, err
		}
		return appendInt(d.ibuf[:0], int64(int16(binary.LittleEndian.Uint16(b)))), nil
	case encInt32:
		b, err := d.bytes(4, what)
		if err != nil {
			return nil, err
		}
		return appendInt(d.ibuf[:0], int64(int32(binary.LittleEndian.Uint32(b)))), nil
	case encLZF:
		clen, err := d.count(what + " (LZF compressed length)")
		if err != nil {
			return nil, err
		}
		ulen, err := d.count(what + " (LZF uncompressed length)")
		if err != nil {
			return nil, err
		}
		// LZF expands at most 88 times (264 bytes from a 3-byte back
		// reference): refuse sizes no real input has before allocating.
		if clen == 0 || clen > math.MaxInt32*4 || ulen == 0 || ulen/132 > clen {
			return nil, d.fail(off, "invalid LZF lengths %d -> %d for %s", clen, ulen, what)
		}
		c, err := d.bytes(int(clen), what+" (LZF data)")
		if err != nil {
			return nil, err
		}
		out := make([]byte, ulen)
		if !lzfDecompress(c, out) {
			return nil, d.fail(off, "invalid LZF compressed string for %s", what)
		}
		return out, nil
	}
	return nil, d.fail(off, "expected %s, got unknown string encoding %d", what, n)
}

// strCopy is str into a buffer the caller owns.
func (d *dec) strCopy(what string) ([]byte, error) {
	s, err := d.str(what)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), s...), nil
}

func appendInt(dst []byte, v int64) []byte { return strconv.AppendInt(dst, v, 10) }
