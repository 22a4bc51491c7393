package server

import (
	"github.com/basaltdb/basalt/command"
)

// Client-side caching: CLIENT TRACKING, CACHING, GETREDIR and
// TRACKINGINFO. The tracking state and the invalidations live in the loop
// package (loop/tracking.go); these specs call into the engine, which
// finds the client from the session. All are ScopeConn: they run on the
// client's loop (or on the executor with it parked, inside EXEC).
func (s *Server) trackingSubcommands() []*command.Spec {
	conn := func(name string, arity int, run command.Handler) *command.Spec {
		return &command.Spec{Name: name, Arity: arity, Flags: command.FlagNoScript, Scope: command.ScopeConn, Run: run}
	}
	return []*command.Spec{
		conn("client|tracking", -3, func(c *command.Ctx) { s.engine.ClientTracking(c) }),
		conn("client|caching", 3, func(c *command.Ctx) { s.engine.ClientCaching(c) }),
		conn("client|getredir", 2, func(c *command.Ctx) { s.engine.ClientGetRedir(c) }),
		conn("client|trackinginfo", 2, func(c *command.Ctx) { s.engine.ClientTrackingInfo(c) }),
	}
}

// appendTrackingFlags appends CLIENT LIST's tracking flags of ss (t, R,
// B) to b and returns the redir= value (-1 when not tracking).
func (s *Server) appendTrackingFlags(b []byte, ss *command.Session) ([]byte, int64) {
	return s.engine.SessionTracking(ss, b)
}
