package zsets

import (
	"fmt"
	"testing"

	"github.com/basaltdb/basalt/datatypes"
)

// TestLexRanksUnsorted: lex ranges over members whose scores put them out
// of lex order, as redis-server 7.0.15 answers for a listpack (ZRANGEBYLEX
// and ZREVRANGEBYLEX), and the equal-score answers for both encodings.
func TestLexRanksUnsorted(t *testing.T) {
	lim := datatypes.DefaultLimits()
	build := func(big bool, members ...string) *ZSet {
		z := New()
		if big {
			z = NewSkiplist()
		}
		for i, m := range members {
			z.Add([]byte(m), float64(i+1), &lim)
		}
		return z
	}
	bound := func(s string) LexBound {
		b, ok := ParseLexBound([]byte(s))
		if !ok {
			t.Fatalf("bad bound %q", s)
		}
		return b
	}
	names := func(z *ZSet, lo, hi int) string {
		var out []string
		if lo < hi {
			z.Walk(lo, hi-1, func(m []byte, _ float64) bool { out = append(out, string(m)); return true })
		}
		return fmt.Sprint(out)
	}
	cases := []struct {
		members  []string
		min, max string
		fwd, rev string // ascending ranks' members
	}{
		{[]string{"a", "c", "b"}, "[a", "[b", "[a]", "[a c b]"},
		{[]string{"c", "a", "b"}, "[a", "[b", "[]", "[]"}, // first member > max
		{[]string{"b", "a"}, "[b", "[b", "[]", "[]"},      // last member < min
		{[]string{"c", "a", "b"}, "[b", "[c", "[c a b]", "[b]"},
		{[]string{"c", "a"}, "-", "[b", "[]", "[]"},
		{[]string{"a", "b"}, "+", "-", "[]", "[]"},
		{[]string{"a", "b"}, "-", "-", "[]", "[]"},
		{[]string{"a", "b"}, "[a", "(a", "[]", "[]"},
		{[]string{"a", "b"}, "[a", "[a", "[a]", "[a]"},
	}
	for _, c := range cases {
		z := build(false, c.members...)
		lo, hi := z.LexRanks(bound(c.min), bound(c.max))
		if got := names(z, lo, hi); got != c.fwd {
			t.Errorf("%v %s %s: forward %s, want %s", c.members, c.min, c.max, got, c.fwd)
		}
		lo, hi = z.LexRanksRev(bound(c.min), bound(c.max))
		if got := names(z, lo, hi); got != c.rev {
			t.Errorf("%v %s %s: reverse %s, want %s", c.members, c.min, c.max, got, c.rev)
		}
	}
	// Equal scores: both directions, both encodings, give the lex range.
	for _, big := range []bool{false, true} {
		z := New()
		if big {
			z = NewSkiplist()
		}
		for c := 'a'; c <= 'z'; c++ {
			z.Add([]byte{byte(c)}, 0, &lim)
		}
		for _, r := range [][2]string{{"[c", "(f"}, {"-", "+"}, {"(x", "+"}, {"-", "[a"}, {"(m", "[m"}, {"[z", "[zz"}} {
			lo, hi := z.LexRanks(bound(r[0]), bound(r[1]))
			rlo, rhi := z.LexRanksRev(bound(r[0]), bound(r[1]))
			if lo != rlo || hi != rhi && !(lo == hi && rlo == rhi) {
				t.Errorf("big=%v %v: forward [%d,%d) reverse [%d,%d)", big, r, lo, hi, rlo, rhi)
			}
		}
	}
}
