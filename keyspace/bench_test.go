package keyspace

import (
	"fmt"
	"testing"

	"github.com/basaltdb/basalt/effect"
)

func benchKeys(n int) [][]byte {
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "key:%012d", i)
	}
	return keys
}

func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{1000, 1_000_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			keys := benchKeys(n)
			s := NewShardSeed(1, 1)
			for _, k := range keys {
				e, _ := s.Upsert(0, k, 0)
				e.Str = k
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if s.Lookup(0, keys[i%n], 1) == nil {
					b.Fatal("miss")
				}
			}
		})
	}
}

func BenchmarkLookupMiss(b *testing.B) {
	keys := benchKeys(100_000)
	s := NewShardSeed(1, 1)
	for _, k := range keys[:50_000] {
		s.Upsert(0, k, 0)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if s.Lookup(0, keys[50_000+i%50_000], 1) != nil {
			b.Fatal("hit")
		}
	}
}

// BenchmarkUpsert measures inserting new keys (each iteration a new key;
// the shard is refilled from empty every n keys).
func BenchmarkUpsert(b *testing.B) {
	const n = 1_000_000
	keys := benchKeys(n)
	s := NewShardSeed(1, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%n == 0 && i > 0 {
			b.StopTimer()
			s.Flush(0)
			b.StartTimer()
		}
		s.Upsert(0, keys[i%n], 0)
	}
}

// BenchmarkUpsertExisting is the overwrite path (SET of a present key).
func BenchmarkUpsertExisting(b *testing.B) {
	const n = 100_000
	keys := benchKeys(n)
	s := NewShardSeed(1, 1)
	for _, k := range keys {
		s.Upsert(0, k, 0)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok := s.Upsert(0, keys[i%n], 0); !ok {
			b.Fatal("missing")
		}
	}
}

// BenchmarkActiveExpire measures one call with budget 200 on 1M keys with
// an expiry, 10% of them expired (refilled as they go).
func BenchmarkActiveExpire(b *testing.B) {
	const n = 1_000_000
	keys := benchKeys(n)
	s := NewShardSeed(16, 1)
	var log effect.Log
	s.Log = &log
	const now = 1000
	for i, k := range keys {
		e, _ := s.Upsert(0, k, 0)
		at := int64(now + 1)
		if i%10 == 0 {
			at = now - 1
		}
		s.SetExpire(0, e, at)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		log.Reset()
		s.ActiveExpire(now, 200)
		if s.ExpiresLen(0) < n*95/100 {
			b.StopTimer()
			for j, k := range keys {
				if j%10 == 0 && s.LookupNoTouch(0, k, 0) == nil {
					e, _ := s.Upsert(0, k, 0)
					s.SetExpire(0, e, now-1)
				}
			}
			b.StartTimer()
		}
	}
}

func BenchmarkRandomEntry(b *testing.B) {
	keys := benchKeys(1_000_000)
	s := NewShardSeed(1, 1)
	for _, k := range keys {
		s.Upsert(0, k, 0)
	}
	b.ReportAllocs()
	b.ResetTimer()
	x := uint64(1)
	for i := 0; i < b.N; i++ {
		if s.RandomEntry(0, splitmix(&x)) == nil {
			b.Fatal("nil")
		}
	}
}

// BenchmarkLoad is start-up loading: 1M new keys into an empty shard, as
// BenchmarkUpsert, in the loading mode without a size hint (an AOF) and
// with Reserve's (an RDB's RESIZEDB); "serving" is the normal mode.
func BenchmarkLoad(b *testing.B) {
	const n = 1_000_000
	keys := benchKeys(n)
	for _, mode := range []string{"serving", "loading", "reserved"} {
		b.Run(mode, func(b *testing.B) {
			s := NewShardSeed(1, 1)
			start := func() {
				s.Flush(0)
				s.SetLoading(map[string]LoadMode{"serving": NotLoading, "loading": LoadingGrow, "reserved": LoadingSized}[mode])
				s.Reserve(0, n)
			}
			start()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i%n == 0 && i > 0 {
					b.StopTimer()
					start()
					b.StartTimer()
				}
				s.Upsert(0, keys[i%n], 0)
			}
		})
	}
}
