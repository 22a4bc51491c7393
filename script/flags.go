package script

import (
	"bytes"
	"strings"
)

// Flags are a script's or a function's flags: the EVAL shebang
// ("#!lua flags=no-writes,allow-oom") or register_function's flags table.
type Flags uint8

// The flags of Redis 7.0 (scripts_flags_def) in its listing order, plus
// FlagEvalCompat for an EVAL body without shebang (Redis's
// SCRIPT_FLAG_EVAL_COMPAT_MODE: the other flags do not apply and the script
// may write unless run by EVAL_RO).
const (
	FlagNoWrites Flags = 1 << iota
	FlagAllowOOM
	FlagAllowStale
	FlagNoCluster
	FlagAllowCrossSlot
	FlagEvalCompat
)

// flagNames is scripts_flags_def: names in FUNCTION LIST order.
var flagNames = [...]struct {
	f    Flags
	name string
}{
	{FlagNoWrites, "no-writes"},
	{FlagAllowOOM, "allow-oom"},
	{FlagAllowStale, "allow-stale"},
	{FlagNoCluster, "no-cluster"},
	{FlagAllowCrossSlot, "allow-cross-slot-keys"},
}

// flagByName looks a flag up; nocase for register_function (strcasecmp),
// exact for the EVAL shebang (strcmp).
func flagByName(s string, nocase bool) (Flags, bool) {
	for _, fn := range flagNames {
		if s == fn.name || (nocase && strings.EqualFold(s, fn.name)) {
			return fn.f, true
		}
	}
	return 0, false
}

// parseShebang is evalExtractShebangFlags: the flags of an EVAL body and
// the length of its shebang line (not counting the newline, which stays in
// the compiled code so line numbers do not move). errMsg is the error reply.
func parseShebang(body []byte) (flags Flags, shebangLen int, errMsg string) {
	if !bytes.HasPrefix(body, []byte("#!")) {
		return FlagEvalCompat, 0, ""
	}
	nl := bytes.IndexByte(body, '\n')
	if nl < 0 {
		return 0, 0, "ERR Invalid script shebang"
	}
	parts, ok := splitArgs(string(body[:nl]))
	if !ok || len(parts) == 0 {
		return 0, 0, "ERR Invalid engine in script shebang"
	}
	if parts[0] != "#!lua" {
		return 0, 0, "ERR Unexpected engine in script shebang: " + parts[0]
	}
	for _, p := range parts[1:] {
		if !strings.HasPrefix(p, "flags=") {
			return 0, 0, "ERR Unknown lua shebang option: " + p
		}
		list := p[len("flags="):]
		if list == "" {
			continue
		}
		for _, name := range strings.Split(list, ",") {
			f, ok := flagByName(name, false)
			if !ok {
				return 0, 0, "ERR Unexpected flag in script shebang: " + name
			}
			flags |= f
		}
	}
	return flags, nl, ""
}

// splitArgs is sdssplitargs: space separated words with "..." (C escapes)
// and '...' quoting; ok is false for unbalanced quotes.
func splitArgs(line string) ([]string, bool) {
	var out []string
	i := 0
	for {
		for i < len(line) && isSpaceC(line[i]) {
			i++
		}
		if i >= len(line) {
			return out, true
		}
		var cur []byte
		inq, insq := false, false
		for done := false; !done; {
			if inq {
				if i >= len(line) {
					return nil, false
				}
				c := line[i]
				switch {
				case c == '\\' && i+3 < len(line) && line[i+1] == 'x' && isHexC(line[i+2]) && isHexC(line[i+3]):
					cur = append(cur, hexValC(line[i+2])<<4|hexValC(line[i+3]))
					i += 3
				case c == '\\' && i+1 < len(line):
					i++
					switch line[i] {
					case 'n':
						cur = append(cur, '\n')
					case 'r':
						cur = append(cur, '\r')
					case 't':
						cur = append(cur, '\t')
					case 'b':
						cur = append(cur, '\b')
					case 'a':
						cur = append(cur, '\a')
					default:
						cur = append(cur, line[i])
					}
				case c == '"':
					if i+1 < len(line) && !isSpaceC(line[i+1]) {
						return nil, false
					}
					done = true
				default:
					cur = append(cur, c)
				}
			} else if insq {
				if i >= len(line) {
					return nil, false
				}
				c := line[i]
				switch {
				case c == '\\' && i+1 < len(line) && line[i+1] == '\'':
					i++
					cur = append(cur, '\'')
				case c == '\'':
					if i+1 < len(line) && !isSpaceC(line[i+1]) {
						return nil, false
					}
					done = true
				default:
					cur = append(cur, c)
				}
			} else {
				if i >= len(line) {
					break
				}
				switch c := line[i]; c {
				case ' ', '\n', '\r', '\t', 0:
					done = true
				case '"':
					inq = true
				case '\'':
					insq = true
				default:
					cur = append(cur, c)
				}
			}
			if i < len(line) {
				i++
			}
		}
		out = append(out, string(cur))
	}
}

func isSpaceC(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func isHexC(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexValC(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
