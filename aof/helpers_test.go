package aof

import (
	"strconv"
	"strings"
	"testing"
)

// resp encodes one command as the AOF holds it.
func resp(args ...string) []byte {
	b := []byte("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		b = append(b, "$"+strconv.Itoa(len(a))+"\r\n"+a+"\r\n"...)
	}
	return b
}

// cat concatenates commands.
func cat(cmds ...[]byte) []byte {
	var b []byte
	for _, c := range cmds {
		b = append(b, c...)
	}
	return b
}

// collect is an apply that records each command as one space-joined string.
type collect struct{ got []string }

func (c *collect) apply(args [][]byte) error {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = string(a)
	}
	c.got = append(c.got, strings.Join(parts, " "))
	return nil
}

func testOpts(t testing.TB) Options {
	return Options{Dir: t.TempDir(), FileName: "appendonly.aof", Fsync: Always, Logf: t.Logf}
}
