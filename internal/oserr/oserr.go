// Package oserr spells operating-system errors as Redis prints them.
package oserr

import (
	"errors"
	"syscall"
)

// Strerror renders err as C's strerror does ("No such file or directory"):
// Go's errno table is glibc's text with the first letter lowered. An error
// that wraps no errno keeps its own text.
func Strerror(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err.Error()
	}
	s := errno.Error()
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s
}
