package command

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestGeoBasics(t *testing.T) {
	e := newTestEnv(t, 1)
	e.expect("GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania", ":2")
	e.expect("TYPE Sicily", "+zset")
	e.expect("ZSCORE Sicily Palermo", "3479099956230698")
	e.expect("GEOHASH Sicily Palermo Catania nosuch", "*3\r\n$11\r\nsqc8b49rny0\r\n$11\r\nsqdtr74hyu0\r\n$-1\r\n")
	e.expect("GEODIST Sicily Palermo Catania km", "166.2742")
	e.expect("GEODIST Sicily Palermo Catania", "166274.1516")
	e.expect("GEOPOS Sicily Palermo nosuch", "*2\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n*-1\r\n")
	e.expect("GEOADD Sicily 200 1 x", "-ERR invalid longitude,latitude pair 200.000000,1.000000")
	e.expect("GEOADD Sicily XX NX 1 1 x", "-ERR syntax error")
	e.expect("GEOADD Sicily XX 1 1 x", ":0")
	e.expect("GEOADD Sicily CH 1 1 Palermo", ":1")
	e.expect("GEORADIUS Sicily 15 37 200 km ASC", "*1\r\n$7\r\nCatania\r\n")
	e.expect("GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km WITHDIST", "*0")
	e.expect("GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHDIST WITHHASH",
		"*1\r\n*3\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n:3479447370796909\r\n")
	e.proto = 3
	e.expect("GEOPOS Sicily Catania nosuch", "*2\r\n*2\r\n,15.08726745843887329\r\n,37.50266842333162032\r\n_\r\n")
	e.expect("GEOSEARCH Sicily FROMMEMBER nosuch BYRADIUS 1 km", "-ERR could not decode requested zset member")
	e.expect("GEOSEARCH Sicily FROMMEMBER Catania BYRADIUS 1 km STOREDIST", "-ERR syntax error")
	e.expect("GeoSearch Sicily BYRADIUS 1 km ASC WITHDIST", "-ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for GeoSearch")
}

// TestGeoEffects checks that the effect of every geo write rebuilds the
// same data when replayed elsewhere.
func TestGeoEffects(t *testing.T) {
	a := newTestEnv(t, 3)
	b := newTestEnv(t, 2)
	r := rand.New(rand.NewPCG(9, 10))
	coord := func() (string, string) {
		return fmt.Sprintf("%.5f", 13+r.Float64()), fmt.Sprintf("%.5f", 38+r.Float64()/2)
	}
	for i := 0; i < 400; i++ {
		var cmd []string
		switch r.IntN(5) {
		case 0, 1:
			cmd = []string{"GEOADD", "g"}
			if r.IntN(4) == 0 {
				cmd = append(cmd, []string{"NX", "XX", "CH"}[r.IntN(3)])
			}
			for j := 1 + r.IntN(3); j > 0; j-- {
				lo, la := coord()
				cmd = append(cmd, lo, la, fmt.Sprintf("m%d", r.IntN(30)))
			}
		case 2:
			lo, la := coord()
			cmd = []string{"GEOSEARCHSTORE", fmt.Sprintf("d%d", r.IntN(3)), "g", "FROMLONLAT", lo, la, "BYRADIUS", fmt.Sprint(r.IntN(60)), "km"}
			if r.IntN(2) == 0 {
				cmd = append(cmd, "COUNT", fmt.Sprint(1+r.IntN(5)))
			}
			if r.IntN(2) == 0 {
				cmd = append(cmd, "STOREDIST")
			}
		case 3:
			lo, la := coord()
			cmd = []string{"GEORADIUS", "g", lo, la, fmt.Sprint(r.IntN(60)), "km", []string{"STORE", "STOREDIST"}[r.IntN(2)], fmt.Sprintf("d%d", r.IntN(3))}
		default:
			cmd = []string{"GEORADIUSBYMEMBER", "g", fmt.Sprintf("m%d", r.IntN(30)), fmt.Sprint(r.IntN(60)), "km", "STORE", fmt.Sprintf("d%d", r.IntN(3))}
		}
		if got := a.do(cmd...); strings.HasPrefix(got, "-") && !strings.Contains(got, "could not decode") {
			t.Fatalf("%q: %s", cmd, got)
		}
	}
	b.replay(t, a.log.B)
	for _, k := range []string{"g", "d0", "d1", "d2"} {
		ga, gb := a.do("ZRANGE", k, "0", "-1", "WITHSCORES"), b.do("ZRANGE", k, "0", "-1", "WITHSCORES")
		if ga != gb {
			t.Fatalf("%s after replay:\n%q\n%q", k, gb, ga)
		}
		if ea, eb := a.do("OBJECT", "ENCODING", k), b.do("OBJECT", "ENCODING", k); ea != eb {
			t.Fatalf("%s encoding after replay: %q vs %q", k, eb, ea)
		}
	}
}

func TestGeoNoopLogsNothing(t *testing.T) {
	e := newTestEnv(t, 1)
	e.expect("GEOADD g 1 1 a", ":1")
	e.log.Reset()
	e.expect("GEOADD g 1 1 a", ":0")
	e.expect("GEOADD g NX 2 2 a", ":0")
	e.expect("GEOADD g XX 2 2 b", ":0")
	e.expect("GEOSEARCHSTORE d g FROMLONLAT 50 50 BYRADIUS 1 km", ":0")
	if !e.log.Empty() {
		t.Fatalf("no-op writes logged %q", e.log.B)
	}
}

func TestGeoRadiusKeys(t *testing.T) {
	for _, c := range []struct {
		cmd  string
		want []int
	}{
		{"GEORADIUS k 1 2 3 km", []int{1}},
		{"GEORADIUS k 1 2 3 km STORE d", []int{1, 7}},
		{"GEORADIUS k 1 2 3 km STORE d STOREDIST e", []int{1, 9}},
		{"GEORADIUSBYMEMBER k m 3 km STOREDIST d", []int{1, 6}},
		{"GEORADIUS k 1 2 3 km STORE", []int{1}},
	} {
		got := georadiusKeys(argsOf(c.cmd), nil)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %v want %v", c.cmd, got, c.want)
		}
	}
}

func argsOf(s string) [][]byte {
	var out [][]byte
	for _, f := range strings.Fields(s) {
		out = append(out, []byte(f))
	}
	return out
}
