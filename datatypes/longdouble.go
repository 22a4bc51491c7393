package datatypes

import (
	"math/big"
)

// x87 80-bit extended precision: a 64-bit mantissa (explicit leading
// bit), normal exponents down to 2^-16382, subnormals down to 2^-16445,
// finite values below 2^16384.
const (
	ldPrec      = 64
	ldMinNormE  = -16382 // exponent of the smallest normal, as 2^e
	ldMinSubE   = -16445 // exponent of the smallest subnormal
	ldMaxMantE  = 16384  // big.Float MantExp of values >= 2^16384 overflows
	maxLDChars  = 5 * 1024
	ldDecMaxTop = 4933  // 10^4933 > max long double
	ldDecMinTop = -4951 // 10^-4951 < half the smallest subnormal
)

// MaxLongDoubleChars is Redis's MAX_LONG_DOUBLE_CHARS: string2ld rejects
// inputs of this length or longer.
const MaxLongDoubleChars = maxLDChars

// LongDouble is a value of C's long double on x86-64 (x87 80-bit
// extended precision), as Redis's INCRBYFLOAT computes with. The zero
// value is +0. A LongDouble is immutable once built; methods return new
// values.
type LongDouble struct {
	f *big.Float // nil means +0; otherwise precision <= 64, or ±Inf
}

// LongDoubleFromInt converts v exactly (every int64 fits 64 bits).
func LongDoubleFromInt(v int64) LongDouble {
	return LongDouble{new(big.Float).SetPrec(ldPrec).SetInt64(v)}
}

// IsInf reports whether x is an infinity.
func (x LongDouble) IsInf() bool { return x.f != nil && x.f.IsInf() }

// Float64 returns x rounded to the nearest float64.
func (x LongDouble) Float64() float64 {
	if x.f == nil {
		return 0
	}
	v, _ := x.f.Float64()
	return v
}

// ldRound rounds the exact value x once, to nearest even, into the x87
// format: 64 bits for normal values, fewer for subnormals, zero below
// half the smallest subnormal, ±Inf at or past 2^16384. x is not
// modified.
func ldRound(x *big.Float) *big.Float {
	if x.IsInf() || x.Sign() == 0 {
		return new(big.Float).Set(x)
	}
	e := x.MantExp(nil) // x = m * 2^e, 0.5 <= |m| < 1
	prec := ldPrec
	if e-1 < ldMinNormE {
		prec = e + (-ldMinSubE) // bits available above 2^-16445
		if prec <= 0 {
			// Below the smallest subnormal: it rounds up to it only from
			// strictly above half of it (2^-16446).
			z := new(big.Float).SetPrec(ldPrec)
			if prec == 0 {
				half := new(big.Float).SetMantExp(big.NewFloat(0.5), ldMinSubE) // 2^-16446
				if new(big.Float).Abs(x).Cmp(half) > 0 {
					z.SetMantExp(big.NewFloat(0.5), ldMinSubE+1)
				}
			}
			if x.Sign() < 0 {
				z.Neg(z)
			}
			return z
		}
	}
	z := new(big.Float).SetMode(big.ToNearestEven).SetPrec(uint(prec)).Set(x)
	if z.MantExp(nil) > ldMaxMantE {
		return new(big.Float).SetInf(z.Sign() < 0)
	}
	return z.SetPrec(ldPrec) // exact: widening
}

// ParseLongDouble parses s as Redis's string2ld (strtold on a copy of s):
// no leading space, every byte consumed (an embedded NUL fails), length
// below 5 KiB; "inf" is accepted, NaN and out-of-range
// values (overflow, or underflow to zero) are not. Rounding is correct
// (single rounding from the exact decimal value), as glibc's.
func ParseLongDouble(s []byte) (LongDouble, bool) {
	if len(s) == 0 || len(s) >= maxLDChars {
		return LongDouble{}, false
	}
	if isCSpace(s[0]) {
		return LongDouble{}, false
	}
	f, ok := scanFloat(s)
	if !ok || f.end != len(s) {
		return LongDouble{}, false
	}
	switch f.kind {
	case fsInf:
		return LongDouble{new(big.Float).SetInf(f.neg)}, true
	case fsNaN:
		return LongDouble{}, false
	}
	var exact *big.Float
	if f.hex {
		exact = hexToFloat(f)
	} else {
		var okd bool
		exact, okd = decToLongDouble(f)
		if !okd {
			return LongDouble{}, false
		}
		if exact == nil { // zero
			z := new(big.Float).SetPrec(ldPrec)
			if f.neg {
				z.Neg(z)
			}
			return LongDouble{z}, true
		}
		return checkLD(exact)
	}
	if exact.Sign() == 0 {
		if f.neg {
			exact.Neg(exact)
		}
		return LongDouble{exact.SetPrec(ldPrec)}, true
	}
	return checkLD(ldRound(exact))
}

// checkLD applies string2ld's range rule to a rounded value.
func checkLD(z *big.Float) (LongDouble, bool) {
	if z.IsInf() || z.Sign() == 0 {
		return LongDouble{}, false // ERANGE with HUGE_VAL or zero
	}
	return LongDouble{z}, true
}

// decToLongDouble returns the decimal number f rounded into the x87
// format; nil with ok for an exact zero; ok false on certain overflow or
// underflow.
func decToLongDouble(f floatSyntax) (*big.Float, bool) {
	d := f.digits
	e10 := f.exp - int64(len(d)-f.pointPos)
	for len(d) > 0 && d[0] == '0' {
		d = d[1:]
	}
	for len(d) > 0 && d[len(d)-1] == '0' {
		d = d[:len(d)-1]
		e10++
	}
	if len(d) == 0 {
		return nil, true
	}
	top := e10 + int64(len(d)) // 10^(top-1) <= |v| < 10^top
	if top-1 > ldDecMaxTop || top <= ldDecMinTop {
		return nil, false
	}
	num := new(big.Int)
	num.SetString(string(d), 10)
	var exact *big.Float
	if e10 >= 0 {
		num.Mul(num, new(big.Int).Exp(big.NewInt(10), big.NewInt(e10), nil))
		exact = new(big.Float).SetInt(num)
	} else {
		den := new(big.Int).Exp(big.NewInt(10), big.NewInt(-e10), nil)
		// Correctly rounded quotient at 64 bits tells the exponent; a
		// subnormal result is recomputed at its own precision so it is
		// rounded only once.
		a := new(big.Float).SetInt(num)
		b := new(big.Float).SetInt(den)
		z := new(big.Float).SetMode(big.ToNearestEven).SetPrec(ldPrec).Quo(a, b)
		if e := z.MantExp(nil); e-1 < ldMinNormE {
			prec := e + (-ldMinSubE)
			if prec <= 0 {
				// At most half the smallest subnormal, or just above it.
				// Use a wide quotient and the generic rounding.
				w := new(big.Float).SetPrec(256).Quo(a, b)
				z = ldRound(w)
			} else {
				z = new(big.Float).SetMode(big.ToNearestEven).SetPrec(uint(prec)).Quo(a, b)
				z.SetPrec(ldPrec)
			}
		}
		if f.neg {
			z.Neg(z)
		}
		return z, true
	}
	if f.neg {
		exact.Neg(exact)
	}
	return ldRound(exact), true
}

// hexToFloat returns the exact value of a hexadecimal number (big.Float
// holds it without rounding).
func hexToFloat(f floatSyntax) *big.Float {
	m := new(big.Int)
	if len(f.digits) > 0 {
		m.SetString(string(f.digits), 16)
	}
	be := f.exp - 4*int64(len(f.digits)-f.pointPos)
	x := new(big.Float).SetInt(m)
	if m.Sign() != 0 {
		// Past these bounds the value is surely out of every range used
		// here; keep the exponent within big.Float's limits.
		e := int64(x.MantExp(nil)) + be
		if e > 1<<20 {
			be = 1<<20 - int64(x.MantExp(nil))
		} else if e < -(1 << 20) {
			be = -(1 << 20) - int64(x.MantExp(nil))
		}
		x.SetMantExp(x, int(be))
	}
	if f.neg {
		x.Neg(x)
	}
	return x
}

// AddLongDouble returns x+y as the x87 FPU computes it (exact sum rounded
// once to 64 bits). ok is false when the result is NaN or infinite, the
// condition INCRBYFLOAT refuses.
func AddLongDouble(x, y LongDouble) (LongDouble, bool) {
	a, b := x.f, y.f
	if a == nil {
		a = new(big.Float)
	}
	if b == nil {
		b = new(big.Float)
	}
	if a.IsInf() || b.IsInf() {
		return LongDouble{}, false
	}
	if a.Sign() == 0 {
		if b.Sign() == 0 {
			// +0 + -0 is +0 under round to nearest; -0 + -0 is -0.
			z := new(big.Float).SetPrec(ldPrec)
			if a.Signbit() && b.Signbit() {
				z.Neg(z)
			}
			return LongDouble{z}, true
		}
		return LongDouble{b}, true
	}
	if b.Sign() == 0 {
		return LongDouble{a}, true
	}
	ea, eb := a.MantExp(nil), b.MantExp(nil)
	d := ea - eb
	if d < 0 {
		d = -d
	}
	if d > 200 {
		// The smaller operand is far below half an ulp of the larger
		// (both have 64-bit mantissas): the sum rounds to the larger.
		if ea > eb {
			return LongDouble{a}, true
		}
		return LongDouble{b}, true
	}
	sum := new(big.Float).SetPrec(uint(ldPrec+d+2)).Add(a, b) // exact
	z := ldRound(sum)
	if z.IsInf() {
		return LongDouble{}, false
	}
	return LongDouble{z}, true
}

// AppendLongDoubleHuman appends x formatted as Redis's ld2string in
// LD_STR_HUMAN mode: printf("%.17Lf"), trailing zeros after the point
// removed (and the point when nothing follows), "-0" written as "0".
// Infinities are written "inf"/"-inf".
func AppendLongDoubleHuman(dst []byte, x LongDouble) []byte {
	if x.f == nil {
		return append(dst, '0')
	}
	if x.f.IsInf() {
		if x.f.Sign() < 0 {
			return append(dst, "-inf"...)
		}
		return append(dst, "inf"...)
	}
	start := len(dst)
	dst = x.f.Append(dst, 'f', 17)
	// Text always has a point with 17 decimals: trim zeros, then the point.
	l := len(dst)
	for dst[l-1] == '0' {
		l--
	}
	if dst[l-1] == '.' {
		l--
	}
	dst = dst[:l]
	if l-start == 2 && dst[start] == '-' && dst[start+1] == '0' {
		dst = append(dst[:start], '0')
	}
	return dst
}
