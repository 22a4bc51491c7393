package config

import (
	"strings"
	"testing"
)

// Expected values were answered by redis-server 7.0.15 (CONFIG SET, then
// CONFIG GET).
func TestNotifyKeyspaceEvents(t *testing.T) {
	tests := []struct{ in, get, err string }{
		{"KEA", "AKE", ""},
		{"A", "A", ""},
		{"gK", "gK", ""},
		{"Ag", "A", ""},
		{"", "", ""},
		{"KEAmn", "AKEm", ""},
		{"Kn", "nK", ""},
		{"AKEm", "AKEm", ""},
		{"g$lshzxetd", "A", ""},
		{"E", "E", ""},
		{"$", "$", ""},
		{"Ad", "A", ""},
		{"Elgx", "glxE", ""},
		{"xyz", "", "ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'."},
	}
	for _, tt := range tests {
		c := Default()
		err := c.Set([][2]string{{"notify-keyspace-events", tt.in}})
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("%q: err %v", tt.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if got := c.Get("notify-keyspace-events")[0][1]; got != tt.get {
			t.Errorf("%q: get %q, want %q", tt.in, got, tt.get)
		}
	}
}

func TestClientOutputBufferLimit(t *testing.T) {
	const pre = "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - "
	c := Default()
	steps := []struct{ in, get, err string }{
		{"pubsub 32mb 8mb 60", "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", ""},
		{"", "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", ""},
		{"pubsub 1 2", "", "Wrong number of arguments in buffer limit configuration."},
		{"master 1 2 3", "", "Invalid client class specified in buffer limit configuration."},
		{"foo 1 2 3", "", "Invalid client class specified in buffer limit configuration."},
		{"pubsub 1x 2 3", "", "Error in hard, soft or soft_seconds setting in buffer limit configuration."},
		{"pubsub 1 2 -1", "", "Error in hard, soft or soft_seconds setting in buffer limit configuration."},
		{"pubsub 1 2 3x", "", "Error in hard, soft or soft_seconds setting in buffer limit configuration."},
		{"Pubsub 1k 2kb 3", "normal 0 0 0 slave 268435456 67108864 60 pubsub 1000 2048 3", ""},
		{"normal 1 2 3 replica 4 5 6", "normal 1 2 3 slave 4 5 6 pubsub 1000 2048 3", ""},
		{"pubsub 1 2 4294967297", "normal 1 2 3 slave 4 5 6 pubsub 1 2 1", ""},
		{"pubsub 1 2 2147483648", "", "Error in hard, soft or soft_seconds setting in buffer limit configuration."},
		{"pubsub 18446744073709551615 0 0", "normal 1 2 3 slave 4 5 6 pubsub 18446744073709551615 0 0", ""},
		{"pubsub 1 2  3", "", "Wrong number of arguments in buffer limit configuration."},
		// All or nothing: a bad second group leaves the first unapplied.
		{"normal 9 9 9 pubsub x 1 1", "", "Error in hard, soft or soft_seconds setting in buffer limit configuration."},
	}
	for _, st := range steps {
		before := c.Get("client-output-buffer-limit")[0][1]
		err := c.Set([][2]string{{"client-output-buffer-limit", st.in}})
		if st.err != "" {
			if err == nil || err.Error() != pre+st.err {
				t.Errorf("%q: err %v", st.in, err)
			}
			if got := c.Get("client-output-buffer-limit")[0][1]; got != before {
				t.Errorf("%q: changed to %q on error", st.in, got)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", st.in, err)
		}
		if got := c.Get("client-output-buffer-limit")[0][1]; got != st.get {
			t.Errorf("%q: get %q, want %q", st.in, got, st.get)
		}
	}
	if l := c.ClientOutputBufferLimits[ClientReplica]; l != (OBufLimit{4, 5, 6}) {
		t.Errorf("replica limits %+v", l)
	}
}

func TestLoadOutputBufferLimitLines(t *testing.T) {
	c, err := LoadFrom([]string{"--client-output-buffer-limit", "pubsub 1mb 1kb 5", "--notify-keyspace-events", "Ex"}, strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	if c.ClientOutputBufferLimits[ClientPubsub] != (OBufLimit{1 << 20, 1024, 5}) || c.NotifyKeyspaceEvents != NotifyKeyevent|NotifyExpired {
		t.Fatalf("%+v %b", c.ClientOutputBufferLimits, c.NotifyKeyspaceEvents)
	}
	if _, err := LoadFrom([]string{"--client-output-buffer-limit", "pubsub", "1mb", "1kb"}, strings.NewReader("")); err == nil ||
		!strings.Contains(err.Error(), "Wrong number of arguments in buffer limit configuration.") {
		t.Fatalf("err %v", err)
	}
}
