// Package crypt is Basalt's at-rest encryption of RDB files: a chunked
// AES-256-GCM stream, so a file of any size is written and read in one
// pass with bounded memory, and any change to it (a flipped byte, a
// dropped, reordered or repeated chunk, a cut-off tail, appended bytes)
// is detected when it is read.
//
// # Format (version 1)
//
// All integers are big-endian.
//
//	header (29 bytes):
//	  magic      8 bytes  "BSLTENC1"
//	  version    1 byte   1
//	  chunk size 4 bytes  uint32, the plaintext size of every non-final chunk (1 to 16 MiB)
//	  file id    8 bytes  random, fresh for each file
//	  key check  8 bytes  first 8 bytes of HMAC-SHA256(key, "basalt key check")
//	chunks, one or more:
//	  length     4 bytes  uint32 plaintext length; the top bit marks the final chunk
//	  sealed     length+16 bytes: AES-256-GCM ciphertext and tag
//
// The nonce of chunk i (counting from 0) is file id || uint32(i), so
// chunks cannot be reordered and, as the file id is random, nonces do not
// repeat across files written with one key. The additional data of each
// chunk is the 29 header bytes followed by one byte, 1 for the final
// chunk and 0 otherwise, so neither the header nor the final mark can be
// altered and a file cut at a chunk boundary is not mistaken for a
// complete one. The last chunk must carry the final mark (it may be
// empty) and nothing may follow it. The key check lets a reader tell a
// wrong key from damaged data before decrypting anything.
//
// Keys are 32 bytes (AES-256); LoadKey reads them from a key file.
package crypt

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
)

// Magic opens every encrypted file.
const Magic = "BSLTENC1"

const (
	version      = 1
	headerLen    = 8 + 1 + 4 + 8 + 8
	keyCheckOff  = 8 + 1 + 4 + 8
	tagLen       = 16
	finalBit     = 1 << 31
	maxChunkSize = 16 << 20
	// DefaultChunkSize is the plaintext size of the chunks NewWriter writes.
	DefaultChunkSize = 64 << 10
	// KeySize is the key length in bytes.
	KeySize = 32
	// HeaderLen is the length of a file header.
	HeaderLen = headerLen
)

// Error kinds, for errors.Is on a *Error.
var (
	ErrWrongKey  = errors.New("wrong key (key check mismatch)")
	ErrCorrupt   = errors.New("tampered or corrupted data")
	ErrTruncated = errors.New("truncated file (EOF before the final chunk)")
	ErrFormat    = errors.New("not a Basalt encrypted file or unsupported format")
)

// Error is a failure reading an encrypted file: what went wrong (one of
// the Err* kinds, with detail), in which file, at which byte offset.
type Error struct {
	Kind   error
	Detail string
	File   string
	Offset int64
}

func (e *Error) Error() string {
	d := ""
	if e.Detail != "" {
		d = " (" + e.Detail + ")"
	}
	return fmt.Sprintf("%v%s at byte offset %d of %s", e.Kind, d, e.Offset, e.File)
}

func (e *Error) Unwrap() error { return e.Kind }

// IsEncrypted reports whether a file starting with prefix is in this
// format (prefix needs at least len(Magic) bytes to say yes).
func IsEncrypted(prefix []byte) bool {
	return len(prefix) >= len(Magic) && string(prefix[:len(Magic)]) == Magic
}

// keyCheck is the 8-byte key fingerprint stored in the header.
func keyCheck(key []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("basalt key check"))
	return m.Sum(nil)[:8]
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("crypt: key must be %d bytes, got %d", KeySize, len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// writer seals DefaultChunkSize chunks. One goroutine at a time.
type writer struct {
	w      io.Writer
	aead   cipher.AEAD
	ad     []byte // header + final flag byte
	nonce  [12]byte
	index  uint32
	buf    []byte // pending plaintext, cap chunk size
	out    []byte // length + sealed chunk
	err    error
	closed bool
}

// NewWriter writes the header to w and returns a writer that encrypts
// what is written to it into w. Close writes the final chunk; it does not
// close w. Not safe for concurrent use.
func NewWriter(w io.Writer, key []byte) (io.WriteCloser, error) {
	return newWriter(w, key, DefaultChunkSize)
}

func newWriter(w io.Writer, key []byte, chunkSize int) (*writer, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	hdr := make([]byte, headerLen, headerLen+1)
	copy(hdr, Magic)
	hdr[8] = version
	binary.BigEndian.PutUint32(hdr[9:], uint32(chunkSize))
	if _, err := rand.Read(hdr[13:21]); err != nil {
		return nil, err
	}
	copy(hdr[keyCheckOff:], keyCheck(key))
	if _, err := w.Write(hdr); err != nil {
		return nil, err
	}
	cw := &writer{w: w, aead: aead, ad: append(hdr, 0),
		buf: make([]byte, 0, chunkSize), out: make([]byte, 0, 4+chunkSize+tagLen)}
	copy(cw.nonce[:8], hdr[13:21])
	return cw, nil
}

func (cw *writer) Write(p []byte) (int, error) {
	if cw.err != nil {
		return 0, cw.err
	}
	if cw.closed {
		return 0, errors.New("crypt: write after Close")
	}
	n := 0
	for len(p) > 0 {
		k := copy(cw.buf[len(cw.buf):cap(cw.buf)], p)
		cw.buf = cw.buf[:len(cw.buf)+k]
		p = p[k:]
		n += k
		if len(cw.buf) == cap(cw.buf) {
			if err := cw.seal(false); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// seal encrypts and writes the pending plaintext as the next chunk.
func (cw *writer) seal(final bool) error {
	if cw.index == 1<<32-1 && !final {
		cw.err = errors.New("crypt: too many chunks")
		return cw.err
	}
	l := uint32(len(cw.buf))
	cw.ad[headerLen] = 0
	if final {
		l |= finalBit
		cw.ad[headerLen] = 1
	}
	binary.BigEndian.PutUint32(cw.nonce[8:], cw.index)
	cw.out = binary.BigEndian.AppendUint32(cw.out[:0], l)
	cw.out = cw.aead.Seal(cw.out, cw.nonce[:], cw.buf, cw.ad)
	if _, err := cw.w.Write(cw.out); err != nil {
		cw.err = err
		return err
	}
	cw.index++
	cw.buf = cw.buf[:0]
	return nil
}

// Close writes the pending data as the final chunk (possibly empty).
func (cw *writer) Close() error {
	if cw.err != nil {
		return cw.err
	}
	if cw.closed {
		return nil
	}
	cw.closed = true
	return cw.seal(true)
}

// reader opens chunks as they are read. One goroutine at a time.
type reader struct {
	r     io.Reader
	key   []byte
	name  string
	aead  cipher.AEAD
	ad    []byte
	nonce [12]byte
	index uint32
	chunk int
	off   int64  // bytes of r consumed
	in    []byte // sealed chunk
	plain []byte // opened chunk
	pos   int    // served part of plain
	final bool   // the final chunk was opened
	err   error  // sticky
}

// NewReader returns a reader of the plaintext of the encrypted stream r;
// name is the file named in errors. Errors are *Error values (wrong key,
// tampered or corrupted data, truncated file) or read errors of r. Not
// safe for concurrent use.
func NewReader(r io.Reader, key []byte, name string) io.Reader {
	return &reader{r: r, key: key, name: name}
}

func (cr *reader) fail(kind error, detail string, off int64) error {
	cr.err = &Error{Kind: kind, Detail: detail, File: cr.name, Offset: off}
	return cr.err
}

// readFull reads len(b) bytes; a short read is a truncation.
func (cr *reader) readFull(b []byte) error {
	n, err := io.ReadFull(cr.r, b)
	cr.off += int64(n)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return cr.fail(ErrTruncated, "", cr.off)
	}
	if err != nil {
		cr.err = err
	}
	return err
}

func (cr *reader) header() error {
	hdr := make([]byte, headerLen, headerLen+1)
	if err := cr.readFull(hdr); err != nil {
		return err
	}
	if !IsEncrypted(hdr) {
		return cr.fail(ErrFormat, "bad magic", 0)
	}
	if hdr[8] != version {
		return cr.fail(ErrFormat, fmt.Sprintf("version %d", hdr[8]), 8)
	}
	cs := binary.BigEndian.Uint32(hdr[9:])
	if cs == 0 || cs > maxChunkSize {
		return cr.fail(ErrCorrupt, fmt.Sprintf("chunk size %d", cs), 9)
	}
	aead, err := newAEAD(cr.key)
	if err != nil {
		cr.err = err
		return err
	}
	if !hmac.Equal(hdr[keyCheckOff:], keyCheck(cr.key)) {
		return cr.fail(ErrWrongKey, "the file was encrypted with another key", keyCheckOff)
	}
	cr.aead, cr.ad, cr.chunk = aead, append(hdr, 0), int(cs)
	copy(cr.nonce[:8], hdr[13:21])
	return nil
}

// next reads and opens the next chunk into plain.
func (cr *reader) next() error {
	start := cr.off
	var lb [4]byte
	if err := cr.readFull(lb[:]); err != nil {
		return err
	}
	l := binary.BigEndian.Uint32(lb[:])
	final := l&finalBit != 0
	l &^= finalBit
	if int(l) > cr.chunk {
		return cr.fail(ErrCorrupt, "chunk length over the chunk size", start)
	}
	if cap(cr.in) < int(l)+tagLen {
		cr.in = make([]byte, cr.chunk+tagLen)
	}
	cr.in = cr.in[:int(l)+tagLen]
	if err := cr.readFull(cr.in); err != nil {
		return err
	}
	cr.ad[headerLen] = 0
	if final {
		cr.ad[headerLen] = 1
	}
	binary.BigEndian.PutUint32(cr.nonce[8:], cr.index)
	p, err := cr.aead.Open(cr.plain[:0], cr.nonce[:], cr.in, cr.ad)
	if err != nil {
		return cr.fail(ErrCorrupt, "authentication failed", start)
	}
	cr.plain, cr.pos = p, 0
	if final {
		cr.final = true
		// Nothing may follow the final chunk.
		var one [1]byte
		n, err := io.ReadFull(cr.r, one[:])
		if n > 0 {
			return cr.fail(ErrCorrupt, "data after the final chunk", cr.off)
		}
		if err != io.EOF {
			cr.err = err
			return err
		}
		return nil
	}
	if cr.index == 1<<32-1 {
		return cr.fail(ErrCorrupt, "too many chunks", start)
	}
	cr.index++
	return nil
}

func (cr *reader) Read(p []byte) (int, error) {
	if cr.err != nil {
		return 0, cr.err
	}
	if cr.aead == nil {
		if err := cr.header(); err != nil {
			return 0, err
		}
	}
	for cr.pos == len(cr.plain) {
		if cr.final {
			return 0, io.EOF
		}
		if err := cr.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, cr.plain[cr.pos:])
	cr.pos += n
	return n, nil
}

// LoadKey reads a key file: exactly 32 raw bytes, or 64 hex characters
// optionally followed by a newline.
func LoadKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("encryption key file: %w", err)
	}
	if len(b) == KeySize {
		return b, nil
	}
	t := bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r"))
	if len(t) == 2*KeySize {
		k := make([]byte, KeySize)
		if _, err := hex.Decode(k, t); err == nil {
			return k, nil
		}
		return nil, fmt.Errorf("encryption key file %s: 64 characters but not hex", path)
	}
	return nil, fmt.Errorf("encryption key file %s: must hold %d raw bytes or %d hex characters (and an optional newline), got %d bytes", path, KeySize, 2*KeySize, len(b))
}
