package crypt

import (
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
)

// Append-only files (version 2), for the AOF's incr files, which grow by
// one write per group commit and are never closed as a whole:
//
//	header (29 bytes): as version 1 with version 2 and chunk size 0
//	chunks, zero or more: uint32 plaintext length, then length+16 sealed bytes
//
// One chunk per write. The nonce of chunk i is file id || uint32(i) and
// the additional data is the header, so chunks cannot be reordered,
// dropped from the middle or moved to another file. No chunk is final: a
// file that ends at a chunk boundary is complete; one that ends inside a
// chunk has a torn tail (a crash during a write), which the reader reports
// as the offset where that chunk starts.

const appendVersion = 2

// IsAppendOnly reports whether prefix starts an encrypted append-only
// file.
func IsAppendOnly(prefix []byte) bool {
	return len(prefix) > len(Magic) && IsEncrypted(prefix) && prefix[len(Magic)] == appendVersion
}

// NewAppendHeader returns the header of a new append-only file for key.
func NewAppendHeader(key []byte) ([]byte, error) {
	if _, err := newAEAD(key); err != nil {
		return nil, err
	}
	h := make([]byte, 0, headerLen)
	h = append(h, Magic...)
	h = append(h, appendVersion)
	h = binary.BigEndian.AppendUint32(h, 0)
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	h = append(h, id[:]...)
	return append(h, keyCheck(key)...), nil
}

// Sealer seals the chunks appended to one append-only file. Owned by the
// goroutine writing the file.
type Sealer struct {
	aead   cipher.AEAD
	header []byte
	nonce  [12]byte
	next   uint32
}

// NewSealer continues the file with header, which already holds chunks
// chunks; a header made for another key is ErrWrongKey.
func NewSealer(key, header []byte, chunks uint32) (*Sealer, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	if len(header) != headerLen || !IsAppendOnly(header) {
		return nil, &Error{Kind: ErrFormat}
	}
	if !bytes.Equal(header[keyCheckOff:], keyCheck(key)) {
		return nil, &Error{Kind: ErrWrongKey, Detail: "the file was encrypted with another key", Offset: keyCheckOff}
	}
	s := &Sealer{aead: aead, header: append([]byte(nil), header...), next: chunks}
	copy(s.nonce[:8], header[13:21])
	return s, nil
}

// Seal appends the chunk holding plain to dst and counts it; Unseal
// forgets the last one again (its write failed and was taken back).
func (s *Sealer) Seal(dst, plain []byte) []byte {
	binary.BigEndian.PutUint32(s.nonce[8:], s.next)
	s.next++
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(plain)))
	return s.aead.Seal(dst, s.nonce[:], plain, s.header)
}

// Unseal undoes the count of the last Seal.
func (s *Sealer) Unseal() { s.next-- }

// OpenAppend decrypts a whole append-only file: its plaintext, its number
// of complete chunks, and where a torn tail starts (len(data) when there
// is none). A wrong key or a damaged chunk is an *Error naming file and
// offset.
func OpenAppend(key, data []byte, name string) (plain []byte, chunks uint32, torn int64, err error) {
	fail := func(kind error, detail string, off int64) error {
		return &Error{Kind: kind, Detail: detail, File: name, Offset: off}
	}
	if len(data) < headerLen || !IsAppendOnly(data) {
		return nil, 0, 0, fail(ErrFormat, "bad header", 0)
	}
	s, err := NewSealer(key, data[:headerLen], 0)
	if err != nil {
		if e, ok := err.(*Error); ok {
			e.File = name
		}
		return nil, 0, 0, err
	}
	off := int64(headerLen)
	for off < int64(len(data)) {
		if int64(len(data))-off < 4 {
			return plain, s.next, off, nil
		}
		n := int64(binary.BigEndian.Uint32(data[off:]))
		end := off + 4 + n + tagLen
		if end > int64(len(data)) {
			return plain, s.next, off, nil
		}
		binary.BigEndian.PutUint32(s.nonce[8:], s.next)
		plain, err = s.aead.Open(plain, s.nonce[:], data[off+4:end], s.header)
		if err != nil {
			return nil, 0, 0, fail(ErrCorrupt, "authentication failed", off)
		}
		s.next++
		off = end
	}
	return plain, s.next, off, nil
}
