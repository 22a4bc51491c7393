package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
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

// Binaries resolves the two servers a command compares and records them in
// env: redisBin is looked up on PATH and its version read; basaltBin is
// looked up too, or, when empty, ./cmd/basalt of the module around the
// current directory is built into dir (announced on progress). env.Commit
// is the tree's revision when known; a given Basalt binary was not
// necessarily built from this tree or this Go, so then Commit and GoVersion
// are cleared.
func Binaries(ctx context.Context, env *Env, redisBin, basaltBin, dir string, progress io.Writer) (redis, basalt string, err error) {
	redis, err = exec.LookPath(redisBin)
	if err != nil {
		return "", "", fmt.Errorf("%v (apt-get install -y redis-server)", err)
	}
	env.RedisBin = redis
	env.RedisVersion = RedisServerVersion(ctx, redis)
	root, rootErr := FindModuleRoot(".")
	if rootErr == nil {
		env.Commit = GitCommit(ctx, root)
	}
	if basaltBin != "" {
		basalt, err = exec.LookPath(basaltBin)
		if err != nil {
			return "", "", fmt.Errorf("-basalt-bin: %v", err)
		}
		env.BasaltBin = basalt
		env.Commit, env.GoVersion = "", ""
		return redis, basalt, nil
	}
	if rootErr != nil {
		return "", "", fmt.Errorf("%v; run from the repository or pass -basalt-bin", rootErr)
	}
	basalt = filepath.Join(dir, "basalt")
	progressf(progress, "building Basalt: go build -o %s ./cmd/basalt\n", basalt)
	if err := BuildBasalt(ctx, root, basalt); err != nil {
		return "", "", err
	}
	env.BasaltBin = "go build ./cmd/basalt"
	return redis, basalt, nil
}
