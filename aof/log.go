package aof

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/basaltdb/basalt/internal/crypt"
	"github.com/basaltdb/basalt/internal/oserr"
	"github.com/valyala/bytebufferpool"
	"golang.org/x/sys/unix"
)

// Options configures Load and Open.
type Options struct {
	Dir           string // the AOF directory: config dir joined with appenddirname (created if absent)
	FileName      string // appendfilename, e.g. "appendonly.aof"
	Fsync         Policy // appendfsync
	LoadTruncated bool   // aof-load-truncated
	// NoRDBPreamble is aof-use-rdb-preamble no: a new directory gets an
	// empty .base.aof instead of the empty .base.rdb Redis writes by default.
	NoRDBPreamble bool
	// Logf receives warnings (may be nil). Called from Load's caller and
	// from the committer goroutine.
	Logf func(format string, args ...any)
	// Key, when set (encryption-key-file), encrypts the incr files this
	// log creates and appends to (package crypt's append-only format);
	// Load then needs it to read them.
	Key []byte
	// LoadRDB, when set, loads an RDB base file that holds keys (a
	// directory rewritten by Redis, or by Basalt's rewrite), or an
	// old-style AOF's RDB preamble: f reads the file named name from its
	// start. It returns how many bytes the RDB took, checksum included
	// (what it consumed, not what it buffered), since AOF commands may
	// follow. Without it such a file is refused.
	LoadRDB func(f io.ReadSeeker, name string) (n int64, err error)
	// OnDurable is called by the committer goroutine each time Durable()
	// advances (after the fdatasync for Always; after the write for
	// EverySec/No). Must not block.
	OnDurable func(seq uint64)
}

func (o *Options) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

// Stats are the log's figures for INFO persistence and benchmarks.
type Stats struct {
	CurrentSize, BaseSize int64 // aof_current_size, aof_base_size
	BufferLength          int64 // bytes appended but not yet written (aof_buffer_length)
	PendingFsync          bool  // aof_pending_bio_fsync
	DelayedFsync          int64 // aof_delayed_fsync
	// Fsyncs done, Batches (Append calls) written, their bytes, and the
	// write system calls that carried them (Batches/Writes is the average
	// group size).
	Fsyncs, Batches, BatchedBytes, Writes int64
	LastWriteOK                           bool // aof_last_write_status ok|err
	LastWriteErr                          error
}

// WriteError is a failed write, fsync or truncate of the AOF. Error returns
// the C library's wording of the errno (strerror, "No space left on
// device"), which is what Redis prints after "MISCONF Errors writing to the
// AOF file: "; errors.As(err, &unix.Errno) gives the errno itself.
type WriteError struct {
	Op  string // "write", "fdatasync", "short write"
	Err error  // a unix.Errno
}

func (e *WriteError) Error() string { return oserr.Strerror(e.Err) }
func (e *WriteError) Unwrap() error { return e.Err }

// Retry pacing after a failed write or fsync, and the everysec period.
const (
	retryMin      = 100 * time.Millisecond
	retryMax      = time.Second
	fsyncEvery    = time.Second
	fsyncDelayed  = 2 * time.Second
	errorLogEvery = 30 * time.Second // AOF_WRITE_LOG_ERROR_RATE
)

// Log is an open AOF. Append, Durable, WriteErr, SetFsync and Stats may be
// called from any goroutine. The file belongs to the committer goroutine
// started by Open; Close stops it.
type Log struct {
	opts Options
	f    *os.File // the last incr file, O_APPEND; used by the committer and its fsyncs
	fd   int      // f's descriptor
	pool bytebufferpool.Pool

	mu      sync.Mutex
	pending *bytebufferpool.ByteBuffer // appended, not yet taken by the committer
	nBatch  int64                      // Append calls in pending
	seq     uint64                     // last seq handed out
	closing bool

	wake      chan struct{}    // cap 1: Append and Close poke the committer
	fsyncDone chan fsyncResult // cap 1: result of a background fsync
	done      chan struct{}    // closed when the committer has finished
	closeOnce sync.Once
	closeErr  error

	policy   atomic.Int32
	armed    atomic.Bool // a wake-up is on its way to the committer (everysec, no)
	durable  atomic.Uint64
	writeErr atomic.Pointer[WriteError] // last write/always-fsync failed
	fsyncErr atomic.Pointer[WriteError] // last background (everysec) fsync failed

	// Fault injection for tests (nil in production): replace the write and
	// the fdatasync of the committer.
	testWrite func(f *os.File, b []byte) (int, error)
	testSync  func(fd int) error

	// The manifest in force (manMu), and a rotation Rotate hands the
	// committer (mu): the data appended before it goes to the old incr
	// file, then the committer switches to rotFile.
	manMu   sync.Mutex
	man     *manifest
	rotData *bytebufferpool.ByteBuffer
	rotN    int64
	rotSeq  uint64
	rotFile *os.File
	// sealer encrypts each write to the incr file (encryption-key-file);
	// rotSealer is the one for rotFile. Committer goroutine only, after
	// open.
	sealer    *crypt.Sealer
	rotSealer *crypt.Sealer
	sealed    []byte

	curSize, baseSize atomic.Int64
	inflightLen       atomic.Int64 // bytes the committer holds but has not written
	fsyncStart        atomic.Int64 // unix nanos a background fsync began, 0 when none
	delayedFsync      atomic.Int64
	fsyncs, batches   atomic.Int64
	batchedB, writes  atomic.Int64
}

// Open opens the log for appending; call it after Load. An absent directory,
// manifest or incr file is created in the layout redis-server 7.0 creates on
// an empty directory: <name>.1.base.rdb (an empty RDB), <name>.1.incr.aof
// and <name>.manifest listing both. Otherwise it appends to the last incr file
// of the manifest.
func Open(opts Options) (*Log, error) { return open(opts, nil) }

// hooks replace the committer's write and fdatasync in tests.
type hooks struct {
	write func(f *os.File, b []byte) (int, error)
	sync  func(fd int) error
}

func open(opts Options, h *hooks) (*Log, error) {
	if opts.FileName == "" {
		return nil, errors.New("aof: empty appendfilename")
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("Can't open or create append-only dir %s: %w", opts.Dir, err)
	}
	m, err := readManifest(opts.Dir, opts.FileName)
	if err != nil {
		return nil, err
	}
	if m == nil {
		if m, err = createLayout(opts); err != nil {
			return nil, err
		}
	} else if len(m.Incr) == 0 {
		// Only a base: start an incr file after the highest seq, as Redis's
		// openNewIncrAofForAppend (which looks at incr entries only; history
		// incr files are counted too so that none is overwritten).
		seq := m.maxIncrSeq()
		for _, h := range m.Hist {
			if strings.HasSuffix(h.Name, incrSuffix+aofSuffix) {
				seq = max(seq, h.Seq)
			}
		}
		seq++
		if err := addIncr(opts, m, seq); err != nil {
			return nil, err
		}
	} else if opts.Key != nil {
		// Encryption turned on over a plain log: new writes go to a new,
		// encrypted incr file.
		last := m.Incr[len(m.Incr)-1].Name
		if b, err := readPrefix(filepath.Join(opts.Dir, last), 9); err != nil {
			return nil, err
		} else if len(b) > 0 && !crypt.IsAppendOnly(b) {
			if err := addIncr(opts, m, m.maxIncrSeq()+1); err != nil {
				return nil, err
			}
		}
	}
	l := &Log{
		opts:      opts,
		wake:      make(chan struct{}, 1),
		fsyncDone: make(chan fsyncResult, 1),
		done:      make(chan struct{}),
	}
	var total int64
	for _, e := range m.loadOrder() {
		fi, err := os.Stat(filepath.Join(opts.Dir, e.Name))
		if err != nil {
			return nil, fmt.Errorf("Can't stat the append only file %s: %w", e.Name, err)
		}
		total += fi.Size()
		if m.Base != nil && e.Name == m.Base.Name {
			l.baseSize.Store(fi.Size())
		}
	}
	l.curSize.Store(total)
	last := m.Incr[len(m.Incr)-1].Name
	if l.f, err = os.OpenFile(filepath.Join(opts.Dir, last), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err != nil {
		return nil, fmt.Errorf("Can't open the append-only file %s: %w", last, err)
	}
	l.fd = int(l.f.Fd())
	l.man = m
	if err := l.openSealer(filepath.Join(opts.Dir, last)); err != nil {
		l.f.Close()
		return nil, err
	}
	l.policy.Store(int32(opts.Fsync))
	l.pending = l.pool.Get()
	if h != nil {
		l.testWrite, l.testSync = h.write, h.sync
	}
	go l.commit()
	return l, nil
}

// addIncr creates incr file seq (with its header when encrypted) and
// lists it last in m, on disk too.
func addIncr(opts Options, m *manifest, seq int64) error {
	e := manifestEntry{Name: incrName(opts.FileName, seq), Seq: seq, Type: typeIncr}
	hdr, err := incrContent(opts)
	if err != nil {
		return err
	}
	if err := createFile(opts.Dir, e.Name, hdr); err != nil {
		return err
	}
	m.Incr = append(m.Incr, e)
	return writeManifest(opts.Dir, opts.FileName, m)
}

// readPrefix reads up to n bytes from the start of path.
func readPrefix(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("Can't open the append-only file %s: %w", filepath.Base(path), err)
	}
	defer f.Close()
	b := make([]byte, n)
	k, err := io.ReadFull(f, b)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, err
	}
	return b[:k], nil
}

// incrContent is what a new incr file starts with: nothing, or the
// header of an encrypted append-only file.
func incrContent(opts Options) ([]byte, error) {
	if opts.Key == nil {
		return nil, nil
	}
	return crypt.NewAppendHeader(opts.Key)
}

func incrName(fileName string, seq int64) string {
	return fileName + "." + strconv.FormatInt(seq, 10) + incrSuffix + aofSuffix
}

// createLayout writes the files of a new AOF directory, the manifest last so
// that a crash in between leaves no manifest (and Open starts over).
func createLayout(opts Options) (*manifest, error) {
	base := manifestEntry{Name: opts.FileName + ".1" + baseSuffix + rdbSuffix, Seq: 1, Type: typeBase}
	content := emptyRDB(time.Now().Unix())
	if opts.NoRDBPreamble {
		base.Name, content = opts.FileName+".1"+baseSuffix+aofSuffix, nil
	}
	incr := manifestEntry{Name: incrName(opts.FileName, 1), Seq: 1, Type: typeIncr}
	if err := createFile(opts.Dir, base.Name, content); err != nil {
		return nil, err
	}
	hdr, err := incrContent(opts)
	if err != nil {
		return nil, err
	}
	if err := createFile(opts.Dir, incr.Name, hdr); err != nil {
		return nil, err
	}
	m := &manifest{Base: &base, Incr: []manifestEntry{incr}}
	if err := writeManifest(opts.Dir, opts.FileName, m); err != nil {
		return nil, err
	}
	return m, nil
}

// CreateFromBase starts a new AOF directory whose base is a copy of the
// RDB file src (basalt --restore with appendonly yes): the base, an empty
// incr file and the manifest, written in that order and fsynced. The
// directory must not hold a manifest yet.
func CreateFromBase(opts Options, src string) error {
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return fmt.Errorf("Can't open or create append-only dir %s: %w", opts.Dir, err)
	}
	if m, err := readManifest(opts.Dir, opts.FileName); err != nil || m != nil {
		if err == nil {
			err = fmt.Errorf("the append-only directory %s already holds a manifest: move it away to restore a snapshot into it", opts.Dir)
		}
		return err
	}
	content, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("Can't read the snapshot to restore: %w", err)
	}
	base := manifestEntry{Name: opts.FileName + ".1" + baseSuffix + rdbSuffix, Seq: 1, Type: typeBase}
	incr := manifestEntry{Name: incrName(opts.FileName, 1), Seq: 1, Type: typeIncr}
	if err := createFile(opts.Dir, base.Name, content); err != nil {
		return err
	}
	hdr, err := incrContent(opts)
	if err != nil {
		return err
	}
	if err := createFile(opts.Dir, incr.Name, hdr); err != nil {
		return err
	}
	return writeManifest(opts.Dir, opts.FileName, &manifest{Base: &base, Incr: []manifestEntry{incr}})
}

// createFile writes a new file with content and fsyncs it.
func createFile(dir, name string, content []byte) error {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("Can't create the append-only file %s: %w", name, err)
	}
	if _, err = f.Write(content); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("Can't write the append-only file %s: %w", name, err)
	}
	return nil
}

// gatherPeriod is how long batches gather before a write under everysec
// and no: at most this much acknowledged data sits in Basalt's memory
// rather than the kernel's (lost on a crash of the process, within
// everysec's one-second promise).
const gatherPeriod = 500 * time.Microsecond

// Append hands one batch of complete RESP commands to the committer and
// returns its sequence number (1, 2, 3, ... in call order). b is copied; the
// caller keeps it. It never waits for the disk, and accepts even while
// writes fail (the data stays pending, in order). Not to be called after
// Close.
func (l *Log) Append(b []byte) uint64 {
	l.mu.Lock()
	l.pending.B = append(l.pending.B, b...)
	l.nBatch++
	l.seq++
	seq := l.seq
	l.mu.Unlock()
	// With everysec and no, one wake-up per gathering period is enough
	// (see commit); always wakes the committer for every batch.
	if Policy(l.policy.Load()) == Always || !l.armed.Swap(true) {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
	return seq
}

// Durable returns the highest seq such that it and all earlier batches are
// durable per the policy: fdatasync'ed for Always, written for EverySec/No.
func (l *Log) Durable() uint64 { return l.durable.Load() }

// WriteErr is non-nil (a *WriteError) while the last write or fsync failed;
// the server refuses writes with MISCONF meanwhile.
func (l *Log) WriteErr() error {
	if e := l.writeErr.Load(); e != nil {
		return e
	}
	if e := l.fsyncErr.Load(); e != nil {
		return e
	}
	return nil
}

// SetFsync changes appendfsync at run time (CONFIG SET); the committer
// applies it from its next batch.
func (l *Log) SetFsync(p Policy) {
	l.policy.Store(int32(p))
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Stats returns the current figures.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	pend := int64(len(l.pending.B))
	l.mu.Unlock()
	err := l.WriteErr()
	return Stats{
		CurrentSize:  l.curSize.Load(),
		BaseSize:     l.baseSize.Load(),
		BufferLength: pend + l.inflightLen.Load(),
		PendingFsync: l.fsyncStart.Load() != 0,
		DelayedFsync: l.delayedFsync.Load(),
		Fsyncs:       l.fsyncs.Load(),
		Batches:      l.batches.Load(),
		BatchedBytes: l.batchedB.Load(),
		Writes:       l.writes.Load(),
		LastWriteOK:  err == nil,
		LastWriteErr: err,
	}
}

// Close writes and fsyncs everything pending, stops the committer and closes
// the file. It returns the error of that last flush, if any; later calls
// return the same.
func (l *Log) Close() error {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closing = true
		l.mu.Unlock()
		select {
		case l.wake <- struct{}{}:
		default:
		}
		<-l.done
	})
	return l.closeErr
}

// committer state, owned by the commit goroutine.
type committer struct {
	inflight     *bytebufferpool.ByteBuffer // taken from pending, not yet written
	inflightN    int64                      // Append calls in it
	inflightSeq  uint64                     // seq of its last batch
	size         int64                      // size of the incr file
	synced       int64                      // size of the incr file known fsynced
	lastFsync    time.Time                  // when the last everysec fsync began
	failing      bool
	retryAt      time.Time
	backoff      time.Duration
	lastErrLog   time.Time
	fsyncBusy    bool     // a background fsync is running
	switchTo     *os.File // Rotate's new incr file, once inflight is written
	switchSealer *crypt.Sealer
}

// commit is the committer goroutine: each round takes everything pending,
// writes it with one write (and, with Always, one fdatasync) and advances
// Durable. Appends arriving meanwhile form the next group.
func (l *Log) commit() {
	defer close(l.done)
	c := &committer{lastFsync: time.Now()}
	if fi, err := l.f.Stat(); err == nil {
		c.size = fi.Size()
		c.synced = c.size
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		l.mu.Lock()
		closing := l.closing
		now := time.Now()
		if l.rotFile != nil && c.switchTo == nil {
			// Rotate: what was appended before it goes to the old file
			// (after anything still in flight), nothing newer.
			if c.inflight == nil {
				c.inflight = l.rotData
			} else {
				c.inflight.B = append(c.inflight.B, l.rotData.B...)
				l.pool.Put(l.rotData)
			}
			c.inflightN += l.rotN
			c.inflightSeq = max(c.inflightSeq, l.rotSeq)
			c.switchTo, l.rotFile, l.rotData = l.rotFile, nil, nil
			c.switchSealer, l.rotSealer = l.rotSealer, nil
			l.inflightLen.Store(int64(len(c.inflight.B)))
		} else if c.switchTo == nil && len(l.pending.B) > 0 && (!c.failing || closing || !now.Before(c.retryAt)) {
			if c.inflight == nil {
				c.inflight, l.pending = l.pending, l.pool.Get()
			} else { // after a failure: keep the order, old data first
				c.inflight.B = append(c.inflight.B, l.pending.B...)
				l.pending.Reset()
			}
			c.inflightN += l.nBatch
			c.inflightSeq = l.seq
			l.nBatch = 0
			l.inflightLen.Store(int64(len(c.inflight.B)))
		}
		l.mu.Unlock()

		policy := Policy(l.policy.Load())
		if c.inflight != nil && len(c.inflight.B) == 0 {
			// An empty rotation batch: nothing to write.
			seq := c.inflightSeq
			l.pool.Put(c.inflight)
			c.inflight, c.inflightN = nil, 0
			if seq > l.durable.Load() {
				l.durable.Store(seq)
				if l.opts.OnDurable != nil {
					l.opts.OnDurable(seq)
				}
			}
		}
		if c.inflight != nil && (!c.failing || closing || !now.Before(c.retryAt)) {
			l.flush(c, policy)
		}
		if c.switchTo != nil && c.inflight == nil {
			l.switchFile(c)
			continue // take what was appended after the rotation
		}
		if policy == EverySec && !c.fsyncBusy && c.synced < c.size && time.Since(c.lastFsync) >= fsyncEvery {
			l.startFsync(c)
		}
		if closing {
			l.finish(c)
			return
		}

		// Sleep until poked, a retry is due, or an everysec fsync is due.
		wait := time.Hour
		if c.failing {
			wait = time.Until(c.retryAt)
		}
		if policy == EverySec && c.synced < c.size && !c.fsyncBusy {
			wait = min(wait, time.Until(c.lastFsync.Add(fsyncEvery)))
		}
		if wait <= 0 {
			continue
		}
		timer.Reset(wait)
		select {
		case <-l.wake:
			if Policy(l.policy.Load()) != Always {
				// everysec and no never hold replies, so the committer can
				// let batches gather for a moment: one write per period
				// instead of one per loop turn, as Redis writes once per
				// event-loop iteration. Appends after this re-arm.
				time.Sleep(gatherPeriod)
				l.armed.Store(false)
			}
		case <-timer.C:
		case r := <-l.fsyncDone:
			l.fsyncFinished(c, r)
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// flush writes c.inflight (and fdatasyncs it for Always). On failure the
// file is cut back to its size before the write, the data stays in
// c.inflight and a retry is scheduled.
func (l *Log) flush(c *committer, policy Policy) {
	if c.fsyncBusy && policy != Always {
		if start := l.fsyncStart.Load(); start != 0 && time.Since(time.Unix(0, start)) > fsyncDelayed {
			// Redis postpones the write up to 2s behind a slow fsync and then
			// counts it; the committer just counts it.
			l.delayedFsync.Add(1)
		}
	}
	buf := c.inflight.B
	if l.sealer != nil {
		l.sealed = l.sealer.Seal(l.sealed[:0], buf)
		buf = l.sealed
	}
	before := c.size
	var n int
	var err error
	if l.testWrite != nil {
		n, err = l.testWrite(l.f, buf)
	} else {
		n, err = l.f.Write(buf)
	}
	var werr *WriteError
	if err != nil {
		werr = &WriteError{Op: "write", Err: errnoOf(err)}
	}
	if werr == nil && policy == Always {
		if err := l.fdatasync(l.fd); err != nil {
			werr = &WriteError{Op: "fdatasync", Err: err}
		} else {
			l.fsyncs.Add(1)
		}
	}
	if werr != nil && l.sealer != nil {
		l.sealer.Unseal() // the chunk is sealed again on the retry
	}
	if werr != nil {
		// Take back what reached the file (Redis does so for partial
		// writes): after a failed fdatasync the kernel may have dropped the
		// dirty pages, so the whole batch is written again.
		if n > 0 {
			if terr := l.f.Truncate(before); terr != nil && l.sealer != nil {
				// A partial encrypted chunk cannot be completed: the file
				// keeps it and the next load reports the damage.
				l.opts.logf("Could not remove a short write from the encrypted append-only file: ftruncate: %s", oserr.Strerror(errnoOf(terr)))
			} else if terr != nil {
				// It stays in the file: consume it so nothing is written twice.
				l.opts.logf("Could not remove short write from the append-only file. Redis may refuse to load the AOF the next time it starts. ftruncate: %s", oserr.Strerror(errnoOf(terr)))
				c.size += int64(n)
				l.curSize.Add(int64(n))
				rest := copy(c.inflight.B, c.inflight.B[n:])
				c.inflight.B = c.inflight.B[:rest]
				l.inflightLen.Store(int64(rest))
			}
		}
		l.fail(c, werr)
		return
	}
	c.size += int64(n)
	l.curSize.Add(int64(n))
	if policy == Always {
		c.synced = c.size
	}
	l.writes.Add(1)
	l.batches.Add(c.inflightN)
	l.batchedB.Add(int64(n))
	seq := c.inflightSeq
	l.pool.Put(c.inflight)
	c.inflight, c.inflightN = nil, 0
	l.inflightLen.Store(0)
	if c.failing {
		c.failing = false
		c.backoff = 0
		l.opts.logf("AOF write error looks solved, Redis can write again.")
	}
	l.writeErr.Store(nil)
	l.durable.Store(seq)
	if l.opts.OnDurable != nil {
		l.opts.OnDurable(seq)
	}
}

// openSealer prepares the encryption of appends to the incr file at path
// (nothing without a key): it continues after the file's chunks.
func (l *Log) openSealer(path string) error {
	if l.opts.Key == nil {
		if b, err := readPrefix(path, 9); err == nil && crypt.IsAppendOnly(b) {
			return fmt.Errorf("The append only file %s is encrypted: set encryption-key-file", filepath.Base(path))
		}
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	_, chunks, torn, err := crypt.OpenAppend(l.opts.Key, data, filepath.Base(path))
	if err != nil {
		return err
	}
	if torn != int64(len(data)) {
		return fmt.Errorf("The append only file %s ends inside an encrypted chunk at offset %d", filepath.Base(path), torn)
	}
	s, err := crypt.NewSealer(l.opts.Key, data[:crypt.HeaderLen], chunks)
	if err != nil {
		return err
	}
	l.sealer = s
	return nil
}

// switchFile makes the old incr file durable whatever the policy and
// continues in the one Rotate created.
func (l *Log) switchFile(c *committer) {
	if c.fsyncBusy {
		l.fsyncFinished(c, <-l.fsyncDone)
	}
	if err := l.fdatasync(l.fd); err != nil {
		l.opts.logf("Error fsyncing the old AOF incr file before switching: %s", oserr.Strerror(err))
	} else {
		l.fsyncs.Add(1)
	}
	l.f.Close()
	l.f, l.fd = c.switchTo, int(c.switchTo.Fd())
	l.sealer = c.switchSealer
	c.switchTo, c.switchSealer = nil, nil
	c.size, c.synced = 0, 0
}

// Rotate starts a new incr file: everything appended before the call is
// written to the current one, everything after to the new one, which the
// manifest lists (after the others) before Rotate returns. The AOF
// rewrite calls it at the instant its snapshot shows, with every loop
// parked. Not concurrently with itself or InstallBase.
func (l *Log) Rotate() error {
	l.manMu.Lock()
	defer l.manMu.Unlock()
	m := l.man.clone()
	seq := m.maxIncrSeq()
	for _, h := range m.Hist {
		if strings.HasSuffix(h.Name, incrSuffix+aofSuffix) {
			seq = max(seq, h.Seq)
		}
	}
	seq++
	e := manifestEntry{Name: incrName(l.opts.FileName, seq), Seq: seq, Type: typeIncr}
	hdr, err := incrContent(l.opts)
	if err != nil {
		return err
	}
	var sealer *crypt.Sealer
	if hdr != nil {
		if sealer, err = crypt.NewSealer(l.opts.Key, hdr, 0); err != nil {
			return err
		}
	}
	if err := createFile(l.opts.Dir, e.Name, hdr); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(l.opts.Dir, e.Name), os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("Can't open the append-only file %s: %w", e.Name, err)
	}
	m.Incr = append(m.Incr, e)
	if err := writeManifest(l.opts.Dir, l.opts.FileName, m); err != nil {
		f.Close()
		os.Remove(filepath.Join(l.opts.Dir, e.Name))
		return err
	}
	l.man = m
	l.mu.Lock()
	l.rotData, l.pending = l.pending, l.pool.Get()
	l.rotN, l.nBatch = l.nBatch, 0
	l.rotSeq = l.seq
	l.rotFile, l.rotSealer = f, sealer
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return nil
}

// InstallBase completes a rewrite: tmp (a complete, fsynced base file of
// kind in the AOF directory) becomes the new base, the manifest lists it
// and the incr file of the last Rotate only, and the older files are
// removed. A crash before the manifest is replaced leaves the old set
// (which holds everything); after, the new one.
func (l *Log) InstallBase(tmp string, kind BaseKind) error {
	l.manMu.Lock()
	defer l.manMu.Unlock()
	old := l.man
	seq := int64(1)
	if old.Base != nil {
		seq = old.Base.Seq + 1
	}
	base := manifestEntry{Name: baseName(l.opts.FileName, seq, kind), Seq: seq, Type: typeBase}
	if err := renameBase(l.opts.Dir, tmp, base.Name); err != nil {
		return err
	}
	keep := old.Incr[len(old.Incr)-1]
	m := &manifest{Base: &base, Incr: []manifestEntry{keep}}
	if err := writeManifest(l.opts.Dir, l.opts.FileName, m); err != nil {
		return err
	}
	l.man = m
	var gone []manifestEntry
	if old.Base != nil && old.Base.Name != base.Name {
		gone = append(gone, *old.Base)
	}
	gone = append(gone, old.Incr[:len(old.Incr)-1]...)
	gone = append(gone, old.Hist...)
	removeFiles(l.opts, gone)
	var total int64
	for _, e := range []manifestEntry{base, keep} {
		if fi, err := os.Stat(filepath.Join(l.opts.Dir, e.Name)); err == nil {
			total += fi.Size()
			if e.Name == base.Name {
				l.baseSize.Store(fi.Size())
			}
		}
	}
	l.curSize.Store(total)
	return nil
}

// fail records a failed write/fsync and schedules the retry.
func (l *Log) fail(c *committer, werr *WriteError) {
	l.writeErr.Store(werr)
	c.failing = true
	c.backoff = min(max(2*c.backoff, retryMin), retryMax)
	c.retryAt = time.Now().Add(c.backoff)
	if time.Since(c.lastErrLog) >= errorLogEvery {
		c.lastErrLog = time.Now()
		l.opts.logf("Error writing to the AOF file: %s", werr.Error())
	}
}

// startFsync runs an everysec fdatasync in the background, as Redis's bio
// thread, so the committer keeps writing meanwhile.
func (l *Log) startFsync(c *committer) {
	c.fsyncBusy = true
	c.lastFsync = time.Now()
	l.fsyncStart.Store(c.lastFsync.UnixNano())
	target := c.size
	fd := l.fd
	go func() {
		l.fsyncDone <- fsyncResult{target, l.fdatasync(fd)}
	}()
}

// fsyncResult is what a background fsync reports: the incr file size it
// covered, or its error.
type fsyncResult struct {
	size int64
	err  error
}

// fsyncFinished records a background fsync's result.
func (l *Log) fsyncFinished(c *committer, r fsyncResult) {
	c.fsyncBusy = false
	l.fsyncStart.Store(0)
	if r.err == nil {
		l.fsyncs.Add(1)
		c.synced = max(c.synced, r.size)
		l.fsyncErr.Store(nil)
		return
	}
	werr := &WriteError{Op: "fdatasync", Err: r.err}
	l.fsyncErr.Store(werr)
	if time.Since(c.lastErrLog) >= errorLogEvery {
		c.lastErrLog = time.Now()
		l.opts.logf("Error writing to the AOF file: %s", werr.Error())
	}
}

// finish is the committer's last round on Close: the pending data was just
// flushed once; wait for a background fsync, fsync everything and close.
func (l *Log) finish(c *committer) {
	if c.fsyncBusy {
		l.fsyncFinished(c, <-l.fsyncDone)
	}
	var err error
	if werr := l.writeErr.Load(); c.inflight != nil && werr != nil {
		err = werr
	}
	if ferr := l.fdatasync(l.fd); ferr != nil && err == nil {
		err = &WriteError{Op: "fdatasync", Err: ferr}
	} else if ferr == nil {
		l.fsyncs.Add(1)
	}
	if cerr := l.f.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if c.switchTo != nil { // a rotation that never got to switch
		c.switchTo.Close()
	}
	l.closeErr = err
}

func (l *Log) fdatasync(fd int) error {
	if l.testSync != nil {
		return l.testSync(fd)
	}
	return unix.Fdatasync(fd)
}

// errnoOf digs the errno out of an *os.PathError; a short write without one
// counts as ENOSPC, as Redis does.
func errnoOf(err error) error {
	var en unix.Errno
	if errors.As(err, &en) {
		return en
	}
	return unix.ENOSPC
}
