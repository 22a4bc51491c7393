package oserr

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"
)

func TestStrerror(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{syscall.ENOSPC, "No space left on device"},
		{&fs.PathError{Op: "open", Path: "x", Err: syscall.ENOENT}, "No such file or directory"},
		{fmt.Errorf("wrapped: %w", syscall.EIO), "Input/output error"},
		{errors.New("plain text"), "plain text"},
	}
	for _, c := range cases {
		if got := Strerror(c.err); got != c.want {
			t.Errorf("Strerror(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}
