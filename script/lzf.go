package script

import "github.com/basaltdb/basalt/internal/lzf"

// LZF for FUNCTION DUMP/RESTORE payloads: the same codec as the RDB's.
type lzfState = lzf.State

func lzfDecompress(in, out []byte) bool { return lzf.Decompress(in, out) }
