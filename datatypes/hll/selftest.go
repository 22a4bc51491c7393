package hll

import (
	"encoding/binary"
	"math"
	"strconv"
)

// SelfTest is PFSELFTEST: it checks the dense register accessors on random
// values, then adds 10 million distinct elements to a dense and a sparse
// HyperLogLog at once, checking at every power of ten that the sparse one
// stays sparse while small, that both estimate the same and that the error
// is within six standard errors. It returns "" on success or the error
// reply (without the leading '-'). rnd supplies random numbers, as Redis's
// rand(); sparseMax is hll-sparse-max-bytes. It takes about a second, and
// blocks its caller as Redis's does.
func SelfTest(rnd func() uint32, sparseMax int64) string {
	dense := make([]byte, DenseSize)
	regs := dense[HdrSize:]
	var want [Registers]uint8

	// Test 1: every register keeps its value and leaves its neighbours be.
	for j := 0; j < 1000; j++ {
		for i := range want {
			r := uint8(rnd() & registerMax)
			want[i] = r
			setReg(regs, i, r)
		}
		for i := range want {
			if v := getReg(regs, i); v != want[i] {
				return "ERR TESTFAILED Register " + strconv.Itoa(i) + " should be " +
					strconv.Itoa(int(want[i])) + " but is " + strconv.Itoa(int(v))
			}
		}
	}

	// Test 2: approximation error, dense and sparse side by side. The
	// dense buffer's header is all zeros: encoding dense.
	clear(regs)
	o := New()
	relerr := 1.04 / math.Sqrt(Registers)
	checkpoint := int64(1)
	s := uint64(rnd()) | uint64(rnd())<<32
	var ele [8]byte
	for j := int64(1); j <= 10000000; j++ {
		binary.LittleEndian.PutUint64(ele[:], uint64(j)^s)
		index, count := PatLen(ele[:])
		denseSet(regs, index, count)
		o, _ = Set(o, index, count, sparseMax)
		if j != checkpoint {
			continue
		}
		if j < sparseMax/2 && !IsSparse(o) {
			return "ERR TESTFAILED sparse encoding not used"
		}
		dc, _ := Estimate(dense)
		sc, _ := Estimate(o)
		if dc != sc {
			return "ERR TESTFAILED dense/sparse disagree"
		}
		abserr := checkpoint - int64(dc)
		maxerr := uint64(math.Ceil(relerr * 6 * float64(checkpoint)))
		// Collisions make cardinality 10 err by more from time to time.
		if j == 10 {
			maxerr = 1
		}
		if abserr < 0 {
			abserr = -abserr
		}
		if abserr > int64(maxerr) {
			return "ERR TESTFAILED Too big error. card:" + strconv.FormatInt(checkpoint, 10) +
				" abserr:" + strconv.FormatInt(abserr, 10)
		}
		checkpoint *= 10
	}
	return ""
}
