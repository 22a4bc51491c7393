package loop

// watchRegistry is WATCH's registry of watched keys (scaffold: replaced by
// the transactions work; nothing is watched yet).
type watchRegistry struct{}

func (w *watchRegistry) active() bool                    { return false }
func (w *watchRegistry) touch(db int, key []byte)        {}
func (w *watchRegistry) flushed(e *Engine, db int)       {}
func (w *watchRegistry) swapped(e *Engine, db1, db2 int) {}
