//go:build !linux

package bench

// FSType is "" (unknown) outside Linux.
func FSType(path string) string { return "" }
