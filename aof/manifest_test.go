package aof

import (
	"github.com/basaltdb/basalt/internal/sds"

	"strings"
	"testing"
)

func TestManifestRoundTrip(t *testing.T) {
	m := &manifest{
		Base: &manifestEntry{Name: "appendonly.aof.2.base.rdb", Seq: 2, Type: typeBase},
		Hist: []manifestEntry{{Name: "appendonly.aof.1.incr.aof", Seq: 1, Type: typeHist}},
		Incr: []manifestEntry{
			{Name: "appendonly.aof.2.incr.aof", Seq: 2, Type: typeIncr},
			{Name: "odd name \"q\" \\ \x01\t.aof", Seq: 3, Type: typeIncr},
			{Name: "'quoted", Seq: 4, Type: typeIncr},
		},
	}
	s := m.String()
	wantPrefix := "file appendonly.aof.2.base.rdb seq 2 type b\n" +
		"file appendonly.aof.1.incr.aof seq 1 type h\n" +
		"file appendonly.aof.2.incr.aof seq 2 type i\n" +
		`file "odd name \"q\" \\ \x01\t.aof" seq 3 type i` + "\n"
	if !strings.HasPrefix(s, wantPrefix) {
		t.Fatalf("manifest:\n%s\nwant prefix:\n%s", s, wantPrefix)
	}
	got, err := parseManifest("m", []byte(s))
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != s {
		t.Fatalf("round trip:\n%s\nvs\n%s", got.String(), s)
	}
	if n := got.Incr[1].Name; n != m.Incr[1].Name {
		t.Fatalf("name %q, want %q", n, m.Incr[1].Name)
	}
	order := got.loadOrder()
	if len(order) != 4 || order[0].Type != typeBase || order[3].Seq != 4 {
		t.Fatalf("load order %+v", order)
	}
	if got.maxIncrSeq() != 4 {
		t.Fatal(got.maxIncrSeq())
	}
}

// TestManifestErrors checks the refusals of Redis's aofLoadManifestFromFile.
func TestManifestErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "Found an empty AOF manifest"},
		{"file a seq 1 type i", "too long line"}, // no final newline
		{"file a seq 1 type i\n\n", "Invalid AOF manifest file format"},
		{"file a seq 1\n", "Invalid AOF manifest file format"},
		{"file a seq 0 type i\n", "Invalid AOF manifest file format"},
		{"file a seq 1 type i extra\n", "Invalid AOF manifest file format"},
		{"file \"a seq 1 type i\n", "Invalid AOF manifest file format"},
		{"file ../a seq 1 type i\n", "File can't be a path, just a filename"},
		{"file a seq 1 type b\nfile b seq 1 type b\n", "Found duplicate base file information"},
		{"file a seq 2 type i\nfile b seq 2 type i\n", "Found a non-monotonic sequence number"},
		{"file a seq 1 type x\n", "Unknown AOF file type"},
		{strings.Repeat("#", 1024) + "file\n", "Invalid AOF manifest file format"}, // fgets splits long lines
	} {
		_, err := parseManifest("m", []byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err %v, want %q", c.in, err, c.want)
		}
	}
	// Accepted: comments, CRLF, extra key/value pairs, any case of keys.
	m, err := parseManifest("m", []byte("# comment\nFILE a seq 1 TYPE b\r\nfile 'b c' seq 3 type i future x\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Base.Name != "a" || m.Incr[0].Name != "b c" || m.Incr[0].Seq != 3 {
		t.Fatalf("%+v %+v", m.Base, m.Incr)
	}
}

func TestSplitArgs(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
		ok   bool
	}{
		{`a b  c`, []string{"a", "b", "c"}, true},
		{`"a b" 'c d'`, []string{"a b", "c d"}, true},
		{`"\x41\n\\" 'it\'s'`, []string{"A\n\\", "it's"}, true},
		{`"a"b`, nil, false},
		{`'a`, nil, false},
		{`""`, []string{""}, true},
	} {
		got, ok := sds.SplitArgs(c.in)
		if ok != c.ok || strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%q: %q %v, want %q %v", c.in, got, ok, c.want, c.ok)
		}
	}
	for _, s := range []string{"plain", "with space", "q\"uote", "back\\slash", "\x00\xff\r\n", "'lead"} {
		got, ok := sds.SplitArgs(repr(s))
		if !ok || len(got) != 1 || got[0] != s {
			t.Errorf("repr(%q) = %s, reads back %q", s, repr(s), got)
		}
	}
}

func TestEmptyRDB(t *testing.T) {
	b := emptyRDB(1700000000)
	n, err := checkEmptyRDB(b)
	if err != nil || n != len(b) {
		t.Fatalf("%d %v (len %d)", n, err, len(b))
	}
	// A wrong checksum is caught.
	b[len(b)-1] ^= 1
	if _, err := checkEmptyRDB(b); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Fatal(err)
	}
	// A key (string type 0) is refused.
	k := append([]byte("REDIS0010\xfe\x00\x00\x01k\x01v\xff"), make([]byte, 8)...)
	if _, err := checkEmptyRDB(k); err != errRDBNotSupported {
		t.Fatal(err)
	}
	// Every truncation is an error, never a panic.
	b = emptyRDB(1700000000)
	for i := range len(b) {
		if _, err := checkEmptyRDB(b[:i]); err == nil {
			t.Fatalf("truncated at %d accepted", i)
		}
	}
}
