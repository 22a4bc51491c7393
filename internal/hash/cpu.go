package hash

import (
	"runtime"
	"sync"

	"github.com/klauspost/cpuid/v2"
)

// FeatureSet is the part of the CPU description that the implementation
// choice depends on, for INFO and for tests that force a choice.
type FeatureSet struct {
	Arch string // runtime.GOARCH

	// amd64
	SSE42     bool
	PCLMULQDQ bool
	AVX2      bool
	BMI2      bool

	// arm64
	ASIMD bool
	PMULL bool
	CRC32 bool
}

// Features reads the CPU features of this machine (through cpuid).
func Features() FeatureSet {
	c := &cpuid.CPU
	return FeatureSet{
		Arch:      runtime.GOARCH,
		SSE42:     c.Has(cpuid.SSE42),
		PCLMULQDQ: c.Has(cpuid.CLMUL),
		AVX2:      c.Has(cpuid.AVX2),
		BMI2:      c.Has(cpuid.BMI2),
		ASIMD:     c.Has(cpuid.ASIMD),
		PMULL:     c.Has(cpuid.PMULL),
		CRC32:     c.Has(cpuid.CRC32),
	}
}

// Names lists the features that are present, in INFO spelling.
func (f FeatureSet) Names() []string {
	var s []string
	add := func(ok bool, name string) {
		if ok {
			s = append(s, name)
		}
	}
	add(f.SSE42, "sse4.2")
	add(f.PCLMULQDQ, "pclmulqdq")
	add(f.AVX2, "avx2")
	add(f.BMI2, "bmi2")
	add(f.ASIMD, "asimd")
	add(f.PMULL, "pmull")
	add(f.CRC32, "crc32")
	return s
}

// CPUFeatures lists this CPU's features relevant to the hashing choices,
// e.g. "sse4.2", "pclmulqdq", "avx2" or "asimd", "pmull", "crc32".
func CPUFeatures() []string { return chosen().features.Names() }

// Implementations names the chosen CRC16 and dictionary hash
// implementations, for INFO.
func Implementations() (crc16, dict string) {
	c := chosen()
	return c.crc16Name, c.sum64Name
}

// impls is one choice of implementations.
type impls struct {
	features  FeatureSet
	crc16     func([]byte) uint16
	crc16Name string
	sum64     func(uint64, []byte) uint64
	sum64Name string
}

// choose picks implementations for a feature set. It is a pure function so
// tests can check the choice for CPUs they do not run on.
func choose(f FeatureSet) impls {
	c := impls{features: f}
	switch f.Arch {
	case "amd64", "arm64", "ppc64le", "ppc64", "s390x", "riscv64", "loong64":
		// 64-bit loads are cheap: slicing-by-8 beats the byte table from
		// about 16 bytes on and costs the same below.
		c.crc16, c.crc16Name = crc16Slice8, "slicing-by-8"
	default:
		c.crc16, c.crc16Name = crc16Table, "table"
	}
	if xxhashAsm && (f.Arch == "amd64" || f.Arch == "arm64") {
		c.sum64, c.sum64Name = sum64Blocks, "xxh64-"+f.Arch+"-asm"
	} else {
		c.sum64, c.sum64Name = sum64Go, "xxh64-go"
	}
	return c
}

// selection holds the one-time choice. It is written once, under the Once,
// and only read afterwards.
var selection struct {
	once sync.Once
	v    impls
}

func chosen() *impls {
	selection.once.Do(func() { selection.v = choose(Features()) })
	return &selection.v
}
