package keyspace

import (
	"fmt"
	"slices"
	"testing"
)

// TestAddedOnStreamGone: the Added hook also fires when a stream leaves a
// key (Remove, expiry, Upsert of an existing stream) and with a nil key
// for Flush and Swap, so that blocked XREADGROUP readers look again; a
// key of another kind leaving fires nothing.
func TestAddedOnStreamGone(t *testing.T) {
	s := NewShard(2)
	var got []string
	put := func(key string, kind Kind, expire int64) {
		e, _ := s.Upsert(0, []byte(key), 1)
		e.Kind = kind
		if expire != 0 {
			s.SetExpire(0, e, expire)
		}
	}
	put("st", KindStream, 0)
	put("st2", KindStream, 0)
	put("old", KindStream, 5)
	put("str", KindString, 0)
	s.Added = func(db int, key []byte) {
		if key == nil {
			got = append(got, fmt.Sprintf("%d:*", db))
			return
		}
		got = append(got, fmt.Sprintf("%d:%s", db, key))
	}
	check := func(what string, want ...string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("%s: hook calls %q, want %q", what, got, want)
		}
		got = nil
	}
	s.Remove(0, []byte("str"))
	check("remove a string")
	s.Remove(0, []byte("st"))
	check("remove a stream", "0:st")
	s.Upsert(0, []byte("st2"), 1)
	check("upsert an existing stream", "0:st2")
	s.Upsert(0, []byte("new"), 1)
	check("upsert a new key", "0:new")
	if s.Lookup(0, []byte("old"), 10) != nil {
		t.Fatal("expired stream still there")
	}
	check("expire a stream", "0:old")
	s.Swap(0, 1)
	check("swap", "0:*", "1:*")
	s.Flush(1)
	check("flush db", "1:*")
	s.Flush(-1)
	check("flush all", "-1:*")
}
