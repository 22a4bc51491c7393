package e2e

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/basaltdb/basalt/internal/hash"
)

// TestMultiKeyAtomicAcrossLoops: SMOVE and SUNIONSTORE between sets owned
// by different loops (the test server runs 2 loops, slots split in half)
// are never seen half applied by the multi-key reads SUNION and
// SINTERCARD, which run atomically too: the union always has every member
// and no member is ever in both sets.
func TestMultiKeyAtomicAcrossLoops(t *testing.T) {
	if suite.target != "basalt" {
		t.Skip("checks Basalt's cross-loop scheme")
	}
	srv := startServer(t, "basalt", "basalt")
	// Keys in each half of the slot space, so they live on different loops.
	var lo, hi []string
	for i := 0; len(lo) < 2 || len(hi) < 1; i++ {
		k := "set:" + strconv.Itoa(i)
		if hash.Slot([]byte(k)) < hash.SlotCount/2 {
			lo = append(lo, k)
		} else {
			hi = append(hi, k)
		}
	}
	a, b, u := lo[0], hi[0], lo[1]
	const members = 64
	setup, err := Dial(srv.addr, replyTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer setup.Close()
	args := []string{"SADD", a}
	for i := 0; i < members; i++ {
		args = append(args, "m"+strconv.Itoa(i))
	}
	if _, err := setup.Do(bs(args...)); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var moves atomic.Int64
	errs := make(chan error, 16)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c, err := Dial(srv.addr, replyTimeout)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for i := 0; !stop.Load(); i++ {
				m := "m" + strconv.Itoa((i*7+w)%members)
				src, dst := a, b
				if i%2 == 1 {
					src, dst = b, a
				}
				cmd := bs("SMOVE", src, dst, m)
				if w == 3 {
					cmd = bs("SUNIONSTORE", u, a, b)
				}
				if _, err := c.Do(cmd); err != nil {
					errs <- err
					return
				}
				moves.Add(1)
			}
		}(w)
	}
	c, err := Dial(srv.addr, replyTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	checks := 0
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); checks++ {
		union := mustCall(t, c, "SUNION", a, b)
		inter, _ := mustCall(t, c, "SINTERCARD", "2", a, b).Int()
		stored, _ := mustCall(t, c, "SCARD", u).Int()
		if len(union.Elems) != members || inter != 0 || (stored != 0 && stored != members) {
			stop.Store(true)
			t.Fatalf("check %d: union %d members (want %d), %d in both sets (want 0), stored union %d",
				checks, len(union.Elems), members, inter, stored)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d checks against %d cross-loop writes", checks, moves.Load())
}
