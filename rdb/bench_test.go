package rdb

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/datatypes/hashes"
	"github.com/basaltdb/basalt/keyspace"
)

func benchEntries(n int) ([][]byte, []*keyspace.Entry) {
	keys := make([][]byte, n)
	es := make([]*keyspace.Entry, n)
	for i := range es {
		keys[i] = []byte(fmt.Sprintf("key:%08d", i))
		if i%2 == 0 {
			es[i] = &keyspace.Entry{Kind: keyspace.KindString, Enc: keyspace.EncEmbstr, Str: []byte(fmt.Sprintf("value-%d-xxxxxxxxxxxxxxxxxxxx", i))}
		} else {
			h := hashes.New()
			for j := 0; j < 10; j++ {
				h.Set([]byte(fmt.Sprint("f", j)), []byte(fmt.Sprint(i*j)), 128, 64)
			}
			es[i] = &keyspace.Entry{Kind: keyspace.KindHash, Obj: h}
		}
	}
	return keys, es
}

func BenchmarkWriter(b *testing.B) {
	keys, es := benchEntries(10000)
	b.ReportAllocs()
	var size int
	for i := 0; i < b.N; i++ {
		var buf bytes.Buffer
		w, _ := NewWriter(&buf, nil)
		for j, e := range es {
			w.Entry(keys[j], e)
		}
		w.Close()
		size = buf.Len()
	}
	b.SetBytes(int64(size))
}

func BenchmarkLoad(b *testing.B) {
	keys, es := benchEntries(10000)
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, nil)
	for j, e := range es {
		w.Entry(keys[j], e)
	}
	w.Close()
	lim := datatypes.DefaultLimits()
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		err := Load(bytes.NewReader(buf.Bytes()), "b", &lim, func(int, []byte, Value, int64) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendDumpString(b *testing.B) {
	e := &keyspace.Entry{Kind: keyspace.KindString, Enc: keyspace.EncEmbstr, Str: []byte("a value of forty bytes, compressible????")}
	var dst []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		dst = AppendDump(dst[:0], e)
	}
}
