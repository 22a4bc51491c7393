package zsets

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/keyspace"
)

// model is the reference: a sorted slice of (score, member).
type model struct{ es []elem }

type elem struct {
	m string
	s float64
}

func (md *model) sort() {
	sort.Slice(md.es, func(i, j int) bool {
		a, b := md.es[i], md.es[j]
		if a.s != b.s {
			return a.s < b.s
		}
		return a.m < b.m
	})
}

func (md *model) find(m string) int {
	for i, e := range md.es {
		if e.m == m {
			return i
		}
	}
	return -1
}

func (md *model) add(m string, s float64) bool {
	if i := md.find(m); i >= 0 {
		if md.es[i].s != s {
			md.es[i].s = s
			md.sort()
		}
		return false
	}
	md.es = append(md.es, elem{m, s})
	md.sort()
	return true
}

func (md *model) remove(m string) bool {
	i := md.find(m)
	if i < 0 {
		return false
	}
	md.es = append(md.es[:i], md.es[i+1:]...)
	return true
}

func check(t *testing.T, z *ZSet, md *model, lim *datatypes.Limits, step int) {
	t.Helper()
	if z.Len() != len(md.es) {
		t.Fatalf("step %d: len %d want %d", step, z.Len(), len(md.es))
	}
	i := 0
	z.ForEach(func(m []byte, s float64) bool {
		e := md.es[i]
		if string(m) != e.m || s != e.s {
			t.Fatalf("step %d: rank %d got (%q,%v) want (%q,%v)", step, i, m, s, e.m, e.s)
		}
		i++
		return true
	})
	if i != len(md.es) {
		t.Fatalf("step %d: walked %d of %d", step, i, len(md.es))
	}
	// Reverse walk.
	if n := len(md.es); n > 0 {
		j := n - 1
		z.Walk(n-1, 0, func(m []byte, s float64) bool {
			if string(m) != md.es[j].m {
				t.Fatalf("step %d: rev rank %d got %q want %q", step, j, m, md.es[j].m)
			}
			j--
			return true
		})
		if j != -1 {
			t.Fatalf("step %d: rev walk stopped at %d", step, j)
		}
	}
	if z.big != nil {
		b := z.big
		sum := 0
		for bi, bl := range b.blocks {
			if len(bl.ids) == 0 || len(bl.ids) > maxBlock || len(bl.ids) != len(bl.scores) {
				t.Fatalf("step %d: bad block %d size %d", step, bi, len(bl.ids))
			}
			if b.prefix(bi) != sum {
				t.Fatalf("step %d: fenwick prefix(%d)=%d want %d", step, bi, b.prefix(bi), sum)
			}
			sum += len(bl.ids)
		}
		used := 0
		for _, v := range b.tab {
			if v != 0 {
				used++
			}
		}
		if used != b.n || sum != b.n {
			t.Fatalf("step %d: table %d blocks %d n %d", step, used, sum, b.n)
		}
	}
}

func TestModel(t *testing.T) {
	for _, entries := range []int64{0, 1, 4, 128, 2000} {
		t.Run(fmt.Sprint("entries=", entries), func(t *testing.T) {
			lim := datatypes.DefaultLimits()
			lim.ZSetMaxListpackEntries = entries
			r := rand.New(rand.NewPCG(uint64(entries), 7))
			z := New()
			md := &model{}
			nm := 300
			if entries == 2000 {
				nm = 3000
			}
			member := func() string {
				if r.IntN(50) == 0 {
					return string(bytes.Repeat([]byte("L"), 60+r.IntN(10))) // around the value limit
				}
				return fmt.Sprint("m", r.IntN(nm))
			}
			score := func() float64 {
				switch r.IntN(6) {
				case 0:
					return 0
				case 1:
					return math.Inf(1 - 2*r.IntN(2))
				default:
					return float64(r.IntN(100)) / 4
				}
			}
			wasBig := false
			for step := 0; step < 20000; step++ {
				switch op := r.IntN(10); {
				case op < 5:
					m, s := member(), score()
					big := z.big != nil
					wantBig := big || md.find(m) < 0 && (int64(len(md.es)+1) > entries || len(m) > 64)
					if got, want := z.Add([]byte(m), s, &lim), md.add(m, s); got != want {
						t.Fatalf("step %d: add %q got %v want %v", step, m, got, want)
					}
					if (z.big != nil) != wantBig {
						t.Fatalf("step %d: encoding big=%v want %v (len %d)", step, z.big != nil, wantBig, z.Len())
					}
				case op == 7 && r.IntN(20) == 0 && len(md.es) > 0:
					// Bulk delete of a rank range (ZREMRANGEBY*, pops).
					lo := r.IntN(len(md.es))
					hi := lo + r.IntN(min(len(md.es)-lo, 700)+1)
					if got := z.DeleteRanks(lo, hi); got != hi-lo {
						t.Fatalf("step %d: DeleteRanks(%d,%d)=%d", step, lo, hi, got)
					}
					md.es = append(md.es[:lo], md.es[hi:]...)
				case op < 8:
					m := member()
					if got, want := z.Remove([]byte(m)), md.remove(m); got != want {
						t.Fatalf("step %d: remove %q got %v want %v", step, m, got, want)
					}
				case op == 8:
					m := member()
					s, ok := z.Score([]byte(m))
					i := md.find(m)
					if ok != (i >= 0) || ok && s != md.es[i].s {
						t.Fatalf("step %d: score %q", step, m)
					}
					rk, _, ok := z.Rank([]byte(m))
					if ok && rk != i {
						t.Fatalf("step %d: rank %q got %d want %d", step, m, rk, i)
					}
				default:
					min, max := score(), score()
					lo, hi := z.ScoreRanks(min, max, r.IntN(2) == 0, false)
					_ = lo
					want := 0
					for _, e := range md.es {
						if e.s <= max {
							want++
						}
					}
					if hi != want {
						t.Fatalf("step %d: CountBelow(%v) %d want %d", step, max, hi, want)
					}
					if len(md.es) > 0 {
						k := r.IntN(len(md.es))
						m, s := z.At(k)
						if string(m) != md.es[k].m || s != md.es[k].s {
							t.Fatalf("step %d: At(%d)", step, k)
						}
					}
				}
				if z.big != nil {
					wasBig = true
				} else if wasBig {
					t.Fatalf("step %d: converted back to listpack", step)
				}
				if step%97 == 0 || z.Len() < 20 {
					check(t, z, md, &lim, step)
				}
			}
			check(t, z, md, &lim, -1)
			c := z.Clone().(*ZSet)
			check(t, c, md, &lim, -2)
			z.Normalize(&lim)
			check(t, z, md, &lim, -3)
			if fits := int64(len(md.es)) <= entries; fits != (z.Encoding() == keyspace.EncListpack) {
				// Fits also needs short members.
				long := false
				for _, e := range md.es {
					long = long || len(e.m) > 64
				}
				if fits && !long {
					t.Fatalf("Normalize: encoding %v with %d members", z.Encoding(), len(md.es))
				}
			}
		})
	}
}

func TestThresholds(t *testing.T) {
	lim := datatypes.DefaultLimits()
	z := New()
	for i := 0; i < 128; i++ {
		z.Add([]byte(fmt.Sprint(i)), float64(i), &lim)
	}
	if z.Encoding() != keyspace.EncListpack {
		t.Fatal("128 members should stay listpack")
	}
	z.Add([]byte("5"), 99, &lim) // update: no conversion
	if z.Encoding() != keyspace.EncListpack {
		t.Fatal("update converted")
	}
	z.Add([]byte("x"), 1, &lim)
	if z.Encoding() != keyspace.EncSkiplist {
		t.Fatal("129 members should be skiplist")
	}
	z2 := New()
	z2.Add(bytes.Repeat([]byte("a"), 64), 1, &lim)
	if z2.Encoding() != keyspace.EncListpack {
		t.Fatal("64-byte member should stay listpack")
	}
	z2.Add(bytes.Repeat([]byte("a"), 65), 1, &lim)
	if z2.Encoding() != keyspace.EncSkiplist {
		t.Fatal("65-byte member should convert")
	}
}

func TestLexAndScan(t *testing.T) {
	lim := datatypes.DefaultLimits()
	for _, n := range []int{10, 1000} {
		z := New()
		for i := 0; i < n; i++ {
			z.Add([]byte(fmt.Sprintf("m%05d", i)), 0, &lim)
		}
		min, _ := ParseLexBound([]byte("(m00003"))
		max, _ := ParseLexBound([]byte("[m00007"))
		lo, hi := z.LexRanks(min, max)
		if lo != 4 || hi != 8 {
			t.Fatalf("n=%d lex ranks %d %d", n, lo, hi)
		}
		inf, _ := ParseLexBound([]byte("+"))
		ninf, _ := ParseLexBound([]byte("-"))
		if lo, hi := z.LexRanks(ninf, inf); lo != 0 || hi != n {
			t.Fatalf("n=%d full lex %d %d", n, lo, hi)
		}
		seen := map[string]int{}
		var cur uint64
		for {
			cur = z.Scan(cur, 10, func(m []byte, _ float64) { seen[string(m)]++ })
			if cur == 0 {
				break
			}
		}
		if len(seen) != n {
			t.Fatalf("n=%d scan saw %d", n, len(seen))
		}
	}
}

// TestMemory reports the bytes per member of a 1M-member skiplist.
func TestMemory(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	z := New()
	lim := datatypes.DefaultLimits()
	const n = 1_000_000
	var buf []byte
	for i := 0; i < n; i++ {
		buf = fmt.Appendf(buf[:0], "member:%d", i)
		z.Add(buf, float64(i%1000), &lim)
	}
	bytesUsed := z.MemoryUsage()
	t.Logf("1M members: %.1f bytes/member (incl. ~%d bytes of member text)", float64(bytesUsed)/n, len("member:500000"))
}

func BenchmarkAdd(b *testing.B) {
	z := New()
	lim := datatypes.DefaultLimits()
	var buf []byte
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < b.N; i++ {
		buf = fmt.Appendf(buf[:0], "member:%d", i)
		z.Add(buf, r.Float64(), &lim)
	}
}
