package loop

import (
	"sync"
	"testing"
)

// TestInboxFIFOPerProducer pushes from several goroutines while the
// consumer drains, and checks nothing is lost and each producer's messages
// arrive in the order sent.
func TestInboxFIFOPerProducer(t *testing.T) {
	const producers, per = 4, 20000
	var q inbox
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := 0; i < per; i++ {
				q.push(&msg{kind: msgKind(p), fn: nil, b: &batch{reqs: make([]request, 0, i%3)}, t: &txn{db: i}})
			}
		}(p)
	}
	next := make([]int, producers)
	got := 0
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for {
		for m := q.drain(); m != nil; m = m.next {
			p := int(m.kind)
			if m.t.db != next[p] {
				t.Fatalf("producer %d: got %d want %d", p, m.t.db, next[p])
			}
			next[p]++
			got++
		}
		select {
		case <-done:
			for m := q.drain(); m != nil; m = m.next {
				p := int(m.kind)
				if m.t.db != next[p] {
					t.Fatalf("producer %d: got %d want %d", p, m.t.db, next[p])
				}
				next[p]++
				got++
			}
			if got != producers*per {
				t.Fatalf("got %d messages, want %d", got, producers*per)
			}
			return
		default:
		}
	}
}
