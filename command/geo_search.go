package command

import (
	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/datatypes/geo"
	"github.com/basaltdb/basalt/datatypes/zsets"
	"github.com/basaltdb/basalt/resp"
)

// Variants of georadiusGeneric.
const (
	geoByCoords    = 1 << iota // GEORADIUS: search around coordinates
	geoByMember                // GEORADIUSBYMEMBER: around a member
	geoNoStore                 // the _RO forms: no STORE/STOREDIST
	geoSearchCmd               // GEOSEARCH syntax
	geoSearchStore             // GEOSEARCHSTORE: destination first, STOREDIST flag
)

const (
	geoSortNone = iota
	geoSortAsc
	geoSortDesc
)

// geoPoint is one search result. member is a private copy.
type geoPoint struct {
	lon, lat, dist, score float64
	member                []byte
}

func geoCmpAsc(a, b *geoPoint) int {
	switch {
	case a.dist > b.dist:
		return 1
	case a.dist == b.dist:
		return 0
	}
	return -1
}

func geoCmpDesc(a, b *geoPoint) int { return -geoCmpAsc(a, b) }

// geoSearch is georadiusGeneric: GEORADIUS[_RO], GEORADIUSBYMEMBER[_RO],
// GEOSEARCH and GEOSEARCHSTORE, with Redis's argument order, error order
// and result order (boxes in Redis's order, members by score inside a
// box, then a stable sort by distance, or Redis's partial quicksort when
// COUNT cuts the result).
func geoSearch(c *Ctx, srcIdx int, flags int) {
	args := c.Args
	var storeKey []byte
	storeDist := false

	z, ok := zsetOf(c, c.Lookup(args[srcIdx]))
	if !ok {
		return
	}

	var baseArgs int
	var shape geo.Shape
	switch {
	case flags&geoByCoords != 0:
		baseArgs = 6
		shape.Type = geo.Circular
		lon, lat, ok := geoLongLat(c, args[2:])
		if !ok {
			return
		}
		shape.Long, shape.Lat = lon, lat
		if shape.Radius, shape.Conversion, ok = geoDistance(c, args[baseArgs-2:]); !ok {
			return
		}
	case flags&geoByMember != 0 && z == nil:
		// No source: parse the options anyway, so the reply matches the
		// STORE flag.
		baseArgs = 5
	case flags&geoByMember != 0:
		baseArgs = 5
		shape.Type = geo.Circular
		if !geoFromMember(c, z, args[2], &shape) {
			return
		}
		if shape.Radius, shape.Conversion, ok = geoDistance(c, args[baseArgs-2:]); !ok {
			return
		}
	default: // GEOSEARCH, GEOSEARCHSTORE
		baseArgs = 2
		if flags&geoSearchStore != 0 {
			baseArgs = 3
			storeKey = args[1]
		}
	}

	var withDist, withHash, withCoords, fromMember, fromLoc, byRadius, byBox, any bool
	sort := geoSortNone
	var count int64
	remaining := len(args) - baseArgs
	for i := 0; i < remaining; i++ {
		arg := args[baseArgs+i]
		switch {
		case datatypes.EqualFoldC(arg, "withdist"):
			withDist = true
		case datatypes.EqualFoldC(arg, "withhash"):
			withHash = true
		case datatypes.EqualFoldC(arg, "withcoord"):
			withCoords = true
		case datatypes.EqualFoldC(arg, "any"):
			any = true
		case datatypes.EqualFoldC(arg, "asc"):
			sort = geoSortAsc
		case datatypes.EqualFoldC(arg, "desc"):
			sort = geoSortDesc
		case datatypes.EqualFoldC(arg, "count") && i+1 < remaining:
			v, ok := intArg(c, args[baseArgs+i+1])
			if !ok {
				return
			}
			if v <= 0 {
				c.Out.Error("ERR COUNT must be > 0")
				return
			}
			count = v
			i++
		case datatypes.EqualFoldC(arg, "store") && i+1 < remaining && flags&(geoNoStore|geoSearchCmd) == 0:
			storeKey, storeDist = args[baseArgs+i+1], false
			i++
		case datatypes.EqualFoldC(arg, "storedist") && i+1 < remaining && flags&(geoNoStore|geoSearchCmd) == 0:
			storeKey, storeDist = args[baseArgs+i+1], true
			i++
		case datatypes.EqualFoldC(arg, "storedist") && flags&geoSearchCmd != 0 && flags&geoSearchStore != 0:
			storeDist = true
		case datatypes.EqualFoldC(arg, "frommember") && i+1 < remaining && flags&geoSearchCmd != 0 && !fromLoc:
			if z != nil && !geoFromMember(c, z, args[baseArgs+i+1], &shape) {
				return
			}
			fromMember = true
			i++
		case datatypes.EqualFoldC(arg, "fromlonlat") && i+2 < remaining && flags&geoSearchCmd != 0 && !fromMember:
			lon, lat, ok := geoLongLat(c, args[baseArgs+i+1:])
			if !ok {
				return
			}
			shape.Long, shape.Lat = lon, lat
			fromLoc = true
			i += 2
		case datatypes.EqualFoldC(arg, "byradius") && i+2 < remaining && flags&geoSearchCmd != 0 && !byBox:
			if shape.Radius, shape.Conversion, ok = geoDistance(c, args[baseArgs+i+1:]); !ok {
				return
			}
			shape.Type = geo.Circular
			byRadius = true
			i += 2
		case datatypes.EqualFoldC(arg, "bybox") && i+3 < remaining && flags&geoSearchCmd != 0 && !byRadius:
			if shape.Width, shape.Height, shape.Conversion, ok = geoBox(c, args[baseArgs+i+1:]); !ok {
				return
			}
			shape.Type = geo.Rectangle
			byBox = true
			i += 3
		default:
			c.Out.Error(ErrSyntax)
			return
		}
	}

	if storeKey != nil && (withDist || withHash || withCoords) {
		what := "STORE option in GEORADIUS"
		if flags&geoSearchStore != 0 {
			what = "GEOSEARCHSTORE"
		}
		c.Out.Error("ERR " + what + " is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
		return
	}
	if flags&geoSearchCmd != 0 && !(fromMember || fromLoc) {
		c.Out.Error("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for " + string(datatypes.CString(args[0])))
		return
	}
	if flags&geoSearchCmd != 0 && !(byRadius || byBox) {
		c.Out.Error("ERR exactly one of BYRADIUS and BYBOX can be specified for " + string(datatypes.CString(args[0])))
		return
	}
	if any && count == 0 {
		c.Out.Error("ERR the ANY argument requires COUNT argument")
		return
	}

	if z == nil {
		if storeKey != nil {
			sh := c.Shard(storeKey)
			if sh.Lookup(c.DB, storeKey, c.Now) != nil {
				sh.Delete(c.DB, storeKey)
				c.Effect([]byte("DEL"), storeKey)
				c.ModifiedNotify(NotifyGeneric, "del", storeKey)
			}
			c.Out.Int(0)
		} else {
			c.Out.ArrayLen(0)
		}
		return
	}

	// COUNT without an order means the nearest ones (not with ANY).
	if count != 0 && sort == geoSortNone && !any {
		sort = geoSortAsc
	}
	var limit int64
	if any {
		limit = count
	}
	pts := geoCollect(z, &shape, limit)

	if len(pts) == 0 && storeKey == nil {
		c.Out.ArrayLen(0)
		return
	}
	returned := len(pts)
	if count != 0 && int64(returned) > count {
		returned = int(count)
	}
	if sort != geoSortNone {
		cmp := geoCmpAsc
		if sort == geoSortDesc {
			cmp = geoCmpDesc
		}
		if returned == len(pts) {
			geo.Sort(pts, cmp)
		} else {
			geo.PQSort(pts, cmp, 0, returned-1)
		}
	}
	pts = pts[:returned]

	if storeKey == nil {
		geoReply(c.Out, pts, shape.Conversion, withDist, withHash, withCoords)
		return
	}
	event := "georadiusstore"
	if flags&geoSearchStore != 0 {
		event = "geosearchstore"
	}
	geoStore(c, storeKey, pts, shape.Conversion, storeDist, event)
}

// geoFromMember sets the shape's center to member's position, or replies
// "could not decode requested zset member".
func geoFromMember(c *Ctx, z *zsets.ZSet, member []byte, shape *geo.Shape) bool {
	if score, ok := z.Score(member); ok {
		if lon, lat, ok := geo.DecodeScore(score); ok {
			shape.Long, shape.Lat = lon, lat
			return true
		}
	}
	c.Out.Error("ERR could not decode requested zset member")
	return false
}

// geoCollect is membersOfAllNeighbors: the members inside the shape, box
// by box in Redis's order (a box equal to the one searched just before
// is skipped), each box in score order; with limit > 0 it stops once it
// has that many (ANY).
func geoCollect(z *zsets.ZSet, shape *geo.Shape, limit int64) []geoPoint {
	rad := shape.Areas()
	boxes := rad.Boxes()
	var pts []geoPoint
	last := -1
	for i, b := range boxes {
		if b.IsZero() {
			continue
		}
		// Huge radii can make neighbours coincide.
		if last > 0 && b == boxes[last] {
			continue
		}
		if limit > 0 && int64(len(pts)) >= limit {
			break
		}
		lo, hi := geo.ScoresOfBox(b)
		z.RangeByScore(float64(lo), float64(hi), false, true, func(m []byte, score float64) bool {
			if lon, lat, dist, ok := shape.Within(score); ok {
				pts = append(pts, geoPoint{lon: lon, lat: lat, dist: dist, score: score,
					member: append([]byte(nil), m...)})
			}
			return !(limit > 0 && int64(len(pts)) >= limit)
		})
		last = i
	}
	return pts
}

// geoReply writes the search results as Redis does: bare members, or per
// member an array of the member and the requested extras in the order
// distance, hash, coordinates.
func geoReply(w *resp.Writer, pts []geoPoint, conv float64, withDist, withHash, withCoords bool) {
	opts := 0
	for _, f := range [...]bool{withDist, withHash, withCoords} {
		if f {
			opts++
		}
	}
	w.ArrayLen(len(pts))
	for i := range pts {
		p := &pts[i]
		if opts > 0 {
			w.ArrayLen(opts + 1)
		}
		w.Bulk(p.member)
		if withDist {
			appendDistanceReply(w, p.dist/conv)
		}
		if withHash {
			w.Int(int64(p.score))
		}
		if withCoords {
			w.ArrayLen(2)
			appendCoordReply(w, p.lon)
			appendCoordReply(w, p.lat)
		}
	}
}

// geoStore writes the results as a sorted set at dst (scores: the
// geohashes, or with STOREDIST the distances in the unit), replacing
// what was there and its TTL; an empty result deletes dst. It replies the
// number stored.
func geoStore(c *Ctx, dst []byte, pts []geoPoint, conv float64, storeDist bool, event string) {
	sh := c.Shard(dst)
	existed := sh.Lookup(c.DB, dst, c.Now) != nil
	if len(pts) == 0 {
		if existed {
			sh.Delete(c.DB, dst)
			c.Effect([]byte("DEL"), dst)
			c.ModifiedNotify(NotifyGeneric, "del", dst)
		}
		c.Out.Int(0)
		return
	}
	z := zsets.New()
	effect := make([][]byte, 0, 2+2*len(pts))
	effect = append(effect, []byte("ZADD"), dst)
	for i := range pts {
		p := &pts[i]
		score := p.score
		if storeDist {
			score = p.dist / conv
		}
		z.Add(p.member, score, c.Limits)
		effect = append(effect, resp.AppendDouble(nil, score), p.member)
	}
	zsetStore(c, dst, z, event)
	if existed {
		c.Effect([]byte("DEL"), dst)
	}
	c.Effect(effect...)
	c.Out.Int(int64(len(pts)))
}
