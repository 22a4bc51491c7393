package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/basaltdb/basalt/command"
	"github.com/basaltdb/basalt/config"
	"github.com/basaltdb/basalt/datatypes"
	"github.com/basaltdb/basalt/internal/crypt"
	"github.com/basaltdb/basalt/keyspace"
	"github.com/basaltdb/basalt/loop"
	"github.com/basaltdb/basalt/rdb"
	"github.com/basaltdb/basalt/script"
)

// RDB snapshots: SAVE (every loop parked while the file is written, as
// Redis's SAVE blocks), BGSAVE and the save points (a point-in-time
// snapshot taken while the loops keep serving, loop.Engine.Snapshot), and
// loading the file at start-up.
//
// A file is written as temp-<pid>-<n>.rdb in dir, fsynced, renamed over
// dbfilename and the directory fsynced, so a crash leaves either the old
// file or the new one.

// rdbState is the server's RDB bookkeeping. mu guards the fields below
// it; the counters are atomic for INFO.
type rdbState struct {
	mu         sync.Mutex
	saving     bool // a SAVE or BGSAVE runs
	bgStart    time.Time
	lastStatus string // "ok" or "err", of the last save
	lastBgSecs int64
	lastTry    time.Time

	bgFailed    atomic.Bool // the last BGSAVE failed (stop-writes-on-bgsave-error)
	saves       atomic.Int64
	dirtyAtSave atomic.Int64 // engine.Dirty() the last good save covered
	bgRunning   atomic.Bool
	loadedKeys  atomic.Int64
	expiredKeys atomic.Int64
	tmpSeq      atomic.Int64
}

// errBgsaveMisconf is Redis's refusal of writes after a failed BGSAVE
// with save points set and stop-writes-on-bgsave-error yes.
const errBgsaveMisconf = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error."

// errSaveInProgress is Redis's reply while a save runs.
const errSaveInProgress = "ERR Background save already in progress"

// rdbAux are the aux fields Redis 7.0 writes at the head of a file.
func rdbAux() [][2]string {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return [][2]string{
		{"redis-ver", Version},
		{"redis-bits", strconv.Itoa(strconv.IntSize)},
		{"ctime", strconv.FormatInt(time.Now().Unix(), 10)},
		{"used-mem", strconv.FormatUint(ms.HeapAlloc, 10)},
		{"aof-base", "0"},
	}
}

// beginSave marks a save as running; false when one already runs.
func (s *Server) beginSave(bg bool) bool {
	st := &s.rdb
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.saving {
		return false
	}
	st.saving = true
	st.lastTry = time.Now()
	if bg {
		st.bgStart = time.Now()
		st.bgRunning.Store(true)
	}
	return true
}

// endSnapshot ends a snapshot begun with beginSave(false) that is not a
// save of dbfilename (AOF rewrite, scheduled snapshot): it only frees the
// slot for the next one.
func (s *Server) endSnapshot() {
	s.rdb.mu.Lock()
	s.rdb.saving = false
	s.rdb.mu.Unlock()
}

// endSave records the outcome of a save that covered the changes up to
// dirty.
func (s *Server) endSave(bg bool, dirty int64, err error) {
	st := &s.rdb
	st.mu.Lock()
	defer st.mu.Unlock()
	st.saving = false
	if bg {
		st.lastBgSecs = int64(time.Since(st.bgStart).Seconds())
		st.bgRunning.Store(false)
		st.bgFailed.Store(err != nil)
	}
	if err != nil {
		st.lastStatus = "err"
		s.log.Warn("Background saving error", "err", err)
		return
	}
	st.lastStatus = "ok"
	st.saves.Add(1)
	st.dirtyAtSave.Store(dirty)
	s.lastSave.Store(time.Now().Unix())
	s.log.Info("DB saved on disk")
}

// writeRDBTemp writes a complete RDB file at tmp (body adds the records)
// and fsyncs it; on failure tmp is removed. With a key (encryption-key-file)
// the file is encrypted: rdb.Writer -> bufio -> crypt writer -> file, each
// flushed in that order, and the crypt writer closed (final chunk) before
// the fsync.
func writeRDBTemp(tmp string, key []byte, body func(w *rdb.Writer) error) error {
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("Failed opening the temp file %s for saving: %w", tmp, err)
	}
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("Write error saving DB on disk: %w", err)
	}
	var dst io.Writer = f
	var enc io.WriteCloser
	if key != nil {
		// The crypt writer buffers a chunk and writes whole sealed
		// chunks, so the file itself needs no buffer of its own.
		if enc, err = crypt.NewWriter(f, key); err != nil {
			return fail(err)
		}
		dst = enc
	}
	bw := bufio.NewWriterSize(dst, 1<<20)
	w, err := rdb.NewWriter(bw, rdbAux())
	if err != nil {
		return fail(err)
	}
	if err := body(w); err != nil {
		return fail(err)
	}
	if err := w.Close(); err != nil {
		return fail(err)
	}
	if err := bw.Flush(); err != nil {
		return fail(err)
	}
	if enc != nil {
		if err := enc.Close(); err != nil {
			return fail(err)
		}
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("Write error saving DB on disk: %w", err)
	}
	return nil
}

// writeRDBFile writes dbfilename the safe way: temp file, fsync, rename
// over dbfilename, fsync the directory.
func (s *Server) writeRDBFile(cfg *config.Config, body func(w *rdb.Writer) error) error {
	dir := cfg.Dir
	tmp := filepath.Join(dir, fmt.Sprintf("temp-%d-%d.rdb", os.Getpid(), s.rdb.tmpSeq.Add(1)))
	if err := writeRDBTemp(tmp, s.encKey, body); err != nil {
		return err
	}
	final := filepath.Join(dir, cfg.DBFilename)
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("Error moving temp DB file %s on the final destination %s (in server root dir %s): %w", filepath.Base(tmp), cfg.DBFilename, dir, err)
	}
	if d, err := os.Open(dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return fmt.Errorf("Failed to fsync directory %s: %w", dir, err)
		}
	}
	return nil
}

// cmdSave is SAVE: every loop is parked (a ScopeAll command) while the
// dataset is written.
func (s *Server) cmdSave(c *command.Ctx) {
	if err := s.saveParked(c); err != nil {
		if err == errBusy {
			c.Out.Error(errSaveInProgress)
			return
		}
		s.log.Warn("SAVE failed", "err", err)
		c.Out.Error("ERR")
		return
	}
	c.Out.OK()
}

// debugReload is DEBUG RELOAD: SAVE, empty every database, load the file
// back (every loop parked, as the whole command).
func (s *Server) debugReload(c *command.Ctx) {
	if err := s.saveParked(c); err != nil {
		c.Out.Error("ERR Error trying to save the DB: " + err.Error())
		return
	}
	cfg := s.Config()
	f, err := os.Open(filepath.Join(cfg.Dir, cfg.DBFilename))
	if err != nil {
		c.Out.Error("ERR Error trying to load the RDB dump: " + err.Error())
		return
	}
	defer f.Close()
	for _, sh := range c.Shards {
		sh.Flush(-1)
	}
	// emptyData drops the function libraries too; the file brings them
	// back.
	if s.scripts != nil {
		s.scripts.Functions().Flush()
	}
	if err := s.readRDB(f, f.Name(), cfg, s.engine); err != nil {
		s.log.Warn("DEBUG RELOAD: loading failed", "err", err)
		c.Out.Error("ERR Error trying to load the RDB dump, check server logs.")
		return
	}
	c.Out.OK()
}

// saveParked writes dbfilename from c's shards, every loop parked.
func (s *Server) saveParked(c *command.Ctx) error {
	if !s.beginSave(false) {
		return errBusy
	}
	dirty := s.engine.Dirty()
	err := s.writeRDBFile(s.Config(), func(w *rdb.Writer) error {
		if err := writeFunctions(w, s.libraryCodes()); err != nil {
			return err
		}
		for db := 0; db < c.Shards[0].Databases(); db++ {
			first := true
			for _, sh := range c.Shards {
				var err error
				sh.ForEach(db, func(e *keyspace.Entry) bool {
					if first {
						if err = w.Raw(rdb.AppendSelectDB(nil, db)); err != nil {
							return false
						}
						first = false
					}
					err = w.Entry(e.Key, e)
					return err == nil
				})
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
	s.endSave(false, dirty, err)
	return err
}

// cmdBgsave is BGSAVE [SCHEDULE].
func (s *Server) cmdBgsave(c *command.Ctx) {
	if len(c.Args) > 2 || len(c.Args) == 2 && !datatypes.EqualFoldC(c.Args[1], "schedule") {
		c.Out.Error(command.ErrSyntax)
		return
	}
	if s.rw.running.Load() {
		c.Out.Error("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.")
		return
	}
	if err := s.startBgsave(); err != nil {
		c.Out.Error(errSaveInProgress)
		return
	}
	c.Out.SimpleString("Background saving started")
}

var errBusy = errors.New("save in progress")

// startBgsave starts a background save; errBusy when one runs.
func (s *Server) startBgsave() error {
	if !s.beginSave(true) {
		return errBusy
	}
	s.log.Info("Background saving started")
	go func() {
		dirty, err := s.snapshotRDB()
		s.endSave(true, dirty, err)
	}()
	return nil
}

// snapshotRDB writes a point-in-time snapshot to dbfilename while the
// loops serve, and returns the change count it covers.
func (s *Server) snapshotRDB() (int64, error) {
	var dirty int64
	err := s.writeRDBFile(s.Config(), func(w *rdb.Writer) error {
		return s.snapshotInto(w, func() { dirty = s.engine.Dirty() })
	})
	return dirty, err
}

// snapshotInto writes the records of a point-in-time snapshot to w: the
// function libraries, then the databases; atStart runs at the snapshot's
// instant, every loop parked.
func (s *Server) snapshotInto(w *rdb.Writer, atStart func()) error {
	// AppendEntry touches no Writer state: the loops and the snapshot
	// goroutine may call it at once.
	enc := func(dst []byte, e *keyspace.Entry) []byte { return w.AppendEntry(dst, e.Key, e) }
	// The libraries of the snapshot's instant (FUNCTION LOAD & co. run
	// with every loop parked, so none is half registered then), written
	// before the first database as rdbSaveFunctions does: at the first
	// image, or at the end when there is none.
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
		return writeFunctions(w, libs)
	}
	last := -1
	err := s.engine.Snapshot(loop.EntryEncoder(enc), start, func(db int, data []byte) error {
		if err := flushLibs(); err != nil {
			return err
		}
		if db != last {
			if err := w.Raw(rdb.AppendSelectDB(nil, db)); err != nil {
				return err
			}
			last = db
		}
		return w.Raw(data)
	})
	if err != nil {
		return err
	}
	return flushLibs()
}

// libraryCodes returns the code of every function library, by name (Redis
// writes its dict's order, which differs from process to process). The
// codes are immutable; any goroutine may call it.
func (s *Server) libraryCodes() [][]byte {
	if s.scripts == nil {
		return nil
	}
	libs := s.scripts.Functions().Libraries()
	codes := make([][]byte, len(libs))
	for i, l := range libs {
		codes[i] = l.Code
	}
	return codes
}

// writeFunctions writes one RDB_OPCODE_FUNCTION2 record per library.
func writeFunctions(w *rdb.Writer, codes [][]byte) error {
	for _, c := range codes {
		if err := w.Function(c); err != nil {
			return err
		}
	}
	return nil
}

// libraryLoader returns the RDB loader's hook that registers each library
// of the file in the script engine (rdbFunctionLoad: no REPLACE, so one
// already registered fails the load), compiling in a VM of its own, and
// a function releasing that VM. Called by the goroutine loading.
func (s *Server) libraryLoader() (rdb.LoadFunc, func()) {
	if s.scripts == nil {
		return nil, func() {}
	}
	var vm *script.VM
	load := func(code []byte) error {
		if vm == nil {
			vm = s.scripts.NewVM()
		}
		if _, errMsg := vm.FunctionLoad(code, false, nil); errMsg != "" {
			return errors.New(strings.TrimPrefix(errMsg, "ERR "))
		}
		return nil
	}
	return load, func() {
		if vm != nil {
			vm.Close()
		}
	}
}

// saveCron starts a background save when a save point is reached, as
// Redis's serverCron (after a failure, not before 5 seconds).
func (s *Server) saveCron(stop <-chan struct{}) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		s.rewriteCron()
		s.snapshotCron(time.Now())
		pts := s.Config().SavePoints()
		if len(pts) == 0 {
			continue
		}
		changes := s.engine.Dirty() - s.rdb.dirtyAtSave.Load()
		since := time.Now().Unix() - s.lastSave.Load()
		s.rdb.mu.Lock()
		retryOK := s.rdb.lastStatus != "err" || time.Since(s.rdb.lastTry) > 5*time.Second
		s.rdb.mu.Unlock()
		for _, p := range pts {
			if changes >= p[1] && since >= p[0] && retryOK {
				s.log.Info(fmt.Sprintf("%d changes in %d seconds. Saving...", p[1], p[0]))
				_ = s.startBgsave()
				break
			}
		}
	}
}

// saveOnShutdown writes the dataset before exiting when save points are
// configured (or force), as Redis's prepareForShutdown.
func (s *Server) saveOnShutdown(force bool) error {
	if !force && len(s.Config().SavePoints()) == 0 {
		return nil
	}
	for i := 0; !s.beginSave(true); i++ { // wait for a running BGSAVE
		if i > 600 {
			return errBusy
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.log.Info("Saving the final RDB snapshot before exiting.")
	dirty, err := s.snapshotRDB()
	s.endSave(true, dirty, err)
	return err
}

// loadRDBFile loads an RDB file at start-up (dbfilename with appendonly
// no, or the --restore snapshot, which must exist), before the loops
// serve. A damaged file stops start-up with the error (file, offset, what
// was expected).
func (s *Server) loadRDBFile(cfg *config.Config, eng *loop.Engine, path string, mustExist bool) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) && !mustExist {
		return nil
	}
	if err != nil {
		return fmt.Errorf("Fatal error loading the DB: %v. Exiting.", err)
	}
	defer f.Close()
	start := time.Now()
	if err := s.readRDB(f, path, cfg, eng); err != nil {
		return err
	}
	s.rdb.dirtyAtSave.Store(eng.Dirty())
	if st, err := f.Stat(); err == nil {
		s.lastSave.Store(st.ModTime().Unix())
	}
	s.log.Info(fmt.Sprintf("DB loaded from disk: %.3f seconds", time.Since(start).Seconds()),
		"file", path, "keys", s.rdb.loadedKeys.Load(), "expired", s.rdb.expiredKeys.Load())
	return nil
}

// readRDB loads an RDB stream (dbfilename, or an AOF base with keys) into
// eng's shards, and its function libraries into the script engine; keys
// whose time is up are skipped, as Redis's master does. An encrypted file
// (package crypt) is decrypted with the server's key; a plain one loads
// as is, so enabling encryption keeps an existing dump loadable. A plain r that is an io.Seeker is left just after the
// RDB's checksum (an old-style AOF's commands follow it). Only before the
// loops serve.
func (s *Server) readRDB(r io.Reader, name string, cfg *config.Config, eng *loop.Engine) error {
	br := bufio.NewReaderSize(r, 1<<20)
	var src io.Reader = br
	if rs, ok := r.(io.ReadSeeker); ok {
		src = &bufSeeker{br: br, f: rs}
	}
	var cr io.Reader
	if head, _ := br.Peek(len(crypt.Magic)); crypt.IsEncrypted(head) {
		if s.encKey == nil {
			return fmt.Errorf("%s is encrypted: set encryption-key-file", name)
		}
		cr = crypt.NewReader(br, s.encKey, name)
		src = cr
	}
	now := time.Now().UnixMilli()
	var loaded, expired int64
	lib, libDone := s.libraryLoader()
	defer libDone()
	// Loading mode: RESIZEDB's counts size slot dicts up front (a
	// database's keys then move no entry as they come).
	defer eng.BeginLoad(keyspace.LoadingSized)()
	resize := func(db int, keys, _ uint64) {
		if db < cfg.Databases {
			eng.ReserveKeys(db, keys)
		}
	}
	err := rdb.LoadSized(src, name, &cfg.Limits, func(db int, key []byte, v rdb.Value, expireMs int64) error {
		if db >= cfg.Databases {
			return fmt.Errorf("FATAL: Data file was created with a Redis server configured to handle more than %d databases. Exiting", cfg.Databases)
		}
		if expireMs != 0 && expireMs < now {
			expired++
			return nil
		}
		sh, e := eng.LoadEntry(db, key)
		e.Kind, e.Str, e.Obj = v.Kind, v.Str, v.Obj
		if v.Obj == nil {
			e.Enc = command.StringEncoding(v.Str)
		}
		if expireMs != 0 {
			sh.SetExpire(db, e, expireMs)
		}
		loaded++
		return nil
	}, lib, resize)
	if err == nil && cr != nil {
		// rdb.Load stops at the RDB footer; reading on checks the
		// encrypted stream's final chunk, so a file cut after the footer
		// is still caught.
		_, err = io.Copy(io.Discard, cr)
	}
	s.rdb.loadedKeys.Add(loaded)
	s.rdb.expiredKeys.Add(expired)
	return err
}

// bufSeeker is a buffered reader over f that can seek: rdb.Load reads
// ahead in blocks and seeks back over what it did not consume, which
// leaves f just after the RDB.
type bufSeeker struct {
	br *bufio.Reader
	f  io.ReadSeeker
}

func (b *bufSeeker) Read(p []byte) (int, error) { return b.br.Read(p) }

func (b *bufSeeker) Seek(off int64, whence int) (int64, error) {
	if whence == io.SeekCurrent {
		off -= int64(b.br.Buffered()) // f is ahead of the reader by that much
	}
	n, err := b.f.Seek(off, whence)
	b.br.Reset(b.f)
	return n, err
}

// infoRDB appends the rdb_* fields of INFO persistence.
func (s *Server) infoRDB(b []byte) []byte {
	st := &s.rdb
	st.mu.Lock()
	status, lastSecs, bgStart := st.lastStatus, st.lastBgSecs, st.bgStart
	st.mu.Unlock()
	if status == "" {
		status, lastSecs = "ok", -1
	}
	cur := int64(-1)
	if st.bgRunning.Load() {
		cur = int64(time.Since(bgStart).Seconds())
	}
	b = kv(b, "rdb_changes_since_last_save", s.engine.Dirty()-st.dirtyAtSave.Load())
	b = kv(b, "rdb_bgsave_in_progress", b2i(st.bgRunning.Load()))
	b = kv(b, "rdb_last_save_time", s.lastSave.Load())
	b = kv(b, "rdb_last_bgsave_status", status)
	b = kv(b, "rdb_last_bgsave_time_sec", lastSecs)
	b = kv(b, "rdb_current_bgsave_time_sec", cur)
	b = kv(b, "rdb_saves", st.saves.Load())
	b = kv(b, "rdb_last_cow_size", 0)
	b = kv(b, "rdb_last_load_keys_expired", st.expiredKeys.Load())
	b = kv(b, "rdb_last_load_keys_loaded", st.loadedKeys.Load())
	return b
}
