package geo

import (
	"slices"
	"strconv"
)

// PQSort is Redis's pqsort.c as shipped in 7.0 (NetBSD's Bentley-McIlroy
// quicksort made partial, without the later insertion-sort fallback for
// partitions that needed no swap): it orders a well enough that a[lrange..rrange] (inclusive
// element indexes) hold the elements a full sort would put there, and
// skips partitions outside that range. It is not stable, and Redis relies
// on its exact element movements for ties (GEOSEARCH ... COUNT, SORT ...
// BY ... LIMIT), so this is a line-by-line port.
//
// cmp returns <0, 0, >0 like qsort's comparator.
func PQSort[T any](a []T, cmp func(x, y *T) int, lrange, rrange int) {
	pqsort(a, 0, len(a), cmp, lrange, rrange)
}

func med3[T any](a []T, i, j, k int, cmp func(x, y *T) int) int {
	if cmp(&a[i], &a[j]) < 0 {
		if cmp(&a[j], &a[k]) < 0 {
			return j
		}
		if cmp(&a[i], &a[k]) < 0 {
			return k
		}
		return i
	}
	if cmp(&a[j], &a[k]) > 0 {
		return j
	}
	if cmp(&a[i], &a[k]) < 0 {
		return i
	}
	return k
}

// vecswap swaps the n elements at i with the n elements at j.
func vecswap[T any](a []T, i, j, n int) {
	for ; n > 0; n-- {
		a[i], a[j] = a[j], a[i]
		i++
		j++
	}
}

// pqsort sorts a[base:base+n]; positions are element indexes into a, the
// C code's byte pointers divided by the element size.
func pqsort[T any](a []T, base, n int, cmp func(x, y *T) int, lrange, rrange int) {
	for {
		if n < 7 {
			insertion(a, base, n, cmp)
			return
		}
		pm := base + n/2
		if n > 7 {
			pl := base
			pn := base + n - 1
			if n > 40 {
				d := n / 8
				pl = med3(a, pl, pl+d, pl+2*d, cmp)
				pm = med3(a, pm-d, pm, pm+d, cmp)
				pn = med3(a, pn-2*d, pn-d, pn, cmp)
			}
			pm = med3(a, pl, pm, pn, cmp)
		}
		a[base], a[pm] = a[pm], a[base]
		pa, pb := base+1, base+1
		pc, pd := base+n-1, base+n-1
		for {
			for pb <= pc {
				r := cmp(&a[pb], &a[base])
				if r > 0 {
					break
				}
				if r == 0 {
					a[pa], a[pb] = a[pb], a[pa]
					pa++
				}
				pb++
			}
			for pb <= pc {
				r := cmp(&a[pc], &a[base])
				if r < 0 {
					break
				}
				if r == 0 {
					a[pc], a[pd] = a[pd], a[pc]
					pd--
				}
				pc--
			}
			if pb > pc {
				break
			}
			a[pb], a[pc] = a[pc], a[pb]
			pb++
			pc--
		}
		pn := base + n
		r := min(pa-base, pb-pa)
		vecswap(a, base, pb-r, r)
		r = min(pd-pc, pn-pd-1)
		vecswap(a, pb, pn-r, r)
		if r = pb - pa; r > 1 {
			if overlaps(base, r, lrange, rrange) {
				pqsort(a, base, r, cmp, lrange, rrange)
			}
		}
		if r = pd - pc; r > 1 {
			// Iterate rather than recurse.
			base = pn - r
			n = r
			if overlaps(base, n, lrange, rrange) {
				continue
			}
		}
		return
	}
}

// overlaps is the C code's pointer test: the partition [s, s+cnt) is
// sorted unless the wanted range lies wholly before or after it.
func overlaps(s, cnt, lrange, rrange int) bool {
	return !((lrange < s && rrange < s) || (lrange >= s+cnt && rrange >= s+cnt))
}

func insertion[T any](a []T, base, n int, cmp func(x, y *T) int) {
	for pm := base + 1; pm < base+n; pm++ {
		for pl := pm; pl > base && cmp(&a[pl-1], &a[pl]) > 0; pl-- {
			a[pl], a[pl-1] = a[pl-1], a[pl]
		}
	}
}

// Sort is glibc's qsort as Redis 7.0 gets it on Linux (glibc 2.36): a
// merge sort, hence stable. Elements that compare equal keep their order.
func Sort[T any](a []T, cmp func(x, y *T) int) {
	slices.SortStableFunc(a, func(x, y T) int { return cmp(&x, &y) })
}

// AppendDistance appends d as Redis's addReplyDoubleDistance writes it:
// printf("%.4f").
func AppendDistance(dst []byte, d float64) []byte {
	return strconv.AppendFloat(dst, d, 'f', 4, 64)
}

// AppendCoord appends a coordinate as Redis's addReplyHumanLongDouble
// writes it (ld2string LD_STR_HUMAN of the double widened to long
// double): printf("%.17Lf") with trailing zeros, then a trailing point,
// removed, and "-0" written "0".
func AppendCoord(dst []byte, f float64) []byte {
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'f', 17, 64)
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
