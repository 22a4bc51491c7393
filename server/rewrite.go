package server

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/basaltdb/basalt/aof"
	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/keyspace"
	"github.com/basaltdb/basalt/loop"
	"github.com/basaltdb/basalt/rdb"
)

// The AOF rewrite without fork (BGREWRITEAOF, auto-aof-rewrite-*): a
// point-in-time snapshot of the dataset becomes the new base file, an RDB
// (aof-use-rdb-preamble yes) or the commands that rebuild the dataset
// (no), as aof-use-rdb-preamble says when the rewrite starts.
// At the snapshot's instant, every loop parked (so every effect before it
// is already handed to the log), the log rotates to a new incr file that
// the manifest lists after the old ones; the base is written beside it as
// a temp file, fsynced, renamed, and the manifest switched to the new base
// and that incr file (aof.Log.Rotate, InstallBase). A crash at any point
// leaves a directory that loads to the full dataset: before the switch the
// old base and every incr file, after it the new base and the new incr.

// rewriteState is the rewrite bookkeeping; mu guards the fields after it.
type rewriteState struct {
	mu         sync.Mutex
	scheduled  bool
	start      time.Time
	lastStatus string
	lastSecs   int64

	running  atomic.Bool
	rewrites atomic.Int64
	failures atomic.Int64
	baseSize atomic.Int64 // log size after the last rewrite (or at start), for auto-aof-rewrite-percentage
}

// cmdBgrewriteaof is BGREWRITEAOF. With appendonly no it rewrites too, as
// Redis 7.0: the AOF directory then holds the new base and a manifest
// listing only it, which a later start with appendonly yes loads.
func (s *Server) cmdBgrewriteaof(c *command.Ctx) {
	if s.rw.running.Load() {
		c.Out.Error("ERR Background append only file rewriting already in progress")
		return
	}
	if !s.startRewrite() {
		s.rw.mu.Lock()
		s.rw.scheduled = true
		s.rw.mu.Unlock()
		c.Out.SimpleString("Background append only file rewriting scheduled")
		return
	}
	c.Out.SimpleString("Background append only file rewriting started")
}

// startRewrite starts a rewrite unless a snapshot (BGSAVE or rewrite)
// runs; it reports whether it started.
func (s *Server) startRewrite() bool {
	if !s.beginSave(false) {
		return false
	}
	s.rw.running.Store(true)
	s.rw.mu.Lock()
	s.rw.start, s.rw.scheduled = time.Now(), false
	s.rw.mu.Unlock()
	s.log.Info("Background append only file rewriting started")
	go func() {
		err := s.rewriteAOF()
		s.endSnapshot()
		s.rw.mu.Lock()
		s.rw.lastSecs = int64(time.Since(s.rw.start).Seconds())
		if err != nil {
			s.rw.lastStatus = "err"
			s.rw.failures.Add(1)
			s.log.Warn("Background AOF rewrite failed", "err", err)
		} else {
			s.rw.lastStatus = "ok"
			s.rw.failures.Store(0)
			s.rw.rewrites.Add(1)
			if s.aof != nil {
				s.rw.baseSize.Store(s.aof.Stats().CurrentSize)
			}
			s.log.Info("Background AOF rewrite finished successfully")
		}
		s.rw.mu.Unlock()
		s.rw.running.Store(false)
	}()
	return true
}

// rewriteAOF writes the new base, in the format aof-use-rdb-preamble asks
// for at the start of this rewrite, and switches the manifest to it. With
// the log off there is no incr file to rotate: the base alone is listed.
func (s *Server) rewriteAOF() error {
	cfg := s.Config()
	opts := aof.Options{
		Dir:      filepath.Join(cfg.Dir, cfg.AppendDirName),
		FileName: cfg.AppendFileName,
		Logf:     func(f string, a ...any) { s.log.Warn(fmt.Sprintf(f, a...)) },
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return fmt.Errorf("Can't open or create append-only dir %s: %w", opts.Dir, err)
	}
	tmp := filepath.Join(opts.Dir, fmt.Sprintf("temp-rewriteaof-bg-%d.aof", os.Getpid()))
	var rotErr error
	atStart := func() {
		if s.aof != nil {
			rotErr = s.aof.Rotate()
		}
	}
	kind := aof.BaseRDB
	var err error
	if cfg.AOFUseRDBPreamble {
		err = writeRDBTemp(tmp, s.encKey, func(w *rdb.Writer) error {
			return s.snapshotInto(w, atStart)
		})
	} else {
		kind = aof.BaseAOF
		err = s.snapshotCommands(tmp, atStart)
	}
	if rotErr != nil {
		os.Remove(tmp)
		return rotErr
	}
	if err != nil {
		return err
	}
	if s.aof == nil {
		return aof.InstallBaseOnly(opts, tmp, kind)
	}
	return s.aof.InstallBase(tmp, kind)
}

// snapshotCommands writes a point-in-time snapshot to the temp file tmp as
// the commands that rebuild it (aof-use-rdb-preamble no: FUNCTION LOAD per
// library, then per database SELECT and the keys), encrypted with
// encryption-key-file like an incr file; atStart runs at the snapshot's
// instant, every loop parked. On failure tmp is removed.
func (s *Server) snapshotCommands(tmp string, atStart func()) error {
	bw, err := aof.CreateBase(tmp, s.encKey)
	if err != nil {
		return err
	}
	// AppendEntryCommands only reads e: the loops and the snapshot
	// goroutine may call it at once.
	enc := func(dst []byte, e *keyspace.Entry) []byte { return aof.AppendEntryCommands(dst, e) }
	// Slot images of the databases arrive interleaved: a SELECT whenever
	// the database changes (Redis writes one per database).
	// The libraries of the snapshot's instant come first, as "FUNCTION
	// LOAD <code>" (rewriteFunctions): at the first image, or at the end
	// when there is none.
	var libs [][]byte
	libsDone := false
	start := func() {
		libs = s.libraryCodes()
		if atStart != nil {
			atStart()
		}
	}
	flushLibs := func() error {
		if libsDone {
			return nil
		}
		libsDone = true
		var b []byte
		for _, c := range libs {
			b = aof.AppendFunctionLoad(b, c)
		}
		if len(b) == 0 {
			return nil
		}
		return bw.Write(b)
	}
	last := -1
	var sel []byte
	err = s.engine.Snapshot(loop.EntryEncoder(enc), start, func(db int, data []byte) error {
		if err := flushLibs(); err != nil {
			return err
		}
		if db != last {
			sel = aof.AppendSelect(sel[:0], db)
			if err := bw.Write(sel); err != nil {
				return err
			}
			last = db
		}
		return bw.Write(data)
	})
	if err == nil {
		err = flushLibs()
	}
	if err != nil {
		bw.Abort()
		return fmt.Errorf("Write error writing append only file on disk: %w", err)
	}
	return bw.Finish()
}

// rewriteCron starts a scheduled rewrite, or an automatic one when the log
// grew auto-aof-rewrite-percentage past its size after the last rewrite
// and is over auto-aof-rewrite-min-size (Redis's serverCron rule).
func (s *Server) rewriteCron() {
	if s.rw.running.Load() {
		return
	}
	s.rw.mu.Lock()
	scheduled := s.rw.scheduled
	s.rw.mu.Unlock()
	if scheduled { // also with appendonly no, as Redis's serverCron
		s.startRewrite()
		return
	}
	if s.aof == nil {
		return
	}
	cfg := s.Config()
	pct := int64(cfg.AutoAOFRewritePercentage)
	cur := s.aof.Stats().CurrentSize
	base := max(s.rw.baseSize.Load(), 1)
	if pct > 0 && cur > cfg.AutoAOFRewriteMinSize && (cur-base)*100/base >= pct {
		s.log.Info(fmt.Sprintf("Starting automatic rewriting of AOF on %d%% growth", (cur-base)*100/base))
		s.startRewrite()
	}
}

// infoRewrite appends the aof_rewrite* fields of INFO persistence.
func (s *Server) infoRewrite(b []byte) []byte {
	st := &s.rw
	st.mu.Lock()
	status, last, start, scheduled := st.lastStatus, st.lastSecs, st.start, st.scheduled
	st.mu.Unlock()
	if status == "" {
		status, last = "ok", -1
	}
	cur := int64(-1)
	if st.running.Load() {
		cur = int64(time.Since(start).Seconds())
	}
	b = kv(b, "aof_rewrite_in_progress", b2i(st.running.Load()))
	b = kv(b, "aof_rewrite_scheduled", b2i(scheduled))
	b = kv(b, "aof_last_rewrite_time_sec", last)
	b = kv(b, "aof_current_rewrite_time_sec", cur)
	b = kv(b, "aof_last_bgrewrite_status", status)
	b = kv(b, "aof_rewrites", st.rewrites.Load())
	b = kv(b, "aof_rewrites_consecutive_failures", st.failures.Load())
	return b
}
