// Package lzf is LZF as Redis 7.0 ships it, shared by the RDB codec and
// FUNCTION DUMP/RESTORE payloads.
package lzf

// LZF as Redis 7.0 ships it (lzf_c.c / lzf_d.c, liblzf 3.6 with HLOG 16,
// VERY_FAST): the same matches in the same order, so compressed strings come
// out byte for byte as redis-server writes them (given its hash table starts
// without stale entries, which is what this port assumes).

const (
	lzfHlog   = 16
	lzfHsize  = 1 << lzfHlog
	lzfMaxLit = 1 << 5
	lzfMaxOff = 1 << 13
	lzfMaxRef = (1 << 8) + (1 << 3)
)

// State is the compressor's hash table. An entry holds a generation
// (high 32 bits) and a position+1 (low 32 bits); entries of older
// generations count as empty, so the 512 KiB table needs no clearing
// between calls. A state belongs to one goroutine at a time.
type State struct {
	tab [lzfHsize]uint64
	gen uint64
}

func lzfIdx(h uint32) uint32 {
	return ((h >> (3*8 - lzfHlog)) - h*5) & (lzfHsize - 1)
}

// Compress is lzf_compress(in, len(in), out, len(out)): it returns the
// compressed length, or 0 when the result does not fit in out.
func (s *State) Compress(in, out []byte) int {
	inLen, outLen := len(in), len(out)
	if inLen == 0 || outLen == 0 {
		return 0
	}
	s.gen++
	if s.gen >= 1<<32 {
		s.tab = [lzfHsize]uint64{}
		s.gen = 1
	}
	gen := s.gen << 32
	// lookup returns the position stored in slot h (or -1) and stores p.
	swap := func(h uint32, p int) int {
		e := s.tab[h]
		s.tab[h] = gen | uint64(p+1)
		if e&^0xffffffff != gen {
			return -1
		}
		return int(uint32(e)) - 1
	}
	ip, op := 0, 0
	lit := 0
	op++ // start run
	hval := uint32(in[0])<<8 | uint32(safeAt(in, 1))
	for ip < inLen-2 {
		hval = hval<<8 | uint32(in[ip+2])
		ref := swap(lzfIdx(hval), ip)
		var off int
		if ref >= 0 {
			off = ip - ref - 1
		}
		if ref >= 0 && off < lzfMaxOff && ref > 0 &&
			in[ref] == in[ip] && in[ref+1] == in[ip+1] && in[ref+2] == in[ip+2] {
			length := 2
			maxlen := inLen - ip - length
			if maxlen > lzfMaxRef {
				maxlen = lzfMaxRef
			}
			out[op-lit-1] = byte(lit - 1) // stop run
			if lit == 0 {
				op-- // undo run if length is zero
			}
			if op+3+1 >= outLen {
				return 0
			}
			// The unrolled probe of lzf_c.c, then the careful loop.
			matched := false
			if maxlen > 16 {
				matched = true
				for k := 0; k < 16; k++ {
					length++
					if in[ref+length] != in[ip+length] {
						matched = false
						break
					}
				}
				if !matched {
					goto done
				}
			}
			for {
				length++
				if !(length < maxlen && in[ref+length] == in[ip+length]) {
					break
				}
			}
		done:
			length -= 2 // #octets - 1
			ip++
			if length < 7 {
				out[op] = byte(off>>8 + length<<5)
				op++
			} else {
				out[op] = byte(off>>8 + 7<<5)
				out[op+1] = byte(length - 7)
				op += 2
			}
			out[op] = byte(off)
			op++
			lit = 0
			op++ // start run
			ip += length + 1
			if ip >= inLen-2 {
				break
			}
			ip -= 2
			hval = uint32(in[ip])<<8 | uint32(in[ip+1])
			hval = hval<<8 | uint32(in[ip+2])
			s.tab[lzfIdx(hval)] = gen | uint64(ip+1)
			ip++
			hval = hval<<8 | uint32(in[ip+2])
			s.tab[lzfIdx(hval)] = gen | uint64(ip+1)
			ip++
		} else {
			if op >= outLen {
				return 0
			}
			lit++
			out[op] = in[ip]
			op++
			ip++
			if lit == lzfMaxLit {
				out[op-lit-1] = byte(lit - 1)
				lit = 0
				op++
			}
		}
	}
	if op+3 > outLen {
		return 0
	}
	for ip < inLen {
		lit++
		out[op] = in[ip]
		op++
		ip++
		if lit == lzfMaxLit {
			out[op-lit-1] = byte(lit - 1)
			lit = 0
			op++
		}
	}
	out[op-lit-1] = byte(lit - 1)
	if lit == 0 {
		op--
	}
	return op
}

func safeAt(b []byte, i int) byte {
	if i < len(b) {
		return b[i]
	}
	return 0
}

// Decompress is lzf_decompress into out, whose length is the expected
// size: it reports whether the input decoded to exactly len(out) bytes.
func Decompress(in, out []byte) bool {
	ip, op := 0, 0
	for ip < len(in) {
		ctrl := int(in[ip])
		ip++
		if ctrl < 1<<5 { // literal run of ctrl+1 bytes
			ctrl++
			if op+ctrl > len(out) || ip+ctrl > len(in) {
				return false
			}
			copy(out[op:], in[ip:ip+ctrl])
			op += ctrl
			ip += ctrl
			continue
		}
		length := ctrl >> 5
		ref := op - (ctrl&0x1f)<<8 - 1
		if length == 7 {
			if ip >= len(in) {
				return false
			}
			length += int(in[ip])
			ip++
		}
		if ip >= len(in) {
			return false
		}
		ref -= int(in[ip])
		ip++
		length += 2
		if op+length > len(out) || ref < 0 {
			return false
		}
		// Byte by byte: the reference may overlap what it produces.
		for k := 0; k < length; k++ {
			out[op] = out[ref]
			op++
			ref++
		}
	}
	return op == len(out)
}
