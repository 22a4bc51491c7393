package server

import (
	"github.com/basaltdb/basalt/command"
)

// Pub/sub commands. Subscriptions and delivery live in the loop package
// (loop/pubsub.go); these specs call into the engine, which finds the
// client from the session. All are ScopeConn: they run on the client's
// loop. SSUBSCRIBE/SUNSUBSCRIBE/SPUBLISH name their shard channels as keys
// (as Redis's COMMAND INFO does) but in standalone mode the channels are a
// namespace of their own, so nothing is routed by them.
func (s *Server) addPubsubCommands(t *command.Table) {
	ps := func(name string, arity int, flags command.Flags, run func(c *command.Ctx)) *command.Spec {
		return &command.Spec{Name: name, Arity: arity, Flags: flags | command.FlagLoading, Scope: command.ScopeConn, Run: run}
	}
	shard := func(sp *command.Spec, last int) *command.Spec {
		sp.FirstKey, sp.LastKey, sp.Step = 1, last, 1
		return sp
	}
	t.Add(
		ps("subscribe", -2, command.FlagNoScript, func(c *command.Ctx) { s.engine.Subscribe(c) }),
		ps("unsubscribe", -1, command.FlagNoScript, func(c *command.Ctx) { s.engine.Unsubscribe(c) }),
		ps("psubscribe", -2, command.FlagNoScript, func(c *command.Ctx) { s.engine.PSubscribe(c) }),
		ps("punsubscribe", -1, command.FlagNoScript, func(c *command.Ctx) { s.engine.PUnsubscribe(c) }),
		ps("publish", 3, command.FlagFast, func(c *command.Ctx) { s.engine.Publish(c) }),
		shard(ps("ssubscribe", -2, command.FlagNoScript, func(c *command.Ctx) { s.engine.SSubscribe(c) }), -1),
		shard(ps("sunsubscribe", -1, command.FlagNoScript, func(c *command.Ctx) { s.engine.SUnsubscribe(c) }), -1),
		shard(ps("spublish", 3, command.FlagFast, func(c *command.Ctx) { s.engine.SPublish(c) }), 1),
		&command.Spec{Name: "pubsub", Arity: -2, Scope: command.ScopeConn, Run: cmdContainerHelp,
			Subs: map[string]*command.Spec{
				"channels":      ps("pubsub|channels", -2, 0, func(c *command.Ctx) { s.pubsubChannels(c, false) }),
				"shardchannels": ps("pubsub|shardchannels", -2, 0, func(c *command.Ctx) { s.pubsubChannels(c, true) }),
				"numsub":        ps("pubsub|numsub", -2, 0, func(c *command.Ctx) { s.pubsubNumSub(c, false) }),
				"shardnumsub":   ps("pubsub|shardnumsub", -2, 0, func(c *command.Ctx) { s.pubsubNumSub(c, true) }),
				"numpat": ps("pubsub|numpat", 2, 0, func(c *command.Ctx) {
					_, pats, _ := s.engine.PubsubStats()
					c.Out.Int(pats)
				}),
				"help": ps("pubsub|help", 2, 0, cmdPubsubHelp),
			}},
	)
}

// pubsubChannels is PUBSUB CHANNELS / SHARDCHANNELS [pattern].
func (s *Server) pubsubChannels(c *command.Ctx, shard bool) {
	if len(c.Args) > 3 {
		// Redis's addReplySubcommandSyntaxError: the subcommand as typed.
		c.Out.Error("ERR unknown subcommand or wrong number of arguments for '" + string(cString(c.Args[1], 128)) + "'. Try PUBSUB HELP.")
		return
	}
	var pat []byte
	if len(c.Args) > 2 {
		pat = c.Args[2]
	}
	list := s.engine.PubsubChannels(pat, shard)
	c.Out.ArrayLen(len(list))
	for _, ch := range list {
		c.Out.Bulk(ch)
	}
}

// pubsubNumSub is PUBSUB NUMSUB / SHARDNUMSUB [channel ...]: a flat
// array of channel, count (an array in RESP3 too, as Redis 7.0).
func (s *Server) pubsubNumSub(c *command.Ctx, shard bool) {
	c.Out.ArrayLen(2 * (len(c.Args) - 2))
	for _, ch := range c.Args[2:] {
		c.Out.Bulk(ch)
		c.Out.Int(s.engine.PubsubNumSub(ch, shard))
	}
}

var pubsubHelp = []string{
	"PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"CHANNELS [<pattern>]",
	"    Return the currently active channels matching a <pattern> (default: '*').",
	"NUMPAT",
	"    Return number of subscriptions to patterns.",
	"NUMSUB [<channel> ...]",
	"    Return the number of subscribers for the specified channels, excluding",
	"    pattern subscriptions(default: no channels).",
	"SHARDCHANNELS [<pattern>]",
	"    Return the currently active shard level channels matching a <pattern> (default: '*').",
	"SHARDNUMSUB [<shardchannel> ...]",
	"    Return the number of subscribers for the specified shard level channel(s)",
	"HELP",
	"    Prints this help.",
}

func cmdPubsubHelp(c *command.Ctx) {
	c.Out.ArrayLen(len(pubsubHelp))
	for _, l := range pubsubHelp {
		c.Out.SimpleString(l)
	}
}

// cString is b cut at its first NUL and at max bytes, as C's "%.128s".
func cString(b []byte, max int) []byte {
	for i, ch := range b {
		if ch == 0 {
			b = b[:i]
			break
		}
	}
	if len(b) > max {
		b = b[:max]
	}
	return b
}

// clientType is the class CLIENT LIST/KILL TYPE match: "pubsub" for a
// client subscribed to anything, else "normal" (Redis's getClientType;
// no masters or replicas yet).
func (s *Server) clientType(ss *command.Session) string {
	if sub, psub, ssub := s.engine.SessionPubsub(ss); sub+psub+ssub > 0 {
		return "pubsub"
	}
	return "normal"
}
