package rdb

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"strconv"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/keyspace"
)

// Writer writes an RDB file: NewWriter (magic and aux fields), then per
// database SelectDB and its entries (Entry, or Raw with bytes built by
// AppendEntry/AppendSelectDB), then Close (EOF opcode and CRC64 footer).
//
// A Writer belongs to one goroutine (the one saving). AppendEntry and
// AppendSelectDB touch no Writer state, so other goroutines (the shards'
// loops) may build records with them concurrently and hand the bytes over
// to Raw.
type Writer struct {
	bw      *bufio.Writer
	crc     uint64
	err     error
	lz      *lzfState
	buf     []byte // record scratch
	scratch []byte // packed-blob scratch
}

// NewWriter writes the magic "REDIS0010" and the aux fields (name, value)
// in order, as rdbSaveInfoAuxFields writes "redis-ver", "redis-bits",
// "ctime", "used-mem", "aof-base": the caller chooses them.
func NewWriter(w io.Writer, aux [][2]string) (*Writer, error) {
	wr := &Writer{bw: bufio.NewWriterSize(w, 64<<10), lz: new(lzfState)}
	b := append(wr.buf[:0], "REDIS0010"...)
	for _, kv := range aux {
		b = append(b, opAux)
		b = appendString(b, []byte(kv[0]), wr.lz)
		b = appendString(b, []byte(kv[1]), wr.lz)
	}
	wr.buf = b
	return wr, wr.Raw(b)
}

// SelectDB starts database db: SELECTDB, then RESIZEDB with the number
// of keys and of keys with an expiry.
func (w *Writer) SelectDB(db int, keys, expires uint64) error {
	b := AppendSelectDB(w.buf[:0], db)
	b = append(b, opResizeDB)
	b = appendLen(b, keys)
	b = appendLen(b, expires)
	w.buf = b
	return w.Raw(b)
}

// AppendSelectDB appends a SELECTDB opcode for db (no RESIZEDB hint).
func AppendSelectDB(dst []byte, db int) []byte {
	return appendLen(append(dst, opSelectDB), uint64(db))
}

// Entry writes one key: EXPIRETIME_MS when e.Expire != 0, then the type,
// the key and the value (rdbSaveKeyValuePair). e is only read.
func (w *Writer) Entry(key []byte, e *keyspace.Entry) error {
	if w.err != nil {
		return w.err
	}
	b := appendEntry(w.buf[:0], key, e, w.lz, &w.scratch)
	w.buf = b
	err := w.Raw(b)
	if cap(w.buf) > 1<<20 { // do not keep one huge value's buffers
		w.buf, w.scratch = nil, nil
	}
	return err
}

// AppendEntry appends the bytes Entry would write, with no I/O and without
// touching w (any goroutine may call it; w may be nil).
func (w *Writer) AppendEntry(dst []byte, key []byte, e *keyspace.Entry) []byte {
	lz := lzfPool.Get().(*lzfState)
	dst = appendEntry(dst, key, e, lz, nil)
	lzfPool.Put(lz)
	return dst
}

func appendEntry(dst []byte, key []byte, e *keyspace.Entry, lz *lzfState, scratch *[]byte) []byte {
	if e.Expire != 0 {
		dst = binary.LittleEndian.AppendUint64(append(dst, opExpireTimeMs), uint64(e.Expire))
	}
	dst = append(dst, valueType(e))
	dst = appendString(dst, key, lz)
	return appendObject(dst, e, lz, scratch)
}

// Raw writes bytes made by AppendEntry or AppendSelectDB.
func (w *Writer) Raw(b []byte) error {
	if w.err != nil {
		return w.err
	}
	w.crc = crc64sum(w.crc, b)
	_, w.err = w.bw.Write(b)
	return w.err
}

// Close writes the EOF opcode and the CRC64 of the whole file, and flushes.
// It does not close (nor sync) the underlying writer.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if err := w.Raw([]byte{opEOF}); err != nil {
		return err
	}
	var foot [8]byte
	binary.LittleEndian.PutUint64(foot[:], w.crc)
	if _, err := w.bw.Write(foot[:]); err != nil {
		w.err = err
		return err
	}
	w.err = w.bw.Flush()
	if w.err == nil {
		w.err = errors.New("rdb: writer closed")
		return nil
	}
	return w.err
}

// Load reads an RDB file (versions 6 to 10) and calls fn with every key in
// file order: its database, key (owned by fn), value and absolute expiry in
// unix ms (0: none). Keys already expired are passed too (the caller
// decides); empty aggregates are skipped as Redis does. fn's error stops
// the load and is returned as is.
//
// Refused, with an error naming the file, the offset and (for values) the
// key: module values (types 6, 7), module aux data, and function
// libraries unless the library payload is empty (LoadWithFunctions loads
// them). IDLE and FREQ are skipped; aux fields are read and ignored. The
// CRC64 footer is checked unless it is 0 (rdbchecksum no).
//
// Load reads r in blocks, so it may read past the end of the RDB data;
// when r is an io.Seeker it seeks back to just after the footer.
func Load(r io.Reader, name string, lim *datatypes.Limits, fn func(db int, key []byte, v Value, expireMs int64) error) error {
	return load(r, name, lim, fn, nil)
}

// load is Load and LoadWithFunctions (lib may be nil).
func load(r io.Reader, name string, lim *datatypes.Limits, fn func(db int, key []byte, v Value, expireMs int64) error, lib LoadFunc) error {
	return loadSized(r, name, lim, fn, lib, nil)
}

// loadSized is load, also handing RESIZEDB hints to resize (may be nil).
func loadSized(r io.Reader, name string, lim *datatypes.Limits, fn func(db int, key []byte, v Value, expireMs int64) error, lib LoadFunc, resize ResizeFunc) error {
	d := &dec{r: r, name: name, b: make([]byte, 0, 64<<10), resize: resize}
	err := d.load(lim, fn, lib)
	if s, ok := r.(io.Seeker); ok && d.rerr == nil {
		if extra := len(d.b) - d.pos; extra > 0 {
			if _, serr := s.Seek(-int64(extra), io.SeekCurrent); serr != nil && err == nil {
				err = serr
			}
		}
	}
	return err
}

func (d *dec) load(lim *datatypes.Limits, fn func(db int, key []byte, v Value, expireMs int64) error, lib LoadFunc) error {
	lim = limitsOrDefault(lim)
	magic, err := d.bytes(9, `the "REDIS" signature and version`)
	if err != nil {
		return err
	}
	if string(magic[:5]) != "REDIS" {
		return d.fail(0, "expected the \"REDIS\" signature, got %q", magic[:5])
	}
	ver, perr := strconv.Atoi(string(magic[5:]))
	if perr != nil || ver < 6 || ver > rdbVersion {
		return d.fail(5, "can't handle RDB format version %q (6 to %d are supported)", magic[5:], rdbVersion)
	}
	db := 0
	var expire int64
	for {
		off := d.off()
		t, err := d.u8("an opcode or a value type")
		if err != nil {
			return err
		}
		switch t {
		case opExpireTime:
			b, err := d.bytes(4, "an expire time in seconds")
			if err != nil {
				return err
			}
			expire = int64(int32(binary.LittleEndian.Uint32(b))) * 1000
			continue
		case opExpireTimeMs:
			b, err := d.bytes(8, "an expire time in milliseconds")
			if err != nil {
				return err
			}
			expire = int64(binary.LittleEndian.Uint64(b))
			continue
		case opFreq:
			if _, err := d.u8("an LFU frequency"); err != nil {
				return err
			}
			continue
		case opIdle:
			if _, err := d.count("an LRU idle time"); err != nil {
				return err
			}
			continue
		case opEOF:
			return d.footer()
		case opSelectDB:
			n, err := d.count("a database number")
			if err != nil {
				return err
			}
			if n > 1<<31-1 {
				return d.fail(off, "database number %d out of range", n)
			}
			db = int(n)
			continue
		case opResizeDB:
			keys, err := d.count("a database size hint")
			if err != nil {
				return err
			}
			exp, err := d.count("an expires size hint")
			if err != nil {
				return err
			}
			if d.resize != nil {
				d.resize(db, keys, exp)
			}
			continue
		case opAux:
			if _, err := d.str("an aux field name"); err != nil {
				return err
			}
			if _, err := d.str("an aux field value"); err != nil {
				return err
			}
			continue
		case opModuleAux:
			return d.fail(off, "module aux data is not supported: Basalt has no modules")
		case opFunction2, opFunction:
			if err := d.function(t, off, lib); err != nil {
				return err
			}
			continue
		}
		if !isValueType(t) {
			return d.fail(off, "expected a value type, got 0x%02x", t)
		}
		key, err := d.strCopy("a key")
		if err != nil {
			return err
		}
		v, err := d.value(t, off, lim, key)
		if err != nil {
			if errors.Is(err, errEmptyKey) {
				expire = 0
				continue
			}
			return err
		}
		if err := fn(db, key, v, expire); err != nil {
			return err
		}
		expire = 0
	}
}

// footer checks the CRC64 after the EOF opcode (0: checksum disabled).
func (d *dec) footer() error {
	crc := crc64sum(d.crc, d.b[d.crcPos:d.pos])
	d.crcPos = d.pos
	off := d.off()
	b, err := d.bytes(8, "the CRC64 checksum")
	if err != nil {
		return err
	}
	d.crcPos = d.pos
	got := leU64(b)
	if got != 0 && got != crc {
		return d.fail(off, "wrong RDB checksum: expected %016x, got %016x", crc, got)
	}
	return nil
}
