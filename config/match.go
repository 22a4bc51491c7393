package config

// stringMatch is Redis's stringmatchlen (util.c): glob matching with *, ?,
// [abc], [^abc], [a-z] and \ escapes. Malformed patterns behave as in Redis
// (an unterminated '[' set ends at the pattern's end). CONFIG GET uses it
// with nocase.
func stringMatch(pattern, str string, nocase bool) bool {
	skip := false
	return stringMatchImpl(pattern, str, nocase, &skip)
}

// stringMatchImpl ports the C loop with indexes; at() returns 0 past the
// end, as reading the C string's terminator would.
func stringMatchImpl(pat, str string, nocase bool, skipLonger *bool) bool {
	at := func(i int) byte {
		if i < len(pat) {
			return pat[i]
		}
		return 0
	}
	lower := func(b byte) byte {
		if nocase && b >= 'A' && b <= 'Z' {
			return b + 'a' - 'A'
		}
		return b
	}
	p, s := 0, 0
	for p < len(pat) && s < len(str) {
		switch pat[p] {
		case '*':
			for p < len(pat) && at(p+1) == '*' {
				p++
			}
			if len(pat)-p == 1 {
				return true
			}
			for s < len(str) {
				if stringMatchImpl(pat[p+1:], str[s:], nocase, skipLonger) {
					return true
				}
				if *skipLonger {
					return false
				}
				s++
			}
			// No match for the rest anywhere in str: longer matches of an
			// earlier '*' cannot help either.
			*skipLonger = true
			return false
		case '?':
			s++
		case '[':
			p++
			not := at(p) == '^'
			if not {
				p++
			}
			match := false
			for {
				rem := len(pat) - p
				if rem >= 2 && pat[p] == '\\' {
					p++
					if pat[p] == str[s] {
						match = true
					}
				} else if rem > 0 && pat[p] == ']' {
					break
				} else if rem == 0 {
					p-- // unterminated set: stay on its last byte
					break
				} else if rem >= 3 && pat[p+1] == '-' {
					start, end, c := pat[p], pat[p+2], str[s]
					if start > end {
						start, end = end, start
					}
					start, end, c = lower(start), lower(end), lower(c)
					p += 2
					if c >= start && c <= end {
						match = true
					}
				} else if lower(pat[p]) == lower(str[s]) {
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
			if lower(pat[p]) != lower(str[s]) {
				return false
			}
			s++
		default:
			if lower(pat[p]) != lower(str[s]) {
				return false
			}
			s++
		}
		p++
		if s == len(str) {
			for at(p) == '*' {
				p++
			}
			break
		}
	}
	return p >= len(pat) && s == len(str)
}
