package server

import (
	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/loop"
)

// addTxnCommands registers MULTI, EXEC, DISCARD, WATCH and UNWATCH. The
// loops run them (loop/multi.go): they work on the connection's queue and
// watched keys, which only the loop holding the connection knows.
func (s *Server) addTxnCommands(t *command.Table) {
	t.Add(loop.TxnCommands()...)
}
