package loop

import (
	"bytes"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/basaltdb/basalt/keyspace"
)

// testSlotEncoder images a slot as key NUL value NUL pairs.
func testSlotEncoder(dst []byte, sh *keyspace.Shard, db int, slot uint16) []byte {
	sh.ForEachInSlot(db, slot, func(e *keyspace.Entry) bool {
		dst = append(append(append(append(dst, e.Key...), 0), e.Str...), 0)
		return true
	})
	return dst
}

// TestSnapshotPointInTime: while writers change every key (single-key
// and multi-key across loops), a snapshot images exactly the dataset of
// the instant it started, each key once.
func TestSnapshotPointInTime(t *testing.T) {
	addr, e, _ := startEngine(t, 3)
	const nkeys = 3000
	c := dial(t, addr)
	for i := 0; i < nkeys; i += 100 {
		args := []string{"mset"}
		for j := i; j < i+100; j++ {
			args = append(args, "k"+strconv.Itoa(j), "0")
		}
		mustReply(t, c, "+OK", args...)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			wc := dial(t, addr)
			for i := w; !stop.Load(); i += 7 {
				k := "k" + strconv.Itoa(i%nkeys)
				if w%2 == 0 {
					wc.send(t, "incr", k)
				} else {
					wc.send(t, "mset", k, "9", "k"+strconv.Itoa((i*13)%nkeys), "8")
				}
				if _, err := wc.readReply(); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	for round := 0; round < 3; round++ {
		want := map[string]string{}
		got := map[string]string{}
		err := e.Snapshot(testSlotEncoder, func() {
			for _, sh := range e.shards {
				sh.ForEach(0, func(en *keyspace.Entry) bool {
					want[string(en.Key)] = string(en.Str)
					return true
				})
			}
		}, func(db int, data []byte) error {
			for len(data) > 0 {
				i := bytes.IndexByte(data, 0)
				j := i + 1 + bytes.IndexByte(data[i+1:], 0)
				k := string(data[:i])
				if _, dup := got[k]; dup {
					t.Errorf("key %s imaged twice", k)
				}
				got[k] = string(data[i+1 : j])
				data = data[j+1:]
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("round %d: %d keys imaged, %d at the start", round, len(got), len(want))
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("round %d: key %s imaged as %q, was %q at the start", round, k, got[k], v)
			}
		}
	}
	stop.Store(true)
	wg.Wait()
}
