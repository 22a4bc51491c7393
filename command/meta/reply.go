package meta

import "github.com/basaltdb/basalt/internal/glob"

// Reply builders for the COMMAND family. Each appends the exact bytes
// redis-server 7.0 sends, for protocol proto (2 or 3); arity errors of the
// COMMAND subcommands themselves are the dispatcher's job (see
// Command.CheckArity). Where Redis walks its command dict (COMMAND, COMMAND
// INFO and COMMAND DOCS without names, COMMAND LIST) its order is
// unspecified and changes per process; ours is sorted by name, so compare
// those replies as sets.

const (
	errSyntax       = "-ERR syntax error\r\n"
	errInvalidCmd   = "-ERR Invalid command specified\r\n"
	errNoKeys       = "-ERR The command has no key arguments\r\n"
	errInvalidArity = "-ERR Invalid number of arguments specified for command\r\n"
	errInvalidArgs  = "-ERR Invalid arguments specified for command\r\n"
)

// AppendInfo appends the reply to COMMAND INFO [name ...]: one entry per
// name, a null for an unknown name; with no names, every command (the reply
// to a bare COMMAND).
func (t *Table) AppendInfo(dst []byte, proto int, names [][]byte) []byte {
	if len(names) == 0 {
		dst = appendHeader(dst, '*', int64(len(t.top)))
		for _, c := range t.top {
			dst = c.appendInfo(dst, proto)
		}
		return dst
	}
	dst = appendHeader(dst, '*', int64(len(names)))
	for _, name := range names {
		c := t.LookupFull(name)
		if c == nil {
			if proto >= 3 {
				dst = append(dst, "_\r\n"...)
			} else {
				dst = append(dst, "$-1\r\n"...)
			}
			continue
		}
		dst = c.appendInfo(dst, proto)
	}
	return dst
}

// AppendAll appends the reply to a bare COMMAND: every command's info.
func (t *Table) AppendAll(dst []byte, proto int) []byte { return t.AppendInfo(dst, proto, nil) }

func (c *Command) appendInfo(dst []byte, proto int) []byte {
	if proto >= 3 {
		return append(dst, c.info3...)
	}
	return append(dst, c.info2...)
}

func (c *Command) appendDocs(dst []byte, proto int) []byte {
	dst = appendBulk(dst, c.Name)
	if proto >= 3 {
		return append(dst, c.docs3...)
	}
	return append(dst, c.docs2...)
}

func appendMapLen(dst []byte, proto int, n int) []byte {
	if proto >= 3 {
		return appendHeader(dst, '%', int64(n))
	}
	return appendHeader(dst, '*', int64(2*n))
}

// AppendDocs appends the reply to COMMAND DOCS [name ...]: a map from full
// name to docs; unknown names are left out. With no names, every top-level
// command (subcommands are nested in their container's docs).
func (t *Table) AppendDocs(dst []byte, proto int, names [][]byte) []byte {
	if len(names) == 0 {
		dst = appendMapLen(dst, proto, len(t.top))
		for _, c := range t.top {
			dst = c.appendDocs(dst, proto)
		}
		return dst
	}
	n := 0
	for _, name := range names {
		if t.LookupFull(name) != nil {
			n++
		}
	}
	dst = appendMapLen(dst, proto, n)
	for _, name := range names {
		if c := t.LookupFull(name); c != nil {
			dst = c.appendDocs(dst, proto)
		}
	}
	return dst
}

// AppendCount appends the reply to COMMAND COUNT: the number of top-level
// commands.
func (t *Table) AppendCount(dst []byte) []byte {
	return appendHeader(dst, ':', int64(len(t.top)))
}

// AppendList appends the reply to COMMAND LIST [FILTERBY MODULE name |
// ACLCAT category | PATTERN pattern]; args are the arguments after LIST.
// Subcommands are listed by full name ("client|id") after their container.
func (t *Table) AppendList(dst []byte, args [][]byte) []byte {
	filter := byte(0)
	var arg []byte
	switch {
	case len(args) == 0:
	case len(args) == 3 && equalFoldString(args[0], "filterby"):
		switch {
		case equalFoldString(args[1], "module"):
			filter = 'm'
		case equalFoldString(args[1], "aclcat"):
			filter = 'a'
		case equalFoldString(args[1], "pattern"):
			filter = 'p'
		default:
			return append(dst, errSyntax...)
		}
		arg = args[2]
	default:
		return append(dst, errSyntax...)
	}
	n := 0
	for _, c := range t.all {
		if c.listed(filter, arg) {
			n++
		}
	}
	dst = appendHeader(dst, '*', int64(n))
	for _, c := range t.all {
		if c.listed(filter, arg) {
			dst = appendBulk(dst, c.Name)
		}
	}
	return dst
}

func (c *Command) listed(filter byte, arg []byte) bool {
	switch filter {
	case 0:
		return true
	case 'm':
		return false // Basalt loads no modules
	case 'a':
		// Redis maps the name to a category bit (unknown name: no match)
		// and tests the command's bits; the categories listed in COMMAND
		// INFO are exactly those bits, with an '@' in front.
		for _, cat := range c.ACLCategories {
			if len(cat) == len(arg)+1 && equalFoldString(arg, cat[1:]) {
				return true
			}
		}
		return false
	default:
		return glob.Match(arg, []byte(c.Name), true)
	}
}

// AppendGetKeys appends the reply to COMMAND GETKEYS; args is the command
// line to inspect (the arguments after GETKEYS, at least one).
func (t *Table) AppendGetKeys(dst []byte, args [][]byte) []byte {
	return t.LookupArgs(args).appendGetKeys(dst, args)
}

// appendGetKeys is getKeysSubcommandImpl for c (nil: unknown command).
func (c *Command) appendGetKeys(dst []byte, args [][]byte) []byte {
	switch {
	case c == nil:
		return append(dst, errInvalidCmd...)
	case !c.HasKeys():
		return append(dst, errNoKeys...)
	case !c.CheckArity(len(args)):
		return append(dst, errInvalidArity...)
	}
	var buf [32]int
	keys, ok := c.keys(args, buf[:0])
	if !ok || len(keys) == 0 {
		// getKeysFromCommandWithSpecs found nothing usable.
		if c.noMandatoryKeys {
			return append(dst, "*0\r\n"...)
		}
		return append(dst, errInvalidArgs...)
	}
	dst = appendHeader(dst, '*', int64(len(keys)))
	for _, k := range keys {
		dst = appendBulkBytes(dst, args[k])
	}
	return dst
}

func equalFoldString(a []byte, b string) bool {
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
