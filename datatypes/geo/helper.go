package geo

import "math"

// Earth model of geohash_helper.c.
const (
	// EarthRadius is EARTH_RADIUS_IN_METERS, the quadratic mean radius
	// for WGS-84 Redis uses for every distance.
	EarthRadius = 6372797.560856
	mercatorMax = 20037726.37
)

// Products are wrapped in float64() where C rounds them before an add:
// the Go spec lets the compiler fuse x*y+z otherwise, which would change
// the last bits and so Redis's replies.

// dR is D_R (M_PI / 180.0) as C computes it: the double nearest pi,
// divided in double arithmetic.
func dR() float64 {
	pi := math.Pi
	return pi / 180.0
}

func degRad(ang float64) float64 { return float64(ang * dR()) } // no FMA with its user
func radDeg(ang float64) float64 { return ang / dR() }

// EstimateStepsByRadius is geohashEstimateStepsByRadius: the step whose
// boxes are about the size of the search radius.
func EstimateStepsByRadius(rangeMeters, lat float64) uint8 {
	if rangeMeters == 0 {
		return 26
	}
	step := 1
	for rangeMeters < mercatorMax {
		rangeMeters *= 2
		step++
	}
	step -= 2 // make sure the range is included in most base cases
	// Wider range towards the poles.
	if lat > 66 || lat < -66 {
		step--
		if lat > 80 || lat < -80 {
			step--
		}
	}
	if step < 1 {
		step = 1
	}
	if step > 26 {
		step = 26
	}
	return uint8(step)
}

// ShapeType says whether a search is by radius or by box.
type ShapeType uint8

const (
	Circular  ShapeType = iota + 1 // BYRADIUS, GEORADIUS
	Rectangle                      // BYBOX
)

// Shape is a search area (GeoShape): a center, a radius or a box in some
// unit, and that unit's size in meters.
type Shape struct {
	Type       ShapeType
	Long, Lat  float64 // center
	Radius     float64 // Circular, in the unit
	Width      float64 // Rectangle, in the unit
	Height     float64 // Rectangle, in the unit
	Conversion float64 // meters per unit
	// Bounds is the bounding box (min long, min lat, max long, max lat),
	// filled by Areas.
	Bounds [4]float64
}

// BoundingBox is geohashBoundingBox: the longitude and latitude bounds of
// the search area.
func (s *Shape) BoundingBox() [4]float64 {
	var height, width float64
	if s.Type == Circular {
		height = s.Conversion * s.Radius
		width = s.Conversion * s.Radius
	} else {
		height = s.Conversion * (s.Height / 2)
		width = s.Conversion * (s.Width / 2)
	}
	latDelta := radDeg(height / EarthRadius)
	longDeltaTop := radDeg(width / EarthRadius / crCos(degRad(s.Lat+latDelta)))
	longDeltaBottom := radDeg(width / EarthRadius / crCos(degRad(s.Lat-latDelta)))
	var b [4]float64
	// The box's wider edge is the one nearer the equator.
	if s.Lat < 0 {
		b[0] = s.Long - longDeltaBottom
		b[2] = s.Long + longDeltaBottom
	} else {
		b[0] = s.Long - longDeltaTop
		b[2] = s.Long + longDeltaTop
	}
	b[1] = s.Lat - latDelta
	b[3] = s.Lat + latDelta
	return b
}

// Radius is GeoHashRadius: the center box, its neighbours (the useless
// ones zeroed) and the center's area.
type Radius struct {
	Hash      Bits
	Neighbors Neighbors
	Area      Area
}

// Boxes returns the 9 boxes in the order Redis searches them: center,
// north, south, east, west, north-east, north-west, south-east,
// south-west.
func (r *Radius) Boxes() [9]Bits {
	n := &r.Neighbors
	return [9]Bits{r.Hash, n.North, n.South, n.East, n.West,
		n.NorthEast, n.NorthWest, n.SouthEast, n.SouthWest}
}

// Areas is geohashCalculateAreasByShapeWGS84: the boxes (center + 8)
// that cover the shape. It also sets s.Bounds.
func (s *Shape) Areas() Radius {
	s.Bounds = s.BoundingBox()
	minLon, minLat, maxLon, maxLat := s.Bounds[0], s.Bounds[1], s.Bounds[2], s.Bounds[3]
	var radiusMeters float64
	if s.Type == Circular {
		radiusMeters = s.Radius
	} else {
		radiusMeters = math.Sqrt(float64((s.Width/2)*(s.Width/2)) + float64((s.Height/2)*(s.Height/2)))
	}
	radiusMeters *= s.Conversion

	steps := EstimateStepsByRadius(radiusMeters, s.Lat)
	longR, latR := CoordRange()
	hash, _ := EncodeRange(longR, latR, s.Long, s.Lat, steps)
	neighbors := GetNeighbors(hash)
	area, _ := DecodeRange(longR, latR, hash)

	// Near the edges of the covered area the estimated step may be too
	// small for a north/south/east/west box to reach the search area.
	decrease := false
	{
		north, _ := DecodeRange(longR, latR, neighbors.North)
		south, _ := DecodeRange(longR, latR, neighbors.South)
		east, _ := DecodeRange(longR, latR, neighbors.East)
		west, _ := DecodeRange(longR, latR, neighbors.West)
		if north.Latitude.Max < maxLat {
			decrease = true
		}
		if south.Latitude.Min > minLat {
			decrease = true
		}
		if east.Longitude.Max < maxLon {
			decrease = true
		}
		if west.Longitude.Min > minLon {
			decrease = true
		}
	}
	if steps > 1 && decrease {
		steps--
		hash, _ = EncodeRange(longR, latR, s.Long, s.Lat, steps)
		neighbors = GetNeighbors(hash)
		area, _ = DecodeRange(longR, latR, hash)
	}

	// Exclude the boxes that cannot hold results.
	if steps >= 2 {
		if area.Latitude.Min < minLat {
			neighbors.South = Bits{}
			neighbors.SouthWest = Bits{}
			neighbors.SouthEast = Bits{}
		}
		if area.Latitude.Max > maxLat {
			neighbors.North = Bits{}
			neighbors.NorthEast = Bits{}
			neighbors.NorthWest = Bits{}
		}
		if area.Longitude.Min < minLon {
			neighbors.West = Bits{}
			neighbors.SouthWest = Bits{}
			neighbors.NorthWest = Bits{}
		}
		if area.Longitude.Max > maxLon {
			neighbors.East = Bits{}
			neighbors.SouthEast = Bits{}
			neighbors.NorthEast = Bits{}
		}
	}
	return Radius{Hash: hash, Neighbors: neighbors, Area: area}
}

// Distance is geohashGetDistance: the haversine great-circle distance in
// meters between two points (degrees).
func Distance(lon1d, lat1d, lon2d, lat2d float64) float64 {
	lat1r := degRad(lat1d)
	lon1r := degRad(lon1d)
	lat2r := degRad(lat2d)
	lon2r := degRad(lon2d)
	u := crSin((lat2r - lat1r) / 2)
	v := crSin((lon2r - lon1r) / 2)
	a := float64(u*u) + float64(float64(float64(crCos(lat1r)*crCos(lat2r))*v)*v)
	return 2.0 * EarthRadius * crAsin(math.Sqrt(a))
}

// DistanceIfInRadius is geohashGetDistanceIfInRadiusWGS84: the distance,
// and whether it is within radius meters.
func DistanceIfInRadius(x1, y1, x2, y2, radius float64) (float64, bool) {
	d := Distance(x1, y1, x2, y2)
	return d, !(d > radius) // as C: a NaN distance passes
}

// DistanceIfInRectangle is geohashGetDistanceIfInRectangle: whether
// (x2, y2) lies in the width x height meters box centered on (x1, y1),
// and its distance from the center.
func DistanceIfInRectangle(widthM, heightM, x1, y1, x2, y2 float64) (float64, bool) {
	lonDistance := Distance(x2, y2, x1, y2)
	latDistance := Distance(x2, y2, x2, y1)
	if lonDistance > widthM/2 || latDistance > heightM/2 {
		return 0, false
	}
	return Distance(x1, y1, x2, y2), true
}

// fastDistance is Distance with the math package's sin, cos and asin:
// within a few units in the last place of Distance (a relative error far
// below 1e-9, also near antipodes), and several times cheaper.
func fastDistance(lon1d, lat1d, lon2d, lat2d float64) float64 {
	lat1r := degRad(lat1d)
	lon1r := degRad(lon1d)
	lat2r := degRad(lat2d)
	lon2r := degRad(lon2d)
	u := math.Sin((lat2r - lat1r) / 2)
	v := math.Sin((lon2r - lon1r) / 2)
	a := u*u + math.Cos(lat1r)*math.Cos(lat2r)*v*v
	return 2.0 * EarthRadius * math.Asin(math.Sqrt(a))
}

// surelyOver reports whether an estimate from fastDistance is so far past
// limit that the exact distance is past it too.
func surelyOver(estimate, limit float64) bool {
	return estimate > limit+1e-6*limit+1e-6
}

// Within is geoWithinShape: whether the member with this score lies in
// the shape, with its decoded position and its distance (meters) from the
// shape's center. Points clearly outside are rejected on a cheap
// estimate; the others get Redis's exact computation.
func (s *Shape) Within(score float64) (lon, lat, dist float64, ok bool) {
	lon, lat, ok = DecodeScore(score)
	if !ok {
		return 0, 0, 0, false
	}
	if s.Type == Circular {
		radius := s.Radius * s.Conversion
		if surelyOver(fastDistance(s.Long, s.Lat, lon, lat), radius) {
			return lon, lat, 0, false
		}
		dist, ok = DistanceIfInRadius(s.Long, s.Lat, lon, lat, radius)
	} else {
		w, h := s.Width*s.Conversion, s.Height*s.Conversion
		if surelyOver(fastDistance(lon, lat, lon, s.Lat), h/2) || surelyOver(fastDistance(lon, lat, s.Long, lat), w/2) {
			return lon, lat, 0, false
		}
		dist, ok = DistanceIfInRectangle(w, h, s.Long, s.Lat, lon, lat)
	}
	return lon, lat, dist, ok
}
