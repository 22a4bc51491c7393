package sds

import (
	"reflect"
	"strings"
	"testing"
)

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		ok   bool
	}{
		{"", []string{}, true},
		{"   \t ", []string{}, true},
		{"port 6379", []string{"port", "6379"}, true},
		{"  a   b\tc  ", []string{"a", "b", "c"}, true},
		{`requirepass "a\x41\"b c"`, []string{"requirepass", `aA"b c`}, true},
		{`x "\n\r\t\b\a\z\\"`, []string{"x", "\n\r\t\b\a" + `z\`}, true},
		{`x "\x4"`, []string{"x", "x4"}, true},
		{`x 'it\'s "q"'`, []string{"x", `it's "q"`}, true},
		{`x 'a\nb'`, []string{"x", `a\nb`}, true},
		{`x ""`, []string{"x", ""}, true},
		{`x ''`, []string{"x", ""}, true},
		{`x a"b c"`, []string{"x", "ab c"}, true},
		{`port "23457`, nil, false},
		{`port 'a'b`, nil, false},
		{`port "a"b`, nil, false},
		{`x 'abc`, nil, false},
	}
	for _, tt := range tests {
		got, ok := SplitArgs(tt.in)
		if ok != tt.ok || (ok && !reflect.DeepEqual(got, tt.want)) {
			t.Errorf("SplitArgs(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestCatRepr(t *testing.T) {
	tests := map[string]string{
		"7000":        `"7000"`,
		`a\b`:         `"a\\b"`,
		"a\tb\x01":    `"a\tb\x01"`,
		"q\"\n\r\a\b": `"q\"\n\r\a\b"`,
		"\xff~ ":      `"\xff~ "`,
		"":            `""`,
	}
	for in, want := range tests {
		var b strings.Builder
		CatRepr(&b, in)
		if b.String() != want {
			t.Errorf("CatRepr(%q) = %s, want %s", in, b.String(), want)
		}
	}
}
