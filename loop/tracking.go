package loop

// trackingTable is client-side caching's table of tracked keys (scaffold:
// replaced by the CLIENT TRACKING work; nothing is tracked yet).
type trackingTable struct{}

func (t *trackingTable) active() bool                                { return false }
func (t *trackingTable) invalidate(s *eventSink, db int, key []byte) {}
func (t *trackingTable) flushed(s *eventSink, db int)                {}
