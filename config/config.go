// Package config holds Basalt's validated server configuration: the
// directive table, redis.conf / command-line parsing (Load) and the
// CONFIG GET / CONFIG SET semantics of Redis 7.0.
//
// The package imports only the standard library and Basalt's internal
// helpers (glob matching, sds argument splitting) and keeps no mutable
// package-level state, so several servers can run in one process.
package config

import (
	"runtime"
	"slices"
	"strings"

	"github.com/basaltdb/basalt/datatypes"

	"github.com/basaltdb/basalt/internal/glob"
)

// Config is the validated server configuration. A *Config is immutable once
// published: the server keeps an atomic.Pointer[Config]; CONFIG SET clones,
// changes the clone (Set) and publishes it. Any goroutine may read a
// published Config; only the goroutine that made a clone may Set on it
// before publishing.
type Config struct {
	// Bind lists the addresses to listen on, as written by the user
	// ("127.0.0.1", "*", "::*", "-::1": a leading '-' marks an address
	// that may be unavailable). See BindAddrs.
	Bind []string
	Port int
	// Dir is the working directory, always absolute after Load.
	// cmd/basalt chdirs to it at start-up, as redis-server does.
	Dir string
	// Loops is the number of event loops (shards); Load and Default resolve
	// "loops 0" to runtime.NumCPU() (capped at MaxLoops), so it is >= 1.
	Loops           int
	Databases       int
	RequirePass     string
	MaxClients      int
	Timeout         int // seconds of client idleness before close; 0 = never
	TCPKeepalive    int // seconds; 0 = no SO_KEEPALIVE
	ProtectedMode   bool
	ProtoMaxBulkLen int64
	// Limits: the encoding thresholds (hash-max-listpack-entries, ...).
	Limits                 datatypes.Limits
	ClientQueryBufferLimit int64
	// NotifyKeyspaceEvents is notify-keyspace-events: the classes of
	// keyspace events published, as command.NotifyClass bits (Notify*).
	NotifyKeyspaceEvents uint16
	// ClientOutputBufferLimits is client-output-buffer-limit, indexed by
	// ClientNormal, ClientReplica and ClientPubsub.
	ClientOutputBufferLimits [3]OBufLimit
	EnableDebugCommand       string // "no" | "yes" | "local"
	LogFile                  string // "" = standard output
	LogLevel                 string // "debug" | "verbose" | "notice" | "warning"
	PidFile                  string // "" = none (daemonize yes defaults it to DefaultDaemonPidFile)
	Daemonize                bool
	Hz                       int // clamped to [MinHz, MaxHz] as Redis does
	// BusyReplyThreshold is busy-reply-threshold (alias lua-time-limit),
	// in milliseconds: a script running longer makes other clients get
	// BUSY and may be killed with SCRIPT KILL / FUNCTION KILL.
	BusyReplyThreshold int64
	// TrackingTableMaxKeys is tracking-table-max-keys: past this many keys
	// in client-side caching's key table, random keys are forgotten (and
	// invalidated); 0 for no limit.
	TrackingTableMaxKeys int64

	// Save holds the RDB save points, "seconds changes" pairs separated
	// by spaces ("" for none; see SavePoints). DBFilename is the RDB file
	// in Dir.
	Save       string
	DBFilename string
	// StopWritesOnBgsaveError refuses writes (MISCONF) while the last
	// background save failed and save points are set.
	StopWritesOnBgsaveError bool
	// AutoAOFRewritePercentage and AutoAOFRewriteMinSize start an AOF
	// rewrite when the log grew that many percent past its size after the
	// last rewrite and is over the minimum (0 percent disables).
	AutoAOFRewritePercentage int
	AutoAOFRewriteMinSize    int64
	// Scheduled snapshots: SnapshotSchedule is a daily UTC window
	// "HH:MM-HH:MM" ("" for none) in which one RDB snapshot is written to
	// SnapshotDir (relative to Dir), keeping the SnapshotRetention newest.
	// Restore, from the command line, starts from that RDB file.
	SnapshotSchedule  string
	SnapshotRetention int
	SnapshotDir       string
	Restore           string
	// EncryptionKeyFile names a 256-bit key file ("" for none): RDB files
	// Basalt writes are then encrypted (package internal/crypt).
	EncryptionKeyFile string

	// The append-only log (package aof). AppendOnly is fixed at start-up
	// until the log rewrite exists; AppendFsync may change at run time.
	AppendOnly        bool
	AppendFsync       string // "always" | "everysec" | "no"
	AppendDirName     string // the AOF directory, inside Dir
	AppendFileName    string // base name of the AOF files and manifest
	AOFLoadTruncated  bool   // start after truncating a torn tail
	AOFUseRDBPreamble bool   // accepted; matters once rewrite exists

	// ConfigFile is the absolute path of the file Load read, "" if none.
	ConfigFile string
}

// Limits and fixed values shared with the server.
const (
	MaxLoops             = 1024
	MinHz                = 1   // CONFIG_MIN_HZ in Redis
	MaxHz                = 500 // CONFIG_MAX_HZ in Redis
	MaxBindAddrs         = 16  // CONFIG_BINDADDR_MAX in Redis
	DefaultDaemonPidFile = "/var/run/basalt.pid"
)

// Default returns Basalt's defaults: those of Redis 7.0 except that Basalt
// binds to 127.0.0.1 only and has persistence off. Loops is already
// resolved to the CPU count; Dir is "." (Load makes it absolute).
func Default() *Config {
	return &Config{
		Bind:                     []string{"127.0.0.1"},
		Port:                     6379,
		Dir:                      ".",
		Loops:                    autoLoops(),
		Databases:                16,
		MaxClients:               10000,
		Timeout:                  0,
		TCPKeepalive:             300,
		ProtectedMode:            true,
		ProtoMaxBulkLen:          512 << 20,
		ClientQueryBufferLimit:   1 << 30,
		EnableDebugCommand:       "no",
		LogLevel:                 "notice",
		Hz:                       10,
		BusyReplyThreshold:       5000,
		TrackingTableMaxKeys:     1000000,
		AppendFsync:              "everysec",
		AppendDirName:            "appendonlydir",
		AppendFileName:           "appendonly.aof",
		AOFLoadTruncated:         true,
		AOFUseRDBPreamble:        true,
		DBFilename:               "dump.rdb",
		StopWritesOnBgsaveError:  true,
		AutoAOFRewritePercentage: 100,
		SnapshotRetention:        7,
		SnapshotDir:              "snapshots",
		AutoAOFRewriteMinSize:    64 << 20,
		Limits:                   datatypes.DefaultLimits(),
		ClientOutputBufferLimits: defaultOBufLimits(),
	}
}

// autoLoops is what "loops 0" means: one loop per CPU.
func autoLoops() int {
	return min(max(runtime.NumCPU(), 1), MaxLoops)
}

// Clone returns a deep copy that the caller owns and may Set on.
func (c *Config) Clone() *Config {
	n := *c
	n.Bind = slices.Clone(c.Bind)
	return &n
}

// Names returns every directive name in table order.
func (c *Config) Names() []string {
	out := make([]string, len(directives))
	for i := range directives {
		out[i] = directives[i].name
	}
	return out
}

// Get implements CONFIG GET: each pattern is either an exact directive
// name (matched case-insensitively and reported as typed, like Redis) or a
// glob (reported with the canonical name). A directive appears at most once
// even when several patterns match it. Values are rendered as Redis renders
// them: numbers and memory sizes as plain decimals, booleans yes/no, bind
// as a space-separated list.
func (c *Config) Get(patterns ...string) [][2]string {
	var out [][2]string
	var seen [len(directives)]bool
	for _, pat := range patterns {
		if !strings.ContainsAny(pat, "[*?") {
			if i := lookup(pat); i >= 0 && !seen[i] {
				seen[i] = true
				out = append(out, [2]string{pat, directives[i].get(c)})
			}
			continue
		}
		for i := range directives {
			d := &directives[i]
			if !seen[i] && glob.Match([]byte(pat), []byte(d.name), true) {
				seen[i] = true
				out = append(out, [2]string{d.name, d.get(c)})
			}
		}
	}
	return out
}

// Changed returns the canonical names of the directives whose rendered
// values differ between old and new, in table order: what the server must
// apply (re-listen on port/bind, new log level, ...) after publishing new.
func Changed(old, new *Config) []string {
	var out []string
	for i := range directives {
		d := &directives[i]
		if d.get(old) != d.get(new) {
			out = append(out, d.name)
		}
	}
	return out
}

// BindAddr is one listen address resolved from a bind entry.
type BindAddr struct {
	Host     string // IP or host name to pass to net.Listen ("0.0.0.0" for "*", "::" for "::*")
	Optional bool   // the entry had a leading '-': failing to bind it is not an error
}

// BindAddrs resolves Bind the way Redis does: "*" is every IPv4 address,
// "::*" every IPv6 address, and a leading '-' makes an address optional.
func (c *Config) BindAddrs() []BindAddr {
	out := make([]BindAddr, 0, len(c.Bind))
	for _, b := range c.Bind {
		a := BindAddr{Host: b}
		if strings.HasPrefix(b, "-") {
			a.Host, a.Optional = b[1:], true
		}
		switch a.Host {
		case "*":
			a.Host = "0.0.0.0"
		case "::*":
			a.Host = "::"
		}
		out = append(out, a)
	}
	return out
}
