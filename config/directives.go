package config

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/basaltdb/basalt/internal/numparse"
	"github.com/basaltdb/basalt/internal/oserr"
)

type dflags uint8

const (
	immutable dflags = 1 << iota // CONFIG SET refuses: "can't set immutable config"
	protected                    // CONFIG SET refuses: "can't set protected config" (Redis's enable-protected-configs no)
	multiArg                     // takes a list of arguments (bind, save)
)

// directive is one entry of the table. set parses args into c and returns
// "" or Redis's error text; ld is non-nil while Load reads a file or the
// command line (Redis treats some directives differently then), nil for
// CONFIG SET. get renders the value as CONFIG GET shows it.
type directive struct {
	name  string
	flags dflags
	set   func(c *Config, args []string, ld *loader) string
	get   func(c *Config) string
}

// Messages Basalt uses where Redis would accept a value Basalt cannot honour.
const (
	msgAOFSwitch = `Basalt cannot switch appendonly at run time yet (it needs the AOF rewrite): set it in the config file or on the command line`
)

// directives is the read-only directive table, in the order Names and
// docs/CONFIG.md list them. It is an array so that Get can size its
// seen-set at compile time.
var directives = [...]directive{
	{name: "bind", flags: multiArg, set: setBind,
		get: func(c *Config) string { return strings.Join(c.Bind, " ") }},
	intDirective("port", 0, 0, 65535, func(c *Config) *int { return &c.Port }),
	{name: "dir", flags: protected, set: setDir,
		get: func(c *Config) string { return c.Dir }},
	intDirective("loops", immutable, 0, MaxLoops, func(c *Config) *int { return &c.Loops }),
	intDirective("databases", immutable, 1, 1<<31-1, func(c *Config) *int { return &c.Databases }),
	stringDirective("requirepass", 0, func(c *Config) *string { return &c.RequirePass }),
	intDirective("maxclients", 0, 1, 1<<32-1, func(c *Config) *int { return &c.MaxClients }),
	intDirective("timeout", 0, 0, 1<<31-1, func(c *Config) *int { return &c.Timeout }),
	intDirective("tcp-keepalive", 0, 0, 1<<31-1, func(c *Config) *int { return &c.TCPKeepalive }),
	boolDirective("protected-mode", 0, func(c *Config) *bool { return &c.ProtectedMode }),
	memDirective("proto-max-bulk-len", 1<<20, 1<<63-1, func(c *Config) *int64 { return &c.ProtoMaxBulkLen }),
	memDirective("client-query-buffer-limit", 1<<20, 1<<63-1, func(c *Config) *int64 { return &c.ClientQueryBufferLimit }),
	enumDirective("enable-debug-command", immutable, []string{"no", "yes", "local"},
		func(c *Config) *string { return &c.EnableDebugCommand }),
	stringDirective("logfile", immutable, func(c *Config) *string { return &c.LogFile }),
	enumDirective("loglevel", 0, []string{"debug", "verbose", "notice", "warning"},
		func(c *Config) *string { return &c.LogLevel }),
	stringDirective("pidfile", immutable, func(c *Config) *string { return &c.PidFile }),
	boolDirective("daemonize", immutable, func(c *Config) *bool { return &c.Daemonize }),
	{name: "hz", set: setHz, get: func(c *Config) string { return strconv.Itoa(c.Hz) }},
	// lua-time-limit is Redis 7.0's old name, an alias sharing the value.
	int64Directive("busy-reply-threshold", 0, 1<<63-1, func(c *Config) *int64 { return &c.BusyReplyThreshold }),
	int64Directive("tracking-table-max-keys", 0, 1<<63-1, func(c *Config) *int64 { return &c.TrackingTableMaxKeys }),
	int64Directive("lua-time-limit", 0, 1<<63-1, func(c *Config) *int64 { return &c.BusyReplyThreshold }),
	{name: "save", flags: multiArg, set: setSave, get: func(c *Config) string { return c.Save }},
	{name: "dbfilename", flags: protected, set: setDBFilename, get: func(c *Config) string { return c.DBFilename }},
	boolDirective("stop-writes-on-bgsave-error", 0, func(c *Config) *bool { return &c.StopWritesOnBgsaveError }),
	{name: "appendonly", set: setAppendOnly, get: func(c *Config) string { return yesNo(c.AppendOnly) }},
	enumDirective("appendfsync", 0, []string{"always", "everysec", "no"},
		func(c *Config) *string { return &c.AppendFsync }),
	{name: "appenddirname", flags: immutable, set: setAppendDirName, get: func(c *Config) string { return c.AppendDirName }},
	{name: "appendfilename", flags: immutable, set: setAppendFileName, get: func(c *Config) string { return c.AppendFileName }},
	boolDirective("aof-load-truncated", 0, func(c *Config) *bool { return &c.AOFLoadTruncated }),
	boolDirective("aof-use-rdb-preamble", 0, func(c *Config) *bool { return &c.AOFUseRDBPreamble }),
	intDirective("auto-aof-rewrite-percentage", 0, 0, 1<<31-1, func(c *Config) *int { return &c.AutoAOFRewritePercentage }),
	memDirective("auto-aof-rewrite-min-size", 0, 1<<63-1, func(c *Config) *int64 { return &c.AutoAOFRewriteMinSize }),
	{name: "snapshot-schedule", set: setSnapshotSchedule, get: func(c *Config) string { return c.SnapshotSchedule }},
	intDirective("snapshot-retention", 0, 0, 100000, func(c *Config) *int { return &c.SnapshotRetention }),
	{name: "snapshot-dir", flags: protected, set: func(c *Config, args []string, _ *loader) string {
		if args[0] == "" {
			return "snapshot-dir can't be empty"
		}
		c.SnapshotDir = args[0]
		return ""
	}, get: func(c *Config) string { return c.SnapshotDir }},
	stringDirective("restore", immutable, func(c *Config) *string { return &c.Restore }),
	stringDirective("encryption-key-file", immutable, func(c *Config) *string { return &c.EncryptionKeyFile }),
	// Encoding thresholds. Each has Redis 7.0's old "ziplist" name as an
	// alias sharing the value; both appear in CONFIG GET *, as in Redis.
	sizeDirective("hash-max-listpack-entries", false, func(c *Config) *int64 { return &c.Limits.HashMaxListpackEntries }),
	sizeDirective("hash-max-ziplist-entries", false, func(c *Config) *int64 { return &c.Limits.HashMaxListpackEntries }),
	sizeDirective("hash-max-listpack-value", true, func(c *Config) *int64 { return &c.Limits.HashMaxListpackValue }),
	sizeDirective("hash-max-ziplist-value", true, func(c *Config) *int64 { return &c.Limits.HashMaxListpackValue }),
	sizeDirective("set-max-intset-entries", false, func(c *Config) *int64 { return &c.Limits.SetMaxIntsetEntries }),
	sizeDirective("zset-max-listpack-entries", false, func(c *Config) *int64 { return &c.Limits.ZSetMaxListpackEntries }),
	sizeDirective("zset-max-ziplist-entries", false, func(c *Config) *int64 { return &c.Limits.ZSetMaxListpackEntries }),
	sizeDirective("zset-max-listpack-value", true, func(c *Config) *int64 { return &c.Limits.ZSetMaxListpackValue }),
	sizeDirective("zset-max-ziplist-value", true, func(c *Config) *int64 { return &c.Limits.ZSetMaxListpackValue }),
	int64Directive("list-max-listpack-size", -1<<31, 1<<31-1, func(c *Config) *int64 { return &c.Limits.ListMaxListpackSize }),
	int64Directive("list-max-ziplist-size", -1<<31, 1<<31-1, func(c *Config) *int64 { return &c.Limits.ListMaxListpackSize }),
	sizeDirective("hll-sparse-max-bytes", true, func(c *Config) *int64 { return &c.Limits.HLLSparseMaxBytes }),
	// A stream's listpack node is closed at this many bytes or entries
	// (0: no cap); Redis: a size_t memory value and a long long.
	sizeDirective("stream-node-max-bytes", true, func(c *Config) *int64 { return &c.Limits.StreamNodeMaxBytes }),
	int64Directive("stream-node-max-entries", 0, 1<<63-1, func(c *Config) *int64 { return &c.Limits.StreamNodeMaxEntries }),
	{name: "notify-keyspace-events", set: setNotifyKeyspaceEvents,
		get: func(c *Config) string { return NotifyKeyspaceEventsString(c.NotifyKeyspaceEvents) }},
	{name: "client-output-buffer-limit", flags: multiArg, set: setClientOutputBufferLimit, get: getClientOutputBufferLimit},
}

// sizeDirective is a size_t directive of Redis (0 to LONG_MAX); memory
// ones accept units (1k, 2mb) as Redis's MEMORY_CONFIG does.
func sizeDirective(name string, memory bool, field func(*Config) *int64) directive {
	if memory {
		return memDirective(name, 0, 1<<63-1, field)
	}
	return int64Directive(name, 0, 1<<63-1, field)
}

func int64Directive(name string, lo, hi int64, field func(*Config) *int64) directive {
	return directive{name: name,
		set: func(c *Config, args []string, _ *loader) string {
			v, msg := parseInt(args[0], lo, hi)
			if msg == "" {
				*field(c) = v
			}
			return msg
		},
		get: func(c *Config) string { return strconv.FormatInt(*field(c), 10) },
	}
}

// lookup finds a directive by name, case-insensitively like Redis; -1 if none.
func lookup(name string) int {
	for i := range directives {
		if strings.EqualFold(directives[i].name, name) {
			return i
		}
	}
	return -1
}

func intDirective(name string, fl dflags, lo, hi int64, field func(*Config) *int) directive {
	return directive{name: name, flags: fl,
		set: func(c *Config, args []string, _ *loader) string {
			v, msg := parseInt(args[0], lo, hi)
			if msg == "" {
				*field(c) = int(v)
			}
			return msg
		},
		get: func(c *Config) string { return strconv.Itoa(*field(c)) },
	}
}

func memDirective(name string, lo, hi int64, field func(*Config) *int64) directive {
	return directive{name: name,
		set: func(c *Config, args []string, _ *loader) string {
			v, msg := parseMemory(args[0], lo, hi)
			if msg == "" {
				*field(c) = v
			}
			return msg
		},
		get: func(c *Config) string { return strconv.FormatInt(*field(c), 10) },
	}
}

func boolDirective(name string, fl dflags, field func(*Config) *bool) directive {
	return directive{name: name, flags: fl,
		set: func(c *Config, args []string, _ *loader) string {
			v, msg := parseBool(args[0])
			if msg == "" {
				*field(c) = v
			}
			return msg
		},
		get: func(c *Config) string { return yesNo(*field(c)) },
	}
}

func enumDirective(name string, fl dflags, values []string, field func(*Config) *string) directive {
	msg := "argument(s) must be one of the following: " + strings.Join(values, ", ")
	return directive{name: name, flags: fl,
		set: func(c *Config, args []string, _ *loader) string {
			for _, v := range values {
				if strings.EqualFold(v, args[0]) {
					*field(c) = v
					return ""
				}
			}
			return msg
		},
		get: func(c *Config) string { return *field(c) },
	}
}

func stringDirective(name string, fl dflags, field func(*Config) *string) directive {
	return directive{name: name, flags: fl,
		set: func(c *Config, args []string, _ *loader) string {
			*field(c) = args[0]
			return ""
		},
		get: func(c *Config) string { return *field(c) },
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// parseBool is Redis's yesnotoi.
func parseBool(s string) (bool, string) {
	switch {
	case strings.EqualFold(s, "yes"):
		return true, ""
	case strings.EqualFold(s, "no"):
		return false, ""
	}
	return false, "argument must be 'yes' or 'no'"
}

// parseInt parses a plain integer config value with Redis's string2ll
// (no spaces, no '+', no leading zeros) and checks its bounds.
func parseInt(s string, lo, hi int64) (int64, string) {
	v, ok := numparse.String2ll(s)
	if !ok {
		return 0, "argument couldn't be parsed into an integer"
	}
	if v < lo || v > hi {
		return 0, rangeMsg(lo, hi)
	}
	return v, ""
}

func rangeMsg(lo, hi int64) string {
	return "argument must be between " + strconv.FormatInt(lo, 10) + " and " + strconv.FormatInt(hi, 10) + " inclusive"
}

// parseMemory parses a memory value with Redis's memtoull and checks
// bounds (lo >= 0). It reproduces memtoull exactly, including that a
// number too large for 64 bits saturates and that a unit multiplication
// wraps around, so the same inputs are accepted and refused as by Redis.
func parseMemory(s string, lo, hi int64) (int64, string) {
	v, ok := memtoull(s)
	if !ok {
		return 0, "argument must be a memory value"
	}
	// Redis compares as its field type; with lo >= 0 the unsigned check
	// gives the same answer for signed and size_t fields.
	if v < uint64(lo) || v > uint64(hi) {
		return 0, rangeMsg(lo, hi)
	}
	return int64(v), ""
}

// memtoull is Redis's memtoull: digits then an optional unit; ok is false
// for anything else. A number too large for 64 bits saturates and a unit
// multiplication wraps around, as in C.
func memtoull(s string) (uint64, bool) {
	if strings.HasPrefix(s, "-") {
		return 0, false
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	var mul uint64
	switch u := strings.ToLower(s[i:]); u {
	case "", "b":
		mul = 1
	case "k":
		mul = 1000
	case "kb":
		mul = 1024
	case "m":
		mul = 1000 * 1000
	case "mb":
		mul = 1024 * 1024
	case "g":
		mul = 1000 * 1000 * 1000
	case "gb":
		mul = 1024 * 1024 * 1024
	default:
		return 0, false
	}
	if i >= 128 { // memtoull's digit buffer
		return 0, false
	}
	var val uint64
	for _, ch := range []byte(s[:i]) {
		d := uint64(ch - '0')
		if val > (^uint64(0)-d)/10 {
			val = ^uint64(0) // strtoull saturates on overflow
			break
		}
		val = val*10 + d
	}
	return val * mul, true // wraps like C
}

// strtoll mimics C strtoll(s, &end, 10) == fully consumed: leading
// isspace, optional sign, digits; ok reports that nothing follows. Redis's
// save parser uses it, so " 5" and "+5" are accepted there.
func strtoll(s string) (int64, bool) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var v int64
	overflow := false
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		d := int64(s[i] - '0')
		if v > (1<<63-1-d)/10 {
			overflow = true
		} else {
			v = v*10 + d
		}
		i++
	}
	if i == start {
		// No digits: strtoll sets end to the start of the string.
		return 0, s == ""
	}
	if overflow {
		if neg {
			return -1 << 63, i == len(s)
		}
		return 1<<63 - 1, i == len(s)
	}
	if neg {
		v = -v
	}
	return v, i == len(s)
}

// isSpace is C's isspace in the "C" locale.
func isSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\v' || b == '\f' || b == '\r'
}

func setBind(c *Config, args []string, _ *loader) string {
	if len(args) > MaxBindAddrs {
		return "Too many bind addresses specified."
	}
	// A single empty argument means no addresses, as in Redis.
	if len(args) == 1 && args[0] == "" {
		args = nil
	}
	for _, a := range args {
		// An empty address (CONFIG SET bind "a  b" splits on single
		// spaces) can never be bound; Redis fails in its apply step with
		// this text, Basalt refuses it before publishing.
		if strings.TrimPrefix(a, "-") == "" {
			return ErrBindFailed
		}
	}
	c.Bind = append([]string(nil), args...)
	return ""
}

// ErrBindFailed is Redis's reply text when the new bind addresses cannot
// be bound; the server uses it with SetFailed when re-listening fails.
const ErrBindFailed = "Failed to bind to specified addresses."

// setDir checks that the directory exists and is searchable (what Redis's
// chdir would check) and stores its absolute path. It runs only at Load:
// dir is a protected config for CONFIG SET.
func setDir(c *Config, args []string, ld *loader) string {
	p := args[0]
	if ld != nil && !filepath.IsAbs(p) {
		p = filepath.Join(ld.cwd, p)
	}
	p, err := filepath.Abs(p)
	if err != nil {
		return oserr.Strerror(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return oserr.Strerror(err)
	}
	if !fi.IsDir() {
		return oserr.Strerror(syscall.ENOTDIR)
	}
	if err := syscall.Access(p, 1 /* X_OK */); err != nil {
		return oserr.Strerror(err)
	}
	c.Dir = p
	if ld != nil {
		ld.cwd = p // later relative includes resolve here, as after Redis's chdir
	}
	return ""
}

// setHz clamps like Redis: out-of-range values are accepted and stored as
// the nearest of MinHz/MaxHz.
func setHz(c *Config, args []string, _ *loader) string {
	v, msg := parseInt(args[0], 0, 1<<31-1)
	if msg != "" {
		return msg
	}
	c.Hz = int(min(max(v, MinHz), MaxHz))
	return ""
}

// setSave validates like Redis's setConfigSaveOption (pairs of seconds >= 1
// and changes >= 0). CONFIG SET replaces the points; in a config file or
// on the command line each save directive adds its points to those of
// the earlier ones, and save "" clears them, as in Redis.
func setSave(c *Config, args []string, ld *loader) string {
	if len(args) == 1 && args[0] == "" {
		args = nil
	}
	if len(args)%2 != 0 {
		return "Invalid save parameters"
	}
	var pts []string
	for j, a := range args {
		v, ok := strtoll(a)
		if !ok || (j%2 == 0 && v < 1) || (j%2 == 1 && v < 0) {
			return "Invalid save parameters"
		}
		pts = append(pts, strconv.FormatInt(v, 10))
	}
	if ld != nil && ld.saved && len(pts) > 0 && c.Save != "" {
		c.Save += " " + strings.Join(pts, " ")
	} else {
		c.Save = strings.Join(pts, " ")
	}
	if ld != nil {
		ld.saved = true
	}
	return ""
}

// SavePoints returns the save points as (seconds, changes) pairs.
func (c *Config) SavePoints() [][2]int64 {
	f := strings.Fields(c.Save)
	var out [][2]int64
	for i := 0; i+1 < len(f); i += 2 {
		s, _ := strconv.ParseInt(f[i], 10, 64)
		n, _ := strconv.ParseInt(f[i+1], 10, 64)
		out = append(out, [2]int64{s, n})
	}
	return out
}

// setSnapshotSchedule accepts "" or a daily UTC window "HH:MM-HH:MM".
func setSnapshotSchedule(c *Config, args []string, _ *loader) string {
	if args[0] != "" {
		if _, _, ok := ParseWindow(args[0]); !ok {
			return "snapshot-schedule must be a daily UTC window HH:MM-HH:MM, or empty"
		}
	}
	c.SnapshotSchedule = args[0]
	return ""
}

// ParseWindow parses "HH:MM-HH:MM" into minutes after midnight.
func ParseWindow(s string) (start, end int, ok bool) {
	parse := func(t string) (int, bool) {
		if len(t) != 5 || t[2] != ':' {
			return 0, false
		}
		h, err1 := strconv.Atoi(t[:2])
		m, err2 := strconv.Atoi(t[3:])
		if err1 != nil || err2 != nil || h > 23 || m > 59 || h < 0 || m < 0 {
			return 0, false
		}
		return h*60 + m, true
	}
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	start, ok1 := parse(a)
	end, ok2 := parse(b)
	return start, end, ok1 && ok2 && start != end
}

// setDBFilename refuses paths, as Redis's isValidDBfilename.
func setDBFilename(c *Config, args []string, _ *loader) string {
	if strings.ContainsAny(args[0], "/\\") {
		return "dbfilename can't be a path, just a filename"
	}
	c.DBFilename = args[0]
	return ""
}

func setAppendOnly(c *Config, args []string, ld *loader) string {
	v, msg := parseBool(args[0])
	if msg != "" {
		return msg
	}
	if ld == nil && v != c.AppendOnly {
		return msgAOFSwitch
	}
	c.AppendOnly = v
	return ""
}

// setAppendFileName and setAppendDirName refuse paths as Redis 7.0's
// isValidAOFfilename/isValidAOFdirname do.
func setAppendFileName(c *Config, args []string, _ *loader) string {
	if !validAOFName(args[0]) {
		return "appendfilename can't be a path, just a filename"
	}
	c.AppendFileName = args[0]
	return ""
}

func setAppendDirName(c *Config, args []string, _ *loader) string {
	if !validAOFName(args[0]) {
		return "appenddirname can't be a path, just a dirname"
	}
	c.AppendDirName = args[0]
	return ""
}

func validAOFName(s string) bool {
	return s != "" && !strings.ContainsRune(s, '/') && s != "." && s != ".."
}

// SetFailed returns the error CONFIG SET replies when applying name's new
// value failed; the server uses it for failures only it can detect (a port
// that cannot be bound: "Unable to listen on this port", ErrBindFailed).
func SetFailed(name, msg string) error {
	return errors.New("ERR CONFIG SET failed (possibly related to argument '" + name + "') - " + msg)
}

// Set implements CONFIG SET name value [name value ...] on c, all or
// nothing: on error c is unchanged. Checks and error texts follow Redis
// 7.0's configSetCommand: first every name is looked up (the first
// unknown, immutable, protected or duplicate name fails the command,
// reported as typed); then values are parsed in order and the first bad one
// fails it, reported by canonical name. Multi-argument values (bind, save)
// are split on single spaces as Redis does.
func (c *Config) Set(pairs [][2]string) error {
	idx := make([]int, len(pairs))
	for i, p := range pairs {
		d := lookup(p[0])
		if d < 0 {
			return errors.New("ERR Unknown option or number of arguments for CONFIG SET - '" + p[0] + "'")
		}
		switch fl := directives[d].flags; {
		case fl&immutable != 0:
			return SetFailed(p[0], "can't set immutable config")
		case fl&protected != 0:
			return SetFailed(p[0], "can't set protected config")
		}
		for j := 0; j < i; j++ {
			if idx[j] == d {
				return SetFailed(p[0], "duplicate parameter")
			}
		}
		idx[i] = d
	}
	next := c.Clone()
	for i, p := range pairs {
		d := &directives[idx[i]]
		var args []string
		if d.flags&multiArg != 0 {
			// sdssplitlen(value, " "): "" gives no arguments.
			if p[1] != "" {
				args = strings.Split(p[1], " ")
			}
		} else {
			args = []string{p[1]}
		}
		if msg := d.set(next, args, nil); msg != "" {
			return SetFailed(d.name, msg)
		}
	}
	*c = *next
	return nil
}
