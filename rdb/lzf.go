package rdb

import (
	"sync"

	"github.com/basaltdb/basalt/internal/lzf"
)

// lzfState is LZF's compressor (package internal/lzf): the same matches
// in the same order as Redis 7.0's liblzf, so compressed strings come out
// byte for byte as redis-server writes them.
type lzfState = lzf.State

// lzfPool recycles compressor states between stateless callers
// (AppendValue, AppendDump): a state is too big to build per call.
var lzfPool = sync.Pool{New: func() any { return new(lzfState) }}

func lzfDecompress(in, out []byte) bool { return lzf.Decompress(in, out) }
