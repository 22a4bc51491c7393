// Package glob is Redis's stringmatchlen, the one glob matcher behind KEYS,
// SCAN MATCH, CONFIG GET and COMMAND LIST FILTERBY PATTERN. It keeps no
// state and is safe for any goroutine.
package glob

// Match reports whether s matches the glob pattern with the exact
// semantics of Redis's stringmatchlen: '*', '?', '[...]' classes with '^'
// negation, 'a-z' ranges (reversed ranges allowed) and '\' escapes, a
// trailing '\' matching itself, and an unterminated '[' class ending at
// the end of the pattern. nocase folds ASCII case.
func Match(pattern, s []byte, nocase bool) bool {
	skip := false
	return matchImpl(pattern, s, nocase, &skip)
}

// at returns b[i], or 0 past the end: the C code reads the terminating
// NUL of its sds strings there.
func at(b []byte, i int) byte {
	if i < len(b) {
		return b[i]
	}
	return 0
}

// cLower is tolower on a C char (signed): bytes >= 0x80 are unchanged.
func cLower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// matchImpl mirrors stringmatchlen_impl. skipLonger is set once a '*'
// found no match for the rest of the pattern anywhere in the rest of the
// string: an earlier '*' cannot help then, which bounds the work on
// patterns with many stars.
func matchImpl(pat, str []byte, nocase bool, skipLonger *bool) bool {
	p, s := 0, 0
	for p < len(pat) && s < len(str) {
		switch pat[p] {
		case '*':
			for p < len(pat) && at(pat, p+1) == '*' {
				p++
			}
			if len(pat)-p == 1 {
				return true
			}
			for s < len(str) {
				if matchImpl(pat[p+1:], str[s:], nocase, skipLonger) {
					return true
				}
				if *skipLonger {
					return false
				}
				s++
			}
			*skipLonger = true
			return false
		case '?':
			s++
		case '[':
			p++
			not := at(pat, p) == '^'
			if not {
				p++
			}
			match := false
			for {
				rem := len(pat) - p
				c := at(pat, p)
				if c == '\\' && rem >= 2 {
					p++
					if pat[p] == str[s] {
						match = true
					}
				} else if c == ']' {
					break
				} else if rem <= 0 {
					p--
					break
				} else if rem >= 3 && pat[p+1] == '-' {
					// C compares (signed) chars as ints.
					start, end, ch := int(int8(pat[p])), int(int8(pat[p+2])), int(int8(str[s]))
					if start > end {
						start, end = end, start
					}
					if nocase {
						start, end, ch = lowerInt(start), lowerInt(end), lowerInt(ch)
					}
					p += 2
					if ch >= start && ch <= end {
						match = true
					}
				} else if !nocase {
					if c == str[s] {
						match = true
					}
				} else if cLower(c) == cLower(str[s]) {
					match = true
				}
				p++
			}
			if not {
				match = !match
			}
			if !match {
				return false
			}
			s++
		case '\\':
			if len(pat)-p >= 2 {
				p++
			}
			fallthrough
		default:
			if !nocase {
				if pat[p] != str[s] {
					return false
				}
			} else if cLower(pat[p]) != cLower(str[s]) {
				return false
			}
			s++
		}
		p++
		if s == len(str) {
			for at(pat, p) == '*' && p < len(pat) {
				p++
			}
			break
		}
	}
	return p >= len(pat) && s == len(str)
}

func lowerInt(c int) int {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
