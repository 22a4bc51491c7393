package geo

import (
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
)

func unitConv(u string) float64 {
	switch u {
	case "km":
		return 1000
	case "mi":
		return 1609.34
	case "ft":
		return 0.3048
	}
	return 1
}

func TestRedisReference(t *testing.T) {
	for i, p := range refPoints {
		sc, ok := EncodeScore(p.lon, p.lat)
		if !ok || sc != p.score {
			t.Fatalf("%d: EncodeScore(%v,%v) = %d,%v want %d", i, p.lon, p.lat, sc, ok, p.score)
		}
		lon, lat, ok := DecodeScore(float64(sc))
		if !ok {
			t.Fatalf("%d: decode failed", i)
		}
		if g := string(AppendCoord(nil, lon)); g != p.posLon {
			t.Errorf("%d: lon %s want %s", i, g, p.posLon)
		}
		if g := string(AppendCoord(nil, lat)); g != p.posLat {
			t.Errorf("%d: lat %s want %s", i, g, p.posLat)
		}
		h, ok := AppendHashString(nil, float64(sc))
		if !ok || string(h) != p.hash {
			t.Errorf("%d: hash %s want %s", i, h, p.hash)
		}
	}
	for _, d := range refDists {
		a, b := refPoints[d.i], refPoints[d.j]
		lon1, lat1, _ := DecodeScore(float64(a.score))
		lon2, lat2, _ := DecodeScore(float64(b.score))
		got := string(AppendDistance(nil, Distance(lon1, lat1, lon2, lat2)/unitConv(d.unit)))
		if got != d.want {
			t.Errorf("dist %d-%d %s: %s want %s", d.i, d.j, d.unit, got, d.want)
		}
	}
	for _, d := range refNear {
		lon1, lat1, _ := DecodeScore(d.a)
		lon2, lat2, _ := DecodeScore(d.b)
		if got := string(AppendDistance(nil, Distance(lon1, lat1, lon2, lat2))); got != d.want {
			t.Errorf("near %v-%v: %s want %s", d.a, d.b, got, d.want)
		}
	}
}

func TestEncodeLimits(t *testing.T) {
	for _, c := range [][2]float64{{180.0000001, 0}, {-180.0000001, 0}, {0, 85.05112879}, {0, -85.05112879}} {
		if _, ok := EncodeScore(c[0], c[1]); ok {
			t.Errorf("%v accepted", c)
		}
	}
	if _, ok := EncodeRange(Range{-180, 180}, Range{-90, 90}, 0, 0, 0); ok {
		t.Error("step 0 accepted")
	}
}

func TestInterleave(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		x, y := r.Uint32(), r.Uint32()
		v := interleave64(x, y)
		for b := 0; b < 32; b++ {
			if (v>>(2*b))&1 != uint64(x>>b)&1 || (v>>(2*b+1))&1 != uint64(y>>b)&1 {
				t.Fatalf("interleave %x %x = %x", x, y, v)
			}
		}
		if d := deinterleave64(v); uint32(d) != x || uint32(d>>32) != y {
			t.Fatalf("deinterleave %x = %x", v, d)
		}
	}
}

func TestNeighbors(t *testing.T) {
	// Each neighbour's area touches the center's on the expected side.
	h, _ := Encode(13.361389, 38.115556, 10)
	a, _ := Decode(h)
	n := GetNeighbors(h)
	ar := func(b Bits) Area { x, _ := Decode(b); return x }
	if g := ar(n.North); g.Latitude.Min != a.Latitude.Max || g.Longitude != a.Longitude {
		t.Errorf("north %+v of %+v", g, a)
	}
	if g := ar(n.South); g.Latitude.Max != a.Latitude.Min || g.Longitude != a.Longitude {
		t.Errorf("south %+v of %+v", g, a)
	}
	if g := ar(n.East); g.Longitude.Min != a.Longitude.Max || g.Latitude != a.Latitude {
		t.Errorf("east %+v of %+v", g, a)
	}
	if g := ar(n.West); g.Longitude.Max != a.Longitude.Min || g.Latitude != a.Latitude {
		t.Errorf("west %+v of %+v", g, a)
	}
	if g := ar(n.NorthEast); g.Latitude.Min != a.Latitude.Max || g.Longitude.Min != a.Longitude.Max {
		t.Errorf("north-east %+v of %+v", g, a)
	}
	if g := ar(n.SouthWest); g.Latitude.Max != a.Latitude.Min || g.Longitude.Max != a.Longitude.Min {
		t.Errorf("south-west %+v of %+v", g, a)
	}
}

// TestAreasCover checks the search boxes cover every point in range: a
// brute-force scan and the box search find the same members.
func TestAreasCover(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for it := range 300 {
		clon := r.Float64()*340 - 170
		clat := r.Float64()*160 - 80
		var pts []float64
		for range 200 {
			lon := clon + (r.Float64()-0.5)*r.Float64()*20
			lat := clat + (r.Float64()-0.5)*r.Float64()*20
			if sc, ok := EncodeScore(lon, lat); ok {
				pts = append(pts, float64(sc))
			}
		}
		s := Shape{Type: Circular, Long: clon, Lat: clat, Radius: r.Float64() * 500, Conversion: 1000}
		if it%2 == 1 {
			s = Shape{Type: Rectangle, Long: clon, Lat: clat, Width: r.Float64() * 800, Height: r.Float64() * 800, Conversion: 1000}
		}
		rad := s.Areas()
		found := map[float64]bool{}
		for _, b := range rad.Boxes() {
			if b.IsZero() {
				continue
			}
			lo, hi := ScoresOfBox(b)
			for _, p := range pts {
				if p >= float64(lo) && p < float64(hi) {
					if _, _, _, ok := s.Within(p); ok {
						found[p] = true
					}
				}
			}
		}
		for _, p := range pts {
			_, _, _, ok := s.Within(p)
			if ok != found[p] {
				t.Fatalf("iteration %d: point %v within=%v found=%v", it, p, ok, found[p])
			}
		}
	}
}

func TestPQSort(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	cmp := func(x, y *int) int { return *x - *y }
	for range 2000 {
		n := r.IntN(120)
		a := make([]int, n)
		for i := range a {
			a[i] = r.IntN(30)
		}
		want := slices.Clone(a)
		slices.Sort(want)
		lo, hi := 0, 0
		if n > 0 {
			lo = r.IntN(n)
			hi = lo + r.IntN(n-lo)
		}
		PQSort(a, cmp, lo, hi)
		if n > 0 && !slices.Equal(a[lo:hi+1], want[lo:hi+1]) {
			t.Fatalf("pqsort [%d,%d]: %v want %v", lo, hi, a[lo:hi+1], want[lo:hi+1])
		}
		PQSort(a, cmp, 0, n-1)
		if !slices.Equal(a, want) {
			t.Fatalf("full pqsort: %v want %v", a, want)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		f    float64
		want string
	}{{0, "0"}, {-0.0, "0"}, {180, "180"}, {1.5, "1.5"}, {-1e-20, "0"}, {-1e-17, "-0.00000000000000001"}} {
		if g := string(AppendCoord(nil, c.f)); g != c.want {
			t.Errorf("AppendCoord(%v) = %s want %s", c.f, g, c.want)
		}
	}
	if g := string(AppendDistance(nil, 166274.15156960033)); g != "166274.1516" {
		t.Errorf("AppendDistance = %s", g)
	}
}

func TestScoreToUint64(t *testing.T) {
	for _, c := range []struct {
		f    float64
		want uint64
	}{{0, 0}, {1.9, 1}, {-1, 1<<64 - 1}, {1 << 63, 1 << 63}, {1 << 64, 0}, {-1e300, 1 << 63}} {
		if g := ScoreToUint64(c.f); g != c.want {
			t.Errorf("ScoreToUint64(%v) = %x want %x", c.f, g, c.want)
		}
	}
}

// bigSinCos computes sin and cos by their Taylor series in 300-bit
// arithmetic, rounded once.
func bigSinCos(x float64) (float64, float64) {
	const prec = 300
	bf := func(v float64) *big.Float { return new(big.Float).SetPrec(prec).SetFloat64(v) }
	X := bf(x)
	x2 := new(big.Float).SetPrec(prec).Mul(X, X)
	st, ss := bf(x), bf(x)
	ct, cs := bf(1), bf(1)
	for n := 1; n < 120; n++ {
		st.Mul(st, x2)
		st.Quo(st, bf(float64((2*n)*(2*n+1))))
		st.Neg(st)
		ss.Add(ss, st)
		ct.Mul(ct, x2)
		ct.Quo(ct, bf(float64((2*n-1)*(2*n))))
		ct.Neg(ct)
		cs.Add(cs, ct)
	}
	s, _ := ss.Float64()
	c, _ := cs.Float64()
	return s, c
}

func TestCorrectlyRounded(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 1000; i++ {
		x := (r.Float64() - 0.5) * 7
		if i%3 == 0 {
			x *= 1e-6
		}
		ws, wc := bigSinCos(x)
		if g := crSin(x); g != ws {
			t.Fatalf("sin(%v) = %v want %v", x, g, ws)
		}
		if g := crCos(x); g != wc {
			t.Fatalf("cos(%v) = %v want %v", x, g, wc)
		}
		// asin: y = crAsin(v) must be the double nearest the true value:
		// sin of y's neighbours brackets v.
		v := r.Float64()
		if i%4 == 0 {
			v = 1 - v*1e-9
		}
		y := crAsin(v)
		lo, _ := bigSinCos(math.Nextafter(y, 0))
		hi, _ := bigSinCos(math.Nextafter(y, 2))
		if !(lo <= v && v <= hi) {
			t.Fatalf("asin(%v) = %v: sin of neighbours %v %v", v, y, lo, hi)
		}
	}
}

// TestFastDistanceMargin checks the cheap estimate Within rejects on never
// errs by the margin surelyOver allows, antipodes included.
func TestFastDistanceMargin(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for i := 0; i < 200000; i++ {
		lon1, lat1 := r.Float64()*360-180, r.Float64()*170-85
		lon2, lat2 := r.Float64()*360-180, r.Float64()*170-85
		if i%2 == 0 { // near the antipode
			lon2 = lon1 + 180 - r.Float64()*1e-3
			if lon2 > 180 {
				lon2 -= 360
			}
			lat2 = -lat1 + (r.Float64()-0.5)*1e-3
		}
		exact, fast := Distance(lon1, lat1, lon2, lat2), fastDistance(lon1, lat1, lon2, lat2)
		if surelyOver(fast, exact) || surelyOver(exact, fast) {
			t.Fatalf("(%v,%v)-(%v,%v): exact %v fast %v", lon1, lat1, lon2, lat2, exact, fast)
		}
	}
}
