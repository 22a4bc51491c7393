// Package geo is Redis 7.0's geohash machinery (geohash.c,
// geohash_helper.c and the search helpers of geo.c): the 52-bit
// interleaved hash a geo member keeps as its sorted-set score, its decoding
// back to coordinates, the 9-box cover of a search shape, the haversine
// distance with Redis's earth radius, the GEOHASH string and the
// partial quicksort Redis uses for COUNT-limited results.
//
// Everything here is pure computation on values: no state, safe for any
// goroutine. Results must match redis-server bit for bit, so the
// arithmetic follows the C code operation by operation (same order, same
// float64 intermediate values).
package geo

// Limits of the coordinates Redis accepts (EPSG:900913 / EPSG:3785).
const (
	LongMin = -180.0
	LongMax = 180.0
	LatMin  = -85.05112878
	LatMax  = 85.05112878
	// StepMax is GEO_STEP_MAX: 26 steps, 52 bits.
	StepMax = 26
)

// Range is a closed interval of one coordinate.
type Range struct{ Min, Max float64 }

// Bits is a geohash of Step steps (2*Step bits). The zero value (no bits,
// no step) is Redis's "zero hash", a skipped neighbour.
type Bits struct {
	Bits uint64
	Step uint8
}

// IsZero is HASHISZERO.
func (h Bits) IsZero() bool { return h.Bits == 0 && h.Step == 0 }

// Area is the rectangle a hash covers.
type Area struct {
	Hash      Bits
	Longitude Range
	Latitude  Range
}

// Neighbors are the 8 boxes around a hash, each of the same step.
type Neighbors struct {
	North, East, West, South                   Bits
	NorthEast, SouthEast, NorthWest, SouthWest Bits
}

// CoordRange is geohashGetCoordRange: the ranges Redis encodes scores in.
func CoordRange() (long, lat Range) {
	return Range{LongMin, LongMax}, Range{LatMin, LatMax}
}

// interleave64 puts the bits of x in the even positions and those of y in
// the odd ones (x, y < 2^32).
func interleave64(xlo, ylo uint32) uint64 {
	b := [...]uint64{0x5555555555555555, 0x3333333333333333,
		0x0F0F0F0F0F0F0F0F, 0x00FF00FF00FF00FF, 0x0000FFFF0000FFFF}
	s := [...]uint{1, 2, 4, 8, 16}
	x, y := uint64(xlo), uint64(ylo)
	for i := 4; i >= 0; i-- {
		x = (x | x<<s[i]) & b[i]
		y = (y | y<<s[i]) & b[i]
	}
	return x | y<<1
}

// deinterleave64 reverses interleave64: even bits in the low 32 bits of
// the result, odd bits in the high 32.
func deinterleave64(v uint64) uint64 {
	b := [...]uint64{0x5555555555555555, 0x3333333333333333,
		0x0F0F0F0F0F0F0F0F, 0x00FF00FF00FF00FF, 0x0000FFFF0000FFFF,
		0x00000000FFFFFFFF}
	s := [...]uint{0, 1, 2, 4, 8, 16}
	x, y := v, v>>1
	for i := 0; i < 6; i++ {
		x = (x | x>>s[i]) & b[i]
		y = (y | y>>s[i]) & b[i]
	}
	return x | y<<32
}

// EncodeRange is geohashEncode over the given ranges. It fails for a zero
// or too large step, a degenerate range, or coordinates outside Redis's
// limits or outside the ranges.
func EncodeRange(longR, latR Range, longitude, latitude float64, step uint8) (Bits, bool) {
	if step > 32 || step == 0 || (latR.Min == 0 && latR.Max == 0) || (longR.Min == 0 && longR.Max == 0) {
		return Bits{}, false
	}
	if longitude > LongMax || longitude < LongMin || latitude > LatMax || latitude < LatMin {
		return Bits{}, false
	}
	if latitude < latR.Min || latitude > latR.Max || longitude < longR.Min || longitude > longR.Max {
		return Bits{Step: step}, false
	}
	latOffset := (latitude - latR.Min) / (latR.Max - latR.Min)
	longOffset := (longitude - longR.Min) / (longR.Max - longR.Min)
	// Fixed point by the step; C converts the double to uint32 by
	// truncation.
	latOffset *= float64(uint64(1) << step)
	longOffset *= float64(uint64(1) << step)
	return Bits{Bits: interleave64(uint32(latOffset), uint32(longOffset)), Step: step}, true
}

// Encode is geohashEncodeWGS84: EncodeRange over CoordRange.
func Encode(longitude, latitude float64, step uint8) (Bits, bool) {
	lo, la := CoordRange()
	return EncodeRange(lo, la, longitude, latitude, step)
}

// DecodeRange is geohashDecode: the area hash covers within the ranges.
func DecodeRange(longR, latR Range, h Bits) (Area, bool) {
	if h.IsZero() || (latR.Min == 0 && latR.Max == 0) || (longR.Min == 0 && longR.Max == 0) {
		return Area{}, false
	}
	var a Area
	a.Hash = h
	sep := deinterleave64(h.Bits) // [LAT][LONG]
	latScale := latR.Max - latR.Min
	longScale := longR.Max - longR.Min
	ilato := uint32(sep)
	ilono := uint32(sep >> 32)
	div := float64(uint64(1) << h.Step)
	// ilato+1 is computed in 32 bits, as in C (uint32_t + int). The
	// float64 conversions keep the multiplications from fusing with the
	// additions (arm64 FMA), so every CPU rounds as x86-64 Redis does.
	a.Latitude.Min = latR.Min + float64((float64(ilato)*1.0/div)*latScale)
	a.Latitude.Max = latR.Min + float64((float64(ilato+1)*1.0/div)*latScale)
	a.Longitude.Min = longR.Min + float64((float64(ilono)*1.0/div)*longScale)
	a.Longitude.Max = longR.Min + float64((float64(ilono+1)*1.0/div)*longScale)
	return a, true
}

// Decode is geohashDecodeWGS84.
func Decode(h Bits) (Area, bool) {
	lo, la := CoordRange()
	return DecodeRange(lo, la, h)
}

// Center is geohashDecodeAreaToLongLat: the middle of the area, clamped
// to Redis's coordinate limits (a box past the edge, as the one of a
// point at exactly 180 or LatMax, has its center outside them).
func (a Area) Center() (longitude, latitude float64) {
	longitude = (a.Longitude.Min + a.Longitude.Max) / 2
	longitude = min(max(longitude, LongMin), LongMax)
	latitude = (a.Latitude.Min + a.Latitude.Max) / 2
	latitude = min(max(latitude, LatMin), LatMax)
	return longitude, latitude
}

// DecodeToLongLat is geohashDecodeToLongLatWGS84.
func DecodeToLongLat(h Bits) (longitude, latitude float64, ok bool) {
	a, ok := Decode(h)
	if !ok {
		return 0, 0, false
	}
	longitude, latitude = a.Center()
	return longitude, latitude, true
}

// ScoreToUint64 converts a sorted-set score to the hash bits as C's
// (uint64_t) cast does on x86-64 with gcc: truncation, negative values
// wrapping through int64, values past the range giving what the
// cvttsd2si sequence gives.
func ScoreToUint64(score float64) uint64 {
	const two63 = 9223372036854775808.0
	if score < two63 {
		if score >= -two63 {
			return uint64(int64(score))
		}
		return 1 << 63 // "integer indefinite"; NaN lands here too
	}
	if score < 2*two63 {
		return uint64(int64(score-two63)) ^ 1<<63
	}
	return 0 // indefinite (1<<63) xor 1<<63
}

// DecodeScore is geo.c's decodeGeohash: the coordinates of a member from
// its score (52 bits, step 26).
func DecodeScore(score float64) (longitude, latitude float64, ok bool) {
	return DecodeToLongLat(Bits{Bits: ScoreToUint64(score), Step: StepMax})
}

// EncodeScore encodes a valid coordinate pair as the 52-bit score GEOADD
// stores. ok is false outside Redis's limits.
func EncodeScore(longitude, latitude float64) (uint64, bool) {
	h, ok := Encode(longitude, latitude, StepMax)
	if !ok {
		return 0, false
	}
	return Align52(h), true
}

func moveX(h *Bits, d int8) {
	if d == 0 {
		return
	}
	x := h.Bits & 0xaaaaaaaaaaaaaaaa
	y := h.Bits & 0x5555555555555555
	zz := uint64(0x5555555555555555) >> (64 - uint(h.Step)*2)
	if d > 0 {
		x = x + (zz + 1)
	} else {
		x = x | zz
		x = x - (zz + 1)
	}
	x &= 0xaaaaaaaaaaaaaaaa >> (64 - uint(h.Step)*2)
	h.Bits = x | y
}

func moveY(h *Bits, d int8) {
	if d == 0 {
		return
	}
	x := h.Bits & 0xaaaaaaaaaaaaaaaa
	y := h.Bits & 0x5555555555555555
	zz := uint64(0xaaaaaaaaaaaaaaaa) >> (64 - uint(h.Step)*2)
	if d > 0 {
		y = y + (zz + 1)
	} else {
		y = y | zz
		y = y - (zz + 1)
	}
	y &= 0x5555555555555555 >> (64 - uint(h.Step)*2)
	h.Bits = x | y
}

// GetNeighbors is geohashNeighbors.
func GetNeighbors(h Bits) Neighbors {
	n := Neighbors{h, h, h, h, h, h, h, h}
	moveX(&n.East, 1)
	moveX(&n.West, -1)
	moveY(&n.South, -1)
	moveY(&n.North, 1)
	moveX(&n.NorthWest, -1)
	moveY(&n.NorthWest, 1)
	moveX(&n.NorthEast, 1)
	moveY(&n.NorthEast, 1)
	moveX(&n.SouthEast, 1)
	moveY(&n.SouthEast, -1)
	moveX(&n.SouthWest, -1)
	moveY(&n.SouthWest, -1)
	return n
}

// Align52 is geohashAlign52Bits: the hash shifted to 52 bits.
func Align52(h Bits) uint64 {
	return h.Bits << (52 - uint(h.Step)*2)
}

// ScoresOfBox is scoresOfGeoHashBox: the score range [min, max) holding
// every point inside box h.
func ScoresOfBox(h Bits) (lo, hi uint64) {
	lo = Align52(h)
	h.Bits++
	hi = Align52(h)
	return lo, hi
}

const alphabet = "0123456789bcdefghjkmnpqrstuvwxyz"

// AppendHashString appends the 11-character standard geohash GEOHASH
// replies for a member with this score: the position is decoded and
// encoded again over the standard latitude range -90..90, and the 11th
// character (past the 52 bits) is always '0'. ok is false when the score
// does not decode (GEOHASH then replies null).
func AppendHashString(dst []byte, score float64) ([]byte, bool) {
	lon, lat, ok := DecodeScore(score)
	if !ok {
		return dst, false
	}
	// Redis ignores geohashEncode's result: on failure the bits are 0.
	h, _ := EncodeRange(Range{-180, 180}, Range{-90, 90}, lon, lat, 26)
	for i := 0; i < 11; i++ {
		idx := 0
		if i != 10 {
			idx = int(h.Bits>>(52-uint(i+1)*5)) & 0x1f
		}
		dst = append(dst, alphabet[idx])
	}
	return dst, true
}
