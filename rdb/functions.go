package rdb

import (
	"io"

	"github.com/basaltdb/basalt/datatypes"
)

// Function libraries in an RDB file, as Redis 7.0 keeps them: one
// RDB_OPCODE_FUNCTION2 record per library, holding the library's whole
// code (shebang included) as an RDB string, written after the aux fields
// and before the first database (rdbSaveFunctions). The loader hands each
// library's code to the caller (rdbFunctionLoad), which compiles and
// registers it: this package knows nothing of Lua.

// AppendFunction appends the RDB_OPCODE_FUNCTION2 record of a library
// whose code is code (rdbSaveFunctions: the opcode, then rdbSaveRawString,
// LZF-compressed when that pays, as with rdbcompression yes). Any
// goroutine may call it.
func AppendFunction(dst, code []byte) []byte {
	return appendString(append(dst, opFunction2), code, nil)
}

// Function writes one library's RDB_OPCODE_FUNCTION2 record. Redis writes
// them before the first SelectDB; so must the caller.
func (w *Writer) Function(code []byte) error {
	if w.err != nil {
		return w.err
	}
	w.buf = appendString(append(w.buf[:0], opFunction2), code, w.lz)
	return w.Raw(w.buf)
}

// LoadFunc receives the code of one function library read from an RDB
// file, in file order. code is valid only during the call. A non-nil
// error stops the load; it is reported as Redis logs it ("Failed loading
// library, <err>") with the file and the record's offset.
type LoadFunc func(code []byte) error

// LoadWithFunctions is Load, also handing the code of every FUNCTION2
// record to lib (which registers the library, or refuses it). With a nil
// lib it is Load: non-empty libraries are refused. FUNCTION records of
// Redis 7.0's release candidates are refused as Redis 7.0 refuses them
// ("Pre-release function format not supported").
func LoadWithFunctions(r io.Reader, name string, lim *datatypes.Limits, fn func(db int, key []byte, v Value, expireMs int64) error, lib LoadFunc) error {
	return load(r, name, lim, fn, lib)
}

// function reads a FUNCTION2 (or 7.0-rc FUNCTION) record at off and hands
// a FUNCTION2 library to lib; without lib, only an empty library is
// accepted (there is nothing to register it in).
func (d *dec) function(t byte, off int64, lib LoadFunc) error {
	if t == opFunction2 {
		s, err := d.str("a function library payload")
		if err != nil {
			return err
		}
		if lib != nil {
			if err := lib(s); err != nil {
				return d.fail(off, "Failed loading library, %v", err)
			}
			return nil
		}
		if len(s) != 0 {
			return d.fail(off, "function libraries are not supported here: no script engine to load them into")
		}
		return nil
	}
	for _, what := range []string{"a function library name", "a function engine name"} {
		if _, err := d.str(what); err != nil {
			return err
		}
	}
	hasDesc, err := d.count("a function description flag")
	if err != nil {
		return err
	}
	if hasDesc != 0 {
		if _, err := d.str("a function description"); err != nil {
			return err
		}
	}
	s, err := d.str("a function library code")
	if err != nil {
		return err
	}
	if len(s) != 0 {
		return d.fail(off, "Pre-release function format not supported")
	}
	return nil
}
