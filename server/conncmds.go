package server

import (
	"bytes"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/internal/numparse"
)

// addCommands registers the connection and administration commands.
func (s *Server) addCommands(t *command.Table) {
	conn := func(name string, arity int, flags command.Flags, run command.Handler) *command.Spec {
		return &command.Spec{Name: name, Arity: arity, Flags: flags, Scope: command.ScopeConn, Run: run}
	}
	all := func(name string, arity int, flags command.Flags, run command.Handler) *command.Spec {
		return &command.Spec{Name: name, Arity: arity, Flags: flags, Scope: command.ScopeAll, Run: run}
	}
	sub := func(m map[string]*command.Spec, specs ...*command.Spec) map[string]*command.Spec {
		for _, sp := range specs {
			m[sp.Name[strings.IndexByte(sp.Name, '|')+1:]] = sp
		}
		return m
	}
	t.Add(
		conn("ping", -1, command.FlagFast, s.cmdPing),
		conn("echo", 2, command.FlagFast, cmdEcho),
		conn("hello", -1, command.FlagNoAuth|command.FlagFast, s.cmdHello),
		conn("auth", -2, command.FlagNoAuth|command.FlagFast, s.cmdAuth),
		conn("select", 2, command.FlagFast, s.cmdSelect),
		conn("quit", -1, command.FlagNoAuth|command.FlagFast, cmdQuit),
		conn("reset", 1, command.FlagNoAuth|command.FlagFast, s.cmdReset),
		conn("time", 1, command.FlagFast, cmdTime),
		conn("lastsave", 1, command.FlagFast, s.cmdLastSave),
		conn("bgsave", -1, command.FlagAdmin, s.cmdBgsave),
		conn("bgrewriteaof", 1, command.FlagAdmin, s.cmdBgrewriteaof),
		all("save", 1, command.FlagAdmin, s.cmdSave),
		conn("wait", 3, 0, cmdWait),
		conn("shutdown", -1, command.FlagAdmin, s.cmdShutdown),
		&command.Spec{Name: "debug", Arity: -2, Flags: command.FlagAdmin | command.FlagProtected, Scope: command.ScopeAll,
			ScopeFunc: debugScope, KeysFunc: debugKeys, Run: s.cmdDebug},
		all("info", -1, 0, s.cmdInfo),
		&command.Spec{Name: "client", Arity: -2, Scope: command.ScopeConn, Run: cmdContainerHelp,
			Subs: sub(sub(map[string]*command.Spec{}, s.trackingSubcommands()...),
				conn("client|id", 2, command.FlagFast, func(c *command.Ctx) { c.Out.Int(c.Sess.ID) }),
				conn("client|getname", 2, command.FlagFast, cmdClientGetName),
				conn("client|setname", 3, command.FlagFast, cmdClientSetName),
				conn("client|setinfo", 4, command.FlagFast, cmdClientSetInfo),
				conn("client|reply", 3, command.FlagFast, cmdClientReply),
				conn("client|no-evict", 3, command.FlagFast, cmdClientNoEvict),
				all("client|list", -2, 0, s.cmdClientList),
				all("client|info", 2, 0, s.cmdClientInfo),
				all("client|kill", -3, command.FlagAdmin, s.cmdClientKill),
				all("client|unblock", -3, command.FlagAdmin, s.cmdClientUnblock),
				conn("client|help", 2, 0, cmdClientHelp),
			)},
		&command.Spec{Name: "memory", Arity: -2, Scope: command.ScopeConn, Run: cmdContainerHelp,
			Subs: sub(map[string]*command.Spec{},
				conn("memory|purge", 2, 0, cmdMemoryPurge),
			)},
		&command.Spec{Name: "config", Arity: -2, Scope: command.ScopeConn, Run: cmdContainerHelp,
			Subs: sub(map[string]*command.Spec{},
				conn("config|get", -3, 0, s.cmdConfigGet),
				conn("config|set", -4, command.FlagAdmin, s.cmdConfigSet),
				conn("config|resetstat", 2, command.FlagAdmin, s.cmdConfigResetStat),
				conn("config|rewrite", 2, command.FlagAdmin, s.cmdConfigRewrite),
			)},
	)
	s.addCommandCommand(t)
	s.addPubsubCommands(t)
	s.addTxnCommands(t)
	s.addScriptCommands(t)
}

// cmdMemoryPurge is MEMORY PURGE: Redis asks jemalloc to release dirty
// pages; Basalt runs a garbage collection and returns freed memory to the
// OS (it pauses the calling loop for the collection).
func cmdMemoryPurge(c *command.Ctx) {
	debug.FreeOSMemory()
	c.Out.OK()
}

func cmdContainerHelp(c *command.Ctx) { c.Out.Error(command.ArityError(c.Spec.Name)) }

func (s *Server) cmdPing(c *command.Ctx) {
	if len(c.Args) <= 2 && c.Sess != nil && c.Sess.Proto == 2 && s.engine.Subscribed(c.Sess) {
		// RESP2 pub/sub mode: a reply that fits the message stream.
		c.Out.ArrayLen(2)
		c.Out.BulkString("pong")
		if len(c.Args) == 1 {
			c.Out.BulkString("")
		} else {
			c.Out.Bulk(c.Args[1])
		}
		return
	}
	switch len(c.Args) {
	case 1:
		c.Out.SimpleString("PONG")
	case 2:
		c.Out.Bulk(c.Args[1])
	default:
		c.Out.Error(command.ArityError("ping"))
	}
}

func cmdEcho(c *command.Ctx) { c.Out.Bulk(c.Args[1]) }

func cmdQuit(c *command.Ctx) {
	c.Out.OK()
	c.Sess.Close = true
}

func cmdTime(c *command.Ctx) {
	now := time.Now()
	c.Out.ArrayLen(2)
	c.Out.BulkInt(now.Unix())
	c.Out.BulkInt(int64(now.Nanosecond() / 1000))
}

func (s *Server) cmdLastSave(c *command.Ctx) { c.Out.Int(s.lastSave.Load()) }

func (s *Server) cmdSelect(c *command.Ctx) {
	n, ok := numparse.String2ll(c.Args[1])
	if !ok || n < -2147483648 || n > 2147483647 {
		c.Out.Error(command.ErrNotInt)
		return
	}
	if n < 0 || n >= int64(s.Config().Databases) {
		c.Out.Error(command.ErrDBIndex)
		return
	}
	c.Sess.DB = int(n)
	c.Out.OK()
}

const errNoPassConfigured = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
const errWrongPass = "WRONGPASS invalid username-password pair or user is disabled."

// checkAuth verifies a username/password pair against requirepass (the
// only user is "default"). It returns the error reply, or "".
func (s *Server) checkAuth(user, pass []byte) string {
	rp := s.Config().RequirePass
	if string(user) != "default" {
		return errWrongPass
	}
	if rp == "" {
		return "" // the default user has nopass
	}
	if string(pass) != rp {
		return errWrongPass
	}
	return ""
}

func (s *Server) cmdAuth(c *command.Ctx) {
	var user, pass []byte
	switch len(c.Args) {
	case 2:
		if s.Config().RequirePass == "" {
			c.Out.Error(errNoPassConfigured)
			return
		}
		user, pass = []byte("default"), c.Args[1]
	case 3:
		user, pass = c.Args[1], c.Args[2]
	default:
		c.Out.Error(command.ErrSyntax)
		return
	}
	if e := s.checkAuth(user, pass); e != "" {
		c.Out.Error(e)
		return
	}
	c.Sess.Authed = true
	c.Out.OK()
}

func (s *Server) cmdHello(c *command.Ctx) {
	proto := int64(c.Sess.Proto)
	i := 1
	if len(c.Args) >= 2 {
		v, ok := numparse.String2ll(c.Args[1])
		if !ok {
			c.Out.Error("ERR Protocol version is not an integer or out of range")
			return
		}
		if v < 2 || v > 3 {
			c.Out.Error("NOPROTO unsupported protocol version")
			return
		}
		proto = v
		i = 2
	}
	var user, pass, name []byte
	var haveAuth, haveName bool
	for ; i < len(c.Args); i++ {
		more := len(c.Args) - i - 1
		opt := strings.ToLower(string(c.Args[i]))
		switch {
		case opt == "auth" && more >= 2:
			user, pass, haveAuth = c.Args[i+1], c.Args[i+2], true
			i += 2
		case opt == "setname" && more >= 1:
			name, haveName = c.Args[i+1], true
			if !validClientName(name) {
				c.Out.Error(errClientName)
				return
			}
			i++
		default:
			c.Out.Error("ERR Syntax error in HELLO option '" + string(c.Args[i]) + "'")
			return
		}
	}
	if !c.Sess.Authed && s.Config().RequirePass != "" && !haveAuth {
		c.Out.Error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
		return
	}
	if haveAuth {
		if e := s.checkAuth(user, pass); e != "" {
			c.Out.Error(e)
			return
		}
		c.Sess.Authed = true
	}
	if haveName {
		c.Sess.Name = append(c.Sess.Name[:0], name...)
	}
	c.Sess.Proto = int(proto)
	c.Out.Proto = int(proto)
	w := c.Out
	w.MapLen(7)
	w.BulkString("server")
	w.BulkString("redis")
	w.BulkString("version")
	w.BulkString(Version)
	w.BulkString("proto")
	w.Int(proto)
	w.BulkString("id")
	w.Int(c.Sess.ID)
	w.BulkString("mode")
	w.BulkString("standalone")
	w.BulkString("role")
	w.BulkString("master")
	w.BulkString("modules")
	w.ArrayLen(0)
}

func (s *Server) cmdReset(c *command.Ctx) {
	c.Sess.DB = 0
	c.Sess.Proto = 2
	c.Out.Proto = 2
	c.Sess.Authed = s.Config().RequirePass == ""
	c.Sess.Name = nil
	c.Sess.ReplyOff, c.Sess.ReplySkip, c.Sess.ReplySkipNext = false, false, false
	c.Sess.NoEvict = false
	s.engine.ResetPubsub(c.Sess)
	s.engine.ResetTracking(c.Sess)
	c.Out.SimpleString("RESET")
}

func cmdWait(c *command.Ctx) {
	if _, ok := numparse.String2ll(c.Args[1]); !ok {
		c.Out.Error(command.ErrNotInt)
		return
	}
	t, ok := numparse.String2ll(c.Args[2])
	if !ok {
		c.Out.Error("ERR timeout is not an integer or out of range")
		return
	}
	if t < 0 {
		c.Out.Error("ERR timeout is negative")
		return
	}
	// No replicas yet: every write is already on all (zero) replicas.
	c.Out.Int(0)
}

const errClientName = "ERR Client names cannot contain spaces, newlines or special characters."

func validClientName(b []byte) bool {
	for _, ch := range b {
		if ch < '!' || ch > '~' {
			return false
		}
	}
	return true
}

func cmdClientGetName(c *command.Ctx) {
	if len(c.Sess.Name) == 0 {
		c.Out.Null()
		return
	}
	c.Out.Bulk(c.Sess.Name)
}

func cmdClientSetName(c *command.Ctx) {
	if !validClientName(c.Args[2]) {
		c.Out.Error(errClientName)
		return
	}
	c.Sess.Name = append(c.Sess.Name[:0], c.Args[2]...)
	c.Out.OK()
}

// cmdClientSetInfo is CLIENT SETINFO from Redis 7.2, which client libraries
// (go-redis v9) send on connect; Redis 7.0 does not have it.
func cmdClientSetInfo(c *command.Ctx) {
	attr := strings.ToLower(string(c.Args[2]))
	val := c.Args[3]
	for _, ch := range val {
		if ch < '!' || ch > '~' {
			c.Out.Error("ERR " + attr + " cannot contain spaces, newlines or special characters.")
			return
		}
	}
	switch attr {
	case "lib-name":
		c.Sess.LibName = append(c.Sess.LibName[:0], val...)
	case "lib-ver":
		c.Sess.LibVer = append(c.Sess.LibVer[:0], val...)
	default:
		c.Out.Error("ERR Unrecognized option '" + string(c.Args[2]) + "'")
		return
	}
	c.Out.OK()
}

func cmdClientReply(c *command.Ctx) {
	switch strings.ToLower(string(c.Args[2])) {
	case "on":
		c.Sess.ReplyOff, c.Sess.ReplySkip = false, false
		c.Out.OK()
	case "off":
		c.Sess.ReplyOff = true
	case "skip":
		if !c.Sess.ReplyOff {
			c.Sess.ReplySkipNext = true
		}
	default:
		c.Out.Error(command.ErrSyntax)
	}
}

func cmdClientNoEvict(c *command.Ctx) {
	switch strings.ToLower(string(c.Args[2])) {
	case "on":
		c.Sess.NoEvict = true
	case "off":
		c.Sess.NoEvict = false
	default:
		c.Out.Error(command.ErrSyntax)
		return
	}
	c.Out.OK()
}

// clientLine formats one CLIENT LIST line as Redis 7.0 does.
func (s *Server) clientLine(b []byte, ss *command.Session, now int64) []byte {
	b = append(b, "id="...)
	b = strconv.AppendInt(b, ss.ID, 10)
	b = append(b, " addr="...)
	b = append(b, ss.Addr...)
	b = append(b, " laddr="...)
	b = append(b, ss.LAddr...)
	b = append(b, " fd="...)
	b = strconv.AppendInt(b, int64(ss.FD), 10)
	b = append(b, " name="...)
	b = append(b, ss.Name...)
	b = append(b, " age="...)
	b = strconv.AppendInt(b, (now-ss.Created)/1000, 10)
	b = append(b, " idle="...)
	b = strconv.AppendInt(b, (now-ss.LastIO)/1000, 10)
	b = append(b, " flags="...)
	flags := len(b)
	sub, psub, ssub := s.engine.SessionPubsub(ss)
	if sub+psub+ssub > 0 {
		b = append(b, 'P')
	}
	tx := s.engine.SessionTxn(ss)
	if tx.InMulti {
		b = append(b, 'x')
	}
	if ss.Blocked {
		b = append(b, 'b')
	}
	b, redir := s.appendTrackingFlags(b, ss) // t, R, B
	if tx.DirtyCAS {
		b = append(b, 'd')
	}
	if ss.NoEvict {
		b = append(b, 'e')
	}
	if len(b) == flags {
		b = append(b, 'N')
	}
	b = append(b, " db="...)
	b = strconv.AppendInt(b, int64(ss.DB), 10)
	b = append(b, " sub="...)
	b = strconv.AppendInt(b, int64(sub), 10)
	b = append(b, " psub="...)
	b = strconv.AppendInt(b, int64(psub), 10)
	b = append(b, " ssub="...)
	b = strconv.AppendInt(b, int64(ssub), 10)
	b = append(b, " multi="...)
	b = strconv.AppendInt(b, int64(tx.Multi), 10)
	b = append(b, " qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd="...)
	b = append(b, ss.LastCmd...)
	b = append(b, " user=default redir="...)
	b = strconv.AppendInt(b, redir, 10)
	b = append(b, " resp="...)
	b = strconv.AppendInt(b, int64(ss.Proto), 10)
	b = append(b, " lib-name="...)
	b = append(b, ss.LibName...)
	b = append(b, " lib-ver="...)
	b = append(b, ss.LibVer...)
	return append(b, '\n')
}

func (s *Server) cmdClientList(c *command.Ctx) {
	var ids map[int64]bool
	typ := ""
	for i := 2; i < len(c.Args); i++ {
		opt := strings.ToLower(string(c.Args[i]))
		switch {
		case opt == "type" && i+1 < len(c.Args):
			typ = strings.ToLower(string(c.Args[i+1]))
			switch typ {
			case "normal", "master", "replica", "slave", "pubsub":
			default:
				c.Out.Error("ERR Unknown client type '" + string(c.Args[i+1]) + "'")
				return
			}
			i++
		case opt == "id" && i+1 < len(c.Args):
			ids = map[int64]bool{}
			for i++; i < len(c.Args); i++ {
				id, ok := numparse.String2ll(c.Args[i])
				if !ok || id <= 0 {
					c.Out.Error("ERR Invalid client ID")
					return
				}
				ids[id] = true
			}
		default:
			c.Out.Error(command.ErrSyntax)
			return
		}
	}
	now := time.Now().UnixMilli()
	var b []byte
	s.engine.ForEachSession(func(ss *command.Session) {
		if typ != "" && typ != s.clientType(ss) {
			return
		}
		if ids != nil && !ids[ss.ID] {
			return
		}
		b = s.clientLine(b, ss, now)
	})
	c.Out.Verbatim("txt", b)
}

func (s *Server) cmdClientInfo(c *command.Ctx) {
	c.Out.Verbatim("txt", s.clientLine(nil, c.Sess, time.Now().UnixMilli()))
}

// kill closes victim's connection; the calling client itself is closed
// once its reply is written, as Redis does (CLIENT_CLOSE_AFTER_REPLY).
func (s *Server) kill(c *command.Ctx, victim *command.Session) {
	if victim == c.Sess {
		c.Sess.Close = true
		return
	}
	s.engine.KillClient(victim)
}

func (s *Server) cmdClientKill(c *command.Ctx) {
	args := c.Args[2:]
	if len(args) == 1 {
		// Old form: CLIENT KILL addr:port.
		var victim *command.Session
		s.engine.ForEachSession(func(ss *command.Session) {
			if victim == nil && ss.Addr == string(args[0]) {
				victim = ss
			}
		})
		if victim == nil {
			c.Out.Error("ERR No such client")
			return
		}
		s.kill(c, victim)
		c.Out.OK()
		return
	}
	if len(args)%2 != 0 {
		c.Out.Error(command.ErrSyntax)
		return
	}
	var id int64
	var addr, laddr, user, typ string
	skipme := true
	for i := 0; i < len(args); i += 2 {
		v := args[i+1]
		switch strings.ToLower(string(args[i])) {
		case "id":
			n, ok := numparse.String2ll(v)
			if !ok || n <= 0 {
				c.Out.Error("ERR client-id should be greater than 0")
				return
			}
			id = n
		case "addr":
			addr = string(v)
		case "laddr":
			laddr = string(v)
		case "user":
			user = string(v)
		case "type":
			typ = strings.ToLower(string(v))
			switch typ {
			case "normal", "master", "replica", "slave", "pubsub":
			default:
				c.Out.Error("ERR Unknown client type '" + string(v) + "'")
				return
			}
		case "skipme":
			switch strings.ToLower(string(v)) {
			case "yes":
				skipme = true
			case "no":
				skipme = false
			default:
				c.Out.Error(command.ErrSyntax)
				return
			}
		default:
			c.Out.Error(command.ErrSyntax)
			return
		}
	}
	if user != "" && user != "default" {
		c.Out.Error("ERR No such user '" + user + "'")
		return
	}
	var victims []*command.Session
	s.engine.ForEachSession(func(ss *command.Session) {
		switch {
		case id != 0 && ss.ID != id,
			addr != "" && ss.Addr != addr,
			laddr != "" && ss.LAddr != laddr,
			typ != "" && typ != s.clientType(ss),
			skipme && ss == c.Sess:
			return
		}
		victims = append(victims, ss)
	})
	for _, v := range victims {
		s.kill(c, v)
	}
	c.Out.Int(int64(len(victims)))
}

// cmdClientUnblock is CLIENT UNBLOCK id [TIMEOUT|ERROR].
func (s *Server) cmdClientUnblock(c *command.Ctx) {
	if len(c.Args) > 4 {
		c.Out.Error("ERR unknown subcommand or wrong number of arguments for 'unblock'. Try CLIENT HELP.")
		return
	}
	id, ok := numparse.String2ll(c.Args[2])
	if !ok {
		c.Out.Error(command.ErrNotInt)
		return
	}
	withError := false
	if len(c.Args) == 4 {
		switch strings.ToLower(string(c.Args[3])) {
		case "timeout":
		case "error":
			withError = true
		default:
			c.Out.Error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
			return
		}
	}
	if s.engine.UnblockClient(id, withError) {
		c.Out.Int(1)
	} else {
		c.Out.Int(0)
	}
}

var clientHelp = []string{
	"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"CACHING (YES|NO)",
	"    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
	"GETREDIR",
	"    Return the client ID we are redirecting to when tracking is enabled.",
	"GETNAME",
	"    Return the name of the current connection.",
	"ID",
	"    Return the ID of the current connection.",
	"INFO",
	"    Return information about the current client connection.",
	"KILL <ip:port>",
	"    Kill connection made from <ip:port>.",
	"KILL <option> <value> [<option> <value> [...]]",
	"    Kill connections. Options are:",
	"    * ADDR (<ip:port>|<unixsocket>:0)",
	"      Kill connections made from the specified address",
	"    * LADDR (<ip:port>|<unixsocket>:0)",
	"      Kill connections made to specified local address",
	"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
	"      Kill connections by type.",
	"    * USER <username>",
	"      Kill connections authenticated by <username>.",
	"    * SKIPME (YES|NO)",
	"      Skip killing current connection (default: yes).",
	"LIST [options ...]",
	"    Return information about client connections. Options:",
	"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
	"      Return clients of specified type.",
	"REPLY (ON|OFF|SKIP)",
	"    Control the replies sent to the current connection.",
	"SETNAME <name>",
	"    Assign the name <name> to the current connection.",
	"UNBLOCK <clientid> [TIMEOUT|ERROR]",
	"    Unblock the specified blocked client.",
	"TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
	"         [OPTIN] [OPTOUT] [NOLOOP]",
	"    Control server assisted client side caching.",
	"TRACKINGINFO",
	"    Report tracking status for the current connection.",
	"SETINFO <LIB-NAME|LIB-VER> <value>",
	"    Set client library name or version.",
	"NO-EVICT (ON|OFF)",
	"    Protect current client connection from eviction.",
	"HELP",
	"    Prints this help.",
}

func cmdClientHelp(c *command.Ctx) {
	c.Out.ArrayLen(len(clientHelp))
	for _, l := range clientHelp {
		c.Out.SimpleString(l)
	}
}

// isLocalAddr reports whether a client address is a loopback one.
func isLocalAddr(addr string) bool {
	return strings.HasPrefix(addr, "127.") || strings.HasPrefix(addr, "[::1]") || addr == "" || strings.HasPrefix(addr, "/")
}

var _ = bytes.Equal
