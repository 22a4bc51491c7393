package loop

import "sync/atomic"

type atomicBool struct{ v atomic.Bool }

func (b *atomicBool) cas(old, new bool) bool { return b.v.CompareAndSwap(old, new) }
func (b *atomicBool) store(v bool)           { b.v.Store(v) }
