package server

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/rdb"
)

// The AOF rewrite without fork (BGREWRITEAOF, auto-aof-rewrite-*): a
// point-in-time snapshot of the dataset becomes the new RDB base file.
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

// cmdBgrewriteaof is BGREWRITEAOF.
func (s *Server) cmdBgrewriteaof(c *command.Ctx) {
	if s.aof == nil {
		s.log.Warn("BGREWRITEAOF: Basalt rewrites the append-only file only with appendonly yes")
		c.Out.Error("ERR Can't execute an AOF background rewriting. Please check the server logs for more information.")
		return
	}
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
			s.rw.baseSize.Store(s.aof.Stats().CurrentSize)
			s.log.Info("Background AOF rewrite finished successfully")
		}
		s.rw.mu.Unlock()
		s.rw.running.Store(false)
	}()
	return true
}

// rewriteAOF writes the new base and switches the manifest to it.
func (s *Server) rewriteAOF() error {
	cfg := s.Config()
	dir := filepath.Join(cfg.Dir, cfg.AppendDirName)
	tmp := filepath.Join(dir, fmt.Sprintf("temp-rewriteaof-bg-%d.aof", os.Getpid()))
	var rotErr error
	err := writeRDBTemp(tmp, s.encKey, func(w *rdb.Writer) error {
		return s.snapshotInto(w, func() { rotErr = s.aof.Rotate() })
	})
	if rotErr != nil {
		os.Remove(tmp)
		return rotErr
	}
	if err != nil {
		return err
	}
	return s.aof.InstallBase(tmp)
}

// rewriteCron starts a scheduled rewrite, or an automatic one when the log
// grew auto-aof-rewrite-percentage past its size after the last rewrite
// and is over auto-aof-rewrite-min-size (Redis's serverCron rule).
func (s *Server) rewriteCron() {
	if s.aof == nil || s.rw.running.Load() {
		return
	}
	s.rw.mu.Lock()
	scheduled := s.rw.scheduled
	s.rw.mu.Unlock()
	if scheduled {
		s.startRewrite()
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
