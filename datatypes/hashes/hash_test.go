package hashes

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/basaltdb/basalt/keyspace"
)

// model is the reference: pairs in Redis's listpack order (new fields
// appended, updates in place, deletes close the gap).
type model struct {
	fields, values []string
	converted      bool
}

func (m *model) index(f string) int { return slices.Index(m.fields, f) }

func (m *model) set(f, v string, maxEntries, maxValue int) bool {
	if !m.converted && (len(f) > maxValue || len(v) > maxValue) {
		m.converted = true
	}
	if i := m.index(f); i >= 0 {
		m.values[i] = v
		return false
	}
	m.fields = append(m.fields, f)
	m.values = append(m.values, v)
	if len(m.fields) > maxEntries {
		m.converted = true
	}
	return true
}

func (m *model) del(f string) bool {
	i := m.index(f)
	if i < 0 {
		return false
	}
	m.fields = slices.Delete(m.fields, i, i+1)
	m.values = slices.Delete(m.values, i, i+1)
	return true
}

// check compares h with m: length, every field, encoding, and (while
// listpack-encoded) the exact order of ForEach.
func check(t *testing.T, h *Hash, m *model, step int) {
	t.Helper()
	if h.Len() != len(m.fields) {
		t.Fatalf("step %d: Len %d want %d", step, h.Len(), len(m.fields))
	}
	wantEnc := keyspace.EncListpack
	if m.converted {
		wantEnc = keyspace.EncHashtable
	}
	if h.Encoding() != wantEnc {
		t.Fatalf("step %d: encoding %v want %v", step, h.Encoding(), wantEnc)
	}
	for i, f := range m.fields {
		v, ok := h.Get([]byte(f))
		if !ok || string(v) != m.values[i] {
			t.Fatalf("step %d: Get(%q) = %q,%v want %q", step, f, v, ok, m.values[i])
		}
	}
	var gotF, gotV []string
	h.ForEach(func(f, v []byte) bool {
		gotF = append(gotF, string(f))
		gotV = append(gotV, string(v))
		return true
	})
	if !m.converted {
		if !slices.Equal(gotF, m.fields) || !slices.Equal(gotV, m.values) {
			t.Fatalf("step %d: listpack order %q %q want %q %q", step, gotF, gotV, m.fields, m.values)
		}
		return
	}
	got := map[string]string{}
	for i := range gotF {
		if _, dup := got[gotF[i]]; dup {
			t.Fatalf("step %d: field %q twice", step, gotF[i])
		}
		got[gotF[i]] = gotV[i]
	}
	if len(got) != len(m.fields) {
		t.Fatalf("step %d: ForEach saw %d pairs, want %d", step, len(got), len(m.fields))
	}
}

func randField(r *rand.Rand, nfields int) string {
	if r.IntN(20) == 0 {
		return strings.Repeat("F", r.IntN(80)) // sometimes too long for a listpack
	}
	return fmt.Sprintf("f%d", r.IntN(nfields))
}

func randValue(r *rand.Rand) string {
	switch r.IntN(10) {
	case 0:
		return ""
	case 1:
		return strings.Repeat("v", 60+r.IntN(10)) // around the 64-byte limit
	case 2:
		return strings.Repeat("w", 128+r.IntN(300)) // 2-byte lengths
	default:
		return fmt.Sprint(r.IntN(100000))
	}
}

// TestModel runs random sets and deletes against the reference, across
// conversions, with several limits.
func TestModel(t *testing.T) {
	for _, tc := range []struct {
		maxEntries, maxValue, nfields int
		rehashHomes                   bool
	}{
		{512, 64, 40, false},
		{8, 64, 40, false},
		{512, 1000, 1500, false},
		{0, 64, 10, false},
		{4, 0, 10, false},
		{2, 64, 300, true},
	} {
		t.Run(fmt.Sprintf("%d/%d/%d/%v", tc.maxEntries, tc.maxValue, tc.nfields, tc.rehashHomes), func(t *testing.T) {
			for seed := uint64(1); seed <= 4; seed++ {
				r := rand.New(rand.NewPCG(seed, 7))
				h, m := New(), &model{}
				for step := 0; step < 3000; step++ {
					switch op := r.IntN(10); {
					case op < 6:
						f, v := randField(r, tc.nfields), randValue(r)
						added := h.Set([]byte(f), []byte(v), int64(tc.maxEntries), int64(tc.maxValue))
						if want := m.set(f, v, tc.maxEntries, tc.maxValue); added != want {
							t.Fatalf("step %d: Set(%q) added %v want %v", step, f, added, want)
						}
					case op < 9:
						f := randField(r, tc.nfields)
						if got, want := h.Delete([]byte(f)), m.del(f); got != want {
							t.Fatalf("step %d: Delete(%q) = %v want %v", step, f, got, want)
						}
					default:
						f := randField(r, tc.nfields)
						if got, want := h.Exists([]byte(f)), m.index(f) >= 0; got != want {
							t.Fatalf("step %d: Exists(%q) = %v want %v", step, f, got, want)
						}
					}
					if h.tbl() != nil && tc.rehashHomes {
						h.tbl().rehashHomes = true
					}
					if step%50 == 0 || step == 2999 {
						check(t, h, m, step)
						c := h.Clone().(*Hash)
						check(t, c, m, step)
					}
					if h.tbl() != nil && step%25 == 0 {
						checkTable(t, h.tbl(), step)
					}
				}
			}
		})
	}
}

// checkTable verifies the probing invariant (every pair is reachable from
// its home without crossing an empty slot) and the byte accounting.
func checkTable(t *testing.T, tb *table, step int) {
	t.Helper()
	m := tb.mask()
	n, live := 0, 0
	for i, s := range tb.slots {
		if s == 0 {
			continue
		}
		n++
		live += tb.pairSize(s)
		for j := tb.home(s); j != i; j = (j + 1) & m {
			if tb.slots[j] == 0 {
				t.Fatalf("step %d: slot %d unreachable from home %d (hole at %d)", step, i, tb.home(s), j)
			}
		}
		f, _ := tb.pairAt(s)
		if tb.find(f) != i {
			t.Fatalf("step %d: find(%q) != %d", step, f, i)
		}
	}
	if n != tb.n {
		t.Fatalf("step %d: %d slots used, n=%d", step, n, tb.n)
	}
	if live+tb.dead != len(tb.arena) {
		t.Fatalf("step %d: live %d + dead %d != arena %d", step, live, tb.dead, len(tb.arena))
	}
}

// TestScanGuarantee: a field present for a whole scan is returned even
// when the table grows and shrinks between steps.
func TestScanGuarantee(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		r := rand.New(rand.NewPCG(seed, 3))
		h := New()
		for i := 0; i < 600; i++ {
			h.Set([]byte(fmt.Sprintf("stay%d", i)), []byte("v"), 512, 64)
		}
		if h.IsListpack() {
			t.Fatal("expected a hashtable")
		}
		extra := 0
		seen := map[string]bool{}
		cursor := uint64(0)
		for steps := 0; ; steps++ {
			cursor = h.ScanStep(cursor, func(f, v []byte) { seen[string(f)] = true })
			if cursor == 0 {
				break
			}
			// Grow a lot or shrink a lot, now and then.
			switch r.IntN(20) {
			case 0:
				if extra > 4000 {
					break
				}
				for i := 0; i < 2000; i++ {
					h.Set([]byte(fmt.Sprintf("tmp%d", extra)), []byte("x"), 512, 64)
					extra++
				}
			case 1:
				for i := 0; i < extra; i++ {
					h.Delete([]byte(fmt.Sprintf("tmp%d", i)))
				}
				extra = 0
			}
			if steps > 1<<20 {
				t.Fatal("scan does not end")
			}
		}
		for i := 0; i < 600; i++ {
			if !seen[fmt.Sprintf("stay%d", i)] {
				t.Fatalf("seed %d: stay%d never returned", seed, i)
			}
		}
	}
}

func TestListpackScanIsEverything(t *testing.T) {
	h := New()
	for i := 0; i < 5; i++ {
		h.Set([]byte{byte('a' + i)}, []byte{byte('0' + i)}, 512, 64)
	}
	var got []string
	if c := h.ScanStep(12345, func(f, v []byte) { got = append(got, string(f)+string(v)) }); c != 0 {
		t.Fatalf("cursor %d", c)
	}
	if strings.Join(got, ",") != "a0,b1,c2,d3,e4" {
		t.Fatal(got)
	}
}

func TestRandom(t *testing.T) {
	for _, n := range []int{1, 3, 10, 600} {
		h := New()
		for i := 0; i < n; i++ {
			h.Set([]byte(fmt.Sprint("f", i)), []byte(fmt.Sprint("v", i)), 512, 64)
		}
		r := NewRand(uint64(n))
		counts := map[string]int{}
		for i := 0; i < 200*n; i++ {
			f, v := h.RandomPair(&r)
			if string(v) != "v"+string(f[1:]) {
				t.Fatalf("pair %q %q", f, v)
			}
			counts[string(f)]++
		}
		if len(counts) != n {
			t.Fatalf("n=%d: saw %d distinct fields", n, len(counts))
		}
		for f, c := range counts {
			if c < 100 || c > 300 {
				t.Fatalf("n=%d: field %s drawn %d times of %d expected", n, f, c, 200)
			}
		}
		got := 0
		h.RandomPairs(&r, 50, func(f, v []byte) bool { got++; return true })
		if got != 50 {
			t.Fatal(got)
		}
		for count := 1; count < n; count = count*2 + 1 {
			seen := map[string]bool{}
			var order []string
			h.SampleUnique(&r, count, func(f, v []byte) {
				if seen[string(f)] {
					t.Fatalf("n=%d count=%d: %q twice", n, count, f)
				}
				seen[string(f)] = true
				order = append(order, string(f))
			})
			if len(seen) != count {
				t.Fatalf("n=%d count=%d: got %d", n, count, len(seen))
			}
			if h.IsListpack() {
				// Listpack samples come in listpack order.
				idx := func(f string) int { var i int; fmt.Sscan(f[1:], &i); return i }
				if !slices.IsSortedFunc(order, func(a, b string) int { return idx(a) - idx(b) }) {
					t.Fatalf("listpack sample not in order: %v", order)
				}
			}
		}
	}
}

func TestTryConversion(t *testing.T) {
	h := New()
	h.Set([]byte("a"), []byte("1"), 512, 64)
	h.TryConversion([][]byte{[]byte("b"), []byte(strings.Repeat("x", 64))}, 64)
	if !h.IsListpack() {
		t.Fatal("64 bytes must not convert")
	}
	h.TryConversion([][]byte{[]byte("b"), []byte(strings.Repeat("x", 65))}, 64)
	if h.IsListpack() {
		t.Fatal("65 bytes must convert")
	}
	if v, ok := h.Get([]byte("a")); !ok || string(v) != "1" {
		t.Fatal("lost a field in conversion")
	}
}

// TestCompaction: rewriting values and deleting keeps the arena bounded.
func TestCompaction(t *testing.T) {
	h := New()
	h.Convert()
	for round := 0; round < 50; round++ {
		for i := 0; i < 1000; i++ {
			h.Set([]byte(fmt.Sprint("f", i)), []byte(strings.Repeat("x", round%7*10)), 512, 64)
		}
	}
	if h.tbl().dead > len(h.tbl().arena)/2+compactMin {
		t.Fatalf("dead %d of %d", h.tbl().dead, len(h.tbl().arena))
	}
	checkTable(t, h.tbl(), 0)
	for i := 0; i < 990; i++ {
		h.Delete([]byte(fmt.Sprint("f", i)))
	}
	checkTable(t, h.tbl(), 1)
	if len(h.tbl().slots) > 64 || len(h.tbl().arena) > 4096 {
		t.Fatalf("after deletes: %d slots, %d arena bytes", len(h.tbl().slots), len(h.tbl().arena))
	}
}
