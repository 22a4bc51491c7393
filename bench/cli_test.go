package bench

import (
	"reflect"
	"testing"
)

func TestCommandLine(t *testing.T) {
	if got := CommandLine([]string{"/tmp/go-build123/b001/exe/memory", "-scale", "0.1"}, "./bench/cmd/memory"); got != "go run ./bench/cmd/memory -scale 0.1" {
		t.Errorf("go run: %q", got)
	}
	if got := CommandLine([]string{"./memory", "-datasets", "a b"}, "./bench/cmd/memory"); got != "./memory -datasets 'a b'" {
		t.Errorf("binary: %q", got)
	}
}

func TestLists(t *testing.T) {
	if got := SplitList(" a, ,b,"); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("SplitList = %q", got)
	}
	if got, err := IntList("1, 16"); err != nil || !reflect.DeepEqual(got, []int{1, 16}) {
		t.Errorf("IntList = %v, %v", got, err)
	}
	for _, bad := range []string{"", "0", "x", "1,-2"} {
		if _, err := IntList(bad); err == nil {
			t.Errorf("IntList(%q) accepted", bad)
		}
	}
}
