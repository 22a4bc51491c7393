package script

import (
	"encoding/binary"
	"hash/crc64"
	"math"
	"strings"
)

// FUNCTION DUMP / RESTORE payloads, as functionDumpCommand writes them:
// for each library RDB_OPCODE_FUNCTION2 and the library code as an RDB
// string (LZF-compressed when that saves 4 bytes or more, as with
// rdbcompression yes), then the RDB version (2 bytes LE) and the CRC64 of
// everything before it (8 bytes LE).
const (
	rdbOpFunction2   = 245
	rdbOpFunctionPre = 246
	rdbVersion       = 10
)

// crc64Sum is Redis's crc64 (Jones polynomial, reflected, no xors); see
// rdb/crc64.go. The table is computed per call: dumps are rare.
func crc64Sum(b []byte) uint64 {
	return ^crc64.Update(^uint64(0), crc64.MakeTable(0x95ac9329ac4bc9b5), b)
}

// Dump is FUNCTION DUMP's payload.
func (f *Functions) Dump() []byte {
	var lz *lzfState
	var out []byte
	for _, l := range f.Libraries() {
		out = append(out, rdbOpFunction2)
		if lz == nil && len(l.Code) > 20 {
			lz = new(lzfState)
		}
		out = appendRDBString(out, l.Code, lz)
	}
	out = append(out, rdbVersion&0xff, rdbVersion>>8)
	return binary.LittleEndian.AppendUint64(out, crc64Sum(out))
}

// appendRDBLen is rdbSaveLen.
func appendRDBLen(dst []byte, n uint64) []byte {
	switch {
	case n < 1<<6:
		return append(dst, byte(n))
	case n < 1<<14:
		return append(dst, byte(n>>8)|0x40, byte(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, 0x80), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0x81), n)
}

// appendRDBString is rdbSaveRawString for a library's code (never an
// integer: it starts with "#!").
func appendRDBString(dst, s []byte, lz *lzfState) []byte {
	if len(s) > 20 && lz != nil {
		buf := make([]byte, len(s)-4)
		if n := lz.Compress(s, buf); n > 0 {
			dst = append(dst, 0xC0|3)
			dst = appendRDBLen(dst, uint64(n))
			dst = appendRDBLen(dst, uint64(len(s)))
			return append(dst, buf[:n]...)
		}
	}
	dst = appendRDBLen(dst, uint64(len(s)))
	return append(dst, s...)
}

// readRDBLen is rdbLoadLen; enc reports an encoded-object length.
func readRDBLen(b []byte, i int) (n uint64, enc bool, next int, ok bool) {
	if i >= len(b) {
		return 0, false, i, false
	}
	c := b[i]
	switch c >> 6 {
	case 0:
		return uint64(c & 0x3f), false, i + 1, true
	case 1:
		if i+1 >= len(b) {
			return 0, false, i, false
		}
		return uint64(c&0x3f)<<8 | uint64(b[i+1]), false, i + 2, true
	case 3:
		return uint64(c & 0x3f), true, i + 1, true
	}
	switch c {
	case 0x80:
		if i+5 > len(b) {
			return 0, false, i, false
		}
		return uint64(binary.BigEndian.Uint32(b[i+1:])), false, i + 5, true
	case 0x81:
		if i+9 > len(b) {
			return 0, false, i, false
		}
		return binary.BigEndian.Uint64(b[i+1:]), false, i + 9, true
	}
	return 0, false, i, false
}

// readRDBString is rdbGenericLoadStringObject: plain, integer or LZF.
func readRDBString(b []byte, i int) ([]byte, int, bool) {
	n, enc, i, ok := readRDBLen(b, i)
	if !ok {
		return nil, i, false
	}
	if enc {
		switch n {
		case 0, 1, 2:
			w := 1 << n
			if i+w > len(b) {
				return nil, i, false
			}
			var v int64
			switch w {
			case 1:
				v = int64(int8(b[i]))
			case 2:
				v = int64(int16(binary.LittleEndian.Uint16(b[i:])))
			default:
				v = int64(int32(binary.LittleEndian.Uint32(b[i:])))
			}
			return []byte(formatInt(v)), i + w, true
		case 3:
			clen, _, j, ok1 := readRDBLen(b, i)
			ulen, _, j, ok2 := readRDBLen(b, j)
			if !ok1 || !ok2 || uint64(len(b)-j) < clen || ulen > 1<<32 {
				return nil, i, false
			}
			out := make([]byte, ulen)
			if !lzfDecompress(b[j:j+int(clen)], out) {
				return nil, i, false
			}
			return out, j + int(clen), true
		}
		return nil, i, false
	}
	if uint64(len(b)-i) < n {
		return nil, i, false
	}
	return b[i : i+int(n)], i + int(n), true
}

func formatInt(v int64) string {
	return string(appendInt(nil, v))
}

func appendInt(dst []byte, v int64) []byte {
	if v < 0 {
		dst = append(dst, '-')
		u := uint64(-v)
		return appendUint(dst, u)
	}
	return appendUint(dst, uint64(v))
}

func appendUint(dst []byte, u uint64) []byte {
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	return append(dst, tmp[i:]...)
}

// FunctionRestore is FUNCTION RESTORE payload with policy "append",
// "replace" or "flush"; it returns the error reply or "".
func (vm *VM) FunctionRestore(payload []byte, policy string, host Host) string {
	n := len(payload)
	if n < 10 {
		return "ERR DUMP payload version or checksum are wrong"
	}
	ver := int(payload[n-10]) | int(payload[n-9])<<8
	if ver > rdbVersion || binary.LittleEndian.Uint64(payload[n-8:]) != crc64Sum(payload[:n-8]) {
		return "ERR DUMP payload version or checksum are wrong"
	}
	var libs []*Library
	names := map[string]bool{}
	fnames := map[string]bool{}
	for i := 0; n-i > 10; {
		t := payload[i]
		i++
		if t == rdbOpFunctionPre {
			return "ERR Pre-GA function format not supported"
		}
		if t != rdbOpFunction2 {
			return "ERR given type is not a function"
		}
		code, next, ok := readRDBString(payload[:n-10], i)
		if !ok {
			return "ERR Failed loading library payload"
		}
		i = next
		lib, _, errMsg := vm.compileLibrary(code, host)
		if lib == nil {
			return "ERR " + errMsg
		}
		if len(lib.Functions) == 0 {
			return "ERR No functions registered"
		}
		if names[strings.ToLower(lib.Name)] {
			return "ERR Library '" + lib.Name + "' already exists"
		}
		names[strings.ToLower(lib.Name)] = true
		for _, fn := range lib.Functions {
			if fnames[strings.ToLower(fn.Name)] {
				return "ERR Function " + fn.Name + " already exists"
			}
			fnames[strings.ToLower(fn.Name)] = true
		}
		libs = append(libs, lib)
	}
	return vm.eng.funcs.join(libs, policy)
}

// join is libraryJoin (or a swap for FLUSH): all or nothing.
func (f *Functions) join(libs []*Library, policy string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if policy == "flush" {
		f.libs = make(map[string]*Library)
		f.fns = make(map[string]*Function)
		for _, l := range libs {
			f.link(l)
		}
		return ""
	}
	var replaced []*Library
	undo := func() {
		for _, l := range replaced {
			f.link(l)
		}
	}
	for _, l := range libs {
		if old := f.libs[strings.ToLower(l.Name)]; old != nil {
			if policy != "replace" {
				undo()
				return "ERR Library " + l.Name + " already exists"
			}
			f.unlink(old)
			replaced = append(replaced, old)
		}
	}
	for _, l := range libs {
		for _, fn := range l.Functions {
			if _, ok := f.fns[strings.ToLower(fn.Name)]; ok {
				undo()
				return "ERR Function " + fn.Name + " already exists"
			}
		}
	}
	for _, l := range libs {
		f.link(l)
	}
	return ""
}
