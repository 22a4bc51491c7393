package bench

import "testing"

func TestParseVersion(t *testing.T) {
	in := "Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=ae4d7c971a948f0\n"
	if got := parseVersion(in); got != "7.0.15" {
		t.Fatalf("parseVersion = %q", got)
	}
	if got := parseVersion("nonsense"); got != "" {
		t.Fatalf("parseVersion(nonsense) = %q", got)
	}
}

func TestShellJoin(t *testing.T) {
	got := ShellJoin([]string{"--save", "", "-tests=set,get", "it's", "a b", "-P", "16"})
	want := `--save "" -tests=set,get 'it'\''s' 'a b' -P 16`
	if got != want {
		t.Fatalf("ShellJoin = %s, want %s", got, want)
	}
}

func TestInfoField(t *testing.T) {
	info := "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n"
	if got := infoField(info, "redis_version"); got != "7.0.15" {
		t.Fatalf("redis_version = %q", got)
	}
	if got := infoField(info, "redis"); got != "" {
		t.Fatalf("prefix match: %q", got)
	}
}
