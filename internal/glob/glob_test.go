package glob

import "testing"

func TestMatch(t *testing.T) {
	cases := []struct {
		pat, s string
		nocase bool
		want   bool
	}{
		{"*", "", false, false}, // as stringmatchlen: KEYS special-cases "*"
		{"*", "abc", false, true},
		{"", "", false, true},
		{"", "a", false, false},
		{"a*", "abc", false, true},
		{"*c", "abc", false, true},
		{"a*c", "ac", false, true},
		{"a*b*c", "aXbYc", false, true},
		{"a*b*c", "aXbY", false, false},
		{"**a**", "xxa", false, true},
		{"*a*b*c*d*e*", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false, false},
		{"h?llo", "hello", false, true},
		{"h?llo", "hllo", false, false},
		{"h[ae]llo", "hallo", false, true},
		{"h[ae]llo", "hillo", false, false},
		{"h[^e]llo", "hallo", false, true},
		{"h[^e]llo", "hello", false, false},
		{"h[a-b]llo", "hbllo", false, true},
		{"h[b-a]llo", "hallo", false, true}, // reversed range
		{"h[a-b]llo", "hcllo", false, false},
		{"[a-z]", "m", false, true},
		{"[a-z]", "M", false, false},
		{"[a-z]", "M", true, true},
		{"[A-Z]", "m", true, true},
		{"\\*", "*", false, true},
		{"\\*", "a", false, false},
		{"a\\", "a\\", false, true}, // trailing backslash matches itself
		{"[\\]]", "]", false, true},
		{"[\\-]", "-", false, true},
		{"[abc", "b", false, true}, // unterminated class
		{"[abc", "d", false, false},
		{"[", "a", false, false},
		{"[^", "a", false, true},
		{"[a-", "-", false, true},
		{"[]", "a", false, false},
		{"ABC", "abc", true, true},
		{"ABC", "abc", false, false},
		{"a*", "A", true, true},
		{"?", "", false, false},
		{"*?", "", false, false},
		{"[\x80-\xff]", "a", false, false}, // C chars are signed
		{"[a-\xe9]", "b", false, false},
		{"[\xe9-a]", "b", false, false},
		{"[\xe9-a]", "Z", false, true},
	}
	for _, c := range cases {
		if got := Match([]byte(c.pat), []byte(c.s), c.nocase); got != c.want {
			t.Errorf("Match(%q, %q, %v) = %v want %v", c.pat, c.s, c.nocase, got, c.want)
		}
	}
}
