package loop

import "sync/atomic"

// msgKind says what a message asks of the loop that receives it.
type msgKind uint8

const (
	msgExec  msgKind = iota // a batch of requests to execute on this loop's shard
	msgReply                // a batch coming back with its replies
	msgPark                 // stop until the transaction executor releases us
	msgTxn                  // a transaction's reply for one of our clients
	msgFunc                 // run a function on this loop
	// msgDeliver runs a function that only appends to clients' output
	// (pub/sub messages, invalidations): safe on a lent loop too.
	msgDeliver
)

// msg is one entry of a loop's inbox. It is embedded in what it carries
// (batch, txn) so sending allocates nothing.
type msg struct {
	next *msg
	kind msgKind
	b    *batch
	t    *txn
	fn   func(*Loop)
}

// inbox is a lock-free multi-producer single-consumer queue: producers push
// onto a Treiber stack; the owning loop swaps the whole stack out and
// reverses it, which restores FIFO order per producer.
type inbox struct {
	head atomic.Pointer[msg]
}

// push adds m; any goroutine may call it.
func (q *inbox) push(m *msg) {
	for {
		old := q.head.Load()
		m.next = old
		if q.head.CompareAndSwap(old, m) {
			return
		}
	}
}

// drain takes every queued message in arrival order. Only the owner calls it.
func (q *inbox) drain() *msg {
	h := q.head.Swap(nil)
	var prev *msg
	for h != nil {
		next := h.next
		h.next = prev
		prev, h = h, next
	}
	return prev
}
