package geo

import "math"

// Correctly rounded sin, cos and asin.
//
// Redis computes distances with glibc's libm, whose sin, cos and asin
// return the correctly rounded result in practice; Go's math package is
// off by one unit in the last place for a large share of inputs (about
// one sin in six), which shows in STOREDIST scores and, rarely, in
// WITHDIST's fourth decimal and in which members a radius includes. These
// evaluate in double-double arithmetic (about 106 bits) and round once,
// so they agree with glibc except in cases too close to a rounding
// boundary to matter in practice. Arguments past 2^20 (no geo search
// produces them but absurd radii) fall back to the math package.

// dd is an unevaluated sum hi+lo with |lo| <= ulp(hi)/2.
type dd struct{ hi, lo float64 }

func twoSum(a, b float64) dd {
	s := a + b
	bb := s - a
	return dd{s, (a - (s - bb)) + (b - bb)}
}

func quickTwoSum(a, b float64) dd {
	s := a + b
	return dd{s, b - (s - a)}
}

// twoProd is exact: p is rounded on its own (the conversion stops the
// compiler fusing it into a later add, as arm64 would), the error by FMA.
func twoProd(a, b float64) dd {
	p := float64(a * b)
	return dd{p, math.FMA(a, b, -p)}
}

func ddAdd(x, y dd) dd {
	s := twoSum(x.hi, y.hi)
	t := twoSum(x.lo, y.lo)
	s.lo += t.hi
	s = quickTwoSum(s.hi, s.lo)
	s.lo += t.lo
	return quickTwoSum(s.hi, s.lo)
}

func ddNeg(x dd) dd { return dd{-x.hi, -x.lo} }

func ddMul(x, y dd) dd {
	p := twoProd(x.hi, y.hi)
	p.lo += float64(x.hi*y.lo) + float64(x.lo*y.hi) // no FMA: same rounding on every CPU
	return quickTwoSum(p.hi, p.lo)
}

func ddDiv(x, y dd) dd {
	q1 := x.hi / y.hi
	r := ddAdd(x, ddNeg(ddMul(dd{q1, 0}, y)))
	q2 := r.hi / y.hi
	r = ddAdd(r, ddNeg(ddMul(dd{q2, 0}, y)))
	q3 := r.hi / y.hi
	q := quickTwoSum(q1, q2)
	return ddAdd(q, dd{q3, 0})
}

// pi/2 as the sum of three doubles (about 160 bits).
const (
	pio2a = 1.5707963267948966
	pio2b = 6.123233995736766e-17
	pio2c = -1.4973849048591698e-33
)

// 1/n! for odd n (sinCoef) and even n (cosCoef), as double-doubles.
func sinCoef(i int) dd {
	return [...]dd{
		{1.0, 0.0},
		{0.16666666666666666, 9.25185853854297e-18},
		{0.008333333333333333, 1.1564823173178714e-19},
		{0.0001984126984126984, 1.7209558293420705e-22},
		{2.7557319223985893e-06, -1.858393274046472e-22},
		{2.505210838544172e-08, -1.448814070935912e-24},
		{1.6059043836821613e-10, 1.2585294588752098e-26},
		{7.647163731819816e-13, 7.03872877733453e-30},
		{2.8114572543455206e-15, 1.6508842730861433e-31},
		{8.22063524662433e-18, 2.2141894119604265e-34},
		{1.9572941063391263e-20, -1.3643503830087908e-36},
		{3.868170170630684e-23, -8.843177655482344e-40},
		{6.446950284384474e-26, -1.9330404233703465e-42},
		{9.183689863795546e-29, 1.4303150396787322e-45},
		{1.1309962886447716e-31, 1.0498015412959506e-47},
		{1.216125041553518e-34, 5.586290567888806e-51},
		{1.151633562077195e-37, -6.09957445788454e-54},
	}[i]
}

func cosCoef(i int) dd {
	return [...]dd{
		{1.0, 0.0},
		{0.5, 0.0},
		{0.041666666666666664, 2.3129646346357427e-18},
		{0.001388888888888889, -5.300543954373577e-20},
		{2.48015873015873e-05, 2.1511947866775882e-23},
		{2.755731922398589e-07, 2.3767714622250297e-23},
		{2.08767569878681e-09, -1.20734505911326e-25},
		{1.1470745597729725e-11, 2.0655512752830745e-28},
		{4.779477332387385e-14, 4.399205485834081e-31},
		{1.5619206968586225e-16, 1.1910679660273754e-32},
		{4.110317623312165e-19, 1.4412973378659527e-36},
		{8.896791392450574e-22, -7.911402614872376e-38},
		{1.6117375710961184e-24, -3.6846573564509766e-41},
		{2.4795962632247976e-27, -1.2953730964765229e-43},
		{3.279889237069838e-30, 1.5117542744029879e-46},
		{3.7699876288159054e-33, 2.5870347832750324e-49},
		{3.8003907548547434e-36, 1.7457158024652518e-52},
	}[i]
}

const (
	nCoef = 17
	// ddTerms leading coefficients are summed in double-double; the
	// tail, below 2^-29 of the result, in plain doubles (its rounding
	// errors stay under 2^-80 of the result).
	ddTerms = 6
)

// poly evaluates c0 - r²(c1 - r²(c2 - ...)) over coef: the series of sin
// (times r) or cos, for |r| <= about pi/4.
func poly(r2 dd, coef func(int) dd) dd {
	t := coef(nCoef - 1).hi
	for i := nCoef - 2; i >= ddTerms; i-- {
		t = coef(i).hi - float64(r2.hi*t)
	}
	acc := dd{t, 0}
	for i := ddTerms - 1; i >= 0; i-- {
		acc = ddAdd(coef(i), ddNeg(ddMul(acc, r2)))
	}
	return acc
}

// reduce returns r = x - k*pi/2 and k mod 4, for |x.hi| < 2^20.
func reduce(x dd) (dd, int) {
	k := math.Round(x.hi / pio2a)
	r := ddAdd(x, ddNeg(twoProd(k, pio2a)))
	r = ddAdd(r, ddNeg(twoProd(k, pio2b)))
	r = ddAdd(r, ddNeg(twoProd(k, pio2c)))
	return r, int(int64(k) & 3)
}

func sinReduced(r dd) dd { return ddMul(poly(ddMul(r, r), sinCoef), r) }
func cosReduced(r dd) dd { return poly(ddMul(r, r), cosCoef) }

// sinDD and cosDD are sin and cos for |x.hi| < 2^20.
func sinDD(x dd) dd {
	r, q := reduce(x)
	switch q {
	case 1:
		return cosReduced(r)
	case 2:
		return ddNeg(sinReduced(r))
	case 3:
		return ddNeg(cosReduced(r))
	}
	return sinReduced(r)
}

func cosDD(x dd) dd {
	r, q := reduce(x)
	switch q {
	case 1:
		return ddNeg(sinReduced(r))
	case 2:
		return ddNeg(cosReduced(r))
	case 3:
		return sinReduced(r)
	}
	return cosReduced(r)
}

const crLimit = 1 << 20

func crSin(x float64) float64 {
	if x == 0 || math.IsNaN(x) || math.Abs(x) >= crLimit {
		return math.Sin(x)
	}
	s := sinDD(dd{x, 0})
	return s.hi + s.lo
}

func crCos(x float64) float64 {
	if math.IsNaN(x) || math.Abs(x) >= crLimit {
		return math.Cos(x)
	}
	c := cosDD(dd{x, 0})
	return c.hi + c.lo
}

// crAsin refines math.Asin with Newton steps on sin(y) = x in
// double-double. A step squares the error and multiplies it by about
// tan(y)/2: one step suffices below 0.999, two above (x near 1, where
// tan(y) grows).
func crAsin(x float64) float64 {
	if x == 0 || math.IsNaN(x) || math.Abs(x) >= 1 {
		return math.Asin(x)
	}
	y := dd{math.Asin(x), 0}
	steps := 1
	if math.Abs(x) > 0.999 {
		steps = 2
	}
	for ; steps > 0; steps-- {
		y = ddAdd(y, ddDiv(ddAdd(dd{x, 0}, ddNeg(sinDD(y))), cosDD(y)))
	}
	return y.hi + y.lo
}
