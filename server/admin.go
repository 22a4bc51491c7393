package server

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/config"
	"github.com/basaltdb/basalt/internal/hash"
	"github.com/basaltdb/basalt/internal/numparse"
)

// infoSections are INFO's sections in Redis's order; default ones first.
var infoSections = []string{"server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules", "errorstats", "cluster", "keyspace"}

func (s *Server) cmdInfo(c *command.Ctx) {
	want := map[string]bool{}
	if len(c.Args) == 1 {
		want["default"] = true
	}
	for _, a := range c.Args[1:] {
		want[strings.ToLower(string(a))] = true
	}
	all := want["all"] || want["everything"]
	def := want["default"] || all
	var b []byte
	for _, sec := range infoSections {
		inDefault := sec != "errorstats" && sec != "modules"
		if !(want[sec] || (def && inDefault) || (all && sec != "modules") || (want["everything"] && sec == "modules")) {
			continue
		}
		if len(b) > 0 {
			b = append(b, "\r\n"...)
		}
		b = s.infoSection(b, sec, c)
	}
	c.Out.Verbatim("txt", b)
}

func kv(b []byte, k string, v any) []byte {
	b = append(b, k...)
	b = append(b, ':')
	switch x := v.(type) {
	case string:
		b = append(b, x...)
	case int:
		b = strconv.AppendInt(b, int64(x), 10)
	case int64:
		b = strconv.AppendInt(b, x, 10)
	case float64:
		b = strconv.AppendFloat(b, x, 'f', 6, 64)
	default:
		b = fmt.Append(b, x)
	}
	return append(b, "\r\n"...)
}

func humanBytes(n int64) string {
	f := float64(n)
	switch {
	case n < 1024:
		return strconv.FormatInt(n, 10) + "B"
	case n < 1024*1024:
		return strconv.FormatFloat(f/1024, 'f', 2, 64) + "K"
	case n < 1024*1024*1024:
		return strconv.FormatFloat(f/1024/1024, 'f', 2, 64) + "M"
	case n < 1024*1024*1024*1024:
		return strconv.FormatFloat(f/1024/1024/1024, 'f', 2, 64) + "G"
	}
	return strconv.FormatFloat(f/1024/1024/1024/1024, 'f', 2, 64) + "T"
}

func rssBytes() int64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

func (s *Server) runID() string {
	var id [20]byte
	_, _ = rand.Read(id[:])
	return hex.EncodeToString(id[:])
}

func (s *Server) infoSection(b []byte, sec string, c *command.Ctx) []byte {
	cfg := s.Config()
	st := &s.engine.Stats
	tot := s.engine.Totals()
	now := time.Now()
	switch sec {
	case "server":
		b = append(b, "# Server\r\n"...)
		b = kv(b, "redis_version", Version)
		b = kv(b, "redis_git_sha1", "00000000")
		b = kv(b, "redis_git_dirty", 0)
		b = kv(b, "redis_build_id", "0")
		b = kv(b, "redis_mode", "standalone")
		b = kv(b, "basalt_version", BasaltVersion)
		var uts syscall.Utsname
		osName := runtime.GOOS
		if syscall.Uname(&uts) == nil {
			osName = "Linux " + cstr(uts.Release[:]) + " " + cstr(uts.Machine[:])
		}
		b = kv(b, "os", osName)
		b = kv(b, "arch_bits", 64)
		b = kv(b, "monotonic_clock", "POSIX clock_gettime")
		b = kv(b, "multiplexing_api", "epoll")
		b = kv(b, "atomicvar_api", "c11-builtin")
		b = kv(b, "gcc_version", "0.0.0")
		b = kv(b, "go_version", runtime.Version())
		b = kv(b, "process_id", os.Getpid())
		b = kv(b, "process_supervised", "no")
		b = kv(b, "run_id", s.runIDOnce())
		b = kv(b, "tcp_port", cfg.Port)
		b = kv(b, "server_time_usec", now.UnixMicro())
		up := int64(now.Sub(s.started).Seconds())
		b = kv(b, "uptime_in_seconds", up)
		b = kv(b, "uptime_in_days", up/86400)
		b = kv(b, "hz", cfg.Hz)
		b = kv(b, "configured_hz", cfg.Hz)
		b = kv(b, "lru_clock", (now.Unix())&(1<<24-1))
		exe, _ := os.Executable()
		b = kv(b, "executable", exe)
		b = kv(b, "config_file", cfg.ConfigFile)
		b = kv(b, "io_threads_active", 0)
		b = kv(b, "event_loops", len(s.engine.Loops()))
	case "clients":
		b = append(b, "# Clients\r\n"...)
		b = kv(b, "connected_clients", st.Clients.Load())
		b = kv(b, "cluster_connections", 0)
		b = kv(b, "maxclients", cfg.MaxClients)
		b = kv(b, "client_recent_max_input_buffer", 0)
		b = kv(b, "client_recent_max_output_buffer", 0)
		b = kv(b, "blocked_clients", s.engine.BlockedClients())
		tc, _, _, _ := s.engine.TrackingStats()
		b = kv(b, "tracking_clients", tc)
		b = kv(b, "clients_in_timeout_table", 0)
	case "memory":
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		used := int64(ms.HeapAlloc)
		rss := rssBytes()
		b = append(b, "# Memory\r\n"...)
		b = kv(b, "used_memory", used)
		b = kv(b, "used_memory_human", humanBytes(used))
		b = kv(b, "used_memory_rss", rss)
		b = kv(b, "used_memory_rss_human", humanBytes(rss))
		b = kv(b, "used_memory_peak", int64(ms.HeapSys))
		b = kv(b, "used_memory_peak_human", humanBytes(int64(ms.HeapSys)))
		b = kv(b, "used_memory_overhead", int64(ms.StackSys+ms.MSpanSys+ms.MCacheSys+ms.GCSys))
		b = kv(b, "used_memory_startup", 0)
		b = kv(b, "used_memory_dataset", used)
		b = kv(b, "total_system_memory", totalSystemMemory())
		b = kv(b, "total_system_memory_human", humanBytes(totalSystemMemory()))
		b = kv(b, "used_memory_lua", 0)
		b = kv(b, "maxmemory", 0)
		b = kv(b, "maxmemory_human", "0B")
		b = kv(b, "maxmemory_policy", "noeviction")
		frag := 0.0
		if used > 0 {
			frag = float64(rss) / float64(used)
		}
		b = append(b, "mem_fragmentation_ratio:"...)
		b = strconv.AppendFloat(b, frag, 'f', 2, 64)
		b = append(b, "\r\n"...)
		b = kv(b, "mem_allocator", "go-"+runtime.Version())
		b = kv(b, "gc_cycles", int64(ms.NumGC))
		b = kv(b, "gc_pause_total_ns", int64(ms.PauseTotalNs))
		b = kv(b, "gc_heap_objects", int64(ms.HeapObjects))
	case "persistence":
		b = append(b, "# Persistence\r\n"...)
		b = kv(b, "loading", 0)
		b = kv(b, "async_loading", 0)
		b = kv(b, "current_cow_peak", 0)
		b = kv(b, "current_cow_size", 0)
		b = kv(b, "current_cow_size_age", 0)
		b = kv(b, "current_fork_perc", "0.00")
		b = kv(b, "current_save_keys_processed", 0)
		b = kv(b, "current_save_keys_total", 0)
		b = s.infoRDB(b)
		b = kv(b, "aof_enabled", b2i(s.aof != nil))
		b = s.infoRewrite(b)
		status := "ok"
		if s.aof != nil && s.aof.WriteErr() != nil {
			status = "err"
		}
		b = kv(b, "aof_last_write_status", status)
		b = kv(b, "aof_last_cow_size", 0)
		b = kv(b, "module_fork_in_progress", 0)
		b = kv(b, "module_fork_last_cow_size", 0)
		if s.aof != nil {
			b = s.infoAOF(b)
		}
	case "stats":
		b = append(b, "# Stats\r\n"...)
		b = kv(b, "total_connections_received", st.Connections.Load())
		b = kv(b, "total_commands_processed", tot.Commands)
		b = kv(b, "instantaneous_ops_per_sec", 0)
		b = kv(b, "total_net_input_bytes", tot.NetInput)
		b = kv(b, "total_net_output_bytes", tot.NetOutput)
		b = kv(b, "rejected_connections", st.Rejected.Load())
		b = kv(b, "sync_full", 0)
		b = kv(b, "sync_partial_ok", 0)
		b = kv(b, "sync_partial_err", 0)
		b = kv(b, "expired_keys", tot.ExpiredKeys)
		b = kv(b, "expired_stale_perc", "0.00")
		b = kv(b, "expired_time_cap_reached_count", 0)
		b = kv(b, "evicted_keys", 0)
		b = kv(b, "evicted_clients", 0)
		var hits, misses int64
		for _, sh := range s.engine.Shards() {
			hits += sh.Hits.Load()
			misses += sh.Misses.Load()
		}
		b = kv(b, "keyspace_hits", hits)
		b = kv(b, "keyspace_misses", misses)
		chans, pats, shardChans := s.engine.PubsubStats()
		b = kv(b, "pubsub_channels", chans)
		b = kv(b, "pubsub_patterns", pats)
		b = kv(b, "pubsubshard_channels", shardChans)
		b = kv(b, "latest_fork_usec", 0)
		b = kv(b, "total_forks", 0)
		b = kv(b, "migrate_cached_sockets", 0)
		_, tkeys, titems, tprefixes := s.engine.TrackingStats()
		b = kv(b, "tracking_total_keys", tkeys)
		b = kv(b, "tracking_total_items", titems)
		b = kv(b, "tracking_total_prefixes", tprefixes)
		b = kv(b, "unexpected_error_replies", 0)
		b = kv(b, "total_error_replies", 0)
		b = kv(b, "dump_payload_sanitizations", 0)
		b = kv(b, "cross_loop_commands", tot.CrossLoop)
		b = kv(b, "executor_transactions", st.Txns.Load())
	case "replication":
		b = append(b, "# Replication\r\n"...)
		b = kv(b, "role", "master")
		b = kv(b, "connected_slaves", 0)
		b = kv(b, "master_failover_state", "no-failover")
		b = kv(b, "master_replid", s.runIDOnce())
		b = kv(b, "master_replid2", "0000000000000000000000000000000000000000")
		b = kv(b, "master_repl_offset", 0)
		b = kv(b, "second_repl_offset", -1)
		b = kv(b, "repl_backlog_active", 0)
		b = kv(b, "repl_backlog_size", 1048576)
		b = kv(b, "repl_backlog_first_byte_offset", 0)
		b = kv(b, "repl_backlog_histlen", 0)
	case "cpu":
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		b = append(b, "# CPU\r\n"...)
		b = kv(b, "used_cpu_sys", tv(ru.Stime))
		b = kv(b, "used_cpu_user", tv(ru.Utime))
		b = kv(b, "used_cpu_sys_children", "0.000000")
		b = kv(b, "used_cpu_user_children", "0.000000")
		b = kv(b, "cpu_features", strings.Join(hash.CPUFeatures(), ","))
		crc, dict := hash.Implementations()
		b = kv(b, "crc16_impl", crc)
		b = kv(b, "dict_hash_impl", dict)
	case "modules":
		b = append(b, "# Modules\r\n"...)
	case "errorstats":
		b = append(b, "# Errorstats\r\n"...)
	case "cluster":
		b = append(b, "# Cluster\r\n"...)
		b = kv(b, "cluster_enabled", 0)
	case "keyspace":
		b = append(b, "# Keyspace\r\n"...)
		for d := 0; d < cfg.Databases; d++ {
			keys, expires := 0, 0
			for _, sh := range c.Shards {
				keys += sh.Len(d)
				expires += sh.ExpiresLen(d)
			}
			if keys == 0 {
				continue
			}
			b = append(b, "db"...)
			b = strconv.AppendInt(b, int64(d), 10)
			b = append(b, ":keys="...)
			b = strconv.AppendInt(b, int64(keys), 10)
			b = append(b, ",expires="...)
			b = strconv.AppendInt(b, int64(expires), 10)
			b = append(b, ",avg_ttl=0\r\n"...)
		}
	}
	return b
}

func tv(t syscall.Timeval) string {
	return strconv.FormatFloat(float64(t.Sec)+float64(t.Usec)/1e6, 'f', 6, 64)
}

func cstr[T int8 | uint8](b []T) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		out = append(out, byte(c))
	}
	return string(out)
}

func totalSystemMemory() int64 {
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) != nil {
		return 0
	}
	return int64(si.Totalram) * int64(si.Unit)
}

func (s *Server) runIDOnce() string {
	s.runIDMu.Do(func() { s.runIDVal = s.runID() })
	return s.runIDVal
}

// ---- CONFIG ----

func (s *Server) cmdConfigGet(c *command.Ctx) {
	patterns := make([]string, 0, len(c.Args)-2)
	for _, p := range c.Args[2:] {
		patterns = append(patterns, string(p))
	}
	pairs := s.Config().Get(patterns...)
	c.Out.MapLen(len(pairs))
	for _, kv := range pairs {
		c.Out.BulkString(kv[0])
		c.Out.BulkString(kv[1])
	}
}

func (s *Server) cmdConfigSet(c *command.Ctx) {
	args := c.Args[2:]
	if len(args)%2 != 0 {
		c.Out.Error(command.ArityError("config|set"))
		return
	}
	var pairs [][2]string
	for i := 0; i < len(args); i += 2 {
		pairs = append(pairs, [2]string{string(args[i]), string(args[i+1])})
	}
	for {
		old := s.cfg.Load()
		next := old.Clone()
		if err := next.Set(pairs); err != nil {
			c.Out.Error(err.Error())
			return
		}
		for _, name := range config.Changed(old, next) {
			switch name {
			case "bind", "port":
				// The gnet listeners are fixed once the loops run.
				c.Out.Error(config.SetFailed(name, "changing it at run time is not supported by Basalt yet").Error())
				return
			}
		}
		if s.cfg.CompareAndSwap(old, next) {
			s.applyAOFConfig(next)
			if s.OnConfig != nil {
				s.OnConfig(next)
			}
			break
		}
	}
	c.Out.OK()
}

func (s *Server) cmdConfigResetStat(c *command.Ctx) {
	s.engine.ResetStats()
	c.Out.OK()
}

func (s *Server) cmdConfigRewrite(c *command.Ctx) {
	if s.Config().ConfigFile == "" {
		c.Out.Error("ERR The server is running without a config file")
		return
	}
	c.Out.Error("ERR Rewriting config file: not supported by Basalt yet")
}

// ---- SHUTDOWN ----

func (s *Server) cmdShutdown(c *command.Ctx) {
	var save, nosave, force bool
	for _, a := range c.Args[1:] {
		switch strings.ToLower(string(a)) {
		case "nosave":
			nosave = true
		case "save":
			save = true
		case "force":
			force = true
		case "now":
		case "abort":
			if len(c.Args) != 2 {
				c.Out.Error(command.ErrSyntax)
				return
			}
			c.Out.Error("ERR No shutdown in progress.")
			return
		default:
			c.Out.Error(command.ErrSyntax)
			return
		}
	}
	s.log.Warn("User requested shutdown...")
	c.Sess.Close = true
	if nosave {
		s.Stop()
		return
	}
	// The save runs off the loop (a snapshot needs every loop); the
	// connection closes either way. A failed save keeps the server up,
	// as Redis does without FORCE (Redis also replies an error).
	go func() {
		if err := s.saveOnShutdown(save); err != nil && !force {
			s.log.Warn("Error trying to save the DB, can't exit.", "err", err)
			return
		}
		s.Stop()
	}()
}

// Shutdown is SIGTERM's path: save when save points are configured, then
// stop (Redis's prepareForShutdown). A failed save still stops.
func (s *Server) Shutdown() {
	if err := s.saveOnShutdown(false); err != nil {
		s.log.Warn("Error trying to save the DB before exiting", "err", err)
	}
	s.Stop()
}

// ---- DEBUG ----

// debugKeys routes DEBUG OBJECT key and DEBUG DIGEST-VALUE key... to
// their keys' loops (Redis's DEBUG declares no keys; Basalt needs them to
// find the shards).
func debugKeys(args [][]byte, dst []int) []int {
	if len(args) >= 3 && strings.EqualFold(string(args[1]), "object") {
		return append(dst, 2)
	}
	if len(args) >= 3 && strings.EqualFold(string(args[1]), "digest-value") {
		for i := 2; i < len(args); i++ {
			dst = append(dst, i)
		}
	}
	return dst
}

const errDebugNotAllowed = "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server."

// cmdDebug runs DEBUG. It is routed by key (DEBUG OBJECT key runs on the
// key's loop); enable-debug-command is checked by the loop before routing
// (FlagProtected), where the connection is known.
func (s *Server) cmdDebug(c *command.Ctx) {
	sub := strings.ToLower(string(c.Args[1]))
	switch sub {
	case "sleep":
		if len(c.Args) != 3 {
			debugSyntax(c)
			return
		}
		// Like Redis's strtod: a bad number sleeps 0 seconds.
		secs, err := strconv.ParseFloat(string(c.Args[2]), 64)
		if err != nil || secs < 0 {
			secs = 0
		}
		time.Sleep(time.Duration(secs * float64(time.Second)))
		c.Out.OK()
	case "set-active-expire":
		if len(c.Args) != 3 {
			debugSyntax(c)
			return
		}
		n, _ := numparse.String2ll(c.Args[2])
		s.engine.ActiveExpire.Store(n != 0)
		c.Out.OK()
	case "digest":
		if len(c.Args) != 2 {
			debugSyntax(c)
			return
		}
		debugDigest(c)
	case "reload":
		if len(c.Args) != 2 {
			debugSyntax(c)
			return
		}
		s.debugReload(c)
	case "digest-value":
		debugDigestValue(c)
	case "object":
		if len(c.Args) != 3 {
			debugSyntax(c)
			return
		}
		e := c.LookupNoTouch(c.Args[2])
		if e == nil {
			c.Out.Error("ERR no such key")
			return
		}
		idle := (c.Now - e.Access) / 1000
		line := fmt.Sprintf("Value at:%p refcount:1 encoding:%s serializedlength:%d lru:%d lru_seconds_idle:%d",
			e, e.Enc, len(e.Str)+1, (e.Access/1000)&(1<<24-1), idle)
		c.Out.SimpleString(line)
	case "help":
		help := []string{
			"DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
			"DIGEST",
			"    Output a hex signature representing the current DB content.",
			"DIGEST-VALUE <key> [<key> ...]",
			"    Output a hex signature of the values of all the specified keys.",
			"OBJECT <key>",
			"    Show low-level info about the `key` and associated value.",
			"RELOAD",
			"    Save the RDB on disk and reload it back to memory.",
			"SET-ACTIVE-EXPIRE <0|1>",
			"    Setting it to 0 disables expiring keys in background when they are not accessed (otherwise the Redis behavior). Setting it to 1 reenables back the default.",
			"SLEEP <seconds>",
			"    Stop the server for <seconds>. Decimals allowed.",
			"HELP",
			"    Prints this help.",
		}
		c.Out.ArrayLen(len(help))
		for _, l := range help {
			c.Out.SimpleString(l)
		}
	default:
		debugSyntax(c)
	}
}

func debugSyntax(c *command.Ctx) {
	sub := c.Args[1]
	if len(sub) > 128 {
		sub = sub[:128]
	}
	c.Out.Error("ERR unknown subcommand or wrong number of arguments for '" + string(sub) + "'. Try DEBUG HELP.")
}

// allowProtected applies enable-debug-command to a connection.
func (s *Server) allowProtected(sess *command.Session) (bool, string) {
	switch s.Config().EnableDebugCommand {
	case "yes":
		return true, ""
	case "local":
		if isLocalAddr(sess.Addr) {
			return true, ""
		}
	}
	return false, errDebugNotAllowed
}
