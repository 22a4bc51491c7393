// Package server wires Basalt together: configuration, the loops, and the
// connection and administration commands (HELLO, AUTH, CLIENT, INFO,
// CONFIG, COMMAND, DEBUG, SHUTDOWN ...).
package server

import (
	"fmt"
	"github.com/basaltdb/basalt/internal/crypt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/basaltdb/basalt/aof"
	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/command/meta"
	"github.com/basaltdb/basalt/config"
	"github.com/basaltdb/basalt/effect"
	"github.com/basaltdb/basalt/loop"
	"github.com/basaltdb/basalt/script"
)

// Version is the Redis version Basalt reports to clients (HELLO, INFO
// redis_version): the one whose behaviour it reproduces.
const Version = "7.0.15"

// BasaltVersion is Basalt's own version.
const BasaltVersion = "0.1.0"

// Server is one Basalt instance. Several may run in one process (tests).
type Server struct {
	cfg      atomic.Pointer[config.Config]
	log      *slog.Logger
	engine   *loop.Engine
	scripts  *script.Engine // script cache and function libraries (set by Run before loading; snapshots and the RDB loader use its libraries)
	table    *command.Table
	lastSave atomic.Int64 // unix seconds
	rdb      rdbState
	rw       rewriteState
	// lastScheduled is when the last scheduled snapshot started (saveCron's
	// goroutine only).
	lastScheduled time.Time
	started       time.Time
	// Effects, when set before Run, receives every effect batch (tests).
	Effects func(loop int, l *effect.Log)
	// aof is the append-only log (nil with appendonly no); replies wait
	// for it while the engine's reply gate is on (appendfsync always).
	aof *aof.Log
	// OnConfig, when set, is called with each configuration CONFIG SET
	// publishes (to apply loglevel in the binary's logger).
	OnConfig func(c *config.Config)
	shutdown chan struct{}
	stopOnce sync.Once
	meta     *meta.Table
	runIDMu  sync.Once
	runIDVal string
	// encKey is the encryption-key-file key (nil for none), read once by
	// New and read-only after: RDB files are written encrypted with it.
	encKey []byte
}

// New validates nothing more (config.Load did) and builds the server.
func New(cfg *config.Config, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{log: log, started: time.Now(), shutdown: make(chan struct{})}
	s.cfg.Store(cfg)
	if cfg.EncryptionKeyFile != "" {
		// Loaded once: the directive is immutable, and a server that
		// cannot read its key must not start (it would write plain files).
		key, err := crypt.LoadKey(cfg.EncryptionKeyFile)
		if err != nil {
			return nil, err
		}
		s.encKey = key
	}
	s.lastSave.Store(time.Now().Unix())
	s.table = command.Builtin()
	s.addCommands(s.table)
	return s, nil
}

// Config returns the configuration in force; any goroutine may call it.
func (s *Server) Config() *config.Config { return s.cfg.Load() }

// Engine returns the loops (valid once Run has started them).
func (s *Server) Engine() *loop.Engine { return s.engine }

// Table returns the command table.
func (s *Server) Table() *command.Table { return s.table }

// Run serves until Stop or SHUTDOWN. ready (may be nil) receives nil once
// clients are served, or the start-up error.
func (s *Server) Run(ready chan<- error) error {
	cfg := s.Config()
	var addrs []string
	for _, b := range cfg.BindAddrs() {
		addrs = append(addrs, net.JoinHostPort(b.Host, strconv.Itoa(cfg.Port)))
	}
	if len(addrs) == 0 {
		return config.ErrNoListener
	}
	// gnet reports a busy port as a setsockopt error; check first so the
	// message says what Redis says.
	for _, a := range addrs {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			return fmt.Errorf("Could not create server TCP listening socket %s: %v. Failed listening on port %d (tcp), aborting", a, err, cfg.Port)
		}
		ln.Close()
	}
	// Without a log (or a test listening), nobody reads effect records:
	// the loops then only count them.
	effects := s.effects
	if !cfg.AppendOnly && s.Effects == nil {
		effects = nil
	}
	scripts, err := newScriptEngine()
	if err != nil {
		return err
	}
	defer scripts.Close()
	s.scripts = scripts
	eng, err := loop.New(loop.Options{
		Loops: cfg.Loops, Addrs: addrs, Table: s.table, Config: s.Config,
		Effects: effects, WriteRefusal: s.writeRefusal, AllowProtected: s.allowProtected,
		Logf:   func(f string, a ...any) { s.log.Info(fmt.Sprintf(f, a...)) },
		Script: s.scriptOptions(scripts),
	})
	if err != nil {
		return err
	}
	s.engine = eng
	if cfg.AppendOnly {
		if cfg.Restore != "" {
			// The snapshot becomes the base of a new AOF directory.
			if err := aof.CreateFromBase(s.aofOptions(cfg, eng), cfg.Restore); err != nil {
				return fmt.Errorf("--restore %s: %w", cfg.Restore, err)
			}
		}
		if err := s.openAOF(cfg, eng); err != nil {
			return err
		}
		defer s.closeAOF()
	} else if cfg.Restore != "" {
		if err := s.loadRDBFile(cfg, eng, cfg.Restore, true); err != nil {
			return err
		}
	} else if err := s.loadRDBFile(cfg, eng, filepath.Join(cfg.Dir, cfg.DBFilename), false); err != nil {
		return err
	}
	go s.saveCron(s.shutdown)
	inner := make(chan error, 1)
	go func() {
		err := <-inner
		if err == nil {
			s.log.Info("Ready to accept connections", "addrs", strings.Join(addrs, " "), "loops", cfg.Loops)
		}
		if ready != nil {
			ready <- err
		}
	}()
	go func() {
		<-s.shutdown
		eng.Stop()
	}()
	return eng.Serve(inner)
}

// Stop stops serving; Run returns. Safe from any goroutine, repeatedly.
func (s *Server) Stop() {
	s.stopOnce.Do(func() { close(s.shutdown) })
}

// Done is closed when Stop or SHUTDOWN was requested.
func (s *Server) Done() <-chan struct{} { return s.shutdown }
