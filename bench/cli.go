package bench

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// CommandLine is the command as the user would retype it: argv[0] and the
// arguments, quoted for a shell. Under `go run` argv[0] is a temporary
// binary, so it is shown as `go run pkg` instead.
func CommandLine(argv []string, pkg string) string {
	if len(argv) == 0 {
		return "go run " + pkg
	}
	name := argv[0]
	if strings.Contains(name, "go-build") {
		name = "go run " + pkg
	}
	return strings.TrimSpace(name + " " + ShellJoin(argv[1:]))
}

// SplitList splits a comma-separated flag value, dropping blanks.
func SplitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// IntList parses a comma-separated list of positive integers.
func IntList(s string) ([]int, error) {
	var out []int
	for _, f := range SplitList(s) {
		v, err := strconv.Atoi(f)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	return out, nil
}
