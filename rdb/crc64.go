package rdb

import "hash/crc64"

// jonesTable is the table of Redis's crc64 (crc64.c): the Jones polynomial
// 0xad93d23594c935a9, reflected input and output, initial value 0, no final
// xor. hash/crc64 computes the same reflected CRC (with its poly given in
// reversed bit order) but inverts the value before and after each update,
// which crc64 below undoes. The table is built once and never written
// again, so it is not mutable state.
var jonesTable = crc64.MakeTable(0x95ac9329ac4bc9b5)

// crc64sum continues Redis's crc64(crc, b): crc64(0, "123456789") is
// 0xe9c6d914c4b8d9ca.
func crc64sum(crc uint64, b []byte) uint64 {
	return ^crc64.Update(^crc, jonesTable, b)
}
