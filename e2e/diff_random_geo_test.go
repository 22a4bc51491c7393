package e2e

import (
	"strconv"
	"testing"
)

// TestDiffRandomGeo sends random geo commands (GEOADD, GEOPOS, GEOHASH,
// GEODIST, GEOSEARCH[STORE], GEORADIUS[BYMEMBER][_RO]) over a few keys,
// with points clustered so searches find several members, ties of equal
// positions, searches near the poles and the antimeridian, invalid
// arguments, and wrong-type keys (strings, and plain sorted sets with
// arbitrary scores), and compares every reply with redis-server. Stored
// distances (STOREDIST) are not read back at full precision: Basalt's
// sin/cos/asin are correctly rounded and glibc's are not always (about 2
// results in 1000 differ in the last bit).
func TestDiffRandomGeo(t *testing.T) {
	seeds, n := randomSeeds(t, []uint64{1, 2, 3, 4}, 2000)
	runRandom(t, seeds, n, func(g *gen) ([][]byte, Compare) { return g.geo() })
}

// geoKey is one of a few geo keys, sometimes a string key.
func (g *gen) geoKey() string {
	if g.chance(3) {
		return g.pick("str", "nokey")
	}
	return "g" + strconv.Itoa(g.r.IntN(3))
}

// geoMember draws from a small member space so commands collide.
func (g *gen) geoMember() string {
	if g.chance(3) {
		return g.pick("", "\x00m", "nosuch")
	}
	return "m" + strconv.Itoa(g.r.IntN(40))
}

// geoCenters are the clusters points gather around.
func geoCenters() [][2]float64 {
	return [][2]float64{{13.36, 38.11}, {0, 0}, {179.9, 84.9}, {-179.9, -84.9}, {-73.98, 40.74}, {179.99, 0}}
}

// geoLonLat is a longitude and a latitude: usually near a cluster center,
// sometimes a repeated exact position (distance ties), sometimes invalid.
func (g *gen) geoLonLat() (string, string) {
	switch g.r.IntN(20) {
	case 0:
		return g.pick("181", "-180.5", "abc", "inf", "", "0"), g.pick("86", "-85.06", "x", "0", "nan")
	case 1, 2:
		return g.pick("10", "-10", "180", "-180"), g.pick("10", "-10", "85.05112878", "-85.05112878")
	}
	cs := geoCenters()
	c := cs[g.r.IntN(len(cs))]
	spread := []float64{0.001, 0.05, 1, 10}[g.r.IntN(4)]
	lon := c[0] + (g.r.Float64()-0.5)*spread*2
	lat := c[1] + (g.r.Float64()-0.5)*spread
	lon = min(max(lon, -180), 180)
	lat = min(max(lat, -85.05), 85.05)
	return strconv.FormatFloat(lon, 'f', g.r.IntN(8), 64), strconv.FormatFloat(lat, 'f', g.r.IntN(8), 64)
}

func (g *gen) geoUnit() string {
	if g.chance(3) {
		return g.pick("furlong", "", "M ")
	}
	return g.pick("m", "km", "mi", "ft", "KM", "M")
}

func (g *gen) geoRadius() string {
	if g.chance(3) {
		return g.pick("-1", "abc", "inf", "0")
	}
	return strconv.FormatFloat(g.r.Float64()*float64([]int{100, 5000, 500000, 3000000}[g.r.IntN(4)]), 'f', g.r.IntN(4), 64)
}

// geoOptions appends GEORADIUS-style options in random order.
func (g *gen) geoOptions(args []string, search, store bool) []string {
	for i := g.r.IntN(4); i > 0; i-- {
		switch g.r.IntN(9) {
		case 0:
			if !store {
				args = append(args, "WITHDIST")
			}
		case 1:
			if !store {
				args = append(args, "WITHCOORD")
			}
		case 2:
			if !store {
				args = append(args, "WITHHASH")
			}
		case 3:
			args = append(args, g.pick("ASC", "DESC"))
		case 4, 5:
			args = append(args, "COUNT", g.pick("1", "2", "3", "5", "8", "20", "0", "x"))
			if g.chance(30) {
				args = append(args, "ANY")
			}
		case 6:
			if !search && g.chance(30) {
				args = append(args, g.pick("STORE", "STOREDIST"), "dst")
			}
		case 7:
			if g.chance(10) {
				args = append(args, g.pick("ANY", "FOO", "STORE"))
			}
		}
	}
	return args
}

// geo returns a random geo command.
func (g *gen) geo() ([][]byte, Compare) {
	exact := Compare{}
	k := g.geoKey()
	switch g.r.IntN(24) {
	case 0, 1, 2, 3, 4, 5:
		args := []string{"GEOADD", k}
		if g.chance(20) {
			args = append(args, g.pick("NX", "XX", "CH", "NX", "CH"))
		}
		for i := 1 + g.r.IntN(4); i > 0; i-- {
			lon, lat := g.geoLonLat()
			args = append(args, lon, lat, g.geoMember())
		}
		return bs(args...), exact
	case 6:
		args := []string{"GEOPOS", k}
		for i := 1 + g.r.IntN(3); i > 0; i-- {
			args = append(args, g.geoMember())
		}
		return bs(args...), exact
	case 7:
		args := []string{"GEOHASH", k}
		for i := 1 + g.r.IntN(3); i > 0; i-- {
			args = append(args, g.geoMember())
		}
		return bs(args...), exact
	case 8, 9:
		args := []string{"GEODIST", k, g.geoMember(), g.geoMember()}
		if g.chance(70) {
			args = append(args, g.geoUnit())
		}
		return bs(args...), exact
	case 10, 11, 12, 13, 14:
		args := []string{"GEOSEARCH", k}
		store := false
		if g.chance(25) {
			args = []string{"GEOSEARCHSTORE", g.pick("dst", "g1", "str"), k}
			store = true
		}
		if g.chance(50) {
			args = append(args, "FROMMEMBER", g.geoMember())
		} else {
			lon, lat := g.geoLonLat()
			args = append(args, "FROMLONLAT", lon, lat)
		}
		if g.chance(50) {
			args = append(args, "BYRADIUS", g.geoRadius(), g.geoUnit())
		} else {
			args = append(args, "BYBOX", g.geoRadius(), g.geoRadius(), g.geoUnit())
		}
		args = g.geoOptions(args, true, store)
		if store && g.chance(30) {
			args = append(args, "STOREDIST")
		}
		return bs(args...), exact
	case 15, 16, 17:
		lon, lat := g.geoLonLat()
		name := g.pick("GEORADIUS", "GEORADIUS_RO")
		args := []string{name, k, lon, lat, g.geoRadius(), g.geoUnit()}
		return bs(g.geoOptions(args, name != "GEORADIUS", false)...), exact
	case 18, 19:
		name := g.pick("GEORADIUSBYMEMBER", "GEORADIUSBYMEMBER_RO")
		args := []string{name, k, g.geoMember(), g.geoRadius(), g.geoUnit()}
		return bs(g.geoOptions(args, name != "GEORADIUSBYMEMBER", false)...), exact
	case 20:
		// A plain sorted set member with any score, decoded as a position.
		return bs("ZADD", k, g.pick("0", "1", "-1", "4503599627370495", "4503599627370496", "1e20", "3.5", "inf"), g.geoMember()), exact
	case 21:
		return bs("SET", "str", "v"), exact
	case 22:
		// Members only: STOREDIST scores are distances, whose last bit
		// may differ from glibc's (see geo.Distance); the geohash scores
		// show in GEOSEARCH ... WITHHASH.
		return bs("ZRANGE", g.pick("dst", "g0", "g1"), "0", "-1"), exact
	default:
		return bs(g.pick("DEL", "EXISTS", "TYPE"), g.pick("g0", "g1", "g2", "dst")), exact
	}
}
