package rdb

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A library long enough to be LZF-compressed and one short enough not to.
var (
	libLong  = "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return 'hello hello hello hello hello' end)\nredis.register_function('other', function(keys, args) return 1 end)"
	libShort = "#!lua name=s\nredis.register_function('f', function() return 2 end)"
)

func TestFunctionRecords(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{libLong, libShort} {
		if err := w.Function([]byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Raw(AppendSelectDB(nil, 0)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	file := buf.Bytes()
	// Writer.Function and AppendFunction write the same bytes.
	want := AppendFunction(AppendFunction([]byte("REDIS0010"), []byte(libLong)), []byte(libShort))
	if !bytes.HasPrefix(file, want) {
		t.Fatalf("records differ:\n%q\n%q", file[:len(want)], want)
	}
	var got []string
	lib := func(code []byte) error { got = append(got, string(code)); return nil }
	keys := func(int, []byte, Value, int64) error { return nil }
	if err := LoadWithFunctions(bytes.NewReader(file), "f.rdb", nil, keys, lib); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != libLong || got[1] != libShort {
		t.Fatalf("libraries %q", got)
	}
	// Without a hook they are refused; the hook's error names the offset.
	if err := Load(bytes.NewReader(file), "f.rdb", nil, keys); err == nil || !strings.Contains(err.Error(), "offset 9: function libraries are not supported") {
		t.Errorf("Load: %v", err)
	}
	bad := func([]byte) error { return errors.New("Library 'mylib' already exists") }
	if err := LoadWithFunctions(bytes.NewReader(file), "f.rdb", nil, keys, bad); err == nil ||
		err.Error() != "f.rdb: offset 9: Failed loading library, Library 'mylib' already exists" {
		t.Errorf("hook error: %v", err)
	}
	// The 7.0-rc FUNCTION record is refused as Redis refuses it.
	pre := []byte{opFunction}
	for _, s := range []string{"s", "LUA"} {
		pre = appendString(pre, []byte(s), nil)
	}
	pre = appendString(append(pre, 0), []byte(libShort), nil)
	if err := LoadWithFunctions(bytes.NewReader(buildFile("0010", pre)), "f.rdb", nil, keys, lib); err == nil ||
		!strings.Contains(err.Error(), "Pre-release function format not supported") {
		t.Errorf("pre-GA record: %v", err)
	}
}

// TestFunctionInterop: redis-server 7.0 writes the same FUNCTION2 records
// as Basalt for the same libraries, and loads Basalt's file.
func TestFunctionInterop(t *testing.T) {
	dir := t.TempDir()
	_, r := startRedis(t, dir, "src.rdb")
	r.do("FUNCTION", "LOAD", libLong)
	r.ok("SET", "k", "v")
	r.ok("SAVE")
	src, err := os.ReadFile(filepath.Join(dir, "src.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	rec := AppendFunction(nil, []byte(libLong))
	i := bytes.Index(src, rec)
	if i < 0 {
		t.Fatalf("redis's file lacks our record %q", rec)
	}
	if j := bytes.IndexByte(src, opSelectDB); j < i {
		t.Errorf("library record at %d after SELECTDB at %d", i, j)
	}
	var got []string
	err = LoadWithFunctions(bytes.NewReader(src), "src.rdb", nil, func(int, []byte, Value, int64) error { return nil },
		func(code []byte) error { got = append(got, string(code)); return nil })
	if err != nil || len(got) != 1 || got[0] != libLong {
		t.Fatalf("load redis's file: %v %q", err, got)
	}

	// Basalt's file, two libraries and a key, loads into redis-server.
	var buf bytes.Buffer
	w, err := NewWriter(&buf, [][2]string{{"redis-ver", "7.0.15"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{libLong, libShort} {
		if err := w.Function([]byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.SelectDB(0, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ours.rdb"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	_, r2 := startRedis(t, dir, "ours.rdb")
	rep := r2.do("FCALL", "myfunc", 0)
	if string(rep.str) != "hello hello hello hello hello" {
		t.Errorf("FCALL myfunc: %q %c", rep.str, rep.kind)
	}
	if rep := r2.do("FCALL", "f", 0); rep.kind != ':' || rep.n != 2 {
		t.Errorf("FCALL f: %+v", rep)
	}
}
