package rdb

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/basaltdb/basalt/keyspace"
)

// TestLoadSized: each RESIZEDB hint reaches resize, with its database,
// before that database's keys; a file without hints loads the same.
func TestLoadSized(t *testing.T) {
	var b bytes.Buffer
	w, _ := NewWriter(&b, nil)
	w.SelectDB(0, 2, 1)
	w.Entry([]byte("a"), &keyspace.Entry{Kind: keyspace.KindString, Str: []byte("1"), Expire: 5})
	w.Entry([]byte("b"), &keyspace.Entry{Kind: keyspace.KindString, Str: []byte("2")})
	w.SelectDB(3, 1<<40, 0)
	w.Entry([]byte("c"), &keyspace.Entry{Kind: keyspace.KindString, Str: []byte("3")})
	w.Raw(AppendSelectDB(nil, 5)) // no hint
	w.Entry([]byte("d"), &keyspace.Entry{Kind: keyspace.KindString, Str: []byte("4")})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var events []string
	err := LoadSized(bytes.NewReader(b.Bytes()), "t.rdb", nil, func(db int, key []byte, v Value, exp int64) error {
		events = append(events, fmt.Sprintf("key %d %s", db, key))
		return nil
	}, nil, func(db int, keys, expires uint64) {
		events = append(events, fmt.Sprintf("resize %d %d %d", db, keys, expires))
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "[resize 0 2 1 key 0 a key 0 b resize 3 1099511627776 0 key 3 c key 5 d]"
	if got := fmt.Sprint(events); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// Without resize, and through Load, the same keys.
	n := 0
	if err := LoadSized(bytes.NewReader(b.Bytes()), "t.rdb", nil, func(int, []byte, Value, int64) error { n++; return nil }, nil, nil); err != nil || n != 4 {
		t.Fatalf("nil resize: %d keys, %v", n, err)
	}
	n = 0
	if err := Load(bytes.NewReader(b.Bytes()), "t.rdb", nil, func(int, []byte, Value, int64) error { n++; return nil }); err != nil || n != 4 {
		t.Fatalf("Load: %d keys, %v", n, err)
	}
}
