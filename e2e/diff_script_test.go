package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDiffScripts runs every testdata/*.txt script against redis-server and
// the target, comparing replies. Each file gets its own server pair so files
// run in parallel; each case in a file starts on new connections after
// FLUSHALL.
func TestDiffScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts in testdata: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			s, err := ParseScript(f, data)
			if err != nil {
				t.Fatal(err)
			}
			if suite.target == "basalt" {
				for _, r := range s.Requires {
					if !hasFeature(r) {
						t.Skipf("%s needs %q, which Basalt does not have yet (add it to basaltFeatures in differences.go when it lands)", f, r)
					}
				}
			}
			p := startPair(t)
			for _, c := range s.Cases {
				t.Run("L"+strconv.Itoa(c.Line), func(t *testing.T) {
					runCase(t, p, s.File, c)
				})
			}
		})
	}
}

// runCase runs one case and stops at its first mismatch: later replies of a
// case depend on the earlier ones.
func runCase(t *testing.T, p pair, file string, c Case) {
	verbose := os.Getenv("E2E_VERBOSE") != ""
	cs := p.dial(t)
	cs.flushAll(t)
	for _, st := range c.Steps {
		where := fmt.Sprintf("%s:%d", file, st.Line)
		switch st.Kind {
		case StepSleep:
			time.Sleep(st.Sleep)
		case StepReconnect:
			cs.reconnect(t)
		case StepProto:
			args := [][]byte{[]byte("HELLO"), []byte(strconv.Itoa(st.Proto))}
			ref, tgt, ok, _ := cs.do(args, Compare{}, false)
			if !ok {
				t.Fatalf("%s: %s\n  %s:  %s\n  %s: %s", where, st.Text, p.ref.name, ref, p.tgt.name, tgt)
			}
		case StepRaw:
			// Both at once: a server that keeps the connection open costs
			// rawIdle of silence, paid once instead of twice.
			var ref, tgt string
			done := make(chan struct{})
			go func() { ref = rawExchange(cs.ref, st.Raw); close(done) }()
			tgt = rawExchange(cs.tgt, st.Raw)
			<-done
			if verbose {
				t.Logf("%s: %s -> %s", where, st.Text, ref)
			}
			if ref != tgt {
				t.Fatalf("%s: %s\n  sent:   %s\n  %s:  %s\n  %s: %s", where, st.Text,
					quoteReply(st.Raw), p.ref.name, ref, p.tgt.name, tgt)
			}
			cs.reconnect(t)
		case StepCommand:
			ref, tgt, ok, note := cs.do(st.Args, st.Cmp, st.HasCmp)
			if !ok {
				msg := fmt.Sprintf("%s: %s\n  args:   %s\n  %s:  %s\n  %s: %s", where, st.Text,
					argsText(st.Args), p.ref.name, ref, p.tgt.name, tgt)
				msg += firstDifference(ref, tgt)
				if note != "" {
					msg += "\n  (" + note + ")"
				}
				t.Fatal(msg)
			}
			if verbose {
				t.Logf("%s: %s -> %s", where, st.Text, ref)
			}
			if len(st.Args) > 0 && strings.EqualFold(string(st.Args[0]), "QUIT") || ref.err != nil {
				cs.reconnect(t) // the servers closed the connection
			}
		}
	}
}
