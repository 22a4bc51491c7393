package aof

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/basaltdb/basalt/internal/crypt"
)

// BaseKind is the format of a rewrite's base file: an RDB
// (aof-use-rdb-preamble yes, <name>.<seq>.base.rdb) or AOF commands
// (aof-use-rdb-preamble no, <name>.<seq>.base.aof).
type BaseKind uint8

const (
	BaseRDB BaseKind = iota
	BaseAOF
)

// baseName is the name of base file seq of kind.
func baseName(fileName string, seq int64, kind BaseKind) string {
	suffix := rdbSuffix
	if kind == BaseAOF {
		suffix = aofSuffix
	}
	return fileName + "." + strconv.FormatInt(seq, 10) + baseSuffix + suffix
}

// baseChunk is how much of a command base is buffered before a write;
// with a key, each write is one encrypted chunk.
const baseChunk = 1 << 20

// BaseWriter writes the AOF-commands base of a rewrite to a temp file:
// plain, or with a key (encryption-key-file) in package crypt's
// append-only format, the format of encrypted incr files, which Load
// decrypts whatever the file's place in the manifest. Owned by the one
// goroutine writing the rewrite.
type BaseWriter struct {
	path   string
	f      *os.File
	buf    []byte
	sealer *crypt.Sealer
	sealed []byte
	err    error
}

// CreateBase creates the temp file path (truncating an old one) for a
// base written with Write and completed with Finish.
func CreateBase(path string, key []byte) (*BaseWriter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("Opening the temp file for AOF rewrite in rewriteAppendOnlyFile(): %w", err)
	}
	w := &BaseWriter{path: path, f: f, buf: make([]byte, 0, baseChunk+64<<10)}
	if key != nil {
		hdr, err := crypt.NewAppendHeader(key)
		if err == nil {
			w.sealer, err = crypt.NewSealer(key, hdr, 0)
		}
		if err == nil {
			_, err = f.Write(hdr)
		}
		if err != nil {
			w.Abort()
			return nil, err
		}
	}
	return w, nil
}

// Write appends commands (whole ones, or parts of them: chunks need not
// end at a command boundary, the loader decrypts the whole file first).
// The first error is kept and returned by every later call and by Finish.
func (w *BaseWriter) Write(p []byte) error {
	if w.err != nil {
		return w.err
	}
	w.buf = append(w.buf, p...)
	if len(w.buf) >= baseChunk {
		w.flush()
	}
	return w.err
}

// flush writes buf, in pieces of at most baseChunk (the chunk length of
// the encrypted format is 32 bits; bounded pieces keep it far from that).
func (w *BaseWriter) flush() {
	for p := w.buf; len(p) > 0 && w.err == nil; {
		n := min(len(p), baseChunk)
		out := p[:n]
		if w.sealer != nil {
			w.sealed = w.sealer.Seal(w.sealed[:0], out)
			out = w.sealed
		}
		if _, err := w.f.Write(out); err != nil {
			w.err = err
		}
		p = p[n:]
	}
	w.buf = w.buf[:0]
}

// Finish writes what is buffered, fsyncs and closes the file; on any
// error the file is removed.
func (w *BaseWriter) Finish() error {
	w.flush()
	err := w.err
	if err == nil {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(w.path)
		return fmt.Errorf("Write error writing append only file on disk: %w", err)
	}
	return nil
}

// Abort closes and removes the temp file.
func (w *BaseWriter) Abort() {
	w.f.Close()
	os.Remove(w.path)
}

// InstallBaseOnly completes a rewrite made while the log is off
// (BGREWRITEAOF with appendonly no), as redis-server 7.0 does then: tmp (a
// complete, fsynced base of kind in opts.Dir) becomes the next base, the
// manifest lists it alone, and the files of the old manifest (base, incr
// and history) are removed. A later start with appendonly yes loads the
// base and opens a new incr file after it. The directory is read when
// called (Redis reads it at start-up; nothing else changes it while the
// log is off). Not concurrently with another rewrite.
func InstallBaseOnly(opts Options, tmp string, kind BaseKind) error {
	old, err := readManifest(opts.Dir, opts.FileName)
	if err != nil {
		return err
	}
	seq := int64(1)
	if old != nil && old.Base != nil {
		seq = old.Base.Seq + 1
	}
	base := manifestEntry{Name: baseName(opts.FileName, seq, kind), Seq: seq, Type: typeBase}
	if err := renameBase(opts.Dir, tmp, base.Name); err != nil {
		return err
	}
	if err := writeManifest(opts.Dir, opts.FileName, &manifest{Base: &base}); err != nil {
		return err
	}
	if old != nil {
		var gone []manifestEntry
		if old.Base != nil && old.Base.Name != base.Name {
			gone = append(gone, *old.Base)
		}
		gone = append(gone, old.Hist...)
		gone = append(gone, old.Incr...)
		removeFiles(opts, gone)
	}
	return nil
}

// renameBase renames the temp base tmp to name in dir and fsyncs dir.
func renameBase(dir, tmp, name string) error {
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("Error trying to rename the temporary AOF base file %s into %s: %w", filepath.Base(tmp), name, err)
	}
	return syncDir(dir)
}

// removeFiles deletes files the manifest no longer lists; a failure is
// only logged (a leftover file is harmless, as for Redis's history files).
func removeFiles(opts Options, gone []manifestEntry) {
	for _, e := range gone {
		if err := os.Remove(filepath.Join(opts.Dir, e.Name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			opts.logf("Removing the old AOF file %s: %v", e.Name, err)
		}
	}
}
