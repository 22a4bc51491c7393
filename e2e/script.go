package e2e

import (
	"github.com/basaltdb/basalt/internal/sds"

	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Script is one parsed testdata file. The format, one command per line:
//
//	# comment
//	SET "key\x00with nul" value     (arguments split as redis-cli does)
//	<blank line>                    (ends a case: each case starts on a
//	                                 fresh connection after FLUSHALL)
//
// Directives that apply to the next command:
//
//	!unordered     compare the top-level elements as a multiset (KEYS)
//	!skip-compare  send and read, do not compare (TIME)
//	!type-only     compare only the reply's type byte (CLIENT LIST)
//	!approx N      integer replies may differ by up to N (PTTL)
//	!scan          the command is a SCAN-like call with cursor 0: iterate to
//	               the end on each server and compare the union of elements
//	!noreply       send, expect no reply (CLIENT REPLY OFF/SKIP)
//
// Directives that are steps of their own:
//
//	!sleep MS      sleep (expiry tests)
//	!proto N       send HELLO N to both servers
//	!raw ARGS...   send the concatenated arguments as raw bytes, then compare
//	               everything the servers send until they close or go quiet;
//	               the case continues on a new connection
//	!reconnect     continue the case on a new connection (no FLUSHALL)
//
// File-level directives:
//
//	!bigval NAME N  define $NAME, an N-byte value usable as an argument
//	!requires FEAT  the whole file needs a feature (see basaltFeatures)
type Script struct {
	File     string
	Requires []string
	Cases    []Case
}

// Case is a group of steps that run on one fresh, flushed server pair.
type Case struct {
	Line  int
	Steps []Step
}

// StepKind says what a step does.
type StepKind int

// Step kinds.
const (
	StepCommand StepKind = iota
	StepSleep
	StepProto
	StepRaw
	StepReconnect
)

// Step is one line of a case.
type Step struct {
	Kind  StepKind
	Line  int
	Text  string   // the source line, for messages
	Args  [][]byte // StepCommand
	Raw   []byte   // StepRaw
	Sleep time.Duration
	Proto int
	Cmp   Compare // how to compare a command's reply
	// HasCmp says Cmp came from a directive; otherwise differences() decides.
	HasCmp bool
}

// CompareMode says how two replies are compared.
type CompareMode int

// Compare modes.
const (
	CmpExact CompareMode = iota
	CmpSkip
	CmpTypeOnly
	CmpUnordered
	CmpScan
	CmpApprox
	CmpZeroFields
	CmpNoReply
	CmpCommandMeta
	// CmpUnsupported: a command one side lacks on purpose; any two replies,
	// errors included, are accepted. Only for entries in differences.go.
	CmpUnsupported
)

// Compare is a compare mode with its parameter.
type Compare struct {
	Mode      CompareMode
	Tolerance int64    // CmpApprox
	Fields    []string // CmpZeroFields
}

// ParseScript parses a testdata file; name is used in messages.
func ParseScript(name string, data []byte) (*Script, error) {
	s := &Script{File: name}
	bigvals := map[string][]byte{}
	var cur *Case
	var pending *Compare
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	lineNo := 0
	endCase := func() {
		if cur != nil && len(cur.Steps) > 0 {
			s.Cases = append(s.Cases, *cur)
		}
		cur = nil
	}
	for sc.Scan() {
		lineNo++
		text := strings.TrimSpace(sc.Text())
		errf := func(format string, a ...any) error {
			return fmt.Errorf("%s:%d: %s", name, lineNo, fmt.Sprintf(format, a...))
		}
		if text == "" {
			if pending != nil {
				return nil, errf("directive without a command after it")
			}
			endCase()
			continue
		}
		if text[0] == '#' {
			continue
		}
		args, err := SplitArgs(text)
		if err != nil {
			return nil, errf("%v", err)
		}
		if cur == nil {
			cur = &Case{Line: lineNo}
		}
		subst := func(a []byte) []byte {
			if len(a) > 1 && a[0] == '$' {
				if v, ok := bigvals[string(a[1:])]; ok {
					return v
				}
			}
			return a
		}
		for i := range args {
			args[i] = subst(args[i])
		}
		step := Step{Line: lineNo, Text: text}
		if text[0] != '!' {
			step.Kind = StepCommand
			step.Args = args
			if pending != nil {
				step.Cmp, step.HasCmp = *pending, true
				pending = nil
			}
			cur.Steps = append(cur.Steps, step)
			continue
		}
		dir := string(args[0])
		nargs := len(args) - 1
		intArg := func(i int) (int64, error) {
			if i > nargs {
				return 0, errf("%s: missing argument", dir)
			}
			n, err := strconv.ParseInt(string(args[i]), 10, 64)
			if err != nil {
				return 0, errf("%s: %v", dir, err)
			}
			return n, nil
		}
		setPending := func(c Compare) error {
			if pending != nil {
				return errf("two compare directives for one command")
			}
			pending = &c
			return nil
		}
		switch dir {
		case "!unordered":
			err = setPending(Compare{Mode: CmpUnordered})
		case "!skip-compare":
			err = setPending(Compare{Mode: CmpSkip})
		case "!type-only":
			err = setPending(Compare{Mode: CmpTypeOnly})
		case "!scan":
			err = setPending(Compare{Mode: CmpScan})
		case "!noreply":
			err = setPending(Compare{Mode: CmpNoReply})
		case "!approx":
			var n int64
			if n, err = intArg(1); err == nil {
				err = setPending(Compare{Mode: CmpApprox, Tolerance: n})
			}
		case "!sleep":
			var n int64
			if n, err = intArg(1); err == nil {
				step.Kind = StepSleep
				step.Sleep = time.Duration(n) * time.Millisecond
				cur.Steps = append(cur.Steps, step)
			}
		case "!proto":
			var n int64
			if n, err = intArg(1); err == nil {
				step.Kind = StepProto
				step.Proto = int(n)
				cur.Steps = append(cur.Steps, step)
			}
		case "!raw":
			step.Kind = StepRaw
			step.Raw = bytes.Join(args[1:], nil)
			cur.Steps = append(cur.Steps, step)
		case "!reconnect":
			step.Kind = StepReconnect
			cur.Steps = append(cur.Steps, step)
		case "!bigval":
			var n int64
			if n, err = intArg(2); err == nil {
				v := make([]byte, n)
				for i := range v {
					v[i] = 'a' + byte(i%26)
				}
				bigvals[string(args[1])] = v
			}
		case "!requires":
			for _, a := range args[1:] {
				s.Requires = append(s.Requires, string(a))
			}
		default:
			err = errf("unknown directive %s", dir)
		}
		if err != nil {
			return nil, err
		}
		if len(cur.Steps) == 0 {
			cur = nil // a case made only of file-level directives
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if pending != nil {
		return nil, fmt.Errorf("%s: directive at end of file without a command", name)
	}
	endCase()
	return s, nil
}

// SplitArgs splits a line into arguments the way redis-cli does
// (sdssplitargs, shared with the config and manifest parsers).
func SplitArgs(line string) ([][]byte, error) {
	words, ok := sds.SplitArgs(line)
	if !ok {
		return nil, fmt.Errorf("unbalanced quotes in %q", line)
	}
	out := make([][]byte, len(words))
	for i, w := range words {
		out[i] = []byte(w)
	}
	return out, nil
}
