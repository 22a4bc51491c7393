package datatypes

// LCSMatch is one matching range of an LCS IDX reply: a[AStart..AEnd]
// equals b[BStart..BEnd] (inclusive).
type LCSMatch struct {
	AStart, AEnd, BStart, BEnd uint32
}

// LCSTableBytes is the transient memory LCS needs for strings of these
// lengths (Redis refuses when it exceeds proto-max-bulk-len).
func LCSTableBytes(alen, blen int) uint64 {
	return uint64(alen+1) * uint64(blen+1) * 4
}

// LCS computes the longest common subsequence of a and b with Redis's
// dynamic programming table and backtracking, so ties resolve the same
// way. It returns the length, the subsequence itself when wantStr, and,
// when wantIdx, the matching ranges (longest-index first, as Redis emits
// them) of at least minLen bytes.
func LCS(a, b []byte, wantStr, wantIdx bool, minLen int64) (n uint32, str []byte, matches []LCSMatch) {
	alen, blen := uint32(len(a)), uint32(len(b))
	w := blen + 1
	dp := make([]uint32, uint64(alen+1)*uint64(w))
	for i := uint32(1); i <= alen; i++ {
		row, prev := dp[i*w:(i+1)*w], dp[(i-1)*w:i*w]
		ai := a[i-1]
		for j := uint32(1); j <= blen; j++ {
			if ai == b[j-1] {
				row[j] = prev[j-1] + 1
			} else {
				l1, l2 := prev[j], row[j-1]
				if l1 > l2 {
					row[j] = l1
				} else {
					row[j] = l2
				}
			}
		}
	}
	at := func(i, j uint32) uint32 { return dp[i*w+j] }
	n = at(alen, blen)
	if !wantStr && !wantIdx {
		return n, nil, nil
	}
	idx := n
	if wantStr {
		str = make([]byte, n)
	}
	aStart, aEnd, bStart, bEnd := alen, uint32(0), uint32(0), uint32(0) // aStart == alen: no range
	i, j := alen, blen
	for i > 0 && j > 0 {
		emit := false
		if a[i-1] == b[j-1] {
			if wantStr {
				str[idx-1] = a[i-1]
			}
			if aStart == alen {
				aStart, aEnd = i-1, i-1
				bStart, bEnd = j-1, j-1
			} else if aStart == i && bStart == j {
				// Contiguous with the current range: extend it backwards.
				aStart--
				bStart--
			} else {
				emit = true
			}
			// A range touching the start of either string is complete.
			if aStart == 0 || bStart == 0 {
				emit = true
			}
			idx--
			i--
			j--
		} else {
			if at(i-1, j) > at(i, j-1) {
				i--
			} else {
				j--
			}
			if aStart != alen {
				emit = true
			}
		}
		if emit {
			mlen := aEnd - aStart + 1
			if wantIdx && (minLen == 0 || int64(mlen) >= minLen) {
				matches = append(matches, LCSMatch{aStart, aEnd, bStart, bEnd})
			}
			aStart = alen
		}
	}
	return n, str, matches
}
