package config

import "testing"

// TestStreamNodeDirectives: stream-node-max-bytes is a memory value and
// stream-node-max-entries a plain integer, each 0..LLONG_MAX, with the
// errors redis-server 7.0.15 gives.
func TestStreamNodeDirectives(t *testing.T) {
	failed := func(name, msg string) string {
		return "ERR CONFIG SET failed (possibly related to argument '" + name + "') - " + msg
	}
	for _, tt := range []struct {
		name, val, err string
		bytes, ents    int64
	}{
		{"stream-node-max-bytes", "1kb", "", 1024, 100},
		{"stream-node-max-bytes", "0", "", 0, 100},
		{"stream-node-max-entries", "7", "", 4096, 7},
		{"stream-node-max-entries", "0", "", 4096, 0},
		{"stream-node-max-bytes", "-1", failed("stream-node-max-bytes", "argument must be a memory value"), 0, 0},
		{"stream-node-max-bytes", "9223372036854775808", failed("stream-node-max-bytes", "argument must be between 0 and 9223372036854775807 inclusive"), 0, 0},
		{"stream-node-max-entries", "-1", failed("stream-node-max-entries", "argument must be between 0 and 9223372036854775807 inclusive"), 0, 0},
		{"stream-node-max-entries", "1k", failed("stream-node-max-entries", "argument couldn't be parsed into an integer"), 0, 0},
	} {
		c := Default()
		err := c.Set([][2]string{{tt.name, tt.val}})
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("%s %s: %v, want %s", tt.name, tt.val, err, tt.err)
			}
			continue
		}
		if err != nil || c.Limits.StreamNodeMaxBytes != tt.bytes || c.Limits.StreamNodeMaxEntries != tt.ents {
			t.Errorf("%s %s: %v, limits %+v", tt.name, tt.val, err, c.Limits)
		}
	}
	got := Default().Get("stream-node-*")
	if len(got) != 2 || got[0] != [2]string{"stream-node-max-bytes", "4096"} || got[1] != [2]string{"stream-node-max-entries", "100"} {
		t.Errorf("CONFIG GET stream-node-*: %q", got)
	}
}
