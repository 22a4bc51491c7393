// Package meta holds the command metadata Redis 7.0 reports through COMMAND
// (INFO, DOCS, COUNT, LIST, GETKEYS) and the key-spec based key extraction
// the server uses to route commands.
//
// The data is captured once from a real redis-server 7.0 by ./gen and
// checked in as meta_gen.go. New builds a Table from it; a Table is
// immutable after New (except Command.GetKeys, which its owner may set
// before sharing it) and safe for concurrent use by every loop.
package meta

//go:generate go run ./gen -out meta_gen.go

import (
	"strings"

	"github.com/basaltdb/basalt/internal/numparse"
)

// KeySpec is one key specification, as in COMMAND INFO. BeginSearch is
// "index" (Index used) or "keyword" (Keyword, StartFrom used); FindKeys is
// "range" (LastKey, KeyStep, Limit used) or "keynum" (KeyNumIdx, FirstKey,
// KeyStep used). Other values ("unknown") make the spec invalid.
type KeySpec struct {
	Notes       string
	Flags       []string // RO RW OW RM access update insert delete not_key incomplete variable_flags
	BeginSearch string
	Index       int
	Keyword     string
	StartFrom   int
	FindKeys    string
	LastKey     int
	KeyStep     int
	Limit       int
	KeyNumIdx   int
	FirstKey    int
}

// Command is the metadata of one command or subcommand. The exported fields
// come from meta_gen.go; the rest is derived by New. Read-only once the
// Table is shared.
type Command struct {
	Name          string // full lower-case name: "get", "client|id"
	Arity         int
	Flags         []string
	FirstKey      int
	LastKey       int
	Step          int
	ACLCategories []string // with the '@': "@read"
	Tips          []string
	KeySpecs      []KeySpec
	Subcommands   []Command // sorted by name
	Info          Node      // the COMMAND INFO entry (subcommands sorted)
	Docs          Node      // the COMMAND DOCS value (subcommands sorted)

	// GetKeys, when set, plays the part of Redis's getkeys_proc: it is used
	// instead of the key specs when a spec has variable_flags, and when the
	// specs are invalid or incomplete for the given arguments. It must
	// append key positions to dst and not allocate when dst has room. The
	// Table's owner sets it before sharing the Table. None of the commands
	// captured so far needs one: SET and BITFIELD have variable_flags, but
	// their Redis getkeys_proc returns the same position as their spec.
	GetKeys func(args [][]byte, dst []int) []int

	parent          *Command
	subs            map[string]*Command // by lower-case subcommand name ("id")
	specs           []spec
	hasKeys         bool // doesCommandHaveKeys: a spec not marked not_key
	varFlags        bool // a spec marked variable_flags
	noMandatoryKeys bool
	info2, info3    []byte // Info encoded
	docs2, docs3    []byte // Docs encoded
}

// Key spec flag bits used by key extraction.
const (
	specNotKey uint8 = 1 << iota
	specIncomplete
	specVariableFlags
)

const (
	bsInvalid uint8 = iota
	bsIndex
	bsKeyword
)

const (
	fkInvalid uint8 = iota
	fkRange
	fkKeynum
)

// spec is a KeySpec compiled for the hot path.
type spec struct {
	flags     uint8
	bs        uint8
	fk        uint8
	index     int
	keyword   []byte
	startFrom int
	lastKey   int
	keyStep   int
	limit     int
	keyNumIdx int
	firstKey  int
}

// Table is the command metadata, built by New and read-only afterwards.
type Table struct {
	cmds   []Command           // top-level, sorted by name; owns the storage
	top    []*Command          // pointers into cmds
	all    []*Command          // top-level and subcommands, COMMAND LIST order
	byName map[string]*Command // top-level, by lower-case name
	maxLen int                 // longest top-level name
}

// New builds a Table from the generated metadata. Each call returns an
// independent Table.
func New() *Table {
	t := &Table{cmds: generatedCommands(), byName: make(map[string]*Command)}
	procs := getKeysProcs()
	for i := range t.cmds {
		c := &t.cmds[i]
		c.init(nil)
		c.GetKeys = procs[c.Name]
		t.top = append(t.top, c)
		t.byName[c.Name] = c
		t.maxLen = max(t.maxLen, len(c.Name))
		t.all = append(t.all, c)
		for j := range c.Subcommands {
			t.all = append(t.all, &c.Subcommands[j])
		}
	}
	return t
}

func (c *Command) init(parent *Command) {
	c.parent = parent
	for _, f := range c.Flags {
		if f == "no_mandatory_keys" {
			c.noMandatoryKeys = true
		}
	}
	for i := range c.KeySpecs {
		ks := &c.KeySpecs[i]
		s := spec{
			index: ks.Index, keyword: []byte(ks.Keyword), startFrom: ks.StartFrom,
			lastKey: ks.LastKey, keyStep: ks.KeyStep, limit: ks.Limit,
			keyNumIdx: ks.KeyNumIdx, firstKey: ks.FirstKey,
		}
		for _, f := range ks.Flags {
			switch f {
			case "not_key":
				s.flags |= specNotKey
			case "incomplete":
				s.flags |= specIncomplete
			case "variable_flags":
				s.flags |= specVariableFlags
				c.varFlags = true
			}
		}
		if s.flags&specNotKey == 0 {
			c.hasKeys = true
		}
		switch ks.BeginSearch {
		case "index":
			s.bs = bsIndex
		case "keyword":
			s.bs = bsKeyword
		}
		switch ks.FindKeys {
		case "range":
			s.fk = fkRange
		case "keynum":
			s.fk = fkKeynum
		}
		if s.keyStep < 1 {
			s.keyStep = 1 // Redis never declares 0; guard the loop anyway
		}
		c.specs = append(c.specs, s)
	}
	c.info2 = c.Info.AppendRESP(nil, 2)
	c.info3 = c.Info.AppendRESP(nil, 3)
	c.docs2 = c.Docs.AppendRESP(nil, 2)
	c.docs3 = c.Docs.AppendRESP(nil, 3)
	if len(c.Subcommands) > 0 {
		c.subs = make(map[string]*Command, len(c.Subcommands))
		for i := range c.Subcommands {
			s := &c.Subcommands[i]
			s.init(c)
			_, sub, _ := strings.Cut(s.Name, "|")
			c.subs[sub] = s
		}
	}
}

// Lookup finds a top-level command by name, ignoring case, as the
// dispatcher does with argv[0]: "client|id" is not found here. It does not
// allocate.
func (t *Table) Lookup(name []byte) *Command {
	if len(name) > t.maxLen {
		return nil
	}
	var buf [64]byte
	return t.byName[string(lower(buf[:0], name))]
}

// LookupArgs resolves a command line the way Redis's lookupCommand does:
// a container command with a second argument resolves to that subcommand
// (nil if unknown); otherwise to the top-level command.
func (t *Table) LookupArgs(args [][]byte) *Command {
	if len(args) == 0 {
		return nil
	}
	c := t.Lookup(args[0])
	if c == nil || len(args) == 1 || c.subs == nil {
		return c
	}
	return c.Sub(args[1])
}

// LookupFull finds a command by the name COMMAND INFO and COMMAND DOCS
// accept: "get" or "client|id" (Redis's lookupCommandBySds).
func (t *Table) LookupFull(name []byte) *Command {
	for i, ch := range name {
		if ch != '|' {
			continue
		}
		sub := name[i+1:]
		for _, ch2 := range sub {
			if ch2 == '|' {
				return nil // one level of subcommands only
			}
		}
		c := t.Lookup(name[:i])
		if c == nil || c.subs == nil {
			return nil
		}
		return c.Sub(sub)
	}
	return t.Lookup(name)
}

// Sub finds a subcommand by its own name ("id" for CLIENT ID), ignoring
// case. It does not allocate.
func (c *Command) Sub(name []byte) *Command {
	if c.subs == nil || len(name) > 64 {
		return nil
	}
	var buf [64]byte
	return c.subs[string(lower(buf[:0], name))]
}

// All returns the top-level commands sorted by name. The slice is shared:
// do not modify it.
func (t *Table) All() []*Command { return t.top }

// Parent returns the container of a subcommand, or nil.
func (c *Command) Parent() *Command { return c.parent }

// HasKeys reports whether the command may take keys (Redis's
// doesCommandHaveKeys).
func (c *Command) HasKeys() bool { return c.hasKeys || c.GetKeys != nil }

// HasFlag reports whether COMMAND INFO lists flag (e.g. "write"). Linear:
// callers on the data path should cache the answer.
func (c *Command) HasFlag(flag string) bool {
	for _, f := range c.Flags {
		if f == flag {
			return true
		}
	}
	return false
}

// CheckArity reports whether argc (command name included) satisfies the
// command's arity, as Redis's commandCheckArity.
func (c *Command) CheckArity(argc int) bool {
	return !((c.Arity > 0 && c.Arity != argc) || argc < -c.Arity)
}

// Keys appends to dst[:0] the positions in args (args[0] is the command
// name; for a subcommand args[1] is its name) of the key arguments, as
// Redis's getKeysFromCommandWithSpecs does. It returns no keys when the
// arguments do not fit the key specs (the command then replies with its own
// syntax error). It does not allocate when dst has room.
func (c *Command) Keys(args [][]byte, dst []int) []int {
	keys, _ := c.keys(args, dst[:0])
	return keys
}

// keys returns ok=false where Redis's getKeysFromCommandWithSpecs would
// return no usable result (invalid specs and no getkeys function).
func (c *Command) keys(args [][]byte, dst []int) ([]int, bool) {
	if c.varFlags && c.GetKeys != nil {
		return c.GetKeys(args, dst), true
	}
	if c.hasKeys {
		keys, ok := c.keysFromSpecs(args, dst)
		if ok {
			return keys, true
		}
		dst = keys[:0]
	}
	if c.GetKeys != nil {
		return c.GetKeys(args, dst), true
	}
	return dst, false
}

// keysFromSpecs is Redis's getKeysUsingKeySpecs (without
// GET_KEYSPEC_INCLUDE_NOT_KEYS and GET_KEYSPEC_RETURN_PARTIAL).
func (c *Command) keysFromSpecs(args [][]byte, dst []int) ([]int, bool) {
	argc := len(args)
	for i := range c.specs {
		s := &c.specs[i]
		if s.flags&specNotKey != 0 {
			continue
		}
		first := 0
		switch s.bs {
		case bsIndex:
			first = s.index
		case bsKeyword:
			start, end := s.startFrom, argc-1
			if s.startFrom <= 0 {
				start, end = argc+s.startFrom, 1
			}
			// As Redis: the end index itself is never examined.
			for j := start; j != end; {
				if j >= argc || j < 1 {
					break
				}
				if equalFold(args[j], s.keyword) {
					first = j + 1
					break
				}
				if start <= end {
					j++
				} else {
					j--
				}
			}
			if first == 0 {
				continue // keyword not found: this spec has no keys
			}
		default:
			return dst[:0], false
		}

		var last int
		switch s.fk {
		case fkRange:
			switch {
			case s.lastKey >= 0:
				last = first + s.lastKey
			case s.limit == 0:
				last = argc + s.lastKey
			default:
				last = first + ((argc-first)/s.limit + s.lastKey)
			}
		case fkKeynum:
			// Redis 7.0 checks only keynumidx >= argc and then reads
			// argv[first+keynumidx]; we also refuse to read past the end.
			idx := first + s.keyNumIdx
			if s.keyNumIdx >= argc || idx >= argc || idx < 0 {
				return dst[:0], false
			}
			n, ok := numparse.String2ll(args[idx])
			if !ok || n < 0 {
				return dst[:0], false
			}
			first += s.firstKey
			last = first + int(int32(n)) - 1 // C int, as Redis
		default:
			return dst[:0], false
		}
		if last >= argc || last < first || first >= argc {
			return dst[:0], false
		}
		for j := first; j <= last; j += s.keyStep {
			dst = append(dst, j)
		}
		if s.flags&specIncomplete != 0 {
			return dst[:0], false
		}
	}
	return dst, true
}

// lower appends the ASCII lower-case form of s to dst.
func lower(dst, s []byte) []byte {
	for _, ch := range s {
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		dst = append(dst, ch)
	}
	return dst
}

// equalFold compares ASCII case-insensitively, as strcasecmp.
func equalFold(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
