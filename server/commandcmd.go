package server

import (
	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/command/meta"
)

// addCommandCommand registers COMMAND, whose replies come from the
// metadata captured from redis-server 7.0 (command/meta).
func (s *Server) addCommandCommand(t *command.Table) {
	md := meta.New()
	s.meta = md
	raw := func(f func(c *command.Ctx) []byte) command.Handler {
		return func(c *command.Ctx) { c.Out.B = f(c) }
	}
	conn := func(name string, arity int, run command.Handler) *command.Spec {
		return &command.Spec{Name: name, Arity: arity, Scope: command.ScopeConn, Run: run}
	}
	t.Add(&command.Spec{Name: "command", Arity: -1, Scope: command.ScopeConn,
		Run: raw(func(c *command.Ctx) []byte { return md.AppendAll(c.Out.B, c.Out.Proto) }),
		Subs: map[string]*command.Spec{
			"count": conn("command|count", 2, raw(func(c *command.Ctx) []byte { return md.AppendCount(c.Out.B) })),
			"info": conn("command|info", -2, raw(func(c *command.Ctx) []byte {
				return md.AppendInfo(c.Out.B, c.Out.Proto, c.Args[2:])
			})),
			"docs": conn("command|docs", -2, raw(func(c *command.Ctx) []byte {
				return md.AppendDocs(c.Out.B, c.Out.Proto, c.Args[2:])
			})),
			"list": conn("command|list", -2, raw(func(c *command.Ctx) []byte { return md.AppendList(c.Out.B, c.Args[2:]) })),
			"getkeys": conn("command|getkeys", -4, raw(func(c *command.Ctx) []byte {
				return md.AppendGetKeys(c.Out.B, c.Args[2:])
			})),
			"help": conn("command|help", 2, cmdCommandHelp),
		}})
}

var commandHelp = []string{
	"COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"(no subcommand)",
	"    Return details about all Redis commands.",
	"COUNT",
	"    Return the total number of commands in this Redis server.",
	"LIST",
	"    Return a list of all commands in this Redis server.",
	"INFO [<command-name> ...]",
	"    Return details about multiple Redis commands.",
	"    If no command names are given, documentation details for all",
	"    commands are returned.",
	"DOCS [<command-name> ...]",
	"    Return documentation details about multiple Redis commands.",
	"    If no command names are given, documentation details for all",
	"    commands are returned.",
	"GETKEYS <full-command>",
	"    Return the keys from a full Redis command.",
	"GETKEYSANDFLAGS <full-command>",
	"    Return the keys and the access flags from a full Redis command.",
	"HELP",
	"    Prints this help.",
}

func cmdCommandHelp(c *command.Ctx) {
	c.Out.ArrayLen(len(commandHelp))
	for _, l := range commandHelp {
		c.Out.SimpleString(l)
	}
}
