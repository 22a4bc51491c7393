package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// WriteLoad keeps a server busy with pipelined writes from a few
// connections until Stop: each connection writes a batch of commands, reads
// their replies, and starts over. The goroutine that started it owns Stop;
// Ops may be read from any goroutine.
type WriteLoad struct {
	ops    atomic.Int64
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	err    error // first failure of any connection, guarded by mu
}

// StartWriteLoad opens conns connections to addr and, on each, sends
// batches of batch commands, command j of a batch written by write with
// that connection's random source (seeded by the connection's index, so a
// run is repeatable). It returns once every connection is open.
func StartWriteLoad(ctx context.Context, addr string, conns, batch int, write func(w *CommandWriter, rnd *rand.Rand)) (*WriteLoad, error) {
	if conns < 1 || batch < 1 {
		return nil, errors.New("bench: write load needs at least one connection and a batch of one")
	}
	ctx, cancel := context.WithCancel(ctx)
	l := &WriteLoad{cancel: cancel}
	var d net.Dialer
	opened := make([]net.Conn, 0, conns)
	for range conns {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			cancel()
			for _, c := range opened {
				c.Close()
			}
			return nil, err
		}
		opened = append(opened, c)
	}
	for i, c := range opened {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			defer c.Close()
			if err := l.run(ctx, c, batch, rand.New(rand.NewPCG(uint64(i), 0x5eed)), write); err != nil && ctx.Err() == nil {
				l.mu.Lock()
				if l.err == nil {
					l.err = err
				}
				l.mu.Unlock()
			}
		}()
	}
	return l, nil
}

func (l *WriteLoad) run(ctx context.Context, c net.Conn, batch int, rnd *rand.Rand, write func(*CommandWriter, *rand.Rand)) error {
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	defer stop()
	r := bufio.NewReaderSize(c, 64<<10)
	var w CommandWriter
	for ctx.Err() == nil {
		w.Reset()
		for range batch {
			write(&w, rnd)
		}
		// A server stalled for a minute fails the load rather than hanging.
		_ = c.SetDeadline(time.Now().Add(time.Minute))
		if _, err := c.Write(w.Bytes()); err != nil {
			return err
		}
		for range batch {
			if err := skipReply(r); err != nil {
				return fmt.Errorf("write load: %w", err)
			}
		}
		l.ops.Add(int64(batch))
	}
	return nil
}

// Ops is the number of commands answered so far.
func (l *WriteLoad) Ops() int64 { return l.ops.Load() }

// Stop ends the load, waits for the connections to close, and returns the
// first error any of them met (an error reply included).
func (l *WriteLoad) Stop() error {
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}
