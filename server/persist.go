package server

import (
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/basaltdb/basalt/aof"
	"github.com/basaltdb/basalt/config"
	"github.com/basaltdb/basalt/effect"
	"github.com/basaltdb/basalt/loop"
)

// aofOptions derives the log's options from the configuration.
func (s *Server) aofOptions(cfg *config.Config, eng *loop.Engine) aof.Options {
	p, _ := aof.ParsePolicy(cfg.AppendFsync)
	return aof.Options{
		Dir:           filepath.Join(cfg.Dir, cfg.AppendDirName),
		FileName:      cfg.AppendFileName,
		Fsync:         p,
		LoadTruncated: cfg.AOFLoadTruncated,
		NoRDBPreamble: !cfg.AOFUseRDBPreamble,
		Logf:          func(f string, a ...any) { s.log.Warn(fmt.Sprintf(f, a...)) },
		OnDurable:     eng.Durable,
		Key:           s.encKey,
	}
}

// openAOF replays the append-only log into eng's shards and opens it for
// appending. Called by Run before the loops serve.
func (s *Server) openAOF(cfg *config.Config, eng *loop.Engine) error {
	opts := s.aofOptions(cfg, eng)
	// A Redis 6 style appendonly.aof in dir becomes the directory's base,
	// as Redis 7.0 does, rather than being ignored.
	if _, err := aof.Upgrade(opts, filepath.Join(cfg.Dir, cfg.AppendFileName)); err != nil {
		return err
	}
	opts.LoadRDB = func(f io.ReadSeeker, name string) (int64, error) {
		if err := s.readRDB(f, name, cfg, eng); err != nil {
			return 0, err
		}
		// readRDB leaves a seekable input just after the RDB: an
		// old-style AOF's commands follow there.
		return f.Seek(0, io.SeekCurrent)
	}
	start := time.Now()
	r := eng.Replayer(start.UnixMilli())
	st, err := aof.Load(opts, r.Apply)
	r.Done()
	if err != nil {
		return err
	}
	if st.Commands > 0 {
		s.log.Info(fmt.Sprintf("DB loaded from append only file: %.3f seconds", time.Since(start).Seconds()),
			"commands", st.Commands, "bytes", st.Bytes)
	}
	l, err := aof.Open(opts)
	if err != nil {
		return err
	}
	s.aof = l
	s.rw.baseSize.Store(l.Stats().CurrentSize)
	eng.SetReplyGate(opts.Fsync == aof.Always)
	return nil
}

// effects hands a batch of effect records to the test hook and the log and
// returns the batch's log position (0 without a log). Called on the loop or
// executor goroutine that made the batch.
func (s *Server) effects(loopIdx int, l *effect.Log) uint64 {
	if s.Effects != nil {
		s.Effects(loopIdx, l)
	}
	if s.aof == nil {
		return 0
	}
	return s.aof.Append(l.B)
}

// writeRefusal is the error write commands get while the log cannot write:
// Redis's "MISCONF Errors writing to the AOF file: <strerror>".
func (s *Server) writeRefusal() string {
	if s.rdb.bgFailed.Load() {
		cfg := s.Config()
		if cfg.StopWritesOnBgsaveError && cfg.Save != "" {
			return errBgsaveMisconf
		}
	}
	if s.aof == nil {
		return ""
	}
	err := s.aof.WriteErr()
	if err == nil {
		return ""
	}
	return "MISCONF Errors writing to the AOF file: " + err.Error() // glibc wording (aof.WriteError)
}

// applyAOFConfig follows CONFIG SET appendfsync.
func (s *Server) applyAOFConfig(next *config.Config) {
	if s.aof == nil {
		return
	}
	p, _ := aof.ParsePolicy(next.AppendFsync)
	s.aof.SetFsync(p)
	s.engine.SetReplyGate(p == aof.Always)
}

// closeAOF writes and syncs what is pending; called once the loops stopped.
func (s *Server) closeAOF() {
	if s.aof == nil {
		return
	}
	if err := s.aof.Close(); err != nil {
		s.log.Warn("Error closing the append only file: " + err.Error())
	}
}

// infoAOF appends the AOF fields of INFO persistence that Redis prints when
// the AOF is on, plus Basalt's group-commit counters.
func (s *Server) infoAOF(b []byte) []byte {
	st := s.aof.Stats()
	b = kv(b, "aof_current_size", st.CurrentSize)
	b = kv(b, "aof_base_size", st.BaseSize)
	b = kv(b, "aof_pending_rewrite", 0)
	b = kv(b, "aof_buffer_length", st.BufferLength)
	b = kv(b, "aof_pending_bio_fsync", b2i(st.PendingFsync))
	b = kv(b, "aof_delayed_fsync", st.DelayedFsync)
	b = kv(b, "aof_fsyncs", st.Fsyncs)
	b = kv(b, "aof_batches", st.Batches)
	b = kv(b, "aof_batched_bytes", st.BatchedBytes)
	return b
}

func b2i(v bool) int {
	if v {
		return 1
	}
	return 0
}
