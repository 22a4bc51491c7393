package command

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestSortStrtod(t *testing.T) {
	// Validity as SORT sees it, checked against redis-server 7.0.15.
	for _, c := range []struct {
		in string
		v  float64
		ok bool
	}{
		{"5", 5, true}, {" 5", 5, true}, {"5 ", 0, false}, {"", 0, true}, {"   ", 0, false},
		{"0x1A", 26, true}, {"0x", 0, false}, {"0x.8p1", 1, true}, {"infinity", 0, true},
		{"-inf", 0, true}, {"nan", 0, false}, {"1e400", 0, false}, {"1e-400", 0, false},
		{"1e-310", 0, false}, {"4.9e-324", 0, false}, {"2.2250738585072011e-308", 0, false},
		{"2.2250738585072014e-308", 2.2250738585072014e-308, true}, {".5", 0.5, true},
		{"5.", 5, true}, {".", 0, false}, {"1e", 0, false}, {"1e+", 0, false}, {"+.e1", 0, false},
		{"5\x00abc", 5, true}, {"-0", 0, true}, {"1E3", 1000, true}, {"inf x", 0, false},
	} {
		v, ok := sortStrtod([]byte(c.in))
		if ok != c.ok || (ok && c.v != 0 && v != c.v) {
			t.Errorf("sortStrtod(%q) = %v, %v want %v, %v", c.in, v, ok, c.v, c.ok)
		}
	}
}

func TestSortKeys(t *testing.T) {
	for _, c := range []struct {
		cmd  string
		want []int
	}{
		{"SORT l", []int{1}},
		{"SORT l STORE d", []int{1, 3}},
		{"SORT l BY store GET store STORE d LIMIT 0 1", []int{1, 7}},
		{"SORT l LIMIT store store STORE x", []int{1, 6}},
		{"SORT l STORE a STORE b", []int{1, 5}},
	} {
		if got := sortKeys(argsOf(c.cmd), nil); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v want %v", c.cmd, got, c.want)
		}
	}
}

// TestSortEffects checks that SORT ... STORE's effect rebuilds the same
// destination elsewhere, and that reads log nothing.
func TestSortEffects(t *testing.T) {
	a := newTestEnv(t, 3)
	b := newTestEnv(t, 1)
	a.do("RPUSH", "l", "3", "1", "2")
	a.do("MSET", "w_1", "9", "w_2", "5", "o_3", "three")
	a.do("SET", "d2", "x")
	for _, cmd := range [][]string{
		{"SORT", "l", "STORE", "d"},
		{"SORT", "l", "BY", "w_*", "GET", "o_*", "GET", "#", "STORE", "d2"},
		{"SORT", "l", "LIMIT", "0", "0", "STORE", "d3"},
		{"SORT", "l", "DESC", "STORE", "l"},
	} {
		a.do(cmd...)
	}
	b.replay(t, a.log.B)
	for _, k := range []string{"l", "d", "d2", "d3"} {
		if ga, gb := a.do("LRANGE", k, "0", "-1"), b.do("LRANGE", k, "0", "-1"); ga != gb {
			t.Fatalf("%s after replay: %q want %q", k, gb, ga)
		}
	}
	a.log.Reset()
	a.do("SORT", "l", "BY", "w_*", "GET", "o_*")
	a.do("SORT_RO", "l")
	a.do("SORT", "nokey", "STORE", "nothere")
	if !a.log.Empty() {
		t.Fatalf("reads logged %q", a.log.B)
	}
}

// TestOracleSort compares random SORT commands, with weights and GET
// values spread over several shards, against redis-server.
func TestOracleSort(t *testing.T) {
	o := dialOracle(t)
	e := newTestEnv(t, 3)
	r := rand.New(rand.NewPCG(11, 12))
	// No weight overflows or underflows: Redis 7.0 does not clear errno
	// before strtod, so one ERANGE fails every later numeric SORT on the
	// connection (sort.txt covers ERANGE once per connection).
	both := func(args ...string) (string, string) { return e.do(args...), o.do(args...) }
	val := func() string {
		switch r.IntN(8) {
		case 0:
			return pick(r, []string{"", " 1", "1 ", "0x10", "inf", "-inf", "nan", "a", "b", "B", "ab", "\x00", "a\x00b", "\xff"})
		case 1:
			return strconv.FormatFloat(r.NormFloat64()*100, 'g', -1, 64)
		default:
			return strconv.Itoa(r.IntN(12) - 3)
		}
	}
	for i := 0; i < 4000; i++ {
		switch r.IntN(10) {
		case 0:
			cmd := []string{pick(r, []string{"RPUSH", "SADD", "LPUSH"}), pick(r, []string{"l", "s", "m"})}
			for j := r.IntN(8); j >= 0; j-- {
				cmd = append(cmd, val())
			}
			both(cmd...)
			continue
		case 1:
			both("ZADD", "z", strconv.Itoa(r.IntN(5)), val())
			continue
		case 2:
			both("SET", "w_"+val(), val())
			continue
		case 3:
			both("HSET", "h_"+val(), pick(r, []string{"f", "g"}), val())
			continue
		case 4:
			if r.IntN(10) == 0 {
				both("DEL", pick(r, []string{"l", "s", "z", "m", "d"}))
			}
			continue
		}
		cmd := []string{pick(r, []string{"SORT", "SORT", "SORT_RO"}), pick(r, []string{"l", "l", "m", "z", "s", "nokey", "w_1"})}
		for j := r.IntN(5); j > 0; j-- {
			switch r.IntN(9) {
			case 0:
				cmd = append(cmd, pick(r, []string{"ASC", "DESC"}))
			case 1:
				cmd = append(cmd, "ALPHA")
			case 2:
				cmd = append(cmd, "LIMIT", strconv.Itoa(r.IntN(8)-2), strconv.Itoa(r.IntN(8)-2))
			case 3, 4:
				cmd = append(cmd, "BY", pick(r, []string{"w_*", "h_*->f", "nosort", "w_*->f", "h_*->g"}))
			case 5, 6:
				cmd = append(cmd, "GET", pick(r, []string{"#", "w_*", "h_*->f", "h_*->g", "x"}))
			case 7:
				if cmd[0] == "SORT" {
					cmd = append(cmd, "STORE", "d")
				}
			default:
				cmd = append(cmd, pick(r, []string{"FOO", "LIMIT", "GET"}))
			}
		}
		// Sets in the hashtable encoding and sorted sets have no order
		// Basalt shares with Redis: compare where the order is defined.
		got, want := e.do(cmd...), o.do(cmd...)
		if sortOrderFree(cmd, o) {
			both("DEL", "d") // may hold a different (equally valid) order
			continue
		}
		if got != want {
			t.Fatalf("%q\n got  %q\n want %q\n (key %q / %q)", cmd, got, want, e.do("ZRANGE", cmd[1], "0", "-1"), o.do("ZRANGE", cmd[1], "0", "-1"))
		}
		if cmd[len(cmd)-2] == "STORE" {
			if got, want := both("LRANGE", "d", "0", "-1"); got != want {
				t.Fatalf("%q stored\n got  %q\n want %q", cmd, got, want)
			}
		}
	}
}

// sortOrderFree reports whether Redis's reply to cmd depends on its hash
// table order: BY nosort over a hashtable set without STORE, ALPHA with a
// BY pattern (equal or missing weights), or ALPHA without STORE (ties of
// texts equal up to a NUL) over a set or sorted set.
func sortOrderFree(cmd []string, o *oracleConn) bool {
	key := cmd[1]
	typ := o.do("TYPE", key)
	if typ != "+set\r\n" && typ != "+zset\r\n" {
		return false
	}
	byPattern, byConst := false, false
	for i, a := range cmd {
		if a == "BY" && i+1 < len(cmd) {
			byPattern = strings.Contains(cmd[i+1], "*")
			byConst = byConst || !byPattern // sticky, as in Redis
		}
	}
	if byPattern && slices.Contains(cmd, "ALPHA") {
		return true
	}
	// ALPHA without STORE compares with strcoll, up to the first NUL:
	// "a" and "a\x00b" tie, and keep the table order.
	if slices.Contains(cmd, "ALPHA") && !slices.Contains(cmd, "STORE") {
		return true
	}
	return typ == "+set\r\n" && byConst && !slices.Contains(cmd, "STORE") &&
		o.do("OBJECT", "ENCODING", key) != "$6\r\nintset\r\n"
}

func TestSortScope(t *testing.T) {
	for _, tc := range []struct {
		args string
		want Scope
	}{
		{"SORT k", ScopeKeys},
		{"SORT k ALPHA DESC LIMIT 0 5 STORE dst", ScopeKeys},
		{"SORT k BY nosort GET #", ScopeKeys},
		{"SORT k BY w_*", ScopeAll},
		{"SORT k GET # GET h_*->f", ScopeAll},
		{"SORT_RO k GET o_*", ScopeAll},
		{"SORT *", ScopeKeys}, // the sorted key itself is routed by its slot
	} {
		var args [][]byte
		for _, a := range strings.Fields(tc.args) {
			args = append(args, []byte(a))
		}
		if got := sortScope(args); got != tc.want {
			t.Errorf("%s: scope %d, want %d", tc.args, got, tc.want)
		}
	}
}
