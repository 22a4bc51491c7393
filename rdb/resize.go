package rdb

import (
	"io"

	"github.com/basaltdb/basalt/datatypes"
)

// ResizeFunc receives an RDB's RESIZEDB hint, which precedes a database's
// keys: how many keys, and how many of them with an expiry, the writer
// had in database db. It is a hint only (a writer may have counted keys
// it then skipped, and the file is not to be trusted): a loader uses it
// to size tables, never to bound anything.
type ResizeFunc func(db int, keys, expires uint64)

// LoadSized is LoadWithFunctions, also handing every RESIZEDB hint to
// resize (nil: ignored) before the keys of its database are passed to
// fn, so that the caller can size its tables once rather than grow them
// key by key.
func LoadSized(r io.Reader, name string, lim *datatypes.Limits, fn func(db int, key []byte, v Value, expireMs int64) error, lib LoadFunc, resize ResizeFunc) error {
	return loadSized(r, name, lim, fn, lib, resize)
}
