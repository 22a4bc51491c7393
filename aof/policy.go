// Package aof is Basalt's append-only log in Redis 7.0's multi-part layout: a
// manifest (<appendfilename>.manifest) lists one base file and the incremental
// .incr.aof files of RESP commands. Load replays a directory; Open returns a
// Log whose single committer goroutine group-commits the batches that every
// event loop hands it (one write and, with appendfsync always, one fdatasync
// per batch).
package aof

import "strings"

// Policy is the appendfsync setting.
type Policy int

// The appendfsync values, in Redis's order.
const (
	Always Policy = iota
	EverySec
	No
)

// ParsePolicy parses an appendfsync value, case-insensitively as CONFIG SET does.
func ParsePolicy(s string) (Policy, bool) {
	switch {
	case strings.EqualFold(s, "always"):
		return Always, true
	case strings.EqualFold(s, "everysec"):
		return EverySec, true
	case strings.EqualFold(s, "no"):
		return No, true
	}
	return 0, false
}

// String returns the appendfsync spelling of p (what CONFIG GET replies).
func (p Policy) String() string {
	switch p {
	case Always:
		return "always"
	case EverySec:
		return "everysec"
	case No:
		return "no"
	}
	return "unknown"
}
