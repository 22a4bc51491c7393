package hash

import "encoding/binary"

// crc16Poly is the CRC16/XMODEM (CCITT) polynomial, MSB first.
const crc16Poly = 0x1021

// crc16Bitwise is the reference implementation: one bit at a time, straight
// from the definition. Slow; it anchors the tests.
func crc16Bitwise(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc ^= uint16(c) << 8
		for i := 0; i < 8; i++ {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ crc16Poly
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// crc16Tables holds the slicing-by-8 tables: t[0] is the classic byte table
// (CRC of one byte); t[k][x] is the CRC of byte x followed by k zero bytes.
// By linearity the CRC of an 8-byte block is the XOR of the t[7-i] entries
// of its bytes, once the running CRC is folded into the first two bytes.
// Computed once at package load and never written again.
var crc16Tables = func() (t [8][256]uint16) {
	for i := 0; i < 256; i++ {
		t[0][i] = crc16Bitwise([]byte{byte(i)})
	}
	for k := 1; k < 8; k++ {
		for i := 0; i < 256; i++ {
			p := t[k-1][i]
			t[k][i] = p<<8 ^ t[0][byte(p>>8)]
		}
	}
	return
}()

// crc16Table is the classic byte-at-a-time table implementation (what
// Redis's crc16.c does).
func crc16Table(b []byte) uint16 {
	t := &crc16Tables[0]
	var crc uint16
	for _, c := range b {
		crc = crc<<8 ^ t[byte(crc>>8)^c]
	}
	return crc
}

// crc16Slice8 processes 8 bytes per step with eight tables (slicing-by-8),
// then the tail a byte at a time. It relies on cheap unaligned 64-bit loads.
func crc16Slice8(b []byte) uint16 {
	t := &crc16Tables
	var crc uint16
	for len(b) >= 8 {
		// Big-endian load: the first byte is the most significant, matching
		// the MSB-first CRC; the running CRC folds into the top two bytes.
		v := binary.BigEndian.Uint64(b) ^ uint64(crc)<<48
		crc = t[7][byte(v>>56)] ^ t[6][byte(v>>48)] ^ t[5][byte(v>>40)] ^ t[4][byte(v>>32)] ^
			t[3][byte(v>>24)] ^ t[2][byte(v>>16)] ^ t[1][byte(v>>8)] ^ t[0][byte(v)]
		b = b[8:]
	}
	for _, c := range b {
		crc = crc<<8 ^ t[0][byte(crc>>8)^c]
	}
	return crc
}
