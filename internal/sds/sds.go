// Package sds holds the two string routines of Redis's sds library whose
// exact behaviour Basalt's file formats depend on: sdssplitargs, which
// reads redis.conf lines and AOF manifest lines, and sdscatrepr, which
// quotes strings so that sdssplitargs reads them back.
package sds

import "strings"

// SplitArgs is Redis's sdssplitargs: whitespace-separated tokens, "double
// quotes" with \n \r \t \b \a \xHH and \<any> escapes, 'single quotes' with
// only \' escaped. A closing quote must be followed by a space or the end.
// ok is false on unbalanced quotes.
func SplitArgs(line string) (args []string, ok bool) {
	at := func(i int) byte { // C string semantics: 0 past the end
		if i < len(line) {
			return line[i]
		}
		return 0
	}
	p := 0
	args = []string{}
	for {
		for at(p) != 0 && isSpace(at(p)) {
			p++
		}
		if at(p) == 0 {
			return args, true
		}
		var cur []byte
		inq, insq := false, false
		for done := false; !done; {
			ch := at(p)
			switch {
			case inq:
				switch {
				case ch == '\\' && at(p+1) == 'x' && isHex(at(p+2)) && isHex(at(p+3)):
					cur = append(cur, unhex(at(p+2))<<4|unhex(at(p+3)))
					p += 3
				case ch == '\\' && at(p+1) != 0:
					p++
					switch c := at(p); c {
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
						cur = append(cur, c)
					}
				case ch == '"':
					if at(p+1) != 0 && !isSpace(at(p+1)) {
						return nil, false
					}
					done = true
				case ch == 0:
					return nil, false
				default:
					cur = append(cur, ch)
				}
			case insq:
				switch {
				case ch == '\\' && at(p+1) == '\'':
					p++
					cur = append(cur, '\'')
				case ch == '\'':
					if at(p+1) != 0 && !isSpace(at(p+1)) {
						return nil, false
					}
					done = true
				case ch == 0:
					return nil, false
				default:
					cur = append(cur, ch)
				}
			default:
				switch ch {
				case ' ', '\n', '\r', '\t', 0:
					done = true
				case '"':
					inq = true
				case '\'':
					insq = true
				default:
					cur = append(cur, ch)
				}
			}
			if at(p) != 0 {
				p++
			}
		}
		args = append(args, string(cur))
	}
}

func isHex(b byte) bool {
	return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F')
}

func unhex(b byte) byte {
	switch {
	case b >= '0' && b <= '9':
		return b - '0'
	case b >= 'a' && b <= 'f':
		return b - 'a' + 10
	}
	return b - 'A' + 10
}

// CatRepr appends s quoted as Redis's sdscatrepr does.
func CatRepr(b *strings.Builder, s string) {
	const hexdig = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; ch {
		case '\\', '"':
			b.WriteByte('\\')
			b.WriteByte(ch)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\a':
			b.WriteString(`\a`)
		case '\b':
			b.WriteString(`\b`)
		default:
			if ch >= 0x20 && ch <= 0x7e {
				b.WriteByte(ch)
			} else {
				b.WriteString(`\x`)
				b.WriteByte(hexdig[ch>>4])
				b.WriteByte(hexdig[ch&15])
			}
		}
	}
	b.WriteByte('"')
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}
