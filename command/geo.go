package command

import (
	"math"
	"strconv"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/datatypes/geo"
	"github.com/basaltdb/basalt/datatypes/zsets"
	"github.com/basaltdb/basalt/keyspace"
	"github.com/basaltdb/basalt/resp"
)

// geoSpecs returns the specs of the geo commands (Redis's geo.c). A geo
// key is a sorted set whose scores are 52-bit geohashes (TYPE says zset).
//
// Effects: GEOADD is recorded as the ZADD Redis itself rewrites it into,
// restricted to the members it added or moved (ZADD key score member ...,
// scores are integers below 2^52, exact in any replay); a GEOADD that
// changed nothing records nothing. GEORADIUS/GEORADIUSBYMEMBER ... STORE
// and GEOSEARCHSTORE record their result, not the search: DEL dst (when it
// existed) then ZADD dst score member ... with scores written in %.17g
// (round-trip exact), or DEL dst alone when the result is empty; the two
// records replay all or nothing (the loop wraps a command's records).
func geoSpecs() []*Spec {
	key1 := func(name string, arity int, flags Flags, run Handler) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Scope: ScopeKeys,
			FirstKey: 1, LastKey: 1, Step: 1, Run: run}
	}
	return []*Spec{
		key1("geoadd", -5, FlagWrite, cmdGeoAdd),
		key1("geodist", -4, FlagReadOnly, cmdGeoDist),
		key1("geohash", -2, FlagReadOnly, cmdGeoHash),
		key1("geopos", -2, FlagReadOnly, cmdGeoPos),
		{Name: "georadius", Arity: -6, Flags: FlagWrite | FlagReadsKeys, Scope: ScopeKeys,
			KeysFunc: georadiusKeys, Run: func(c *Ctx) { geoSearch(c, 1, geoByCoords) }},
		{Name: "georadiusbymember", Arity: -5, Flags: FlagWrite | FlagReadsKeys, Scope: ScopeKeys,
			KeysFunc: georadiusKeys, Run: func(c *Ctx) { geoSearch(c, 1, geoByMember) }},
		key1("georadius_ro", -6, FlagReadOnly, func(c *Ctx) { geoSearch(c, 1, geoByCoords|geoNoStore) }),
		key1("georadiusbymember_ro", -5, FlagReadOnly, func(c *Ctx) { geoSearch(c, 1, geoByMember|geoNoStore) }),
		key1("geosearch", -7, FlagReadOnly, func(c *Ctx) { geoSearch(c, 1, geoSearchCmd) }),
		{Name: "geosearchstore", Arity: -8, Flags: FlagWrite | FlagReadsKeys, Scope: ScopeKeys,
			FirstKey: 1, LastKey: 2, Step: 1, Run: func(c *Ctx) { geoSearch(c, 2, geoSearchCmd|geoSearchStore) }},
	}
}

// georadiusKeys declares GEORADIUS's and GEORADIUSBYMEMBER's keys as
// Redis's georadiusGetKeys: the source, and the argument after the last
// STORE or STOREDIST word from position 5 on. Whenever the handler's own
// parse succeeds it settles on that same argument (the words it skips
// besides a STORE's key are COUNT's integers), and it touches the
// destination only then.
func georadiusKeys(args [][]byte, dst []int) []int {
	dst = append(dst, 1)
	stored := -1
	for i := 5; i < len(args); i++ {
		if (datatypes.EqualFoldC(args[i], "store") || datatypes.EqualFoldC(args[i], "storedist")) && i+1 < len(args) {
			stored = i + 1
			i++
		}
	}
	if stored >= 0 {
		dst = append(dst, stored)
	}
	return dst
}

// appendCFloat appends f as C's printf("%f").
func appendCFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	case math.IsNaN(f):
		return append(dst, "nan"...)
	}
	return strconv.AppendFloat(dst, f, 'f', 6, 64)
}

// geoLongLat is extractLongLatOrReply: a longitude and a latitude, each a
// valid float and inside Redis's limits.
func geoLongLat(c *Ctx, args [][]byte) (lon, lat float64, ok bool) {
	var xy [2]float64
	for i := range xy {
		v, ok := datatypes.ParseFloat(args[i])
		if !ok {
			c.Out.Error(ErrNotFloat)
			return 0, 0, false
		}
		xy[i] = v
	}
	if xy[0] < geo.LongMin || xy[0] > geo.LongMax || xy[1] < geo.LatMin || xy[1] > geo.LatMax {
		var buf [96]byte
		msg := append(buf[:0], "ERR invalid longitude,latitude pair "...)
		msg = appendCFloat(msg, xy[0])
		msg = append(msg, ',')
		msg = appendCFloat(msg, xy[1])
		c.Out.Error(string(msg))
		return 0, 0, false
	}
	return xy[0], xy[1], true
}

// geoUnit is extractUnitOrReply: meters per unit, or -1 after replying.
func geoUnit(c *Ctx, arg []byte) float64 {
	switch {
	case datatypes.EqualFoldC(arg, "m"):
		return 1
	case datatypes.EqualFoldC(arg, "km"):
		return 1000
	case datatypes.EqualFoldC(arg, "ft"):
		return 0.3048
	case datatypes.EqualFoldC(arg, "mi"):
		return 1609.34
	}
	c.Out.Error("ERR unsupported unit provided. please use M, KM, FT, MI")
	return -1
}

// geoFloat is getDoubleFromObjectOrReply with a custom message.
func geoFloat(c *Ctx, arg []byte, msg string) (float64, bool) {
	v, ok := datatypes.ParseFloat(arg)
	if !ok {
		c.Out.Error(msg)
	}
	return v, ok
}

// geoDistance is extractDistanceOrReply: <radius> <unit>.
func geoDistance(c *Ctx, args [][]byte) (radius, conv float64, ok bool) {
	radius, ok = geoFloat(c, args[0], "ERR need numeric radius")
	if !ok {
		return 0, 0, false
	}
	if radius < 0 {
		c.Out.Error("ERR radius cannot be negative")
		return 0, 0, false
	}
	if conv = geoUnit(c, args[1]); conv < 0 {
		return 0, 0, false
	}
	return radius, conv, true
}

// geoBox is extractBoxOrReply: <width> <height> <unit>.
func geoBox(c *Ctx, args [][]byte) (width, height, conv float64, ok bool) {
	if width, ok = geoFloat(c, args[0], "ERR need numeric width"); !ok {
		return
	}
	if height, ok = geoFloat(c, args[1], "ERR need numeric height"); !ok {
		return
	}
	if height < 0 || width < 0 {
		c.Out.Error("ERR height or width cannot be negative")
		return 0, 0, 0, false
	}
	if conv = geoUnit(c, args[2]); conv < 0 {
		return 0, 0, 0, false
	}
	return width, height, conv, true
}

// cmdGeoAdd is GEOADD key [NX|XX] [CH] lon lat member [...]: Redis turns
// it into ZADD key [flags] score member ... after checking every pair.
func cmdGeoAdd(c *Ctx) {
	args := c.Args
	var nx, xx, ch bool
	longIdx := 2
	for ; longIdx < len(args); longIdx++ {
		switch a := args[longIdx]; {
		case datatypes.EqualFoldC(a, "nx"):
			nx = true
		case datatypes.EqualFoldC(a, "xx"):
			xx = true
		case datatypes.EqualFoldC(a, "ch"):
			ch = true
		default:
			goto parsed
		}
	}
parsed:
	if (len(args)-longIdx)%3 != 0 || (xx && nx) {
		c.Out.Error(ErrSyntax)
		return
	}
	n := (len(args) - longIdx) / 3
	var stack [16]uint64
	scores := stack[:0]
	for i := 0; i < n; i++ {
		lon, lat, ok := geoLongLat(c, args[longIdx+i*3:])
		if !ok {
			return
		}
		s, _ := geo.EncodeScore(lon, lat)
		scores = append(scores, s)
	}
	key := args[1]
	z, ok := zsetOf(c, c.Lookup(key))
	if !ok {
		return
	}
	sh := c.Shard(key)
	if z == nil {
		if xx {
			c.Out.Int(0)
			return
		}
		z = zsets.NewFor(c.Limits, args[longIdx+2])
		e, _ := c.upsert(sh, key)
		e.Kind, e.Str, e.Obj = keyspace.KindZSet, nil, z
	}
	var added, updated int64
	var effect [][]byte
	var num [24]byte
	for i, s := range scores {
		member := args[longIdx+i*3+2]
		score := float64(s)
		old, exists := z.Score(member)
		switch {
		case exists && nx, !exists && xx:
			continue
		case exists:
			if old == score {
				continue
			}
			updated++
		default:
			added++
		}
		z.Add(member, score, c.Limits)
		if effect == nil {
			effect = append(make([][]byte, 0, 2+2*(n-i)), []byte("ZADD"), key)
		}
		effect = append(effect, append([]byte(nil), strconv.AppendUint(num[:0], s, 10)...), member)
	}
	if z.Len() == 0 {
		// Only a new key under NX/XX rules can end empty; Redis deletes it.
		sh.Delete(c.DB, key)
	}
	if effect != nil {
		c.Effect(effect...)
	}
	if added+updated > 0 {
		// GEOADD runs as ZADD in Redis: its event is "zadd".
		c.ModifiedNotify(NotifyZset, "zadd", key)
	}
	if ch {
		c.Out.Int(added + updated)
	} else {
		c.Out.Int(added)
	}
}

// appendDistanceReply writes a distance as addReplyDoubleDistance: a bulk
// string with 4 decimals, in both protocols.
func appendDistanceReply(w *resp.Writer, d float64) {
	var buf [64]byte
	w.Bulk(geo.AppendDistance(buf[:0], d))
}

// appendCoordReply writes a coordinate as addReplyHumanLongDouble: a bulk
// string in RESP2, a double in RESP3.
func appendCoordReply(w *resp.Writer, f float64) {
	var buf [64]byte
	s := geo.AppendCoord(buf[:0], f)
	if w.Proto >= 3 {
		w.B = append(w.B, ',')
		w.B = append(w.B, s...)
		w.B = append(w.B, '\r', '\n')
		return
	}
	w.Bulk(s)
}

// cmdGeoDist is GEODIST key member1 member2 [unit].
func cmdGeoDist(c *Ctx) {
	toMeter := 1.0
	if len(c.Args) == 5 {
		if toMeter = geoUnit(c, c.Args[4]); toMeter < 0 {
			return
		}
	} else if len(c.Args) > 5 {
		c.Out.Error(ErrSyntax)
		return
	}
	e := c.Lookup(c.Args[1])
	if e == nil {
		c.Out.Null()
		return
	}
	z, ok := zsetOf(c, e)
	if !ok {
		return
	}
	s1, ok1 := z.Score(c.Args[2])
	s2, ok2 := z.Score(c.Args[3])
	if !ok1 || !ok2 {
		c.Out.Null()
		return
	}
	lon1, lat1, ok1 := geo.DecodeScore(s1)
	lon2, lat2, ok2 := geo.DecodeScore(s2)
	if !ok1 || !ok2 {
		c.Out.Null()
		return
	}
	appendDistanceReply(c.Out, geo.Distance(lon1, lat1, lon2, lat2)/toMeter)
}

// cmdGeoHash is GEOHASH key member...: 11-character standard geohashes,
// null for missing members.
func cmdGeoHash(c *Ctx) {
	z, ok := zsetOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	c.Out.ArrayLen(len(c.Args) - 2)
	var buf [16]byte
	for _, m := range c.Args[2:] {
		score, found := zsetScore(z, m)
		if !found {
			c.Out.Null()
			continue
		}
		h, ok := geo.AppendHashString(buf[:0], score)
		if !ok {
			c.Out.Null()
			continue
		}
		c.Out.Bulk(h)
	}
}

// cmdGeoPos is GEOPOS key member...: [lon, lat] pairs, null arrays for
// missing members.
func cmdGeoPos(c *Ctx) {
	z, ok := zsetOf(c, c.Lookup(c.Args[1]))
	if !ok {
		return
	}
	c.Out.ArrayLen(len(c.Args) - 2)
	for _, m := range c.Args[2:] {
		score, found := zsetScore(z, m)
		if !found {
			c.Out.NullArray()
			continue
		}
		lon, lat, ok := geo.DecodeScore(score)
		if !ok {
			c.Out.NullArray()
			continue
		}
		c.Out.ArrayLen(2)
		appendCoordReply(c.Out, lon)
		appendCoordReply(c.Out, lat)
	}
}
