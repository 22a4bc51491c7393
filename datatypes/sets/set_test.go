package sets

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"testing"

	"github.com/basaltdb/basalt/keyspace"
)

// check compares s with the reference model and the encoding invariants.
func check(t *testing.T, s *Set, ref map[string]bool, step int) {
	t.Helper()
	if s.Len() != len(ref) {
		t.Fatalf("step %d: Len %d, model %d", step, s.Len(), len(ref))
	}
	seen := map[string]bool{}
	var prev int64
	first := true
	s.ForEach(func(m []byte) bool {
		k := string(m)
		if seen[k] {
			t.Fatalf("step %d: %q iterated twice", step, k)
		}
		seen[k] = true
		if !ref[k] {
			t.Fatalf("step %d: %q iterated, not in model", step, k)
		}
		if s.IsIntset() {
			v, err := strconv.ParseInt(k, 10, 64)
			if err != nil || (!first && v <= prev) {
				t.Fatalf("step %d: intset order broken at %q", step, k)
			}
			prev, first = v, false
		}
		return true
	})
	if len(seen) != len(ref) {
		t.Fatalf("step %d: iterated %d, model %d", step, len(seen), len(ref))
	}
	for k := range ref {
		if !s.Has([]byte(k)) {
			t.Fatalf("step %d: Has(%q) false", step, k)
		}
	}
	if s.ht != nil {
		full := 0
		for _, w := range s.ht.slots {
			if w != 0 {
				full++
			}
		}
		if full != s.ht.n {
			t.Fatalf("step %d: %d full slots, n %d", step, full, s.ht.n)
		}
	}
}

func randMember(r *rand.Rand, ints bool) string {
	if ints || r.IntN(4) != 0 {
		switch r.IntN(6) {
		case 0:
			return strconv.FormatInt(r.Int64(), 10) // wide values
		case 1:
			return strconv.FormatInt(-r.Int64N(1<<31), 10)
		default:
			return strconv.Itoa(r.IntN(2000) - 1000)
		}
	}
	switch r.IntN(4) {
	case 0:
		odd := []string{"", "010", "+1", "-0", " 1", "1.5", "9223372036854775808", "abc"}
		return odd[r.IntN(len(odd))]
	default:
		b := make([]byte, r.IntN(20))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return string(b)
	}
}

// TestModel runs random adds and removes against map[string]bool with a
// small intset limit, so sets cross the threshold often.
func TestModel(t *testing.T) {
	for seed := uint64(1); seed <= 30; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		max := int64(r.IntN(40))
		ints := seed%3 != 0
		s := New(seed)
		ref := map[string]bool{}
		wasHT := false
		for step := 0; step < 3000; step++ {
			m := randMember(r, ints)
			switch r.IntN(5) {
			case 0, 1, 2:
				added := s.Add([]byte(m), max)
				if added == ref[m] {
					t.Fatalf("seed %d step %d: Add(%q) = %v, model had it: %v", seed, step, m, added, ref[m])
				}
				ref[m] = true
			case 3:
				// Remove an existing member mostly.
				if len(ref) > 0 && r.IntN(3) != 0 {
					keys := make([]string, 0, len(ref))
					for k := range ref {
						keys = append(keys, k)
					}
					slices.Sort(keys)
					m = keys[r.IntN(len(keys))]
				}
				if got := s.Remove([]byte(m)); got != ref[m] {
					t.Fatalf("seed %d step %d: Remove(%q) = %v", seed, step, m, got)
				}
				delete(ref, m)
			case 4:
				if got := s.Has([]byte(m)); got != ref[m] {
					t.Fatalf("seed %d step %d: Has(%q) = %v", seed, step, m, got)
				}
			}
			// Encoding: intset until a non-integer arrives or it outgrows
			// max, then hashtable for good.
			if wasHT && s.IsIntset() {
				t.Fatalf("seed %d step %d: converted back to intset", seed, step)
			}
			wasHT = !s.IsIntset()
			if s.IsIntset() {
				if int64(s.Len()) > max {
					t.Fatalf("seed %d step %d: intset of %d > %d", seed, step, s.Len(), max)
				}
				for k := range ref {
					if _, ok := asInt([]byte(k)); !ok {
						t.Fatalf("seed %d step %d: intset holds %q", seed, step, k)
					}
				}
			}
			if step%97 == 0 {
				check(t, s, ref, step)
			}
		}
		check(t, s, ref, -1)
		c := s.Clone().(*Set)
		check(t, c, ref, -2)
		c.Add([]byte("clone-only"), max)
		if s.Has([]byte("clone-only")) {
			t.Fatal("clone shares storage")
		}
	}
}

// TestThreshold pins the conversion point: 512 integers stay an intset, the
// 513th converts (as redis-server 7.0 with set-max-intset-entries 512).
func TestThreshold(t *testing.T) {
	s := New(1)
	for i := 0; i < 512; i++ {
		s.Add([]byte(strconv.Itoa(i*3)), 512)
	}
	if s.Encoding() != keyspace.EncIntset || s.Len() != 512 {
		t.Fatalf("after 512: %v %d", s.Encoding(), s.Len())
	}
	if s.Add([]byte("0"), 512) {
		t.Fatal("re-add of a member reported new")
	}
	if s.Encoding() != keyspace.EncIntset {
		t.Fatal("re-add converted")
	}
	s.Add([]byte("-5"), 512)
	if s.Encoding() != keyspace.EncHashtable || s.Len() != 513 {
		t.Fatalf("after 513: %v %d", s.Encoding(), s.Len())
	}
	for i := 0; i < 513; i++ {
		s.Remove([]byte(strconv.Itoa(i * 3)))
	}
	if s.Encoding() != keyspace.EncHashtable || s.Len() != 1 || !s.Has([]byte("-5")) {
		t.Fatalf("after removes: %v %d", s.Encoding(), s.Len())
	}

	// Non-canonical integers are strings: they convert at once.
	for _, m := range []string{"010", "+1", "-0", " 1", "9223372036854775808", ""} {
		s := New(2)
		s.Add([]byte("1"), 512)
		s.Add([]byte(m), 512)
		if s.Encoding() != keyspace.EncHashtable {
			t.Fatalf("%q kept the intset", m)
		}
	}
	// Extreme values stay integers; widths upgrade.
	s = New(3)
	for _, m := range []string{"1", "-9223372036854775808", "9223372036854775807", "70000", "-40000"} {
		s.Add([]byte(m), 512)
	}
	want := []string{"-9223372036854775808", "-40000", "1", "70000", "9223372036854775807"}
	var got []string
	s.ForEach(func(m []byte) bool { got = append(got, string(m)); return true })
	if s.Encoding() != keyspace.EncIntset || !slices.Equal(got, want) {
		t.Fatalf("got %v %v", s.Encoding(), got)
	}
	if s.w != 8 {
		t.Fatalf("width %d", s.w)
	}
}

// TestScanCoversAcrossResizes checks the SSCAN guarantee: members present
// for the whole walk come back, though the table grows and shrinks between
// steps.
func TestScanCoversAcrossResizes(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for round := 0; round < 50; round++ {
		s := New(uint64(round))
		stable := map[string]bool{}
		// Few stable members on odd rounds, so the table also shrinks.
		for i := 0; i < 300-240*(round%2); i++ {
			m := "s" + strconv.Itoa(i)
			s.Add([]byte(m), 512)
			stable[m] = true
		}
		seen := map[string]bool{}
		var cur uint64
		var live []string // transient members, kept under 600 so the walk ends
		next := 0
		for steps := 0; ; steps++ {
			cur = s.Scan(cur, func(m []byte) { seen[string(m)] = true })
			// Churn: add or remove transient members, enough to resize.
			for j := r.IntN(80); j > 0; j-- {
				if len(live) < 600 && (r.IntN(2) == 0 || len(live) == 0) {
					m := "t" + strconv.Itoa(next)
					next++
					s.Add([]byte(m), 512)
					live = append(live, m)
				} else {
					k := r.IntN(len(live))
					s.Remove([]byte(live[k]))
					live[k] = live[len(live)-1]
					live = live[:len(live)-1]
				}
			}
			if cur == 0 {
				break
			}
			if steps > 100000 {
				t.Fatal("scan did not end")
			}
		}
		for m := range stable {
			if !seen[m] {
				t.Fatalf("round %d: %q missed by scan", round, m)
			}
		}
	}
}

// TestRandomUniform draws from both encodings and checks every member
// turns up with a plausible frequency.
func TestRandomUniform(t *testing.T) {
	for _, ints := range []bool{true, false} {
		s := New(9)
		n := 50
		for i := 0; i < n; i++ {
			m := strconv.Itoa(i)
			if !ints {
				m = "m" + m
			}
			s.Add([]byte(m), 512)
		}
		// Remove half to leave holes in the table.
		for i := 0; i < n; i += 2 {
			m := strconv.Itoa(i)
			if !ints {
				m = "m" + m
			}
			s.Remove([]byte(m))
		}
		counts := map[string]int{}
		var buf [20]byte
		r := uint64(12345)
		draws := 25000
		for i := 0; i < draws; i++ {
			r = splitmix(r)
			counts[string(s.Random(r, buf[:0]))]++
		}
		if len(counts) != s.Len() {
			t.Fatalf("ints=%v: drew %d distinct of %d", ints, len(counts), s.Len())
		}
		exp := draws / s.Len()
		for m, c := range counts {
			if !s.Has([]byte(m)) || c < exp/2 || c > exp*2 {
				t.Fatalf("ints=%v: %q drawn %d times, expected about %d", ints, m, c, exp)
			}
		}
	}
}

// TestBigTable runs a large table twice: as is, and with homes taken from
// rehashing members instead of tags (the path of tables past 2^24 slots,
// too big to build in a test).
func TestBigTable(t *testing.T) {
	if testing.Short() {
		t.Skip("big")
	}
	for _, tagHome := range []bool{true, false} {
		bigTable(t, tagHome)
	}
}

func bigTable(t *testing.T, tagHome bool) {
	s := New(11)
	const n = 200000
	for i := 0; i < n; i++ {
		s.Add([]byte("member:"+strconv.Itoa(i)), 512)
		if s.ht != nil && !tagHome {
			s.ht.tagHome = false
		}
	}
	for i := 0; i < n; i += 2 {
		if !s.Remove([]byte("member:" + strconv.Itoa(i))) {
			t.Fatal("remove failed", i)
		}
		if !tagHome {
			s.ht.tagHome = false
		}
	}
	seen := 0
	for cur := s.Scan(0, func([]byte) { seen++ }); cur != 0; {
		cur = s.Scan(cur, func([]byte) { seen++ })
	}
	if seen != n/2 {
		t.Fatalf("scan saw %d of %d", seen, n/2)
	}
	for i := 0; i < n; i++ {
		if s.Has([]byte("member:"+strconv.Itoa(i))) != (i%2 == 1) {
			t.Fatal("has wrong", i)
		}
	}
	if s.Len() != n/2 {
		t.Fatal("len", s.Len())
	}
}

func BenchmarkAddHashtable(b *testing.B) {
	keys := make([][]byte, 1<<16)
	for i := range keys {
		keys[i] = []byte("member:" + strconv.Itoa(i))
	}
	b.ReportAllocs()
	s := New(1)
	for i := 0; i < b.N; i++ {
		s.Add(keys[i&(1<<16-1)], 512)
	}
}

func BenchmarkHas(b *testing.B) {
	s := New(1)
	keys := make([][]byte, 1<<16)
	for i := range keys {
		keys[i] = []byte("member:" + strconv.Itoa(i))
		s.Add(keys[i], 512)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Has(keys[i&(1<<16-1)])
	}
}

// TestMemoryPerMember reports the heap a 1M-member hashtable set costs per
// member ("member:N" strings; redis-server 7.0 used about 56 bytes per
// member for the same set in used_memory).
func TestMemoryPerMember(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates a million members")
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := New(1)
	var buf []byte
	for i := 0; i < 1_000_000; i++ {
		buf = strconv.AppendInt(append(buf[:0], "member:"...), int64(i), 10)
		s.Add(buf, 512)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / 1e6
	t.Logf("%.1f bytes per member (%d members)", per, s.Len())
	if per > 56 {
		t.Fatalf("%.1f bytes per member, more than Redis's 56", per)
	}
	runtime.KeepAlive(s)
}
