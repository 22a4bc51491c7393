package e2e

import (
	"regexp"
	"strings"
	"testing"
)

// TestKeyspaceHitsMisses runs the same commands on Redis and Basalt and
// compares INFO's keyspace_hits and keyspace_misses: which lookups count
// (reads, and writes that read like GETDEL, SET ... GET, COPY's source,
// BITFIELD with only GETs) must match.
func TestKeyspaceHitsMisses(t *testing.T) {
	t.Parallel()
	p := startPair(t)
	c := p.dial(t)
	cmds := []string{
		"SET a 1", "SET n 1", "GET a", "GET nope", "MGET a b nope", "EXISTS a a b", "TTL n", "PTTL nope",
		"TYPE n", "COPY n m", "SET x y GET", "SET x z GET", "STRLEN x", "GETDEL a", "GETEX n", "GETSET n 2",
		"BITOP AND d n n", "LCS n m", "APPEND n x", "INCR q", "SETRANGE n 1 x", "SETBIT n 1 1", "RENAME n n2",
		"TOUCH m m nope", "UNLINK m", "EXPIRE d 10", "PERSIST d", "BITFIELD d GET u8 0", "BITFIELD d SET u8 0 1",
		"BITFIELD_RO d GET u8 0", "INCRBYFLOAT f 1", "MSETNX z 1", "SETNX z 2", "OBJECT ENCODING d",
		"RANDOMKEY", "KEYS *", "SCAN 0", "DBSIZE", "GETRANGE x 0 1", "GETBIT x 1", "BITCOUNT x", "BITPOS x 1",
		"SUBSTR x 0 1", "EXPIRETIME x", "DEL x nope",
	}
	for _, s := range cmds {
		args := strings.Fields(s)
		for _, cl := range []*Client{c.ref, c.tgt} {
			if _, err := cl.DoStrings(args...); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
	}
	re := regexp.MustCompile(`keyspace_(hits|misses):\d+`)
	ref, err := c.ref.DoStrings("INFO", "stats")
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := c.tgt.DoStrings("INFO", "stats")
	if err != nil {
		t.Fatal(err)
	}
	want, got := re.FindAllString(string(ref), -1), re.FindAllString(string(tgt), -1)
	if strings.Join(want, " ") != strings.Join(got, " ") {
		t.Errorf("%s: %v, redis %v", p.tgt.name, got, want)
	}
	for _, cl := range []*Client{c.ref, c.tgt} {
		if r, err := cl.DoStrings("CONFIG", "RESETSTAT"); err != nil || string(r) != "+OK\r\n" {
			t.Fatalf("CONFIG RESETSTAT: %q %v", r, err)
		}
	}
	tgt, _ = c.tgt.DoStrings("INFO", "stats")
	if got := re.FindAllString(string(tgt), -1); strings.Join(got, " ") != "keyspace_hits:0 keyspace_misses:0" {
		t.Errorf("after CONFIG RESETSTAT: %v", got)
	}
}
