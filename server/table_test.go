package server

import (
	"testing"

	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/command/meta"
	"github.com/basaltdb/basalt/config"
)

// TestTableMatchesRedisMetadata checks every command Basalt registers
// against the metadata captured from redis-server 7.0: same arity, same
// legacy key positions, and COMMAND lists exactly what Basalt serves.
func TestTableMatchesRedisMetadata(t *testing.T) {
	s, err := New(config.Default(), nil)
	if err != nil {
		t.Fatal(err)
	}
	md := meta.New()
	check := func(sp *command.Spec) {
		m := md.LookupFull([]byte(sp.Name))
		if m == nil && sp.Name == "client|setinfo" {
			return // Redis 7.2's, listed in e2e/differences.go
		}
		if m == nil {
			t.Errorf("%s: not in COMMAND metadata", sp.Name)
			return
		}
		if sp.Arity != m.Arity {
			t.Errorf("%s: arity %d, Redis %d", sp.Name, sp.Arity, m.Arity)
		}
		if sp.KeysFunc == nil && sp.Subs == nil && sp.FirstKey != m.FirstKey {
			t.Errorf("%s: first key %d, Redis %d", sp.Name, sp.FirstKey, m.FirstKey)
		}
		if sp.KeysFunc == nil && sp.Subs == nil && sp.FirstKey != 0 && (sp.LastKey != m.LastKey || sp.Step != m.Step) {
			t.Errorf("%s: keys (%d,%d,%d), Redis (%d,%d,%d)", sp.Name, sp.FirstKey, sp.LastKey, sp.Step, m.FirstKey, m.LastKey, m.Step)
		}
	}
	served := map[string]bool{}
	for _, sp := range s.Table().All() {
		served[sp.Name] = true
		check(sp)
		for _, sub := range sp.Subs {
			served[sub.Name] = true
			check(sub)
		}
	}
	for _, m := range md.All() {
		if !served[m.Name] {
			t.Errorf("COMMAND lists %s, which Basalt does not serve", m.Name)
		}
		for _, sub := range m.Subcommands {
			if !served[sub.Name] {
				t.Logf("COMMAND lists %s, which Basalt does not serve", sub.Name)
			}
		}
	}
}
