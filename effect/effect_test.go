package effect

import "testing"

func TestAtomicWrapsMultiRecordCommands(t *testing.T) {
	var l Log
	m := l.Mark()
	l.AppendStrings(0, "SET", "a", "1")
	l.Atomic(m) // one record: unchanged
	want := "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"
	if string(l.B) != want {
		t.Fatalf("single record changed: %q", l.B)
	}
	m = l.Mark()
	l.AppendStrings(0, "DEL", "a")
	l.AppendStrings(1, "SET", "b", "2")
	l.Atomic(m)
	want += "*1\r\n$5\r\nMULTI\r\n" +
		"*2\r\n$3\r\nDEL\r\n$1\r\na\r\n" +
		"*2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n" +
		"*1\r\n$4\r\nEXEC\r\n"
	if string(l.B) != want {
		t.Fatalf("got  %q\nwant %q", l.B, want)
	}
	if l.N != 3 {
		t.Fatalf("N = %d, want 3 (MULTI/EXEC not counted)", l.N)
	}
}
