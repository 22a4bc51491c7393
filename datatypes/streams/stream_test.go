package streams

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// refEntry is the plain Go model of one entry.
type refEntry struct {
	id ID
	fv []string
}

func collect(s *Stream, start, end ID, rev bool) []refEntry {
	var out []refEntry
	it := s.Iter(start, end, rev)
	for {
		id, nf, ok := it.Next()
		if !ok {
			return out
		}
		e := refEntry{id: id}
		for i := 0; i < nf; i++ {
			f, v := it.Field()
			e.fv = append(e.fv, string(f), string(v))
		}
		out = append(out, e)
	}
}

func equalEntries(a, b []refEntry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].id != b[i].id || len(a[i].fv) != len(b[i].fv) {
			return false
		}
		for j := range a[i].fv {
			if a[i].fv[j] != b[i].fv[j] {
				return false
			}
		}
	}
	return true
}

// TestModel runs random appends, deletes, trims and range reads against
// a slice model, with small node limits so nodes split and empty.
func TestModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 20; round++ {
		s := New()
		var ref []refEntry
		maxEntries := int64(1 + r.IntN(6))
		maxBytes := int64(60 + r.IntN(200))
		last := ID{}
		for step := 0; step < 500; step++ {
			switch op := r.IntN(10); {
			case op < 5:
				id, _ := Next(last, last.Ms+uint64(r.IntN(3)))
				n := 1 + r.IntN(3)
				var fv [][]byte
				var sfv []string
				for i := 0; i < n; i++ {
					f := "f" + strconv.Itoa(r.IntN(3))
					v := strconv.Itoa(r.IntN(1000) - 500)
					if r.IntN(4) == 0 {
						v = "str" + v
					}
					fv = append(fv, []byte(f), []byte(v))
					sfv = append(sfv, f, v)
				}
				s.Append(id, fv, maxBytes, maxEntries)
				ref = append(ref, refEntry{id, sfv})
				last = id
			case op < 7 && len(ref) > 0:
				k := r.IntN(len(ref))
				if !s.Delete(ref[k].id) {
					t.Fatalf("delete %v failed", ref[k].id)
				}
				if s.Delete(ref[k].id) {
					t.Fatalf("double delete %v", ref[k].id)
				}
				ref = append(ref[:k], ref[k+1:]...)
			case op == 7:
				maxLen := uint64(r.IntN(20))
				s.Trim(TrimMaxLen, maxLen, ID{}, false, 0)
				if uint64(len(ref)) > maxLen {
					ref = ref[uint64(len(ref))-maxLen:]
				}
			case op == 8 && len(ref) > 0:
				min := ref[r.IntN(len(ref))].id
				s.Trim(TrimMinID, 0, min, false, 0)
				for len(ref) > 0 && ref[0].id.Less(min) {
					ref = ref[1:]
				}
			default:
				c := s.Clone().(*Stream)
				if !equalEntries(collect(c, ID{}, ID{MaxU64, MaxU64}, false), ref) {
					t.Fatal("clone differs")
				}
			}
			if s.Len() != len(ref) {
				t.Fatalf("round %d step %d: len %d, model %d", round, step, s.Len(), len(ref))
			}
			all := collect(s, ID{}, ID{MaxU64, MaxU64}, false)
			if !equalEntries(all, ref) {
				t.Fatalf("round %d step %d: entries differ\n%v\n%v", round, step, all, ref)
			}
			rev := collect(s, ID{}, ID{MaxU64, MaxU64}, true)
			for i := range rev {
				if rev[i].id != ref[len(ref)-1-i].id {
					t.Fatalf("reverse differs")
				}
			}
			if len(ref) > 1 {
				a, b := r.IntN(len(ref)), r.IntN(len(ref))
				if a > b {
					a, b = b, a
				}
				if got := collect(s, ref[a].id, ref[b].id, false); !equalEntries(got, ref[a:b+1]) {
					t.Fatalf("range differs")
				}
			}
			for _, n := range s.nodes {
				if int64(len(n.lp)) > maxBytes+200 {
					t.Fatalf("node of %d bytes", len(n.lp))
				}
			}
		}
	}
}

func TestParseID(t *testing.T) {
	for _, c := range []struct {
		in     string
		id     ID
		seq    bool
		ok     bool
		strict bool
	}{
		{"1-2", ID{1, 2}, true, true, true},
		{"5", ID{5, 0}, true, true, true},
		{"-", ID{}, true, true, false},
		{"-", ID{}, false, false, true},
		{"+", ID{MaxU64, MaxU64}, true, true, false},
		{"18446744073709551615-18446744073709551615", ID{MaxU64, MaxU64}, true, true, true},
		{"18446744073709551616", ID{}, false, false, true},
		{"3-*", ID{3, 0}, false, true, true},
		{"-1", ID{}, false, false, true},
		{"a-1", ID{}, false, false, true},
		{"1-", ID{}, false, false, true},
		{"", ID{}, false, false, true},
	} {
		id, seq, ok := ParseID([]byte(c.in), 0, c.strict, true)
		if ok != c.ok || (ok && (id != c.id || seq != c.seq)) {
			t.Errorf("%q: %v %v %v", c.in, id, seq, ok)
		}
	}
}

func TestGroups(t *testing.T) {
	s := New()
	g := s.CreateGroup([]byte("g"), ID{}, 0)
	if s.CreateGroup([]byte("g"), ID{}, 0) != nil {
		t.Fatal("duplicate group")
	}
	a := g.CreateConsumer([]byte("a"), 1)
	b := g.CreateConsumer([]byte("b"), 1)
	g.AddNACK(ID{1, 0}, a, 5, 1)
	g.AddNACK(ID{3, 0}, a, 5, 1)
	g.AddNACK(ID{2, 0}, b, 5, 1)
	g.Move(g.Find(ID{3, 0}), b)
	if len(a.PEL()) != 1 || len(b.PEL()) != 2 || b.PEL()[0].ID != (ID{2, 0}) {
		t.Fatal("move")
	}
	c := s.Clone().(*Stream)
	if !g.Ack(ID{2, 0}) || g.Ack(ID{2, 0}) {
		t.Fatal("ack")
	}
	if n := g.DeleteConsumer([]byte("b")); n != 1 || len(g.PEL()) != 1 {
		t.Fatalf("delconsumer %d", n)
	}
	cg := c.Group([]byte("g"))
	if len(cg.PEL()) != 3 || cg.Consumer([]byte("b")) == b || len(cg.Consumer([]byte("b")).PEL()) != 2 {
		t.Fatal("clone not deep")
	}
}
