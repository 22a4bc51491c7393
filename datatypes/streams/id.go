package streams

import "strconv"

// ID is a stream entry ID, ms-seq.
type ID struct{ Ms, Seq uint64 }

// MaxU64 is the largest ms or seq.
const MaxU64 = ^uint64(0)

// Cmp compares IDs: -1, 0 or 1.
func (a ID) Cmp(b ID) int {
	switch {
	case a.Ms > b.Ms:
		return 1
	case a.Ms < b.Ms:
		return -1
	case a.Seq > b.Seq:
		return 1
	case a.Seq < b.Seq:
		return -1
	}
	return 0
}

// Less reports a < b.
func (a ID) Less(b ID) bool { return a.Cmp(b) < 0 }

// IsZero reports 0-0.
func (a ID) IsZero() bool { return a.Ms == 0 && a.Seq == 0 }

// IsMax reports the largest ID.
func (a ID) IsMax() bool { return a.Ms == MaxU64 && a.Seq == MaxU64 }

// Incr is streamIncrID: the next ID, or 0-0 and false after the last.
func (a ID) Incr() (ID, bool) {
	switch {
	case a.Seq < MaxU64:
		return ID{a.Ms, a.Seq + 1}, true
	case a.Ms < MaxU64:
		return ID{a.Ms + 1, 0}, true
	}
	return ID{}, false
}

// Decr is streamDecrID: the previous ID, or the largest and false before
// 0-0.
func (a ID) Decr() (ID, bool) {
	switch {
	case a.Seq > 0:
		return ID{a.Ms, a.Seq - 1}, true
	case a.Ms > 0:
		return ID{a.Ms - 1, MaxU64}, true
	}
	return ID{MaxU64, MaxU64}, false
}

// Append appends "ms-seq" to dst.
func (a ID) Append(dst []byte) []byte {
	dst = strconv.AppendUint(dst, a.Ms, 10)
	dst = append(dst, '-')
	return strconv.AppendUint(dst, a.Seq, 10)
}

// String is "ms-seq".
func (a ID) String() string { return string(a.Append(nil)) }

// Next is streamNextID: the ID XADD * generates at unix ms now after last,
// false when last is the largest ID.
func Next(last ID, now uint64) (ID, bool) {
	if now > last.Ms {
		return ID{now, 0}, true
	}
	return last.Incr()
}

// ParseID is streamGenericParseIDOrReply: "ms-seq", "ms" (seq missingSeq),
// "-" and "+" (not when strict). With allowSeqStar, "ms-*" parses with
// seqGiven false. ok false is Redis's "Invalid stream ID" error.
func ParseID(b []byte, missingSeq uint64, strict, allowSeqStar bool) (id ID, seqGiven, ok bool) {
	if len(b) > 127 {
		return ID{}, false, false
	}
	if len(b) == 1 && (b[0] == '-' || b[0] == '+') {
		if strict {
			return ID{}, false, false
		}
		if b[0] == '-' {
			return ID{}, true, true
		}
		return ID{MaxU64, MaxU64}, true, true
	}
	// C strings stop at NUL: what follows is ignored, as Redis's strchr
	// and string2ull see it.
	for i, c := range b {
		if c == 0 {
			b = b[:i]
			break
		}
	}
	ms, seqPart, dot := b, []byte(nil), false
	for i, c := range b {
		if c == '-' {
			ms, seqPart, dot = b[:i], b[i+1:], true
			break
		}
	}
	m, good := string2ull(ms)
	if !good {
		return ID{}, false, false
	}
	seq, seqGiven := missingSeq, true
	if dot {
		if allowSeqStar && len(seqPart) == 1 && seqPart[0] == '*' {
			seq, seqGiven = 0, false
		} else if seq, good = string2ull(seqPart); !good {
			return ID{}, false, false
		}
	}
	return ID{m, seq}, seqGiven, true
}

// string2ull is Redis's: string2ll for canonical non-negative numbers,
// else strtoull's rules (leading spaces, a sign, no overflow, nothing
// after the digits).
func string2ull(s []byte) (uint64, bool) {
	if v, ok := canonicalInt(s); ok {
		if v < 0 {
			return 0, false
		}
		return uint64(v), true
	}
	i := 0
	for i < len(s) && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var v uint64
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		d := uint64(s[i] - '0')
		if v > (MaxU64-d)/10 {
			return 0, false // ERANGE
		}
		v = v*10 + d
	}
	if i == start || i != len(s) || len(s) == 0 {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}

// canonicalInt is string2ll.
func canonicalInt(s []byte) (int64, bool) {
	if len(s) == 0 || len(s) > 20 {
		return 0, false
	}
	if len(s) == 1 && s[0] == '0' {
		return 0, true
	}
	neg := s[0] == '-'
	p := s
	if neg {
		p = s[1:]
	}
	if len(p) == 0 || p[0] < '1' || p[0] > '9' {
		return 0, false
	}
	var v uint64
	for _, c := range p {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (MaxU64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return -int64(v), true
	}
	if v > 1<<63-1 {
		return 0, false
	}
	return int64(v), true
}
