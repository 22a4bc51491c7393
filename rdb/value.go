package rdb

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/basaltdb/basalt/datatypes/listpack"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/datatypes/hashes"
	"github.com/basaltdb/basalt/datatypes/lists"
	"github.com/basaltdb/basalt/datatypes/sets"
	"github.com/basaltdb/basalt/datatypes/streams"
	"github.com/basaltdb/basalt/datatypes/zsets"
	"github.com/basaltdb/basalt/keyspace"
)

// ---- writing ----

// valueType is the RDB type Redis 7.0 saves e as (rdbSaveObjectType).
func valueType(e *keyspace.Entry) byte {
	switch e.Kind {
	case keyspace.KindList:
		return typeListQuicklist2
	case keyspace.KindSet:
		if e.Obj.Encoding() == keyspace.EncIntset {
			return typeSetIntset
		}
		return typeSet
	case keyspace.KindZSet:
		if e.Obj.Encoding() == keyspace.EncListpack {
			return typeZSetListpack
		}
		return typeZSet2
	case keyspace.KindHash:
		if e.Obj.Encoding() == keyspace.EncListpack {
			return typeHashListpack
		}
		return typeHash
	case keyspace.KindStream:
		return typeStreamListpack2
	}
	return typeString
}

func appendValue(dst []byte, e *keyspace.Entry) []byte {
	lz := lzfPool.Get().(*lzfState)
	dst = append(dst, valueType(e))
	dst = appendObject(dst, e, lz, nil)
	lzfPool.Put(lz)
	return dst
}

// appendObject is rdbSaveObject: the value of e without its type byte.
// scratch is reused for the packed blobs (may be nil).
func appendObject(dst []byte, e *keyspace.Entry, lz *lzfState, scratch *[]byte) []byte {
	var tmp []byte
	if scratch == nil {
		scratch = &tmp
	}
	switch e.Kind {
	case keyspace.KindList:
		return appendList(dst, e.Obj.(*lists.List), lz, scratch)
	case keyspace.KindSet:
		return appendSet(dst, e.Obj.(*sets.Set), lz, scratch)
	case keyspace.KindZSet:
		return appendZSet(dst, e.Obj.(*zsets.ZSet), lz, scratch)
	case keyspace.KindHash:
		return appendHash(dst, e.Obj.(*hashes.Hash), lz, scratch)
	case keyspace.KindStream:
		return appendStream(dst, e.Obj.(*streams.Stream), lz)
	}
	if e.Enc == keyspace.EncInt {
		if v, ok := datatypes.ParseInt(e.Str); ok {
			return appendIntString(dst, v)
		}
	}
	return appendString(dst, e.Str, lz)
}

// Quicklist node sizing of Redis 7.0 (quicklist.c) under the default
// list-max-listpack-size -2, so that a list pushed element by element is
// saved with the node boundaries redis-server would have.
const (
	qlFill           = -2
	qlSafetyLimit    = 8192
	qlPackedThreshod = 1 << 30
)

var qlOptimizationLevel = [...]int{4096, 8192, 16384, 32768, 65536}

// qlAllowInsert is _quicklistNodeAllowInsert (7.0.15: a flat 8-byte
// estimate of an entry's overhead) for a packed node of nodeSz bytes and
// count entries receiving an element of sz bytes.
func qlAllowInsert(nodeSz, count, sz int) bool {
	const sizeEstimateOverhead = 8
	newSz := nodeSz + sz + sizeEstimateOverhead
	if qlFill < 0 {
		if off := -qlFill - 1; off < len(qlOptimizationLevel) && newSz <= qlOptimizationLevel[off] {
			return true
		}
	}
	if newSz > qlSafetyLimit {
		return false
	}
	return count < qlFill
}

func appendList(dst []byte, l *lists.List, lz *lzfState, scratch *[]byte) []byte {
	// Pack the nodes first: their number comes before them.
	type node struct {
		start, end int
		plain      bool
	}
	var nodes []node
	buf := (*scratch)[:0]
	cur, curCount := -1, 0
	l.Each(false, func(_ int, v []byte) bool {
		if len(v) >= qlPackedThreshod {
			if cur >= 0 {
				buf = lpFinish(buf, nodes[cur].start, curCount)
				nodes[cur].end = len(buf)
				cur = -1
			}
			nodes = append(nodes, node{start: len(buf), plain: true})
			buf = append(buf, v...)
			nodes[len(nodes)-1].end = len(buf)
			return true
		}
		if cur >= 0 && !qlAllowInsert(len(buf)-nodes[cur].start+1, curCount, len(v)) {
			buf = lpFinish(buf, nodes[cur].start, curCount)
			nodes[cur].end = len(buf)
			cur = -1
		}
		if cur < 0 {
			var start int
			buf, start = lpStart(buf)
			nodes = append(nodes, node{start: start})
			cur, curCount = len(nodes)-1, 0
		}
		buf = listpack.Append(buf, v)
		curCount++
		return true
	})
	if cur >= 0 {
		buf = lpFinish(buf, nodes[cur].start, curCount)
		nodes[cur].end = len(buf)
	}
	*scratch = buf
	dst = appendLen(dst, uint64(len(nodes)))
	for _, n := range nodes {
		if n.plain {
			dst = appendLen(dst, containerPlain)
		} else {
			dst = appendLen(dst, containerPacked)
		}
		dst = appendString(dst, buf[n.start:n.end], lz)
	}
	return dst
}

func appendSet(dst []byte, s *sets.Set, lz *lzfState, scratch *[]byte) []byte {
	if !s.IsIntset() {
		dst = appendLen(dst, uint64(s.Len()))
		s.ForEach(func(m []byte) bool {
			dst = appendString(dst, m, lz)
			return true
		})
		return dst
	}
	// Members come in ascending order: the first and last give the width.
	lo, hi, i := int64(0), int64(0), 0
	s.ForEach(func(m []byte) bool {
		v, _ := datatypes.ParseInt(m)
		if i == 0 {
			lo = v
		}
		hi = v
		i++
		return true
	})
	w := intsetWidth(lo, hi)
	buf := intsetAppendHeader((*scratch)[:0], w, s.Len())
	s.ForEach(func(m []byte) bool {
		v, _ := datatypes.ParseInt(m)
		buf = intsetAppendMember(buf, w, v)
		return true
	})
	*scratch = buf
	return appendString(dst, buf, lz)
}

// appendScoreText is d2string (Redis 7.0 util.c): how a listpack zset
// stores a score before lpAppend turns integral text into an integer.
func appendScoreText(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "nan"...)
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	case f == 0:
		if math.Signbit(f) {
			return append(dst, "-0"...)
		}
		return append(dst, '0')
	case f > -4503599627370495 && f < 4503599627370496 && f == math.Trunc(f):
		return strconv.AppendInt(dst, int64(f), 10)
	}
	return strconv.AppendFloat(dst, f, 'g', 17, 64)
}

func appendZSet(dst []byte, z *zsets.ZSet, lz *lzfState, scratch *[]byte) []byte {
	n := z.Len()
	if z.Encoding() != keyspace.EncListpack {
		dst = appendLen(dst, uint64(n))
		if n == 0 {
			return dst
		}
		// Highest first, as Redis walks its skiplist from the tail.
		z.Walk(n-1, 0, func(m []byte, score float64) bool {
			dst = appendString(dst, m, lz)
			dst = appendDouble(dst, score)
			return true
		})
		return dst
	}
	buf, start := lpStart((*scratch)[:0])
	var num [32]byte
	z.ForEach(func(m []byte, score float64) bool {
		buf = listpack.Append(buf, m)
		// zzlInsertAt: an integral score in double2ll's range is stored
		// as an integer (-0 included), anything else as d2string text.
		if score >= -float64(math.MaxInt64/2) && score <= float64(math.MaxInt64/2) && score == math.Trunc(score) {
			buf = listpack.AppendInt(buf, int64(score))
		} else {
			buf = listpack.Append(buf, appendScoreText(num[:0], score))
		}
		return true
	})
	buf = lpFinish(buf, start, 2*n)
	*scratch = buf
	return appendString(dst, buf, lz)
}

func appendHash(dst []byte, h *hashes.Hash, lz *lzfState, scratch *[]byte) []byte {
	if !h.IsListpack() {
		dst = appendLen(dst, uint64(h.Len()))
		h.ForEach(func(f, v []byte) bool {
			dst = appendString(dst, f, lz)
			dst = appendString(dst, v, lz)
			return true
		})
		return dst
	}
	buf, start := lpStart((*scratch)[:0])
	n := 0
	h.ForEach(func(f, v []byte) bool {
		buf = listpack.Append(buf, f)
		buf = listpack.Append(buf, v)
		n += 2
		return true
	})
	buf = lpFinish(buf, start, n)
	*scratch = buf
	return appendString(dst, buf, lz)
}

// ---- reading ----

func readValue(b []byte, lim *datatypes.Limits) (Value, int, error) {
	d := &dec{b: b}
	t, err := d.u8("a value type")
	if err != nil {
		return Value{}, 0, err
	}
	if !isValueType(t) {
		return Value{}, 0, d.fail(0, "expected a value type, got 0x%02x", t)
	}
	v, err := d.value(t, 0, lim, nil)
	if err != nil {
		return Value{}, 0, err
	}
	return v, d.pos, nil
}

// isValueType is rdbIsObjectType.
func isValueType(t byte) bool {
	return t <= typeZSet2 || t == typeModule || t == typeModule2 || (t >= typeHashZipmap && t <= typeStreamListpack2)
}

func limitsOrDefault(lim *datatypes.Limits) *datatypes.Limits {
	if lim == nil {
		l := datatypes.DefaultLimits()
		return &l
	}
	return lim
}

// hint caps a preallocation size taken from the input.
func (d *dec) hint(n uint64) int {
	const max = 1 << 16
	if r := d.remaining(); r >= 0 && n > uint64(r) {
		n = uint64(r)
	}
	if n > max {
		n = max
	}
	return int(n)
}

// value is rdbLoadObject for type t (already read, at offset start). key
// names the key in errors (nil for RESTORE payloads).
func (d *dec) value(t byte, start int64, lim *datatypes.Limits, key []byte) (Value, error) {
	lim = limitsOrDefault(lim)
	switch t {
	case typeString:
		s, err := d.strCopy("a string value")
		return Value{Kind: keyspace.KindString, Str: s}, err
	case typeList:
		n, err := d.elems("a list length", 1)
		if err != nil {
			return Value{}, err
		}
		if n == 0 {
			return Value{}, d.empty(start, key)
		}
		l := lists.New(lim)
		for ; n > 0; n-- {
			s, err := d.str("a list element")
			if err != nil {
				return Value{}, err
			}
			l.PushTail(s)
		}
		return Value{Kind: keyspace.KindList, Obj: l}, nil
	case typeSet:
		return d.set(lim, key)
	case typeZSet, typeZSet2:
		return d.zset(t, lim, key)
	case typeHash:
		return d.hash(lim, key)
	case typeListQuicklist, typeListQuicklist2:
		return d.quicklist(t, lim, key)
	case typeHashZipmap, typeListZiplist, typeSetIntset, typeZSetZiplist,
		typeZSetListpack, typeHashZiplist, typeHashListpack:
		return d.packed(t, lim, key)
	case typeStreamListpacks, typeStreamListpack2:
		return d.stream(t, key)
	case typeModule, typeModule2:
		return Value{}, d.fail(start, "%smodule values (RDB type %d) are not supported: Basalt has no modules", keyPrefix(key), t)
	}
	return Value{}, d.fail(start, "expected a value type, got 0x%02x", t)
}

func keyPrefix(key []byte) string {
	if key == nil {
		return ""
	}
	return "key " + strconv.Quote(string(key)) + ": "
}

func (d *dec) empty(off int64, key []byte) error {
	return &formatError{name: d.name, off: off, msg: keyPrefix(key) + "empty aggregate", err: errEmptyKey}
}

func (d *dec) corrupt(off int64, key []byte, err error) error {
	return d.fail(off, "%s%v", keyPrefix(key), err)
}

func (d *dec) set(lim *datatypes.Limits, key []byte) (Value, error) {
	start := d.off() - 1
	n, err := d.elems("a set length", 1)
	if err != nil {
		return Value{}, err
	}
	if n == 0 {
		return Value{}, d.empty(start, key)
	}
	var s *sets.Set
	if n > uint64(lim.SetMaxIntsetEntries) {
		s = sets.NewHashtable(rand.Uint64(), d.hint(n))
	} else {
		s = sets.New(rand.Uint64())
	}
	for ; n > 0; n-- {
		off := d.off()
		m, err := d.str("a set member")
		if err != nil {
			return Value{}, err
		}
		if !s.Add(m, lim.SetMaxIntsetEntries) {
			return Value{}, d.fail(off, "%sduplicate set member", keyPrefix(key))
		}
	}
	return Value{Kind: keyspace.KindSet, Obj: s}, nil
}

// score reads a sorted set score: binary (ZSET_2) or rdbLoadDoubleValue's
// length-prefixed text (ZSET).
func (d *dec) score(t byte) (float64, error) {
	if t == typeZSet2 {
		b, err := d.bytes(8, "a binary score")
		if err != nil {
			return 0, err
		}
		return math.Float64frombits(leU64(b)), nil
	}
	off := d.off()
	l, err := d.u8("a score length")
	if err != nil {
		return 0, err
	}
	switch l {
	case 255:
		return math.Inf(-1), nil
	case 254:
		return math.Inf(1), nil
	case 253:
		return math.NaN(), nil
	}
	b, err := d.bytes(int(l), "a score")
	if err != nil {
		return 0, err
	}
	f, ok := parseScore(b)
	if !ok {
		return 0, d.fail(off, "invalid score %q", b)
	}
	return f, nil
}

// parseScore parses score text as strtod would (sscanf "%lg", zzlStrtod).
func parseScore(b []byte) (float64, bool) {
	if f, ok := datatypes.ParseFloat(b); ok {
		return f, true
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return f, true
		}
		return 0, false
	}
	return f, true
}

func (d *dec) zset(t byte, lim *datatypes.Limits, key []byte) (Value, error) {
	start := d.off() - 1
	n, err := d.elems("a sorted set length", 2)
	if err != nil {
		return Value{}, err
	}
	if n == 0 {
		return Value{}, d.empty(start, key)
	}
	z := zsets.NewSkiplist()
	var m []byte
	for ; n > 0; n-- {
		off := d.off()
		s, err := d.str("a sorted set member")
		if err != nil {
			return Value{}, err
		}
		m = append(m[:0], s...) // the score read may move the buffer
		f, err := d.score(t)
		if err != nil {
			return Value{}, err
		}
		if math.IsNaN(f) {
			return Value{}, d.fail(off, "%ssorted set member with a NaN score", keyPrefix(key))
		}
		if !z.Add(m, f, lim) {
			return Value{}, d.fail(off, "%sduplicate sorted set member", keyPrefix(key))
		}
	}
	// Converted after loading, as Redis (zsetConvert when it fits).
	z.Normalize(lim)
	return Value{Kind: keyspace.KindZSet, Obj: z}, nil
}

func (d *dec) hash(lim *datatypes.Limits, key []byte) (Value, error) {
	start := d.off() - 1
	n, err := d.elems("a hash length", 2)
	if err != nil {
		return Value{}, err
	}
	if n == 0 {
		return Value{}, d.empty(start, key)
	}
	h := hashes.New()
	if n > uint64(lim.HashMaxListpackEntries) {
		h.Convert()
	}
	var f []byte
	for ; n > 0; n-- {
		off := d.off()
		s, err := d.str("a hash field")
		if err != nil {
			return Value{}, err
		}
		f = append(f[:0], s...)
		v, err := d.str("a hash value")
		if err != nil {
			return Value{}, err
		}
		if !h.Set(f, v, lim.HashMaxListpackEntries, lim.HashMaxListpackValue) {
			return Value{}, d.fail(off, "%sduplicate hash field", keyPrefix(key))
		}
	}
	return Value{Kind: keyspace.KindHash, Obj: h}, nil
}

func (d *dec) quicklist(t byte, lim *datatypes.Limits, key []byte) (Value, error) {
	start := d.off() - 1
	n, err := d.elems("a quicklist node count", 2)
	if err != nil {
		return Value{}, err
	}
	if n == 0 {
		return Value{}, d.empty(start, key)
	}
	l := lists.New(lim)
	var num [24]byte
	push := func(s []byte, v int64, isInt bool) error {
		if isInt {
			s = strconv.AppendInt(num[:0], v, 10)
		}
		l.PushTail(s)
		return nil
	}
	for ; n > 0; n-- {
		container := uint64(containerPacked)
		off := d.off()
		if t == typeListQuicklist2 {
			if container, err = d.count("a quicklist container"); err != nil {
				return Value{}, err
			}
			if container != containerPacked && container != containerPlain {
				return Value{}, d.fail(off, "%sexpected a quicklist container (1 or 2), got %d", keyPrefix(key), container)
			}
		}
		off = d.off()
		blob, err := d.str("a quicklist node")
		if err != nil {
			return Value{}, err
		}
		if len(blob) == 0 {
			return Value{}, d.fail(off, "%sempty quicklist node", keyPrefix(key))
		}
		switch {
		case container == containerPlain:
			l.PushTail(blob)
		case t == typeListQuicklist2:
			err = lpEach(blob, push)
		default:
			err = zlEach(blob, push)
		}
		if err != nil {
			return Value{}, d.corrupt(off, key, err)
		}
	}
	if l.Len() == 0 {
		return Value{}, d.empty(start, key)
	}
	return Value{Kind: keyspace.KindList, Obj: l}, nil
}

// pairs calls fn with the entries of a ziplist or listpack two at a time.
func pairs(each func([]byte, func([]byte, int64, bool) error) error, blob []byte,
	fn func(a, b []byte) error) (int, error) {
	var a []byte
	var num [24]byte
	i := 0
	err := each(blob, func(s []byte, v int64, isInt bool) error {
		if isInt {
			s = strconv.AppendInt(num[:0], v, 10)
		}
		i++
		if i%2 == 1 {
			a = append(a[:0], s...)
			return nil
		}
		return fn(a, s)
	})
	if err == nil && i%2 == 1 {
		err = errors.New("odd number of entries in a paired container")
	}
	return i / 2, err
}

var (
	errDupMember = errors.New("duplicate member")
	errNaNScore  = errors.New("member with a NaN score")
	errBadScore  = errors.New("member with an invalid score")
)

// packed decodes the single-blob types (rdbLoadObject's last branch).
func (d *dec) packed(t byte, lim *datatypes.Limits, key []byte) (Value, error) {
	start := d.off() - 1
	off := d.off()
	blob, err := d.str("an encoded value")
	if err != nil {
		return Value{}, err
	}
	bad := func(err error) (Value, error) { return Value{}, d.corrupt(off, key, err) }
	switch t {
	case typeSetIntset:
		n := 0
		var s *sets.Set
		var num [24]byte
		err := intsetEach(blob, func(v int64) error {
			if s == nil {
				if n := uint64(binary.LittleEndian.Uint32(blob[4:])); n > uint64(lim.SetMaxIntsetEntries) {
					s = sets.NewHashtable(rand.Uint64(), d.hint(n))
				} else {
					s = sets.New(rand.Uint64())
				}
			}
			s.Add(strconv.AppendInt(num[:0], v, 10), lim.SetMaxIntsetEntries)
			n++
			return nil
		})
		if err != nil {
			return bad(err)
		}
		if n == 0 {
			return Value{}, d.empty(start, key)
		}
		return Value{Kind: keyspace.KindSet, Obj: s}, nil
	case typeListZiplist:
		l := lists.New(lim)
		var num [24]byte
		err := zlEach(blob, func(s []byte, v int64, isInt bool) error {
			if isInt {
				s = strconv.AppendInt(num[:0], v, 10)
			}
			l.PushTail(s)
			return nil
		})
		if err != nil {
			return bad(err)
		}
		if l.Len() == 0 {
			return Value{}, d.empty(start, key)
		}
		return Value{Kind: keyspace.KindList, Obj: l}, nil
	case typeHashZipmap, typeHashZiplist, typeHashListpack:
		// A packed hash stays packed however long its values, and
		// converts only on its number of fields, except a zipmap which
		// Redis checks for both.
		maxValue := int64(math.MaxInt64)
		if t == typeHashZipmap {
			maxValue = lim.HashMaxListpackValue
		}
		h := hashes.New()
		add := func(f, v []byte) error {
			if !h.Set(f, v, lim.HashMaxListpackEntries, maxValue) {
				return errDupMember
			}
			return nil
		}
		var n int
		var err error
		switch t {
		case typeHashZipmap:
			err = zmEach(blob, func(f, v []byte) error { n++; return add(f, v) })
		case typeHashZiplist:
			n, err = pairs(zlEach, blob, add)
		default:
			n, err = pairs(lpEach, blob, add)
		}
		if err != nil {
			return bad(err)
		}
		if n == 0 {
			return Value{}, d.empty(start, key)
		}
		return Value{Kind: keyspace.KindHash, Obj: h}, nil
	default: // typeZSetZiplist, typeZSetListpack
		zl := *lim
		zl.ZSetMaxListpackValue = math.MaxInt64
		z := zsets.New()
		add := func(m, sc []byte) error {
			f, ok := parseScore(sc)
			if !ok {
				return errBadScore
			}
			if math.IsNaN(f) {
				return errNaNScore
			}
			if !z.Add(m, f, &zl) {
				return errDupMember
			}
			return nil
		}
		each := lpEach
		if t == typeZSetZiplist {
			each = zlEach
		}
		n, err := pairs(each, blob, add)
		if err != nil {
			return bad(err)
		}
		if n == 0 {
			return Value{}, d.empty(start, key)
		}
		return Value{Kind: keyspace.KindZSet, Obj: z}, nil
	}
}
