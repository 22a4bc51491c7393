package keyspace

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/basaltdb/basalt/internal/hash"
)

const testSeed = 0x5eed

func dkey(i int) []byte { return fmt.Appendf(nil, "key:%d", i) }

func dhash(k []byte) uint64 { return hash.Sum64(testSeed, k) }

// checkDict verifies the dict's structure: counts per table, every entry
// in the bucket its hash names, nothing left below rehashIdx.
func checkDict(t testing.TB, d *dict) {
	t.Helper()
	for ti := 0; ti < 2; ti++ {
		tb := &d.t[ti]
		if ti == 1 && !d.rehashing() {
			if tb.b != nil || tb.used != 0 {
				t.Fatalf("t[1] in use while not rehashing")
			}
			continue
		}
		if n := len(tb.b); n&(n-1) != 0 {
			t.Fatalf("table %d size %d not a power of two", ti, n)
		}
		cnt := 0
		for i, e := range tb.b {
			if ti == 0 && d.rehashing() && i < d.rehashIdx && e != nil {
				t.Fatalf("bucket %d below rehashIdx %d not empty", i, d.rehashIdx)
			}
			for ; e != nil; e = e.next {
				if got := int(dhash(e.Key) & uint64(len(tb.b)-1)); got != i {
					t.Fatalf("key %q in bucket %d, belongs in %d", e.Key, i, got)
				}
				cnt++
			}
		}
		if cnt != tb.used {
			t.Fatalf("table %d: used %d, counted %d", ti, tb.used, cnt)
		}
	}
}

func TestDictGrowShrink(t *testing.T) {
	d := newDict(testSeed)
	const n = 50000
	sawRehash := false
	for i := 0; i < n; i++ {
		k := dkey(i)
		if d.find(k, dhash(k)) != nil {
			t.Fatalf("found %q before insert", k)
		}
		d.add(&Entry{Key: k}, dhash(k))
		sawRehash = sawRehash || d.rehashing()
		if i%997 == 0 {
			checkDict(t, d)
			for j := 0; j <= i; j += 101 {
				if e := d.find(dkey(j), dhash(dkey(j))); e == nil || string(e.Key) != string(dkey(j)) {
					t.Fatalf("after %d inserts: lost %q", i, dkey(j))
				}
			}
		}
	}
	if !sawRehash {
		t.Fatal("never rehashed")
	}
	if d.len() != n {
		t.Fatalf("len %d", d.len())
	}
	for !func() bool { d.rehashStep(); return !d.rehashing() }() {
	}
	if s := d.size(); s != 65536 {
		t.Fatalf("size %d after %d inserts, want 65536", s, n)
	}
	// Delete all but a few: the table must shrink on the way.
	for i := 0; i < n-10; i++ {
		k := dkey(i)
		if e := d.remove(k, dhash(k)); e == nil || string(e.Key) != string(k) {
			t.Fatalf("remove %q failed", k)
		}
		if d.remove(k, dhash(k)) != nil {
			t.Fatalf("removed %q twice", k)
		}
		if i%991 == 0 {
			checkDict(t, d)
			for j := n - 1; j > i; j -= 103 {
				if d.find(dkey(j), dhash(dkey(j))) == nil {
					t.Fatalf("after %d removes: lost %q", i, dkey(j))
				}
			}
		}
	}
	for i := 0; i < 100; i++ {
		d.find(dkey(0), dhash(dkey(0)))
	}
	checkDict(t, d)
	if d.len() != 10 || d.size() > 16 {
		t.Fatalf("len %d size %d after deletes", d.len(), d.size())
	}
	for i := n - 10; i < n; i++ {
		if d.find(dkey(i), dhash(dkey(i))) == nil {
			t.Fatalf("lost %q", dkey(i))
		}
	}
}

// scanAll runs a full scan, calling between after each step.
func scanAll(d *dict, between func(step int)) map[string]int {
	seen := map[string]int{}
	var c uint64
	for step := 0; ; step++ {
		c = d.scan(c, func(e *Entry) { seen[string(e.Key)]++ })
		if c == 0 {
			return seen
		}
		between(step)
	}
}

func TestDictScanGuarantee(t *testing.T) {
	for _, tc := range []struct {
		name       string
		start      int
		addPerStep int
		delPerStep int
		steps      int // mutate only during the first steps (a scan of a table that grows without end never ends)
		churnStart int // churning keys present at the start
	}{
		{"static", 1000, 0, 0, 0, 0},
		{"grow", 100, 20, 0, 300, 0},
		{"grow-fast", 10, 300, 0, 40, 0},
		{"shrink", 1000, 0, 150, 1 << 30, 60000},
		{"shrink-fast", 100, 0, 5000, 1 << 30, 60000},
		{"churn", 3000, 10, 10, 5000, 3000},
		{"grow-then-shrink", 500, 40, 40, 2000, 0},
	} {
		for _, loading := range []bool{false, true} {
			name := tc.name
			if loading {
				name += "-loading"
			}
			t.Run(name, func(t *testing.T) {
				r := rand.New(rand.NewPCG(1, uint64(tc.start)))
				d := newDict(testSeed)
				d.eager = 0 // exercise scans during incremental rehashes
				// While loading, the shard grows a full table 4 times before
				// each add.
				add := func(e *Entry, hv uint64) {
					if loading {
						d.growForLoad(loadGrowth, 0)
					}
					d.add(e, hv)
				}
				// Stable keys (present for the whole scan) get even numbers;
				// churning keys odd ones.
				stable := map[string]bool{}
				var churn []int
				next := 0
				for i := 0; i < tc.start; i++ {
					k := dkey(2 * i)
					add(&Entry{Key: k}, dhash(k))
					stable[string(k)] = true
				}
				{
					for i := 0; i < tc.churnStart; i++ {
						next++
						k := dkey(2*next + 1)
						add(&Entry{Key: k}, dhash(k))
						churn = append(churn, 2*next+1)
					}
				}
				rehashSteps, sizes := 0, map[int]bool{}
				seen := scanAll(d, func(step int) {
					if step >= tc.steps {
						return
					}
					for i := 0; i < tc.addPerStep; i++ {
						next++
						k := dkey(2*next + 1)
						add(&Entry{Key: k}, dhash(k))
						churn = append(churn, 2*next+1)
					}
					for i := 0; i < tc.delPerStep && len(churn) > 0; i++ {
						j := r.IntN(len(churn))
						k := dkey(churn[j])
						churn[j] = churn[len(churn)-1]
						churn = churn[:len(churn)-1]
						if d.remove(k, dhash(k)) == nil {
							t.Fatalf("remove %q failed", k)
						}
					}
					if d.rehashing() {
						rehashSteps++
					}
					sizes[len(d.t[0].b)] = true
				})
				for k := range stable {
					if seen[k] == 0 {
						t.Fatalf("stable key %q not returned (sizes seen %v)", k, sizes)
					}
				}
				checkDict(t, d)
				t.Logf("%d stable keys, %d returned, %d scan steps while rehashing, table sizes %d",
					len(stable), len(seen), rehashSteps, len(sizes))
				// Loading, growth rehashes at once (the scan sees the table
				// grow between calls, never mid-rehash; shrinks are still
				// incremental), and grow-then-shrink's table grown 4 times
				// has room for all its churn.
				switch {
				case loading && tc.delPerStep == 0:
					if tc.name != "static" && len(sizes) < 2 {
						t.Error("the table never grew during the scan")
					}
					if rehashSteps != 0 {
						t.Error("growth while loading left the dict rehashing")
					}
				case tc.name != "static" && tc.name != "churn" && !(loading && tc.name == "grow-then-shrink") && rehashSteps == 0:
					t.Error("scan never ran during a rehash")
				}
			})
		}
	}
}

func TestDictRandom(t *testing.T) {
	d := newDict(testSeed)
	const n = 1000
	for i := 0; i < n; i++ {
		d.add(&Entry{Key: dkey(i)}, dhash(dkey(i)))
	}
	// Mid-rehash and settled tables both give members.
	hits := map[string]int{}
	x := uint64(42)
	for i := 0; i < 100*n; i++ {
		e := d.randomEntry(splitmix(&x))
		if e == nil {
			t.Fatal("nil from non-empty dict")
		}
		hits[string(e.Key)]++
		var buf [20]*Entry
		m := d.someEntries(buf[:], splitmix(&x))
		if m == 0 {
			t.Fatal("someEntries found nothing")
		}
		for _, e := range buf[:m] {
			if d.find(e.Key, dhash(e.Key)) != e {
				t.Fatalf("sampled entry %q not in dict", e.Key)
			}
		}
	}
	if len(hits) < n*95/100 {
		t.Errorf("only %d of %d keys ever drawn", len(hits), n)
	}
}
