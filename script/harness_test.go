package script

import (
	"strings"
	"testing"

	"github.com/basaltdb/basalt/resp"
)

// fakeHost answers redis.call with canned replies keyed by the command
// line (args joined by spaces); it refuses unknown commands and writes
// from read-only runs as Redis's scriptCall does.
type fakeHost struct {
	replies map[string]string // "cmd arg..." -> RESP2 reply
	resp3   map[string]string // same, when run.Resp is 3
	writes  map[string]bool   // write commands
	calls   []string
	logs    []string
	kill    func(run *Run) bool
	ints    int
}

func newFakeHost() *fakeHost {
	return &fakeHost{
		replies: map[string]string{
			"ping":                      "+PONG\r\n",
			"get k":                     "$1\r\nv\r\n",
			"get nokey":                 "$-1\r\n",
			"set k v":                   "+OK\r\n",
			"incr s":                    "-ERR value is not an integer or out of range\r\n",
			"lrange l 0 -1":             "*3\r\n$1\r\na\r\n$-1\r\n:3\r\n",
			"hgetall h":                 "*2\r\n$1\r\na\r\n$1\r\n1\r\n",
			"nested":                    "*2\r\n*1\r\n:1\r\n*0\r\n",
			"nullarr":                   "*-1\r\n",
			"errnospace":                "-FOO\r\n",
			"set k 1.5":                 "+OK\r\n",
			"set k 0.10000000000000001": "+OK\r\n",
		},
		resp3: map[string]string{
			"hgetall h": "%1\r\n$1\r\na\r\n$1\r\n1\r\n",
			"smembers":  "~2\r\n$1\r\na\r\n$1\r\nb\r\n",
			"double":    ",3.5\r\n",
			"bool":      "#t\r\n",
			"null":      "_\r\n",
			"big":       "(123456789012345678901\r\n",
			"verb":      "=7\r\ntxt:abc\r\n",
			"attr":      "|1\r\n+key\r\n+val\r\n:5\r\n",
		},
		writes: map[string]bool{"set": true, "incr": true},
	}
}

func (h *fakeHost) Call(run *Run, args [][]byte, w *resp.Writer) error {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = string(a)
	}
	line := strings.Join(parts, " ")
	h.calls = append(h.calls, line)
	name := strings.ToLower(parts[0])
	if name == "fatal" {
		return errString("ERR fatal from host")
	}
	if h.writes[name] && run.ReadOnly {
		w.Error(ErrWriteInReadOnly)
		return nil
	}
	if run.Resp == 3 {
		if r, ok := h.resp3[line]; ok {
			w.Raw([]byte(r))
			return nil
		}
	}
	if r, ok := h.replies[line]; ok {
		w.Raw([]byte(r))
		return nil
	}
	w.Error(ErrUnknownCommand)
	return nil
}

type errString string

func (e errString) Error() string { return string(e) }

func (h *fakeHost) ACLCheck(run *Run, args [][]byte) (bool, bool) {
	switch strings.ToLower(string(args[0])) {
	case "get":
		return true, true
	case "flushall":
		return false, true
	}
	return false, false
}

func (h *fakeHost) Log(level int, msg string) {
	h.logs = append(h.logs, string(rune('0'+level))+" "+msg)
}

func (h *fakeHost) Interrupt(run *Run) bool {
	h.ints++
	if h.kill != nil {
		return h.kill(run)
	}
	return false
}

func newTestVM(t *testing.T, cfg Config) (*Engine, *VM) {
	t.Helper()
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	vm := e.NewVM()
	t.Cleanup(func() { vm.Close(); e.Close() })
	return e, vm
}

// eval runs EVAL body with the given numkeys/args for a client of proto.
func eval(vm *VM, h Host, proto int, body string, rest ...string) string {
	argv := [][]byte{[]byte("eval"), []byte(body)}
	if len(rest) == 0 {
		rest = []string{"0"}
	}
	for _, r := range rest {
		argv = append(argv, []byte(r))
	}
	w := &resp.Writer{Proto: proto}
	vm.Eval(w, h, argv, false, false)
	return string(w.B)
}

func cmd(args ...string) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = []byte(a)
	}
	return out
}

// sha replaces the {sha} placeholder with the body's SHA1.
func withSHA(s, body string) string {
	return strings.ReplaceAll(s, "{sha}", Sha1Hex([]byte(body)))
}
