package lists

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/keyspace"
)

// check verifies the list's structure and that it holds exactly want.
func check(t *testing.T, l *List, want [][]byte, ctx string) {
	t.Helper()
	if l.Len() != len(want) {
		t.Fatalf("%s: Len %d want %d", ctx, l.Len(), len(want))
	}
	total := 0
	for k, nd := range l.live() {
		if nd.n <= 0 {
			t.Fatalf("%s: node %d has %d entries", ctx, k, nd.n)
		}
		if nd.n > 1 && (nd.size() > int(l.maxBytes) || nd.n > l.maxCount) {
			t.Fatalf("%s: node %d over its caps: %d entries, %d bytes", ctx, k, nd.n, nd.size())
		}
		d := nd.data()
		n, off := 0, 0
		for off < len(d) {
			sz := sizeAt(d[off:])
			if sb := sizeBefore(d[:off+sz]); sb != sz {
				t.Fatalf("%s: node %d entry at %d: forward size %d, backward %d", ctx, k, off, sz, sb)
			}
			off += sz
			n++
		}
		if off != len(d) || n != int(nd.n) {
			t.Fatalf("%s: node %d: parsed %d entries ending at %d, has %d entries of %d bytes", ctx, k, n, off, nd.n, len(d))
		}
		total += n
	}
	if total != len(want) {
		t.Fatalf("%s: nodes hold %d, want %d", ctx, total, len(want))
	}
	var got [][]byte
	l.Each(false, func(i int, v []byte) bool {
		if i != len(got) {
			t.Fatalf("%s: Each index %d at position %d", ctx, i, len(got))
		}
		got = append(got, bytes.Clone(v))
		return true
	})
	if !equal(got, want) {
		t.Fatalf("%s: got %q\nwant %q", ctx, got, want)
	}
	var rev [][]byte
	l.Each(true, func(i int, v []byte) bool {
		if i != len(want)-1-len(rev) {
			t.Fatalf("%s: reverse Each index %d at position %d", ctx, i, len(rev))
		}
		rev = append(rev, bytes.Clone(v))
		return true
	})
	slices.Reverse(rev)
	if !equal(rev, want) {
		t.Fatalf("%s: reverse got %q\nwant %q", ctx, rev, want)
	}
}

func equal(a, b [][]byte) bool {
	return slices.EqualFunc(a, b, func(x, y []byte) bool { return bytes.Equal(x, y) })
}

func randValue(r *rand.Rand) []byte {
	switch r.IntN(8) {
	case 0:
		return []byte(strconv.Itoa(r.IntN(20) - 10))
	case 1:
		vals := []string{"", "0", "-0", "007", "+1", " 1", "1 ", "9223372036854775807", "-9223372036854775808",
			"9223372036854775808", "4611686018427387903", "-4611686018427387904", "4611686018427387904",
			"-4611686018427387905", "2305843009213693951", "-2305843009213693952", "12345678901234567890"}
		return []byte(vals[r.IntN(len(vals))])
	case 2:
		return bytes.Repeat([]byte{'x'}, r.IntN(300))
	case 3:
		return []byte(strconv.FormatInt(r.Int64()-r.Int64(), 10))
	default:
		return []byte(fmt.Sprintf("v%d", r.IntN(12)))
	}
}

func TestEntryRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var scratch [20]byte
	for i := 0; i < 20000; i++ {
		v := randValue(r)
		if i < 200 {
			v = bytes.Repeat([]byte{'y'}, i*67) // every uvarint width
		}
		b := make([]byte, entrySize(v))
		putEntry(b, v)
		got, sz := entryAt(b, &scratch)
		if sz != len(b) || sizeAt(b) != len(b) || sizeBefore(b) != len(b) || !bytes.Equal(got, v) {
			t.Fatalf("%q: got %q size %d/%d/%d of %d", v, got, sz, sizeAt(b), sizeBefore(b), len(b))
		}
	}
	// Small integers take two bytes, as in a listpack (up to 31 here).
	if n := entrySize([]byte("-31")); n != 2 {
		t.Fatalf("entrySize(-31) = %d", n)
	}
}

func TestNewFill(t *testing.T) {
	cases := []struct {
		fill          int64
		bytes, counts int32
	}{{-1, 4096, fillMax}, {-2, 8192, fillMax}, {-5, 65536, fillMax}, {-9, 65536, fillMax},
		{0, sizeSafetyLimit, 1}, {3, sizeSafetyLimit, 3}, {1 << 20, sizeSafetyLimit, fillMax}}
	for _, c := range cases {
		lim := datatypes.DefaultLimits()
		lim.ListMaxListpackSize = c.fill
		l := New(&lim)
		if l.maxBytes != c.bytes || l.maxCount != c.counts {
			t.Errorf("fill %d: caps %d bytes %d entries, want %d %d", c.fill, l.maxBytes, l.maxCount, c.bytes, c.counts)
		}
	}
	if New(nil).Encoding() != keyspace.EncQuicklist {
		t.Fatal("encoding")
	}
}

// TestModel runs random operations on lists with various node caps
// (tiny ones included, so nodes split, empty and get removed all the
// time) against a [][]byte reference.
func TestModel(t *testing.T) {
	caps := []struct{ bytes, count int32 }{{16, fillMax}, {40, 3}, {64, 1}, {8192, 2}, {8192, 5}, {4096, fillMax}, {200, fillMax}}
	for ci, cp := range caps {
		for seed := uint64(1); seed <= 6; seed++ {
			t.Run(fmt.Sprintf("caps%d/seed%d", ci, seed), func(t *testing.T) {
				runModel(t, cp.bytes, cp.count, seed, 3000)
			})
		}
	}
}

func runModel(t *testing.T, maxBytes, maxCount int32, seed uint64, ops int) {
	r := rand.New(rand.NewPCG(seed, uint64(maxBytes)<<16|uint64(maxCount)))
	l := newSized(maxBytes, maxCount)
	var ref [][]byte
	for op := 0; op < ops; op++ {
		ctx := ""
		switch k := r.IntN(22); {
		case k < 4:
			v := randValue(r)
			ctx = fmt.Sprintf("#%d PushTail %q", op, v)
			l.PushTail(v)
			ref = append(ref, bytes.Clone(v))
		case k < 8:
			v := randValue(r)
			ctx = fmt.Sprintf("#%d PushHead %q", op, v)
			l.PushHead(v)
			ref = append([][]byte{bytes.Clone(v)}, ref...)
		case k < 10:
			if len(ref) == 0 {
				continue
			}
			ctx = fmt.Sprintf("#%d PopHead", op)
			if v := l.PopHead(); !bytes.Equal(v, ref[0]) {
				t.Fatalf("%s: %q want %q", ctx, v, ref[0])
			}
			ref = ref[1:]
		case k < 12:
			if len(ref) == 0 {
				continue
			}
			ctx = fmt.Sprintf("#%d PopTail", op)
			if v := l.PopTail(); !bytes.Equal(v, ref[len(ref)-1]) {
				t.Fatalf("%s: %q want %q", ctx, v, ref[len(ref)-1])
			}
			ref = ref[:len(ref)-1]
		case k == 12:
			if len(ref) == 0 {
				continue
			}
			i := r.IntN(len(ref))
			ctx = fmt.Sprintf("#%d Index %d", op, i)
			if v := l.Index(i); !bytes.Equal(v, ref[i]) {
				t.Fatalf("%s: %q want %q", ctx, v, ref[i])
			}
		case k == 13:
			if len(ref) == 0 {
				continue
			}
			i, v := r.IntN(len(ref)), randValue(r)
			ctx = fmt.Sprintf("#%d Set %d %q", op, i, v)
			l.Set(i, v)
			ref[i] = bytes.Clone(v)
		case k == 14:
			pivot, v, after := randValue(r), randValue(r), r.IntN(2) == 0
			if len(ref) > 0 && r.IntN(3) > 0 {
				pivot = bytes.Clone(ref[r.IntN(len(ref))])
			}
			ctx = fmt.Sprintf("#%d Insert %q %q after=%v", op, pivot, v, after)
			at := slices.IndexFunc(ref, func(e []byte) bool { return bytes.Equal(e, pivot) })
			if got := l.Insert(pivot, v, after); got != (at >= 0) {
				t.Fatalf("%s: found %v", ctx, got)
			}
			if at >= 0 {
				if after {
					at++
				}
				ref = slices.Insert(ref, at, bytes.Clone(v))
			}
		case k == 15:
			if len(ref) == 0 {
				continue
			}
			start := r.IntN(len(ref))
			stop := start + r.IntN(len(ref)-start)
			ctx = fmt.Sprintf("#%d Range %d %d", op, start, stop)
			var got [][]byte
			l.Range(start, stop, func(v []byte) bool { got = append(got, bytes.Clone(v)); return true })
			if !equal(got, ref[start:stop+1]) {
				t.Fatalf("%s: %q want %q", ctx, got, ref[start:stop+1])
			}
		case k == 16:
			if len(ref) == 0 {
				continue
			}
			start := r.IntN(len(ref))
			n := r.IntN(len(ref) - start + 1)
			if r.IntN(4) == 0 {
				start, n = 0, r.IntN(len(ref)+1)
			}
			ctx = fmt.Sprintf("#%d DeleteRange %d %d", op, start, n)
			l.DeleteRange(start, n)
			ref = slices.Delete(ref, start, start+n)
		case k == 17 || k == 18:
			v := randValue(r)
			if len(ref) > 0 && r.IntN(3) > 0 {
				v = bytes.Clone(ref[r.IntN(len(ref))])
			}
			count := r.IntN(7) - 3
			ctx = fmt.Sprintf("#%d Remove %q %d", op, v, count)
			want := 0
			switch {
			case count >= 0:
				for i := 0; i < len(ref) && (count == 0 || want < count); {
					if bytes.Equal(ref[i], v) {
						ref = slices.Delete(ref, i, i+1)
						want++
						continue
					}
					i++
				}
			default:
				for i := len(ref) - 1; i >= 0 && want < -count; i-- {
					if bytes.Equal(ref[i], v) {
						ref = slices.Delete(ref, i, i+1)
						want++
					}
				}
			}
			if got := l.Remove(v, count); got != want {
				t.Fatalf("%s: removed %d want %d", ctx, got, want)
			}
		case k == 19:
			ctx = fmt.Sprintf("#%d Clone", op)
			c := l.Clone().(*List)
			check(t, c, ref, ctx+" (clone)")
			if len(ref) > 0 {
				c.PopHead() // the original must not change
				c.PushTail([]byte("clone-only"))
			}
		default:
			// Bulk pushes, so lists get long enough for many nodes.
			for i := r.IntN(40); i > 0; i-- {
				v := randValue(r)
				if r.IntN(2) == 0 {
					l.PushTail(v)
					ref = append(ref, bytes.Clone(v))
				} else {
					l.PushHead(v)
					ref = append([][]byte{bytes.Clone(v)}, ref...)
				}
			}
			ctx = fmt.Sprintf("#%d bulk push", op)
		}
		check(t, l, ref, ctx)
	}
}

// TestQueue: a FIFO through one list must not keep growing its buffers.
func TestQueue(t *testing.T) {
	l := New(nil)
	v := []byte("some element value")
	for i := 0; i < 100; i++ {
		l.PushTail(v)
	}
	for i := 0; i < 1_000_000; i++ {
		l.PushTail(v)
		if got := l.PopHead(); !bytes.Equal(got, v) {
			t.Fatalf("got %q", got)
		}
	}
	if n := len(l.live()); n != 1 {
		t.Fatalf("%d nodes for 100 small elements", n)
	}
	if cap(l.nodes) > 64 {
		t.Fatalf("node slice grew to %d", cap(l.nodes))
	}
}

// TestMemory: a million small elements cost about what a listpack costs.
func TestMemory(t *testing.T) {
	l := New(nil)
	for i := 0; i < 1_000_000; i++ {
		l.PushTail([]byte("element:" + strconv.Itoa(i)))
	}
	total := cap(l.nodes) * 32
	for _, nd := range l.live() {
		total += cap(nd.b)
	}
	per := float64(total) / 1e6
	t.Logf("%.2f bytes per element (%d nodes)", per, len(l.live()))
	// "element:123456" is 14 bytes; a listpack entry takes 16.
	if per > 17 {
		t.Fatalf("%.2f bytes per element", per)
	}
}

func BenchmarkPushPop(b *testing.B) {
	l := New(nil)
	v := []byte("hello")
	for i := 0; i < b.N; i++ {
		l.PushHead(v)
		l.PopTail()
	}
}

func BenchmarkRange100(b *testing.B) {
	l := New(nil)
	for i := 0; i < 10000; i++ {
		l.PushTail([]byte("xxx"))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		l.Range(0, 99, func(v []byte) bool { n += len(v); return true })
	}
}

// TestSmallListMemory: a short list's buffer stays near its data size.
func TestSmallListMemory(t *testing.T) {
	data, alloc := 0, 0
	for n := 1; n <= 20; n++ {
		l := New(nil)
		for i := 0; i < n; i++ {
			v := []byte("value-" + strconv.Itoa(i))
			if i%2 == 0 {
				l.PushTail(v)
			} else {
				l.PushHead(v)
			}
		}
		for _, nd := range l.live() {
			data += nd.size()
			alloc += cap(nd.b)
		}
	}
	t.Logf("small lists: %d data bytes in %d buffer bytes", data, alloc)
	if alloc > data*3/2 {
		t.Fatalf("%d buffer bytes for %d data bytes", alloc, data)
	}
}
