package loop

import "github.com/basaltdb/basalt/command"

// request is one command sent to another loop.
type request struct {
	cl       *client
	spec     *command.Spec
	argStart int // index of its first arg in batch.ends
	argN     int
	db       int
	proto    int
	replyEnd int  // end offset of its reply in batch.replies, set by the target
	suppress bool // CLIENT REPLY OFF/SKIP: drop the reply on delivery
	// routed is the slot map the origin routed the request by; the target
	// runs it only if that map is still in force, else it sets bounced
	// and sends it back unexecuted (see rebalance.go).
	routed  *command.SlotMap
	bounced bool
	// The reply gate: the log position the reply waits for, or needTurn
	// when it waits for the executing loop's effects of this turn.
	need     uint64
	needTurn bool
	// blocked is set when the command blocked (blocking.go).
	blocked *blocked
	// track: remember the keys for the client's tracking (tracking.go);
	// trk holds the invalidations the request caused for its own client,
	// delivered right after its reply.
	track bool
	trk   *trackBatch
}

// batch carries the requests one loop sends another during one turn, and
// brings their replies back. Its args are copies in arena: the client's
// read buffer moves on. The origin loop owns a batch except while it sits
// in the target's inbox or is executed there; after delivery it goes back
// to the origin's free list.
type batch struct {
	m       msg
	from    *Loop
	to      *Loop
	reqs    []request
	arena   []byte
	ends    []int // end offset in arena of each arg
	argv    [][]byte
	replies []byte
}

func (b *batch) reset() {
	b.reqs = b.reqs[:0]
	b.arena = b.arena[:0]
	b.ends = b.ends[:0]
	clear(b.argv)
	b.argv = b.argv[:0]
	b.replies = b.replies[:0]
}

// add copies one command into the batch.
func (b *batch) add(r request, args [][]byte) {
	r.argStart, r.argN = len(b.ends), len(args)
	for _, a := range args {
		b.arena = append(b.arena, a...)
		b.ends = append(b.ends, len(b.arena))
	}
	b.reqs = append(b.reqs, r)
}

// args returns the args of r as slices of the arena, capped so that a
// handler appending to one cannot overwrite the next. Valid until the next
// call.
func (b *batch) args(r *request) [][]byte {
	b.argv = b.argv[:0]
	prev := 0
	if r.argStart > 0 {
		prev = b.ends[r.argStart-1]
	}
	for i := r.argStart; i < r.argStart+r.argN; i++ {
		end := b.ends[i]
		b.argv = append(b.argv, b.arena[prev:end:end])
		prev = end
	}
	return b.argv
}
