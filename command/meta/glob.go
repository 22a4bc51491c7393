package meta

// globMatch reports whether str matches the glob pattern, with the exact
// semantics of Redis's stringmatchlen (*, ?, [...] with ^ and ranges,
// backslash escapes), optionally ignoring ASCII case.
func globMatch(pattern []byte, str string, nocase bool) bool {
	skip := false
	return globImpl(pattern, str, nocase, &skip)
}

// at returns b[i], or 0 past the end: the C code reads the terminating NUL.
func at(b []byte, i int) byte {
	if i < len(b) {
		return b[i]
	}
	return 0
}

func atS(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

func toLower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func globImpl(pat []byte, str string, nocase bool, skipLonger *bool) bool {
	p, s := 0, 0 // positions in pat and str
	for p < len(pat) && s < len(str) {
		switch pat[p] {
		case '*':
			for p < len(pat) && at(pat, p+1) == '*' {
				p++
			}
			if p == len(pat)-1 {
				return true
			}
			for s < len(str) {
				if globImpl(pat[p+1:], str[s:], nocase, skipLonger) {
					return true
				}
				if *skipLonger {
					return false
				}
				s++
			}
			// No match for the rest of the pattern anywhere in the rest of
			// the string: longer matches for earlier stars cannot help.
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
				switch {
				case at(pat, p) == '\\' && len(pat)-p >= 2:
					p++
					if pat[p] == str[s] {
						match = true
					}
				case at(pat, p) == ']':
					goto closed
				case p >= len(pat):
					p--
					goto closed
				case len(pat)-p >= 3 && pat[p+1] == '-':
					start, end, c := pat[p], pat[p+2], str[s]
					if start > end {
						start, end = end, start
					}
					if nocase {
						start, end, c = toLower(start), toLower(end), toLower(c)
					}
					p += 2
					if c >= start && c <= end {
						match = true
					}
				default:
					if nocase {
						if toLower(pat[p]) == toLower(str[s]) {
							match = true
						}
					} else if pat[p] == str[s] {
						match = true
					}
				}
				p++
			}
		closed:
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
			if nocase {
				if toLower(pat[p]) != toLower(str[s]) {
					return false
				}
			} else if pat[p] != str[s] {
				return false
			}
			s++
		}
		p++
		if s == len(str) {
			for at(pat, p) == '*' {
				p++
			}
			break
		}
	}
	return p >= len(pat) && s == len(str)
}
