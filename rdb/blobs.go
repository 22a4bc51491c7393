package rdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/basaltdb/basalt/datatypes/listpack"
)

// Listpack (listpack.c), intset (intset.c), ziplist (ziplist.c) and zipmap
// (zipmap.c) blobs: the packed containers RDB stores as single strings.

// ---- listpack ----

const (
	lpHdrSize       = 6
	lpEOF           = 0xff
	lpNumeleUnknown = 65535
)

// lpStart begins a listpack in dst; the returned offset goes to lpFinish.
func lpStart(dst []byte) ([]byte, int) {
	return append(dst, 0, 0, 0, 0, 0, 0), len(dst)
}

// lpFinish terminates the listpack begun at start holding n entries and
// fills in its header.
func lpFinish(dst []byte, start, n int) []byte {
	dst = append(dst, lpEOF)
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(dst)-start))
	if n >= lpNumeleUnknown {
		n = lpNumeleUnknown
	}
	binary.LittleEndian.PutUint16(dst[start+4:], uint16(n))
	return dst
}

// lpEach validates the listpack lp and calls fn with each entry: a string
// (s) or an integer (v, isInt). s points into lp. The whole listpack is
// checked before the first call (sizes, backlens, count, terminator).
func lpEach(lp []byte, fn func(s []byte, v int64, isInt bool) error) error {
	n, err := lpValidate(lp)
	if err != nil {
		return err
	}
	p := lpHdrSize
	for i := 0; i < n; i++ {
		s, v, isInt, size := lpEntry(lp, p)
		if err := fn(s, v, isInt); err != nil {
			return err
		}
		p += size
		p += listpack.BacklenSize(uint64(size))
	}
	return nil
}

// lpEntrySize returns the size of the encoding+data of the entry at lp[p:]
// (not its backlen), or -1 when it does not fit in lp.
func lpEntrySize(lp []byte, p int) int {
	rest := len(lp) - p
	if rest < 1 {
		return -1
	}
	c := lp[p]
	size := 0
	switch {
	case c&0x80 == 0:
		size = 1
	case c&0xc0 == 0x80:
		size = 1 + int(c&0x3f)
	case c&0xe0 == 0xc0:
		size = 2
	case c&0xf0 == 0xe0:
		if rest < 2 {
			return -1
		}
		size = 2 + int(c&0x0f)<<8 + int(lp[p+1])
	case c == 0xf1:
		size = 3
	case c == 0xf2:
		size = 4
	case c == 0xf3:
		size = 5
	case c == 0xf4:
		size = 9
	case c == 0xf0:
		if rest < 5 {
			return -1
		}
		l := uint64(binary.LittleEndian.Uint32(lp[p+1:]))
		if l > uint64(rest) {
			return -1
		}
		size = 5 + int(l)
	default:
		return -1 // 0xf5..0xfe are unused, 0xff is EOF
	}
	if size > rest {
		return -1
	}
	return size
}

// lpEntry decodes the entry at lp[p:] (already validated).
func lpEntry(lp []byte, p int) (s []byte, v int64, isInt bool, size int) {
	c := lp[p]
	switch {
	case c&0x80 == 0:
		return nil, int64(c), true, 1
	case c&0xc0 == 0x80:
		n := int(c & 0x3f)
		return lp[p+1 : p+1+n], 0, false, 1 + n
	case c&0xe0 == 0xc0:
		u := uint64(c&0x1f)<<8 | uint64(lp[p+1])
		if u >= 1<<12 {
			return nil, int64(u) - 1<<13, true, 2
		}
		return nil, int64(u), true, 2
	case c&0xf0 == 0xe0:
		n := int(c&0x0f)<<8 | int(lp[p+1])
		return lp[p+2 : p+2+n], 0, false, 2 + n
	case c == 0xf1:
		return nil, int64(int16(binary.LittleEndian.Uint16(lp[p+1:]))), true, 3
	case c == 0xf2:
		u := uint32(lp[p+1]) | uint32(lp[p+2])<<8 | uint32(lp[p+3])<<16
		return nil, int64(int32(u<<8) >> 8), true, 4
	case c == 0xf3:
		return nil, int64(int32(binary.LittleEndian.Uint32(lp[p+1:]))), true, 5
	case c == 0xf4:
		return nil, int64(binary.LittleEndian.Uint64(lp[p+1:])), true, 9
	}
	n := int(binary.LittleEndian.Uint32(lp[p+1:]))
	return lp[p+5 : p+5+n], 0, false, 5 + n
}

// lpDecodeBacklen reads the backlen that ends just before lp[end] (as
// lpDecodeBacklen does, walking backwards).
func lpDecodeBacklen(lp []byte, end int) (uint64, int) {
	var v uint64
	shift := uint(0)
	for k := 1; k <= 5; k++ {
		if end-k < 0 {
			return 0, -1
		}
		c := lp[end-k]
		v |= uint64(c&127) << shift
		if c&128 == 0 {
			return v, k
		}
		shift += 7
	}
	return 0, -1
}

// lpValidate is lpValidateIntegrity with deep checks: it returns the
// number of entries.
func lpValidate(lp []byte) (int, error) {
	if len(lp) < lpHdrSize+1 {
		return 0, errors.New("listpack shorter than its header")
	}
	if total := binary.LittleEndian.Uint32(lp); uint64(total) != uint64(len(lp)) {
		return 0, fmt.Errorf("listpack header says %d bytes, blob has %d", total, len(lp))
	}
	if lp[len(lp)-1] != lpEOF {
		return 0, errors.New("listpack not terminated by 0xff")
	}
	hdrCount := int(binary.LittleEndian.Uint16(lp[4:]))
	p, n := lpHdrSize, 0
	for lp[p] != lpEOF {
		size := lpEntrySize(lp[:len(lp)-1], p)
		if size < 0 {
			return 0, fmt.Errorf("listpack entry %d at byte %d is malformed", n, p)
		}
		bl := listpack.BacklenSize(uint64(size))
		if p+size+bl > len(lp)-1 {
			return 0, fmt.Errorf("listpack entry %d at byte %d overflows the blob", n, p)
		}
		if v, k := lpDecodeBacklen(lp, p+size+bl); k != bl || v != uint64(size) {
			return 0, fmt.Errorf("listpack entry %d at byte %d has a wrong back length", n, p)
		}
		p += size + bl
		n++
	}
	if p != len(lp)-1 {
		return 0, errors.New("listpack has bytes after its terminator")
	}
	if hdrCount != lpNumeleUnknown && hdrCount != n {
		return 0, fmt.Errorf("listpack header says %d entries, found %d", hdrCount, n)
	}
	return n, nil
}

// ---- intset ----

// intsetWidth is the intset encoding (bytes per member) that holds lo..hi.
func intsetWidth(lo, hi int64) int {
	switch {
	case lo >= math.MinInt16 && hi <= math.MaxInt16:
		return 2
	case lo >= math.MinInt32 && hi <= math.MaxInt32:
		return 4
	}
	return 8
}

// intsetAppendHeader appends an intset header for n members of width w;
// the members follow with intsetAppendMember, ascending.
func intsetAppendHeader(dst []byte, w, n int) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(w))
	return binary.LittleEndian.AppendUint32(dst, uint32(n))
}

func intsetAppendMember(dst []byte, w int, v int64) []byte {
	switch w {
	case 2:
		return binary.LittleEndian.AppendUint16(dst, uint16(v))
	case 4:
		return binary.LittleEndian.AppendUint32(dst, uint32(v))
	}
	return binary.LittleEndian.AppendUint64(dst, uint64(v))
}

// intsetEach validates an intset blob (intsetValidateIntegrity, deep: strictly
// ascending members) and calls fn with each member.
func intsetEach(is []byte, fn func(v int64) error) error {
	if len(is) < 8 {
		return errors.New("intset shorter than its header")
	}
	w := int(binary.LittleEndian.Uint32(is))
	if w != 2 && w != 4 && w != 8 {
		return fmt.Errorf("intset has invalid encoding %d", w)
	}
	n := uint64(binary.LittleEndian.Uint32(is[4:]))
	if n*uint64(w)+8 != uint64(len(is)) {
		return fmt.Errorf("intset of %d members of %d bytes does not fill its %d-byte blob", n, w, len(is))
	}
	var prev int64
	for i := 0; i < int(n); i++ {
		p := 8 + i*w
		var v int64
		switch w {
		case 2:
			v = int64(int16(binary.LittleEndian.Uint16(is[p:])))
		case 4:
			v = int64(int32(binary.LittleEndian.Uint32(is[p:])))
		default:
			v = int64(binary.LittleEndian.Uint64(is[p:]))
		}
		if i > 0 && v <= prev {
			return errors.New("intset members are not strictly ascending")
		}
		prev = v
		if err := fn(v); err != nil {
			return err
		}
	}
	return nil
}

// ---- ziplist (read only: Redis < 7.0) ----

const zlHdrSize = 10

// zlEach validates a ziplist (ziplistValidateIntegrity, deep) and calls fn
// with each entry, a string s or an integer v.
func zlEach(zl []byte, fn func(s []byte, v int64, isInt bool) error) error {
	if len(zl) < zlHdrSize+1 {
		return errors.New("ziplist shorter than its header")
	}
	if total := binary.LittleEndian.Uint32(zl); uint64(total) != uint64(len(zl)) {
		return fmt.Errorf("ziplist header says %d bytes, blob has %d", total, len(zl))
	}
	if zl[len(zl)-1] != 0xff {
		return errors.New("ziplist not terminated by 0xff")
	}
	tail := int(binary.LittleEndian.Uint32(zl[4:]))
	hdrCount := int(binary.LittleEndian.Uint16(zl[8:]))
	end := len(zl) - 1
	p, n, prevLen, last := zlHdrSize, 0, 0, zlHdrSize
	for p < end {
		start := p
		// prevlen
		var pl int
		if zl[p] < 254 {
			pl = int(zl[p])
			p++
		} else {
			if zl[p] == 255 || p+5 > end {
				return fmt.Errorf("ziplist entry %d has a malformed previous length", n)
			}
			pl = int(binary.LittleEndian.Uint32(zl[p+1:]))
			p += 5
		}
		if pl != prevLen {
			return fmt.Errorf("ziplist entry %d has a wrong previous length", n)
		}
		if p >= end {
			return fmt.Errorf("ziplist entry %d is truncated", n)
		}
		c := zl[p]
		var s []byte
		var v int64
		isInt := true
		switch {
		case c>>6 == 0, c>>6 == 1, c == 0x80:
			var l, h int
			switch c >> 6 {
			case 0:
				l, h = int(c&0x3f), 1
			case 1:
				if p+2 > end {
					return fmt.Errorf("ziplist entry %d is truncated", n)
				}
				l, h = int(c&0x3f)<<8|int(zl[p+1]), 2
			default:
				if p+5 > end {
					return fmt.Errorf("ziplist entry %d is truncated", n)
				}
				l, h = int(binary.BigEndian.Uint32(zl[p+1:])), 5
			}
			if l < 0 || l > end-p-h {
				return fmt.Errorf("ziplist entry %d overflows the blob", n)
			}
			s, isInt = zl[p+h:p+h+l], false
			p += h + l
		default:
			var size int
			switch c {
			case 0xc0:
				size = 2
			case 0xd0:
				size = 4
			case 0xe0:
				size = 8
			case 0xf0:
				size = 3
			case 0xfe:
				size = 1
			default:
				if c >= 0xf1 && c <= 0xfd {
					v = int64(c&0x0f) - 1
				} else {
					return fmt.Errorf("ziplist entry %d has unknown encoding 0x%02x", n, c)
				}
			}
			if p+1+size > end {
				return fmt.Errorf("ziplist entry %d is truncated", n)
			}
			b := zl[p+1:]
			switch c {
			case 0xc0:
				v = int64(int16(binary.LittleEndian.Uint16(b)))
			case 0xd0:
				v = int64(int32(binary.LittleEndian.Uint32(b)))
			case 0xe0:
				v = int64(binary.LittleEndian.Uint64(b))
			case 0xf0:
				u := uint32(b[0])<<8 | uint32(b[1])<<16 | uint32(b[2])<<24
				v = int64(int32(u) >> 8)
			case 0xfe:
				v = int64(int8(b[0]))
			}
			p += 1 + size
		}
		if err := fn(s, v, isInt); err != nil {
			return err
		}
		prevLen = p - start
		last = start
		n++
	}
	if p != end {
		return errors.New("ziplist entries overflow the blob")
	}
	if n > 0 && tail != last || n == 0 && tail != zlHdrSize {
		return errors.New("ziplist tail offset is wrong")
	}
	if hdrCount != 0xffff && hdrCount != n {
		return fmt.Errorf("ziplist header says %d entries, found %d", hdrCount, n)
	}
	return nil
}

// ---- zipmap (read only: Redis < 2.6) ----

// zmEach validates a zipmap (zipmapValidateIntegrity) and calls fn with
// each field and value.
func zmEach(zm []byte, fn func(f, v []byte) error) error {
	if len(zm) < 2 {
		return errors.New("zipmap shorter than its header")
	}
	hdrCount := int(zm[0])
	p, n := 1, 0
	readLen := func() (int, bool) {
		if p >= len(zm) {
			return 0, false
		}
		if zm[p] < 254 {
			l := int(zm[p])
			p++
			return l, true
		}
		if zm[p] == 255 || p+5 > len(zm) {
			return 0, false
		}
		l := binary.LittleEndian.Uint32(zm[p+1:])
		p += 5
		if uint64(l) > uint64(len(zm)) {
			return 0, false
		}
		return int(l), true
	}
	for p < len(zm) && zm[p] != 255 {
		fl, ok := readLen()
		if !ok || fl > len(zm)-p {
			return fmt.Errorf("zipmap entry %d has a malformed field length", n)
		}
		f := zm[p : p+fl]
		p += fl
		vl, ok := readLen()
		if !ok || p >= len(zm) {
			return fmt.Errorf("zipmap entry %d has a malformed value length", n)
		}
		free := int(zm[p])
		p++
		if vl > len(zm)-p || free > len(zm)-p-vl {
			return fmt.Errorf("zipmap entry %d overflows the blob", n)
		}
		v := zm[p : p+vl]
		p += vl + free
		if err := fn(f, v); err != nil {
			return err
		}
		n++
	}
	if p != len(zm)-1 {
		return errors.New("zipmap not terminated by 0xff at its end")
	}
	if hdrCount < 254 && hdrCount != n {
		return fmt.Errorf("zipmap header says %d entries, found %d", hdrCount, n)
	}
	return nil
}
