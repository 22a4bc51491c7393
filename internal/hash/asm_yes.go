//go:build (amd64 || arm64) && gc && !purego && !appengine

package hash

// xxhashAsm reports whether cespare/xxhash was built with its assembly
// block loop (it uses the same build constraints).
const xxhashAsm = true
